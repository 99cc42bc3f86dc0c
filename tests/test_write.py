import datetime

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from schemas import article as A
from schemas.article import ARTICLE_SCHEMA
from schemas.common import DATE_LANG_PARTITION_SCHEMA
from transforms.normalize import normalize_record
from schemas.datasets import PartitionValueError
from schemas.datasets import article_partition
from schemas.datasets import partition_path
from transforms.write import WriteDataset
from transforms.write import write_parquet

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
