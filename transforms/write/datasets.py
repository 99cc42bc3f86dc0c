"""Hive-partitioned Parquet datasets, written to a staging folder of the run.

Records are keyed by partition, grouped, and each group is streamed to
``<staging>/<dataset>/<k>=<v>/.../part-<run_id>-<n>.parquet`` with pyarrow
and an explicit schema. Dead letters and drops, which a broken input can
produce by the hundred thousand, are not grouped (a group is held whole in
memory): each bundle streams its rows into one file per partition, in row
groups, and names it after a digest of its rows (``n`` below 2**64), so the
name is unique within the run and the same if the bundle is retried. The
driver moves staged files into place once the pipeline has finished
(``pipeline/commit.py``), so readers never see a part of a run. Beam's
``fileio.WriteToFiles`` is not used: on the local filesystem it fails
silently to create Hive sub-folders (apache/beam#21313). Dataset names,
schemas and partition rules come from ``schemas.datasets``.

As a safety net, a string that cannot be encoded as UTF-8 (a lone surrogate
that slipped into a message, an excerpt or a field) is repaired with U+FFFD
before the shuffle and before Arrow sees it, instead of failing the run.
"""

import hashlib
import uuid

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms import window
import pyarrow as pa
import pyarrow.parquet as pq

import schemas
from schemas import datasets as S
from schemas import dead_letter as D
from schemas import drop as X
from schemas import report as R
from schemas import story as T
from transforms.core.decode import repair_strings
from transforms.enrich.entities import entity_rows
from transforms.enrich.geo.places import place_rows

__all__ = ['WriteDataset', 'WriteDatasets', 'WriteStoryIndex', 'write_parquet', 'COMPRESSION',
           'ROW_GROUP_ROWS']

COMPRESSION = 'zstd'
ROW_GROUP_ROWS = 10_000  # rows buffered before a row group is written
MAX_ROWS_PER_FILE = 1_000_000  # a partition with more rows gets more files
BUNDLE_DIGEST_BYTES = 8  # bytes of a bundle file's row digest; its number n is below 2**64
IN_PROGRESS_PREFIX = '.inprogress-'  # a bundle file being written, renamed once complete


def _table(batch, schema):
  """An Arrow table of rows; rows holding strings that are not valid UTF-8 are repaired first."""
  try:
    return pa.Table.from_pylist(batch, schema=schema)
  except UnicodeEncodeError:
    return pa.Table.from_pylist([repair_strings(row) for row in batch], schema=schema)


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
          writer.write_table(_table(batch, schema))
          count += len(batch)
          batch = []
      if batch or not count:
        writer.write_table(_table(batch, schema))
        count += len(batch)
  return count


def _chunks(rows, size):
  """Lists of at most ``size`` rows (all of them in one when ``size`` is None)."""
  chunk = []
  for row in rows:
    chunk.append(row)
    if size is not None and len(chunk) >= size:
      yield chunk
      chunk = []
  if chunk:
    yield chunk


class _WritePartitionFn(beam.DoFn):
  """Writes the rows of one partition to staged files; yields one entry per file.

  ``folder`` holds the partitions inside the output (the dataset's name by
  default); ``file_name(run_id, index)`` names the files; ``sort_key``, when
  given, orders a partition's rows first.
  """

  def __init__(self, dataset, schema, output, run_id, max_rows_per_file, folder=None,
               file_name=S.part_file_name, sort_key=None):
    self._dataset = dataset
    self._schema = schema
    self._output = output
    self._run_id = run_id
    self._max_rows = max_rows_per_file
    self._folder = folder or dataset
    self._file_name = file_name
    self._sort_key = sort_key

  def process(self, keyed_rows):
    partition, rows = keyed_rows
    if self._sort_key is not None:
      rows = sorted(rows, key=self._sort_key)
    relative = f'{self._folder}/{S.partition_path(partition)}'
    for index, chunk in enumerate(_chunks(rows, self._max_rows)):
      name = self._file_name(self._run_id, index)
      staged = FileSystems.join(self._output, S.STAGING_FOLDER, self._run_id,
                                relative, name)
      count = write_parquet(staged, chunk, self._schema)
      yield {R.FILE_DATASET: self._dataset, R.FILE_STAGED_PATH: staged,
             R.FILE_FINAL_PATH: FileSystems.join(self._output, relative, name),
             R.FILE_ROWS: count}


def row_digest_bytes(row):
  """A row as bytes for a bundle file's digest (keys sorted, so field order does not matter)."""
  return repr(sorted(row.items())).encode('utf-8', errors='backslashreplace')


class _BundleFile:
  """One partition's staged file of one bundle: rows written in row groups as they come."""

  def __init__(self, folder, schema, seed, row_group_rows):
    self.temporary = FileSystems.join(folder, f'{IN_PROGRESS_PREFIX}{uuid.uuid4().hex}.parquet')
    self._schema = schema
    self._row_group_rows = row_group_rows
    self._sink = FileSystems.create(self.temporary,
                                    compression_type=CompressionTypes.UNCOMPRESSED)
    self._writer = pq.ParquetWriter(self._sink, schema, compression=COMPRESSION)
    self._digest = hashlib.blake2b(seed.encode('utf-8'), digest_size=BUNDLE_DIGEST_BYTES)
    self._batch = []
    self.rows = 0

  def add(self, row):
    self._digest.update(row_digest_bytes(row))
    self._batch.append(row)
    self.rows += 1
    if len(self._batch) >= self._row_group_rows:
      self._flush()

  def _flush(self):
    if self._batch:
      self._writer.write_table(_table(self._batch, self._schema))
      self._batch = []

  def close(self):
    """Writes what is left; returns the file's number: the digest of its rows."""
    self._flush()
    self._writer.close()
    self._sink.close()
    return int.from_bytes(self._digest.digest(), 'big')

  def abandon(self):
    """Closes the file without naming it (the bundle failed; staging is deleted with the run)."""
    for closing in (self._writer.close, self._sink.close):
      try:
        closing()
      except Exception:  # pylint: disable=broad-except
        pass


class _WriteBundleFn(beam.DoFn):
  """Writes the rows of each bundle to staged files, one per partition; yields one entry per file.

  Nothing is grouped, so memory does not grow with the rows: a partition's
  rows are buffered up to a row group. A file is renamed to its final
  ``part-<run_id>-<n>.parquet`` once complete, ``n`` the digest of its rows.
  """

  def __init__(self, dataset, schema, partition_fn, output, run_id, max_rows_per_file,
               row_group_rows=ROW_GROUP_ROWS):
    self._dataset = dataset
    self._schema = schema
    self._partition_fn = partition_fn
    self._output = output
    self._run_id = run_id
    self._max_rows = max_rows_per_file
    self._row_group_rows = row_group_rows
    self._files = {}

  def start_bundle(self):
    self.teardown()  # files a failed bundle left open

  def process(self, row):
    row = repair_strings(row)
    relative = f'{self._dataset}/{S.partition_path(self._partition_fn(row))}'
    bundle_file = self._files.get(relative)
    if bundle_file is None:
      bundle_file = self._files[relative] = _BundleFile(
          FileSystems.join(self._output, S.STAGING_FOLDER, self._run_id, relative),
          self._schema, f'{self._run_id}/{relative}', self._row_group_rows)
    bundle_file.add(row)
    if bundle_file.rows >= self._max_rows:
      yield self._finish(relative, self._files.pop(relative))

  def finish_bundle(self):
    files, self._files = self._files, {}
    for relative, bundle_file in sorted(files.items()):
      yield window.GlobalWindows.windowed_value(self._finish(relative, bundle_file))

  def teardown(self):
    for bundle_file in self._files.values():
      bundle_file.abandon()
    self._files = {}

  def _finish(self, relative, bundle_file):
    name = S.part_file_name(self._run_id, bundle_file.close())
    staged = FileSystems.join(self._output, S.STAGING_FOLDER, self._run_id, relative, name)
    FileSystems.rename([bundle_file.temporary], [staged])
    return {R.FILE_DATASET: self._dataset, R.FILE_STAGED_PATH: staged,
            R.FILE_FINAL_PATH: FileSystems.join(self._output, relative, name),
            R.FILE_ROWS: bundle_file.rows}


def _write_partitions(pcoll, partition_fn, write_fn):
  """Groups rows (or ``(partition, row)`` pairs when ``partition_fn`` is None) and writes them.

  Strings are repaired before the shuffle, whose coder cannot encode lone
  surrogates either.
  """
  if partition_fn is not None:
    pcoll = pcoll | 'KeyByPartition' >> beam.Map(
        lambda r, fn: (fn(r), repair_strings(r)), partition_fn)
  else:
    pcoll = pcoll | 'RepairStrings' >> beam.Map(
        lambda pair: (pair[0], repair_strings(pair[1])))
  return (pcoll
          | 'GroupByPartition' >> beam.GroupByKey()
          | 'WritePartitions' >> beam.ParDo(write_fn))


class WriteDataset(beam.PTransform):
  """Writes records as one Hive-partitioned dataset under the run's staging folder.

  The dataset's schema and partition rule come from ``schemas.datasets``; a
  dataset without a partition rule takes ``(partition, record)`` pairs.
  ``grouped=False`` writes each bundle's rows to its own files instead of
  grouping a partition's rows first (for a dataset with a partition rule).
  Returns a PCollection of staged-file entries for the commit.
  """

  def __init__(self, dataset, output, run_id, max_rows_per_file=MAX_ROWS_PER_FILE,
               grouped=True, label=None):
    super().__init__(label)
    self._dataset = dataset
    self._schema = S.DATASETS[dataset].schema
    self._partition_fn = S.DATASETS[dataset].partition
    self._output = output
    self._run_id = run_id
    self._max_rows = max_rows_per_file
    self._grouped = grouped
    if not grouped and self._partition_fn is None:
      raise ValueError(f'{dataset}: only a dataset with a partition rule is written ungrouped')

  def expand(self, pcoll):
    if not self._grouped:
      return pcoll | 'WriteBundles' >> beam.ParDo(_WriteBundleFn(
          self._dataset, self._schema, self._partition_fn, self._output, self._run_id,
          self._max_rows))
    return _write_partitions(pcoll, self._partition_fn, _WritePartitionFn(
        self._dataset, self._schema, self._output, self._run_id, self._max_rows))


def complete_dead_letter(record, run_id):
  """A dead letter with the run's id and the schema version, its strings repaired."""
  return repair_strings(dict(record, **{D.RUN_ID: run_id,
                                        D.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION}))


def complete_drop(record, run_id):
  """A drop-audit record with the run's id and the schema version, its strings repaired."""
  return repair_strings(dict(record, **{X.RUN_ID: run_id,
                                        X.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION}))


class WriteDatasets(beam.PTransform):
  """Writes a run's articles, entity and place rows, stories, dead letters and drops.

  Input: ``(articles, outcomes, stories)``: the articles to write, the merged
  StageOutputs of every stage, and AssignStories' StoryOutputs (its stories
  rows and the run's story-index rows). Returns the staged files.
  """

  def __init__(self, output, run_id, label=None):
    super().__init__(label)
    self._output = output
    self._run_id = run_id

  def expand(self, inputs):
    articles, outcomes, stories = inputs
    entities = articles | 'EntityRows' >> beam.FlatMap(entity_rows)
    places = articles | 'PlaceRows' >> beam.FlatMap(place_rows)
    # Each step's drops and dead letters are written where they are made: a
    # merge of them would be held whole in the DirectRunner's memory.
    drop_files = [
        part
        | f'CompleteDrops{n}' >> beam.Map(complete_drop, self._run_id)
        | f'WriteDrops{n}' >> WriteDataset(S.DROPS, self._output, self._run_id, grouped=False)
        for n, part in enumerate(outcomes.drop_parts)]
    dead_letter_files = [
        part
        | f'CompleteDeadLetters{n}' >> beam.Map(complete_dead_letter, self._run_id)
        | f'WriteDeadLetters{n}' >> WriteDataset(S.DEAD_LETTERS, self._output, self._run_id,
                                                 grouped=False)
        for n, part in enumerate(outcomes.dead_letter_parts)]
    return ([articles | 'WriteArticles' >> WriteDataset(S.ARTICLES, self._output, self._run_id),
             entities | 'WriteEntities' >> WriteDataset(S.ENTITIES, self._output, self._run_id),
             places | 'WritePlaces' >> WriteDataset(S.PLACES, self._output, self._run_id),
             stories.stories | 'WriteStories' >> WriteDataset(
                 S.STORIES, self._output, self._run_id),
             stories.index_rows | 'WriteStoryIndex' >> WriteStoryIndex(
                 self._output, self._run_id),
             *drop_files,
             *dead_letter_files]
            | 'MergeFiles' >> beam.Flatten())


def _index_file_name(run_id, _index):
  """A run writes one story-index file per partition (no row cap)."""
  return T.index_file_name(run_id)


def _index_row_order(row):
  return row[T.ARTICLE_ID]


class WriteStoryIndex(beam.PTransform):
  """Writes the run's story-index rows under its staging folder; returns staged-file entries.

  The entries have the shape of ``WriteDataset``'s, so the commit moves them
  into place with the run's other files.
  """

  def __init__(self, output, run_id, label=None):
    super().__init__(label)
    self._output = output
    self._run_id = run_id

  def expand(self, rows):
    return _write_partitions(rows, T.index_partition, _WritePartitionFn(
        T.STORY_INDEX_FOLDER, T.STORY_INDEX_SCHEMA, self._output, self._run_id, None,
        folder=f'{S.STATE_FOLDER}/{T.STORY_INDEX_FOLDER}', file_name=_index_file_name,
        sort_key=_index_row_order))
