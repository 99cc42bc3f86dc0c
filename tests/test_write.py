import datetime
import pathlib

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipeline.query import part_file_run_id
from schemas import article as A
from schemas import datasets as S
from schemas import dead_letter as D
from schemas import drop as X
from schemas import report as R
from schemas.article import ARTICLE_SCHEMA
from schemas.common import DATE_LANG_PARTITION_SCHEMA
from schemas.dead_letter import DEAD_LETTER_SCHEMA
from transforms.extract.normalize import normalize_record
from schemas.datasets import PartitionValueError
from schemas.datasets import article_partition
from schemas.datasets import partition_path
from transforms.core import stage
from transforms.core.stage import make_dead_letter
from transforms.stories.assign import StoryOutputs
from transforms.write.datasets import MAX_ROWS_PER_FILE
from transforms.write.datasets import WriteDataset
from transforms.write.datasets import WriteDatasets
from transforms.write.datasets import complete_dead_letter
from transforms.write.datasets import row_digest_bytes
from transforms.write.datasets import write_parquet

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def make_article(n, published='2022-01-18', language='en'):
  raw = {A.SOURCE_URI: f'in/{n}.txt', A.INPUT_FORMAT: 'text', A.TITLE: f'T{n}',
         A.TEXT: f'Body number {n}.', 'published': published}
  article, _ = normalize_record(raw, 'run1', NOW)
  article[A.LANGUAGE] = language
  article[A.LANGUAGE_CONFIDENCE] = 0.99
  return article


def test_partition_path_validates_values():
  assert partition_path((('date', '2022-01-18'), ('lang', 'en'))) == 'date=2022-01-18/lang=en'
  assert partition_path((('date', '2022-01-18'), ('lang', 'und'))) == 'date=2022-01-18/lang=und'
  for bad in ((('date', '../../etc'),), (('date', '2022-13-45'),),
              (('lang', 'EN'),), (('lang', 'en/../..'),), (('lang', None),)):
    with pytest.raises((PartitionValueError, ValueError)):
      partition_path(bad)


def test_article_partition_uses_publication_then_ingestion_date():
  assert article_partition(make_article(1)) == (('date', '2022-01-18'), ('lang', 'en'))
  assert article_partition(make_article(2, published=None)) == (
      ('date', '2026-11-22'), ('lang', 'en'))


def test_article_records_match_the_schema_exactly():
  article = make_article(1)
  assert set(article) == set(ARTICLE_SCHEMA.names)


def test_write_parquet_round_trip_with_declared_types(tmp_path):
  path = str(tmp_path / 'x.parquet')
  rows = [make_article(i) for i in range(25)]
  assert write_parquet(path, rows, ARTICLE_SCHEMA, row_group_rows=10) == 25
  table = pq.read_table(path)
  assert table.schema.equals(ARTICLE_SCHEMA, check_metadata=False)
  assert pq.ParquetFile(path).metadata.num_row_groups == 3
  assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == 'ZSTD'


def test_write_dataset_transform(tmp_path):
  articles = [make_article(1), make_article(2), make_article(3, language='de'),
              make_article(4, published='2022-01-19')]
  out = str(tmp_path)
  with TestPipeline() as p:
    files = (p | beam.Create(articles)
             | WriteDataset('articles', out, 'run1', max_rows_per_file=1))
    assert_that(files | beam.Map(lambda f: (f['final_path'][len(out):], f['rows'])),
                equal_to([('/articles/date=2022-01-18/lang=en/part-run1-0.parquet', 1),
                          ('/articles/date=2022-01-18/lang=en/part-run1-1.parquet', 1),
                          ('/articles/date=2022-01-18/lang=de/part-run1-0.parquet', 1),
                          ('/articles/date=2022-01-19/lang=en/part-run1-0.parquet', 1)]))
  staged = ds.dataset(f'{out}/_staging/run1/articles', format='parquet',
                      partitioning=ds.partitioning(DATE_LANG_PARTITION_SCHEMA,
                                                   flavor='hive'))
  assert staged.count_rows() == 4


def make_dead_letter_row(n, day=18):
  return complete_dead_letter(make_dead_letter(
      'read_warc', f'in/broken.warc#offset={n}', 'WarcFramingError',
      f'Content-Length is not a number: x{n}'), 'run1') | {
          D.FAILED_AT: datetime.datetime(2022, 1, day, 12, 0, n % 60, tzinfo=UTC)}


def write_ungrouped(out, rows, max_rows_per_file=MAX_ROWS_PER_FILE):
  """Writes dead letters without grouping; returns ``{staged file: rows}`` of every file left."""
  with TestPipeline() as p:
    files = (p | beam.Create(rows)
             | WriteDataset(S.DEAD_LETTERS, out, 'run1', max_rows_per_file=max_rows_per_file,
                            grouped=False))
    assert_that(files | beam.Map(lambda f: f[R.FILE_ROWS]) | beam.CombineGlobally(sum),
                equal_to([len(rows)]))
  staged = pathlib.Path(out, '_staging', 'run1', 'dead_letters')
  return {str(f.relative_to(staged)): pq.read_table(f).num_rows
          for f in sorted(staged.rglob('*')) if f.is_file()}


def test_dead_letters_are_written_per_bundle_under_run_named_files(tmp_path):
  rows = [make_dead_letter_row(n) for n in range(5)] + [make_dead_letter_row(9, day=19)]
  written = write_ungrouped(str(tmp_path), rows)
  assert sorted(written.values()) == [1, 5]
  for path in written:
    folder, name = path.split('/')
    assert folder in ('date=2022-01-18', 'date=2022-01-19')
    assert part_file_run_id(name) == 'run1'  # the commit's and the query's file naming
  table = pq.read_table(tmp_path / '_staging' / 'run1' / 'dead_letters' / 'date=2022-01-18')
  assert sorted(table.column(D.SOURCE_URI).to_pylist()) == [
      f'in/broken.warc#offset={n}' for n in range(5)]
  assert table.schema.equals(DEAD_LETTER_SCHEMA, check_metadata=False)


def test_bundle_file_names_follow_their_rows(tmp_path):
  rows = [make_dead_letter_row(n) for n in range(4)]
  first = write_ungrouped(str(tmp_path / 'a'), rows)
  again = write_ungrouped(str(tmp_path / 'b'), rows)
  other = write_ungrouped(str(tmp_path / 'c'), rows[:3])
  assert list(first) == list(again)  # a retried bundle writes the same file again
  assert set(first).isdisjoint(other)


def test_bundle_files_are_cut_at_the_row_cap_and_left_complete(tmp_path):
  rows = [make_dead_letter_row(n) for n in range(5)]
  written = write_ungrouped(str(tmp_path), rows, max_rows_per_file=2)
  assert sorted(written.values()) == [1, 2, 2]
  assert all(part_file_run_id(p.split('/')[-1]) == 'run1' for p in written)


def test_only_partitioned_datasets_are_written_ungrouped():
  with pytest.raises(ValueError):
    WriteDataset(S.ENTITIES, '/tmp/out', 'run1', grouped=False)


def test_bundle_file_digest_ignores_field_order():
  row = make_dead_letter_row(1)
  assert row_digest_bytes(row) == row_digest_bytes(dict(reversed(list(row.items()))))
  assert row_digest_bytes(row) != row_digest_bytes(make_dead_letter_row(2))


def test_dead_letter_fields_are_capped_past_their_limits():
  uri = 'warc/' + 'x' * 5000 + '.warc#offset=123456'
  record = make_dead_letter('read_warc', uri, 'E' * 500, 'm' * 9000, b'b' * 9000)
  assert len(record[D.SOURCE_URI]) == D.SOURCE_URI_CHARS
  assert record[D.SOURCE_URI].startswith('warc/xxx')
  assert record[D.SOURCE_URI].endswith('.warc#offset=123456')
  assert len(record[D.ERROR_TYPE]) == D.ERROR_TYPE_CHARS
  assert len(record[D.MESSAGE]) == D.MESSAGE_CHARS
  assert len(record[D.EXCERPT]) == D.EXCERPT_CHARS
  short = make_dead_letter('read_warc', 'a.warc#offset=1', 'WarcFramingError', 'bad')
  assert (short[D.SOURCE_URI], short[D.ERROR_TYPE], short[D.MESSAGE]) == (
      'a.warc#offset=1', 'WarcFramingError', 'bad')


class _FailOnBadFn(beam.DoFn):
  """Dead-letters 'broken' itself, raises on 'bad' (dead-lettered by ApplyStage), drops 'skip'."""

  def process(self, element):
    if element == 'bad':
      raise ValueError('bad input')
    if element == 'skip':
      yield stage.drop('skipped', 'toy', f'in/{element}')
      return
    if element == 'broken':
      yield stage.dead_letter('toy', f'in/{element}', 'Broken', 'broken input')
      return
    yield element


def _flattens_taking(pipeline, parts):
  """Labels of the Flattens that take ``parts``, or their rows made ready for the writer."""
  carrying = set(parts)

  class _Visitor(beam.pipeline.PipelineVisitor):
    def visit_transform(self, node):
      if not any(p in carrying for p in node.inputs):
        return
      if isinstance(node.transform, beam.Flatten):
        found.append(node.full_label)
      elif node.full_label.split('/')[-1].startswith(('CompleteDeadLetters', 'CompleteDrops')):
        carrying.update(node.outputs.values())

  found = []
  pipeline.visit(_Visitor())
  return found


def test_each_steps_drops_and_dead_letters_are_written_where_they_are_made(tmp_path):
  out = str(tmp_path)
  p = TestPipeline()
  first = p | 'In' >> beam.Create(['a', 'broken', 'bad', 'skip']) | 'First' >> stage.ApplyStage(
      _FailOnBadFn(), 'first')
  second = first.records | 'Second' >> stage.ApplyStage(_FailOnBadFn(), 'second')
  outcomes = stage.merge_outcomes([first, second], 'Toy')
  none = p | 'NoArticles' >> beam.Create([])
  stories = StoryOutputs(outcome=second, index_rows=p | 'NoIndexRows' >> beam.Create([]),
                         stories=p | 'NoStories' >> beam.Create([]))
  files = (none, outcomes, stories) | WriteDatasets(out, 'run1')
  assert_that(files | beam.Map(lambda f: f[R.FILE_ROWS]) | beam.CombineGlobally(sum),
              equal_to([3]))
  assert len(outcomes.dead_letter_parts) == 4 and len(outcomes.drop_parts) == 2
  assert _flattens_taking(p, outcomes.dead_letter_parts + outcomes.drop_parts) == []
  p.run().wait_until_finish()
  table = pq.read_table(tmp_path / '_staging' / 'run1' / 'dead_letters')
  assert sorted(zip(table.column(D.STAGE).to_pylist(),
                    table.column(D.ERROR_TYPE).to_pylist())) == [
      ('first', 'ValueError'), ('toy', 'Broken')]
  drops = pq.read_table(tmp_path / '_staging' / 'run1' / 'drops')
  assert drops.column(X.SOURCE_URI).to_pylist() == ['in/skip']


def test_merged_dead_letters_are_one_flatten_made_on_demand():
  p = TestPipeline()
  first = p | beam.Create(['broken', 'bad']) | 'First' >> stage.ApplyStage(
      _FailOnBadFn(), 'first')
  merged = stage.merge_outcomes([first, first._replace(records=first.records)], 'Twice')
  assert merged.dead_letters is merged.dead_letters
  assert merged.dropped is merged.dropped
  assert _flattens_taking(p, first.dead_letter_parts) != []
  assert_that(merged.dead_letters | beam.Map(lambda d: d[D.ERROR_TYPE]),
              equal_to(['Broken', 'ValueError', 'Broken', 'ValueError']))
  p.run().wait_until_finish()
