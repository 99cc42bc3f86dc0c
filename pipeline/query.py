"""``newsbeam query OUTPUT "SQL"``: DuckDB over the dataset's views, printed as a table."""

import argparse
import csv
import io
import json
import os
import sys
import time

import pyarrow as pa

from pipeline.runs import not_an_output
from pipeline.runs import print_to_stdout
from schemas.datasets import COMPACTION_PREFIX
from schemas.datasets import DATASETS
from schemas.datasets import RUN_ID_PATTERN
from schemas.datasets import RUNS
from schemas.datasets import STAGING_FOLDER
from schemas.datasets import STORIES
from schemas.story import STORY_ID
from schemas.story import UPDATED_RUN_ID

__all__ = ['connect', 'run_query', 'with_retries', 'format_rows', 'query_main', 'VIEWS']

# View name -> (file schema, Hive partition schema or None).
VIEWS = {name: (d.schema, d.partition_schema) for name, d in DATASETS.items()}
# The stories dataset has a row per story and run that touched it; this view
# keeps each story's latest.
STORIES_LATEST_VIEW = (
    f'CREATE VIEW {STORIES}_latest AS SELECT * FROM {STORIES} QUALIFY row_number() OVER '
    f'(PARTITION BY {STORY_ID} ORDER BY {UPDATED_RUN_ID} DESC) = 1')
FORMATS = ('table', 'csv', 'json')
MAX_CELL_CHARS = 80  # longer cells are cut in the table format
READ_ATTEMPTS = 3  # a query is run again when files vanished under it
RETRY_SECONDS = 0.2
_VANISHED_FILE_MESSAGES = ('No files found', 'Cannot open file', 'No such file')


# Set once the views exist: SQL then reads no file, writes none, loads no
# extension and cannot undo these (DuckDB settings).
LOCKDOWN_SETTINGS = (
    'enable_external_access = false',
    'autoinstall_known_extensions = false',
    'autoload_known_extensions = false',
    'allow_community_extensions = false',
    'lock_configuration = true',
)
PARQUET_SUFFIX = '.parquet'
PART_PREFIX = 'part-'


def part_file_run_id(name):
  """The run id in a data file name ``part-<run_id>-<n>.parquet``, or None for any other name."""
  if not (name.startswith(PART_PREFIX) and name.endswith(PARQUET_SUFFIX)):
    return None
  run_id, _, index = name[len(PART_PREFIX):-len(PARQUET_SUFFIX)].rpartition('-')
  return run_id if index.isdigit() and run_id else None


def manifest_run_id(name):
  """The run id in a manifest file name ``part-<run_id>.parquet``, or None."""
  if not (name.startswith(PART_PREFIX) and name.endswith(PARQUET_SUFFIX)):
    return None
  run_id = name[len(PART_PREFIX):-len(PARQUET_SUFFIX)]
  return run_id if RUN_ID_PATTERN.match(run_id) else None


def committed_run_ids(output):
  """Ids whose files belong to the dataset: committed runs and compactions, and compactions under way.

  A compaction swaps a partition's files before it writes its manifest, so
  its files count while its staging (or its staged manifest) is there.
  """
  runs = os.path.join(output, RUNS)
  ids = {manifest_run_id(n) for n in os.listdir(runs)} if os.path.isdir(runs) else set()
  staging = os.path.join(output, STAGING_FOLDER)
  for name in os.listdir(staging) if os.path.isdir(staging) else ():
    if name.startswith(COMPACTION_PREFIX):
      ids.add(name[len(COMPACTION_PREFIX):])
    elif name.startswith('.') and name.endswith(PARQUET_SUFFIX):
      ids.add(name[1:-len(PARQUET_SUFFIX)])
  ids.discard(None)
  return ids | {COMPACTION_PREFIX + i for i in ids}


def dataset_files(output, name, committed):
  """The Parquet files of one dataset that a committed run wrote, sorted.

  Anything else in the folder (a file copied in by hand, a run's half-moved
  files) is not part of the dataset and is not read.
  """
  folder = os.path.join(output, name)
  if not os.path.isdir(folder):
    return []
  run_id_of = manifest_run_id if name == RUNS else part_file_run_id
  return sorted(os.path.join(root, f) for root, _, files in os.walk(folder) for f in files
                if run_id_of(f) in committed)


def _arrow_dataset(files, schema, partitions, base):
  import pyarrow.dataset as ds  # pylint: disable=import-outside-toplevel
  if not partitions:
    return ds.dataset(files, schema=schema, format='parquet')
  return ds.dataset(files, schema=pa.unify_schemas([schema, partitions]), format='parquet',
                    partitioning=ds.partitioning(partitions, flavor='hive'),
                    partition_base_dir=base)


def connect(output, unsafe=False):
  """A DuckDB connection with one view per dataset, locked down unless ``unsafe``.

  The views read the files of committed runs through pyarrow, so DuckDB itself
  needs no file access: its SQL can read and write no other file.
  """
  import duckdb  # pylint: disable=import-outside-toplevel
  con = duckdb.connect()
  committed = committed_run_ids(output)
  for name, (schema, partitions) in VIEWS.items():
    files = dataset_files(output, name, committed)
    if files:
      table = _arrow_dataset(files, schema, partitions, os.path.join(output, name))
    else:
      full = pa.unify_schemas([schema, partitions]) if partitions else schema
      table = full.empty_table()
    con.register(f'_{name}_files', table)
    con.execute(f'CREATE VIEW {name} AS SELECT * FROM _{name}_files')
  con.execute("SET TimeZone = 'UTC'")  # timestamps print in UTC, as they are stored
  con.execute(STORIES_LATEST_VIEW)
  if not unsafe:
    for setting in LOCKDOWN_SETTINGS:
      con.execute(f'SET {setting}')
  return con


def is_vanished_file_error(error):
  """A DuckDB error for a file that was listed and then replaced (a compaction swap)."""
  return any(m in str(error) for m in _VANISHED_FILE_MESSAGES)


def with_retries(read):
  """``read()``, run again when a compaction replaced files between listing and opening.

  Compaction swaps a partition's files atomically, so a fresh listing
  always sees a whole partition; a query that listed the old files just
  before the swap is simply run again.
  """
  import duckdb  # pylint: disable=import-outside-toplevel
  for attempt in range(READ_ATTEMPTS):
    try:
      return read()
    except duckdb.Error as error:
      if attempt + 1 == READ_ATTEMPTS or not is_vanished_file_error(error):
        raise
      time.sleep(RETRY_SECONDS)
  raise AssertionError('unreachable')


def run_query(output, sql, unsafe=False):
  """``(column names, rows)`` of a SQL query over the dataset's views."""
  def read():
    relation = connect(output, unsafe).sql(sql)
    if relation is None:
      return [], []
    return list(relation.columns), relation.fetchall()
  return with_retries(read)


def _cell(value):
  if value is None:
    return ''
  text = str(value).replace('\n', ' ')
  return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 1] + '…'


def format_rows(columns, rows, fmt='table'):
  """Rows as an aligned text table, CSV, or a JSON array of objects."""
  if fmt == 'json':
    return json.dumps([dict(zip(columns, row)) for row in rows], default=str,
                      ensure_ascii=False, indent=1)
  if fmt == 'csv':
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(columns)
    writer.writerows([['' if v is None else v for v in row] for row in rows])
    return buffer.getvalue().rstrip('\n')
  cells = [[_cell(v) for v in row] for row in rows]
  widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
  numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows)
             for i in range(len(columns))]

  def line(values):
    return ' | '.join(v.rjust(w) if n else v.ljust(w)
                      for v, w, n in zip(values, widths, numeric)).rstrip()

  out = [line(columns), '-+-'.join('-' * w for w in widths)]
  out += [line(r) for r in cells]
  out.append(f'({len(rows)} row{"s" if len(rows) != 1 else ""})')
  return '\n'.join(out)


def query_main(argv):
  parser = argparse.ArgumentParser(
      prog='newsbeam query',
      description='Runs a DuckDB SQL query over a newsbeam dataset. Views: '
      + ', '.join(VIEWS) + ' (date and lang come from the folders).')
  parser.add_argument('output', help='the dataset folder (a local path)')
  parser.add_argument('sql', help='e.g. "select lang, count(*) from articles group by lang"')
  parser.add_argument('--format', choices=FORMATS, default='table',
                      help='output format. Default: %(default)s.')
  parser.add_argument('--unsafe-sql', action='store_true',
                      help='let the SQL read and write any file and load extensions, as '
                      'DuckDB does by default (only for SQL you wrote yourself)')
  args = parser.parse_args(argv)
  problem = not_an_output(args.output)
  if problem:
    print(f'newsbeam: error: {problem}', file=sys.stderr)
    return 2
  import duckdb  # pylint: disable=import-outside-toplevel
  try:
    columns, rows = run_query(args.output, args.sql, args.unsafe_sql)
  except duckdb.Error as error:
    print(f'newsbeam: query failed: {" ".join(str(error).split())}', file=sys.stderr)
    return 2
  return print_to_stdout(format_rows(columns, rows, args.format))
