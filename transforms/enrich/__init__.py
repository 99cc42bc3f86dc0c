"""Taggers that only add fields: language, entities, places."""
