"""Hive-partitioned Parquet datasets, written to a staging folder of the run.

Records are keyed by partition, grouped, and each group is streamed to
``<staging>/<dataset>/<k>=<v>/.../part-<run_id>-<n>.parquet`` with pyarrow
and an explicit schema. The driver moves staged files into place once the
pipeline has finished (``pipeline/commit.py``), so readers never see a part
of a run. Beam's ``fileio.WriteToFiles`` is not used: on the local filesystem
it fails silently to create Hive sub-folders (apache/beam#21313).
"""

import datetime
import logging

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
import pyarrow as pa
import pyarrow.parquet as pq

import schemas
from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas.common import DATE
from schemas.common import DATE_VALUE_PATTERN
from schemas.common import LANG
from schemas.common import LANG_VALUE_PATTERN

__all__ = ['WriteDataset', 'article_partition', 'dead_letter_partition',
           'write_parquet', 'partition_path', 'STAGING_FOLDER']

STAGING_FOLDER = '_staging'
COMPRESSION = 'zstd'
ROW_GROUP_ROWS = 10_000  # rows buffered before a row group is written
MAX_ROWS_PER_FILE = 1_000_000  # a partition with more rows gets more files

FILE_DATASET = 'dataset'
FILE_STAGED_PATH = 'staged_path'
FILE_FINAL_PATH = 'final_path'
FILE_ROWS = 'rows'

_VALIDATORS = {DATE: DATE_VALUE_PATTERN, LANG: LANG_VALUE_PATTERN}

_LOG = logging.getLogger(__name__)


class PartitionValueError(ValueError):
  """A partition value would not make a safe, valid folder name."""


def partition_path(partition):
  """``date=2022-01-18/lang=en`` for ``(('date', ...), ('lang', ...))``, validated."""
  parts = []
  for name, value in partition:
    pattern = _VALIDATORS[name]
    if not isinstance(value, str) or not pattern.match(value):
      raise PartitionValueError(f'invalid {name} partition value {value!r}')
    if name == DATE:
      datetime.date.fromisoformat(value)
    parts.append(f'{name}={value}')
  return '/'.join(parts)


def article_partition(article):
  """The (date, lang) partition of an article."""
  when = article[A.PUBLISHED_AT] or article[A.INGESTED_AT]
  return ((DATE, when.date().isoformat()), (LANG, article[A.LANGUAGE]))


def dead_letter_partition(record):
  """The date partition of a dead letter (the day it failed)."""
  return ((DATE, record[D.FAILED_AT].date().isoformat()),)


def drop_partition(record):
  """The date partition of a drop-audit record (the day it was dropped)."""
  return ((DATE, record[X.DROPPED_AT].date().isoformat()),)


def part_file_name(run_id, index):
  return f'part-{run_id}-{index}.parquet'


def write_parquet(path, rows, schema, row_group_rows=ROW_GROUP_ROWS):
  """Writes an iterable of dicts to one Parquet file through FileSystems; returns the row count."""
  count = 0
  with FileSystems.create(
      path, compression_type=CompressionTypes.UNCOMPRESSED) as sink:
    with pq.ParquetWriter(sink, schema, compression=COMPRESSION) as writer:
      batch = []
      for row in rows:
        batch.append(row)
        if len(batch) >= row_group_rows:
          writer.write_table(pa.Table.from_pylist(batch, schema=schema))
          count += len(batch)
          batch = []
      if batch or not count:
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        count += len(batch)
  return count


def _chunks(rows, size):
  chunk = []
  for row in rows:
    chunk.append(row)
    if len(chunk) >= size:
      yield chunk
      chunk = []
  if chunk:
    yield chunk


class _WritePartitionFn(beam.DoFn):
  """Writes the rows of one partition to staged files; yields one entry per file."""

  def __init__(self, dataset, schema, output, run_id, max_rows_per_file):
    self._dataset = dataset
    self._schema = schema
    self._output = output
    self._run_id = run_id
    self._max_rows = max_rows_per_file
    self._written = Metrics.counter('WriteDataset', 'written')

  def process(self, keyed_rows):
    partition, rows = keyed_rows
    relative = f'{self._dataset}/{partition_path(partition)}'
    for index, chunk in enumerate(_chunks(rows, self._max_rows)):
      name = part_file_name(self._run_id, index)
      staged = FileSystems.join(self._output, STAGING_FOLDER, self._run_id,
                                relative, name)
      count = write_parquet(staged, chunk, self._schema)
      self._written.inc(count)
      yield {FILE_DATASET: self._dataset, FILE_STAGED_PATH: staged,
             FILE_FINAL_PATH: FileSystems.join(self._output, relative, name),
             FILE_ROWS: count}


class WriteDataset(beam.PTransform):
  """Writes records as one Hive-partitioned dataset under the run's staging folder.

  ``partition_fn`` maps a record to its partition; with None, the input is
  already ``(partition, record)`` pairs. Returns a PCollection of staged-file
  entries for the commit.
  """

  def __init__(self, dataset, schema, partition_fn, output, run_id,
               max_rows_per_file=MAX_ROWS_PER_FILE, label=None):
    super().__init__(label)
    self._dataset = dataset
    self._schema = schema
    self._partition_fn = partition_fn
    self._output = output
    self._run_id = run_id
    self._max_rows = max_rows_per_file

  def expand(self, pcoll):
    if self._partition_fn is not None:
      pcoll = pcoll | 'KeyByPartition' >> beam.Map(
          lambda r, fn: (fn(r), r), self._partition_fn)
    return (pcoll
            | 'GroupByPartition' >> beam.GroupByKey()
            | 'WritePartitions' >> beam.ParDo(_WritePartitionFn(
                self._dataset, self._schema, self._output, self._run_id,
                self._max_rows)))


def complete_dead_letter(record, run_id):
  """A dead letter with the run's id and the schema version."""
  return dict(record, **{D.RUN_ID: run_id,
                         D.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION})


def complete_drop(record, run_id):
  """A drop-audit record with the run's id and the schema version."""
  return dict(record, **{X.RUN_ID: run_id,
                         X.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION})
