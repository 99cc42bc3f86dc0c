"""The run manifest: one row per run in ``runs/part-<run_id>.parquet``."""

import pyarrow as pa

import schemas
from schemas.common import UTC_TIMESTAMP

RUN_ID = 'run_id'
STATUS = 'status'
STARTED_AT = 'started_at'
FINISHED_AT = 'finished_at'
ARGUMENTS = 'arguments'
OUTPUT = 'output'
INPUTS_READ = 'inputs_read'
INPUTS_BY_FORMAT = 'inputs_by_format'
ARTICLES_WRITTEN = 'articles_written'
ARTICLES_BY_LANGUAGE = 'articles_by_language'
ARTICLES_BY_SOURCE = 'articles_by_source'
DROPPED = 'dropped'
DROPPED_BY_REASON = 'dropped_by_reason'
DROPPED_BY_DETAIL = 'dropped_by_detail'
DEAD_LETTERED = 'dead_lettered'
DEAD_LETTERED_BY_STAGE = 'dead_lettered_by_stage'
DEAD_LETTER_EXAMPLES = 'dead_letter_examples'
DEAD_LETTER_SHARE = 'dead_letter_share'
WALL_SECONDS = 'wall_seconds'
WARNINGS_BY_KIND = 'warnings_by_kind'
WARNING_INPUTS = 'warning_inputs'
SEEN_AGAIN = 'seen_again'
SEEN_AGAIN_BY_FEED = 'seen_again_by_feed'
FILES_WRITTEN = 'files_written'
FEEDS_BY_STATUS = 'feeds_by_status'
FAILING_FEEDS = 'failing_feeds'
FAILING_FEED_URL = 'url'
FAILING_FEED_FAILURES = 'consecutive_failures'
FAILING_FEED_ERROR = 'last_error'
COMPACTED_PARTITIONS = 'compacted_partitions'
STAGE_COUNTS = 'stage_counts'
ACCOUNTING_BALANCED = 'accounting_balanced'
SCHEMA_VERSION_FIELD = 'schema_version'

STATUS_SUCCEEDED = 'succeeded'
# Committed by a later run after its own commit was interrupted.
STATUS_RECOVERED = 'recovered'
# A `newsbeam compact` run: it read and wrote no articles, only files.
STATUS_COMPACTED = 'compacted'
# A polled run whose feeds brought nothing new: committed with no pipeline.
STATUS_NOTHING_NEW = 'nothing_new'

COUNTS_BY_KEY = pa.map_(pa.string(), pa.int64())

RUN_SCHEMA = pa.schema([
    pa.field(RUN_ID, pa.string(), nullable=False),
    pa.field(STATUS, pa.string(), nullable=False),
    pa.field(STARTED_AT, UTC_TIMESTAMP, nullable=False),
    pa.field(FINISHED_AT, UTC_TIMESTAMP, nullable=False),
    pa.field(ARGUMENTS, pa.list_(pa.string())),
    pa.field(OUTPUT, pa.string(), nullable=False),
    pa.field(INPUTS_READ, pa.int64(), nullable=False),
    pa.field(INPUTS_BY_FORMAT, COUNTS_BY_KEY),
    pa.field(ARTICLES_WRITTEN, pa.int64(), nullable=False),
    pa.field(ARTICLES_BY_LANGUAGE, COUNTS_BY_KEY),
    pa.field(ARTICLES_BY_SOURCE, COUNTS_BY_KEY),
    pa.field(DROPPED, pa.int64(), nullable=False),
    pa.field(DROPPED_BY_REASON, COUNTS_BY_KEY),
    # Drops by 'reason: detail' where a drop names what decided it.
    pa.field(DROPPED_BY_DETAIL, COUNTS_BY_KEY),
    pa.field(DEAD_LETTERED, pa.int64(), nullable=False),
    pa.field(DEAD_LETTERED_BY_STAGE, COUNTS_BY_KEY),
    # One error message per stage, to start debugging from.
    pa.field(DEAD_LETTER_EXAMPLES, pa.map_(pa.string(), pa.string())),
    # dead_lettered / inputs_read (0 when nothing was read).
    pa.field(DEAD_LETTER_SHARE, pa.float64(), nullable=False),
    pa.field(WALL_SECONDS, pa.float64(), nullable=False),
    pa.field(WARNINGS_BY_KIND, COUNTS_BY_KEY),
    # Warning kind -> the first inputs it names ('<feed or file> <entry>').
    pa.field(WARNING_INPUTS, pa.map_(pa.string(), pa.list_(pa.string()))),
    # Entries of polled feeds already written by an earlier run: counted, not
    # written or dropped again (part of the accounting identity).
    pa.field(SEEN_AGAIN, pa.int64(), nullable=False),
    pa.field(SEEN_AGAIN_BY_FEED, COUNTS_BY_KEY),
    pa.field(FILES_WRITTEN, pa.int64(), nullable=False),
    # Feeds fetched over HTTP by outcome: '200', '304', '404', 'Timeout', ...
    pa.field(FEEDS_BY_STATUS, COUNTS_BY_KEY),
    # Feeds that failed in several runs in a row (still tried every run).
    pa.field(FAILING_FEEDS, pa.list_(pa.struct([
        pa.field(FAILING_FEED_URL, pa.string(), nullable=False),
        pa.field(FAILING_FEED_FAILURES, pa.int64(), nullable=False),
        pa.field(FAILING_FEED_ERROR, pa.string()),
    ]))),
    # What `newsbeam compact` rewrote; empty for ingestion runs.
    pa.field(COMPACTED_PARTITIONS, pa.list_(pa.struct([
        pa.field('dataset', pa.string(), nullable=False),
        pa.field('partition', pa.string(), nullable=False),
        pa.field('files_before', pa.int64(), nullable=False),
        pa.field('files_after', pa.int64(), nullable=False),
        pa.field('rows', pa.int64(), nullable=False),
    ]))),
    # Stage counters: '<step>.in', '<step>.out', '<step>.dropped',
    # '<step>.dead_letters' (transforms.core.stage); empty when the runner
    # reports no metrics.
    pa.field(STAGE_COUNTS, COUNTS_BY_KEY),
    pa.field(ACCOUNTING_BALANCED, pa.bool_(), nullable=False),
    pa.field(SCHEMA_VERSION_FIELD, pa.int32(), nullable=False),
])


def make_manifest(run_id, status, started_at, finished_at, arguments, output, **fields):
  """A manifest row: every field of RUN_SCHEMA, zero or empty unless given.

  Counts given as dicts are stored sorted by key; the share of dead letters
  and the accounting identity are derived here, so every writer of a
  manifest (run commits, compactions) computes them the same way.
  """
  row = {name: ([] if pa.types.is_list(RUN_SCHEMA.field(name).type) or
                pa.types.is_map(RUN_SCHEMA.field(name).type) else 0)
         for name in RUN_SCHEMA.names}
  row.update({RUN_ID: run_id, STATUS: status, STARTED_AT: started_at,
              FINISHED_AT: finished_at, ARGUMENTS: list(arguments), OUTPUT: output,
              WALL_SECONDS: round((finished_at - started_at).total_seconds(), 3),
              SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION})
  for name, value in fields.items():
    if name not in row:
      raise KeyError(f'no manifest field {name!r}')
    row[name] = sorted(value.items()) if isinstance(value, dict) else value
  inputs = row[INPUTS_READ]
  row[DEAD_LETTER_SHARE] = round(row[DEAD_LETTERED] / inputs, 6) if inputs else 0.0
  row[ACCOUNTING_BALANCED] = (
      inputs == row[ARTICLES_WRITTEN] + row[DROPPED] + row[DEAD_LETTERED] + row[SEEN_AGAIN])
  return row
