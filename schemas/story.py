"""Stories: the ``story_id`` of articles, the story index, and the stories dataset.

Articles about one event (wire copies, rewrites, next-day updates) share a
``story_id``. The story index is the state that carries stories across runs:
``_state/story_index/date=YYYY-MM-DD/part-<run_id>.parquet`` holds one row per
article of the recent days (partitioned by the article's publication day,
else its ingestion day), with what the matching needs and the story it was
given. A run stages its new rows under ``_staging/<run_id>/_state/story_index/``
and the commit moves them into place with the run's other files.

``stories/date=YYYY-MM-DD/part-<run_id>-<n>.parquet`` holds, per run, one row
per story the run touched (partitioned by the story's first article's day),
counted over the story's articles in the index window; the latest row of a
``story_id`` (highest ``updated_run_id``) is the current one.
"""

import pyarrow as pa

from schemas.article import STORY_ID  # the article field, and a column of both tables
from schemas.common import DATE
from schemas.common import UTC_TIMESTAMP

STORY_INDEX_FOLDER = 'story_index'  # inside the output's state folder

# Columns of the story index.
ARTICLE_ID = 'article_id'
SEEN_AT = 'seen_at'  # publication time, else ingestion time
SOURCE = 'source'
TITLE = 'title'
MINHASH = 'minhash'  # MinHash of the text's word shingles; null for an article without text
LEAD_MINHASH = 'lead_minhash'  # MinHash of the shingles of the text's first words
SHINGLE_COUNT = 'shingle_count'  # distinct shingles, to estimate containment
TITLE_TOKENS = 'title_tokens'  # the title's content words, folded
ENTITIES = 'entities'  # the most mentioned non-place entities' canonical names
PLACES = 'places'  # the most mentioned places' names
RUN_ID = 'run_id'
SCHEMA_VERSION_FIELD = 'schema_version'

STORY_MINHASH_PERMUTATIONS = 128  # values in a story MinHash
LEAD_MINHASH_PERMUTATIONS = 32  # values in a lead MinHash

STORY_INDEX_SCHEMA = pa.schema([
    pa.field(ARTICLE_ID, pa.string(), nullable=False),
    pa.field(STORY_ID, pa.string(), nullable=False),
    pa.field(SEEN_AT, UTC_TIMESTAMP, nullable=False),
    pa.field(SOURCE, pa.string()),
    pa.field(TITLE, pa.string()),
    pa.field(MINHASH, pa.list_(pa.uint32())),
    pa.field(LEAD_MINHASH, pa.list_(pa.uint32())),
    pa.field(SHINGLE_COUNT, pa.int32(), nullable=False),
    pa.field(TITLE_TOKENS, pa.list_(pa.string()), nullable=False),
    pa.field(ENTITIES, pa.list_(pa.string()), nullable=False),
    pa.field(PLACES, pa.list_(pa.string()), nullable=False),
    pa.field(RUN_ID, pa.string(), nullable=False),
    pa.field(SCHEMA_VERSION_FIELD, pa.int32(), nullable=False),
])

# Columns of the stories dataset.
FIRST_SEEN = 'first_seen'
LAST_SEEN = 'last_seen'
ARTICLE_COUNT = 'article_count'
SOURCE_COUNT = 'source_count'
HEADLINE = 'headline'  # the title of the story's earliest article that has one
TOP_ENTITIES = 'top_entities'
TOP_PLACES = 'top_places'
UPDATED_RUN_ID = 'updated_run_id'

STORY_SCHEMA = pa.schema([
    pa.field(STORY_ID, pa.string(), nullable=False),
    pa.field(FIRST_SEEN, UTC_TIMESTAMP, nullable=False),
    pa.field(LAST_SEEN, UTC_TIMESTAMP, nullable=False),
    pa.field(ARTICLE_COUNT, pa.int32(), nullable=False),
    pa.field(SOURCE_COUNT, pa.int32(), nullable=False),
    pa.field(HEADLINE, pa.string()),
    pa.field(TOP_ENTITIES, pa.list_(pa.string()), nullable=False),
    pa.field(TOP_PLACES, pa.list_(pa.string()), nullable=False),
    pa.field(UPDATED_RUN_ID, pa.string(), nullable=False),
    pa.field(SCHEMA_VERSION_FIELD, pa.int32(), nullable=False),
])


def index_partition(row):
  """The date partition of a story-index row: its article's day."""
  return ((DATE, row[SEEN_AT].date().isoformat()),)


def story_partition(row):
  """The date partition of a stories row: the day of the story's first article."""
  return ((DATE, row[FIRST_SEEN].date().isoformat()),)


def index_file_name(run_id):
  """The name of a run's file in one story-index partition."""
  return f'part-{run_id}.parquet'
