"""The dead-letter record: one row of ``dead_letters/date=YYYY-MM-DD/``.

An input that failed unexpectedly, with the stage that failed and why.
Each text field is capped (``*_CHARS``) so a record stays small however large
its input or error was: a broken input can leave hundreds of thousands of them.
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

EXCERPT_CHARS = 200  # characters of the failing input kept for diagnosis
MESSAGE_CHARS = 2000  # longest error message (an exception's repr) kept, in characters
ERROR_TYPE_CHARS = 200  # longest error type kept, in characters
SOURCE_URI_CHARS = 2000  # longest input name kept, in characters (its head and its tail)
SOURCE_URI_TAIL_CHARS = 200  # characters of an over-long input name's end kept (a WARC offset)

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
