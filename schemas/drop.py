"""The drop audit: one row per input dropped on purpose, in ``drops/date=YYYY-MM-DD/``.

Expected rejections (an empty file, an article with no text, a duplicate)
are not errors: each is counted in the run manifest and listed here with the
reason, the title when there is one, what decided it and, for duplicates,
the article it duplicates.
"""

import pyarrow as pa

from schemas.common import UTC_TIMESTAMP

REASON = 'reason'
STAGE = 'stage'
SOURCE_URI = 'source_uri'
ARTICLE_ID = 'article_id'
DUPLICATE_OF = 'duplicate_of'
TITLE = 'title'
DETAIL = 'detail'
DROPPED_AT = 'dropped_at'
RUN_ID = 'run_id'
SCHEMA_VERSION_FIELD = 'schema_version'

DROP_SCHEMA = pa.schema([
    pa.field(REASON, pa.string(), nullable=False),
    pa.field(STAGE, pa.string(), nullable=False),
    pa.field(SOURCE_URI, pa.string()),
    pa.field(ARTICLE_ID, pa.string()),
    pa.field(DUPLICATE_OF, pa.string()),
    # The dropped article's title, when it had one.
    pa.field(TITLE, pa.string()),
    # What decided the drop beyond its reason (e.g. the rules that emptied a text).
    pa.field(DETAIL, pa.string()),
    pa.field(DROPPED_AT, UTC_TIMESTAMP, nullable=False),
    pa.field(RUN_ID, pa.string(), nullable=False),
    pa.field(SCHEMA_VERSION_FIELD, pa.int32(), nullable=False),
])
