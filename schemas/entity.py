"""Entity mentions: the ``entities`` column of articles and the entities dataset.

``entities/date=YYYY-MM-DD/lang=xx/part-<run_id>-<n>.parquet`` holds one row
per (article, canonical entity, label), built for "who is in the news when".
"""

import pyarrow as pa

from schemas.common import UTC_TIMESTAMP
from schemas.place import ENTITY_PLACE_FIELDS

# Fields of one mention in the article's ``entities`` list.
MENTION_TEXT = 'text'
MENTION_LABEL = 'label'
MENTION_START = 'start'
MENTION_END = 'end'
MENTION_CANONICAL = 'canonical'

MENTION = pa.struct([
    pa.field(MENTION_TEXT, pa.string(), nullable=False),
    pa.field(MENTION_LABEL, pa.string(), nullable=False),
    pa.field(MENTION_START, pa.int32(), nullable=False),
    pa.field(MENTION_END, pa.int32(), nullable=False),
    pa.field(MENTION_CANONICAL, pa.string(), nullable=False),
])

# Columns of the entities dataset.
ARTICLE_ID = 'article_id'
CANONICAL = 'canonical'
CANONICAL_KEY = 'canonical_key'
LABEL = 'label'
MENTION_COUNT = 'mention_count'
FIRST_START = 'first_start'
PUBLISHED_AT = 'published_at'
SOURCE = 'source'
RUN_ID = 'run_id'
SCHEMA_VERSION_FIELD = 'schema_version'

ENTITY_SCHEMA = pa.schema([
    pa.field(ARTICLE_ID, pa.string(), nullable=False),
    pa.field(CANONICAL, pa.string(), nullable=False),
    pa.field(CANONICAL_KEY, pa.string(), nullable=False),
    pa.field(LABEL, pa.string(), nullable=False),
    pa.field(MENTION_COUNT, pa.int32(), nullable=False),
    pa.field(FIRST_START, pa.int32(), nullable=False),
    pa.field(PUBLISHED_AT, UTC_TIMESTAMP),
    pa.field(SOURCE, pa.string()),
    # Where a GPE/LOC entity is (schemas.place); null for other entities.
    *ENTITY_PLACE_FIELDS,
    pa.field(RUN_ID, pa.string(), nullable=False),
    pa.field(SCHEMA_VERSION_FIELD, pa.int32(), nullable=False),
])
