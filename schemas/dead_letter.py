"""The dead-letter record: one row of ``dead_letters/date=YYYY-MM-DD/``.

An input that failed unexpectedly, with the stage that failed and why.
"""

import pyarrow as pa

from schemas.common import UTC_TIMESTAMP

STAGE = 'stage'
SOURCE_URI = 'source_uri'
ERROR_TYPE = 'error_type'
MESSAGE = 'message'
EXCERPT = 'excerpt'
FAILED_AT = 'failed_at'
RUN_ID = 'run_id'
SCHEMA_VERSION_FIELD = 'schema_version'

DEAD_LETTER_SCHEMA = pa.schema([
    pa.field(STAGE, pa.string(), nullable=False),
    pa.field(SOURCE_URI, pa.string()),
    pa.field(ERROR_TYPE, pa.string(), nullable=False),
    pa.field(MESSAGE, pa.string(), nullable=False),
    pa.field(EXCERPT, pa.string()),
    pa.field(FAILED_AT, UTC_TIMESTAMP, nullable=False),
    pa.field(RUN_ID, pa.string(), nullable=False),
    pa.field(SCHEMA_VERSION_FIELD, pa.int32(), nullable=False),
])
