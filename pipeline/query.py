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
from schemas.datasets import DATASETS
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


def _literal(text):
  return "'" + text.replace("'", "''") + "'"


def connect(output):
  """A DuckDB connection with one view per dataset (empty, typed views for missing ones)."""
  import duckdb  # pylint: disable=import-outside-toplevel
  con = duckdb.connect()
  for name, (schema, partitions) in VIEWS.items():
    folder = os.path.join(output, name)
    pattern = os.path.join(folder, '**', '*.parquet') if partitions else os.path.join(
        folder, '*.parquet')
    has_files = os.path.isdir(folder) and any(
        f.endswith('.parquet') for _, _, files in os.walk(folder) for f in files)
    if has_files:
      hive = 'true' if partitions else 'false'
      con.execute(f'CREATE VIEW {name} AS SELECT * FROM read_parquet({_literal(pattern)}, '
                  f'hive_partitioning = {hive}, union_by_name = true)')
    else:
      full = pa.unify_schemas([schema, partitions]) if partitions else schema
      con.register(f'_empty_{name}', full.empty_table())
      con.execute(f'CREATE VIEW {name} AS SELECT * FROM _empty_{name}')
  con.execute("SET TimeZone = 'UTC'")  # timestamps print in UTC, as they are stored
  con.execute(STORIES_LATEST_VIEW)
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


def run_query(output, sql):
  """``(column names, rows)`` of a SQL query over the dataset's views."""
  def read():
    relation = connect(output).sql(sql)
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
  args = parser.parse_args(argv)
  problem = not_an_output(args.output)
  if problem:
    print(f'newsbeam: error: {problem}', file=sys.stderr)
    return 2
  import duckdb  # pylint: disable=import-outside-toplevel
  try:
    columns, rows = run_query(args.output, args.sql)
  except duckdb.Error as error:
    print(f'newsbeam: query failed: {error}', file=sys.stderr)
    return 2
  print(format_rows(columns, rows, args.format))
  return 0
