"""Stories: articles about one event share a story_id across runs."""
