import datetime
import hashlib

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to

from schemas import article as A
from schemas import drop as X
from schemas import raw as R
from transforms.extract.dates import parse_date
from transforms.extract.normalize import NormalizeArticles
from transforms.extract.normalize import make_content_hash
from transforms.extract.normalize import normalize_inline
from transforms.extract.normalize import normalize_record
from transforms.extract.normalize import normalize_text
from transforms.extract.normalize import source_of
from transforms.extract.urls import make_article_id

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_normalize_text_paragraphs_entities_whitespace_nfc():
  raw = '  First\tline &amp; more  \r\n\r\n\r\nSecond\u00a0para\u200b\nThird cafe\u0301 '
  assert normalize_text(raw) == 'First line & more\n\nSecond para\n\nThird café'
  assert normalize_text('') == ''
  assert normalize_text(None) == ''
  assert normalize_text('a\x00b\x07c') == 'a b c'


def test_normalize_inline_is_one_line():
  assert normalize_inline(' A\n\nheadline ') == 'A headline'
  assert normalize_inline('   ') is None


def test_parse_date_formats():
  expected = datetime.datetime(2022, 1, 18, 9, 30, tzinfo=UTC)
  for value in ('2022-01-18T10:30:00+01:00', '2022-01-18T09:30:00Z',
                'Tue, 18 Jan 2022 10:30:00 +0100', 'January 18, 2022 9:30 UTC',
                1642498200, 1642498200000, expected):
    assert parse_date(value, NOW) == (expected, None), value
  assert parse_date('2022-01-18', NOW) == (datetime.datetime(2022, 1, 18, tzinfo=UTC), None)


def test_parse_date_rejects_and_names_why():
  assert parse_date('../../etc', NOW) == (None, 'date_unparseable')
  assert parse_date('5', NOW) == (None, 'date_unparseable')
  assert parse_date('1850-01-01', NOW) == (None, 'date_out_of_range')
  assert parse_date('2026-11-24T00:00:00Z', NOW) == (None, 'date_out_of_range')
  assert parse_date('2026-11-23T00:00:00Z', NOW)[1] is None
  assert parse_date(None, NOW) == (None, None)
  assert parse_date('x' * 500, NOW) == (None, 'date_unparseable')


def test_source_priority():
  assert source_of({A.SOURCE: 'Given'}, 'https://www.bbc.co.uk/x') == 'Given'
  assert source_of({R.FEED_TITLE: 'Feed'}, 'https://www.bbc.co.uk/x') == 'bbc.co.uk'
  assert source_of({R.FEED_TITLE: 'Feed', R.FOLDER_NAME: 'dir'}, None) == 'Feed'
  assert source_of({R.FOLDER_NAME: 'dir'}, None) == 'dir'


def test_content_hash():
  assert make_content_hash('b') == hashlib.sha256('b'.encode()).hexdigest()[:32]


def test_article_id_is_stable_and_url_based():
  assert make_article_id('https://x.org/a', 's', 't', 'body') == make_article_id(
      'https://x.org/a', 'other', 'other', 'other')
  assert make_article_id(None, 's', 't', 'body') != make_article_id(
      None, 's', 't', 'body2')
  expected = hashlib.sha256('content\x1fs\x1ft\x1fb'.encode()).hexdigest()[:32]
  assert make_article_id(None, 's', 't', 'b') == expected


def test_normalize_record_fields():
  raw = {A.SOURCE_URI: 'in/a.jsonl#L1', A.INPUT_FORMAT: 'jsonl',
         A.URL: 'https://www.example.org/story?utm_medium=x', A.TITLE: ' Title ',
         A.TEXT: 'One two\nthree', A.AUTHORS: ['Ann', 'Ann', ' '],
         R.PUBLISHED: '2022-01-18', A.EXTERNAL_ID: '7'}
  article, warnings = normalize_record(raw, 'run1', NOW)
  assert warnings == ()
  assert article[A.URL] == 'https://www.example.org/story?utm_medium=x'
  assert article[A.CANONICAL_URL] == 'https://www.example.org/story'
  assert article[A.SOURCE] == 'example.org'
  assert article[A.TEXT] == 'One two\n\nthree'
  assert article[A.WORD_COUNT] == 3
  assert article[A.AUTHORS] == ['Ann']
  assert article[A.PUBLISHED_AT] == datetime.datetime(2022, 1, 18, tzinfo=UTC)
  assert article[A.DATE_SOURCE] == 'json'
  assert (article[A.MODIFIED_AT], article[A.MODIFIED_SOURCE]) == (None, None)
  assert article[A.EXTERNAL_ID] == '7'
  assert article[A.ARTICLE_ID] == make_article_id(
      'https://www.example.org/story', None, None, None)
  assert article[A.LEGACY_ARTICLE_ID] is None  # the old scheme dropped utm_ too
  article, warnings = normalize_record(dict(raw, **{R.PUBLISHED: '../../x'}),
                                       'run1', NOW)
  assert warnings == ('date_unparseable',)
  assert article[A.PUBLISHED_AT] is None
  assert article[A.DATE_SOURCE] == 'ingested'


def test_normalize_transform_drops_empty_text_and_counts_warnings():
  raws = [
      {A.SOURCE_URI: 'a.txt', A.INPUT_FORMAT: 'text', A.TITLE: 'T',
       A.TEXT: 'Body text', R.HEADER_DATE: '2022-01-18'},
      {A.SOURCE_URI: 'b.txt', A.INPUT_FORMAT: 'text', A.TITLE: 'T',
       A.TEXT: ' \n '},
      {A.SOURCE_URI: 'c.jsonl#L1', A.INPUT_FORMAT: 'jsonl', A.TEXT: 'Body',
       R.PUBLISHED: '3000-01-01'},
  ]
  with TestPipeline() as p:
    out = p | beam.Create(raws) | NormalizeArticles('run1', NOW)
    assert_that(out.records | beam.Map(lambda a: (a[A.SOURCE_URI],
                                                  a[A.DATE_SOURCE])),
                equal_to([('a.txt', 'text_header'), ('c.jsonl#L1', 'ingested')]),
                label='Records')
    assert_that(out.dropped | beam.Map(lambda d: d[X.REASON]),
                equal_to(['empty_text']), label='Drops')
    assert_that(out.warnings | beam.Map(lambda w: w[0]),
                equal_to(['date_out_of_range']), label='Warnings')


def test_normalize_transform_removes_extra_tracking_params():
  raws = [{A.SOURCE_URI: 'a.jsonl#L1', A.INPUT_FORMAT: 'jsonl', A.TEXT: 'Body',
           A.URL: 'https://example.org/a?source=app&utm_source=x&id=3'}]
  with TestPipeline() as p:
    out = p | beam.Create(raws) | NormalizeArticles('run1', NOW, tracking_params=('source',))
    assert_that(out.records | beam.Map(lambda a: (a[A.URL], a[A.CANONICAL_URL])),
                equal_to([('https://example.org/a?source=app&utm_source=x&id=3',
                           'https://example.org/a?id=3')]))


def test_word_count_of_chinese_text_counts_its_characters():
  text = '北京时间3月3日，中国国家统计局发布了最新的经济数据。数据显示，一季度经济同比增长。'
  raw = {A.SOURCE_URI: 'in/zh.jsonl#L1', A.INPUT_FORMAT: 'jsonl', A.TEXT: text}
  article, _ = normalize_record(raw, 'run1', NOW)
  assert article[A.WORD_COUNT] == 38  # was 1: no spaces
