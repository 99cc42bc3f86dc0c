"""WARC input: records, drops by reason, dead letters with offsets, chunks, end to end."""

import datetime
import gzip
import io

import apache_beam as beam
import duckdb
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas import raw as R
from schemas import report as RP
from tests.conftest import run_newsbeam
from transforms.read import warc as W
from transforms.core import stage

FETCHED = '2024-05-06T07:08:09Z'
FETCHED_AT = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
PAGE = """<html><head><title>{title}</title></head><body><nav>Home | World</nav>
<article><h1>{title}</h1>
<p>{lead} The council met on Tuesday evening to vote on the future of the old
bridge, which has been closed to traffic since the spring floods damaged it.</p>
<p>After three hours of debate the members agreed to repair the bridge rather
than replace it, and the work is expected to start before the end of the year.</p>
</article><footer>Copyright 2024</footer></body></html>"""
UTF8_PAGE = PAGE.format(title='Bridge vote', lead='Residents packed the hall.')
# Charset only in the HTTP header: the page declares none.
LATIN1_PAGE = PAGE.format(title='Café crème', lead='Le café du marché était plein à craquer.')
TRUNCATED_BY = 40  # bytes cut off the end of the file: inside the last record


def _response(writer, url, body, content_type, status='200 OK'):
  headers = StatusAndHeaders(status, [('Content-Type', content_type)], protocol='HTTP/1.1')
  return writer.create_warc_record(url, 'response', payload=io.BytesIO(body),
                                   http_headers=headers,
                                   warc_headers_dict={'WARC-Date': FETCHED})


def write_warc(path, gzipped, extra_pages=0):
  """A WARC file of every kind of record the reader meets; returns the record offsets by name."""
  stream = io.BytesIO()
  writer = WARCWriter(stream, gzip=gzipped)
  request = StatusAndHeaders('GET /bridge HTTP/1.1', [('Host', 'news.example.org')],
                             is_http_request=True)
  records = [
      ('utf8', _response(writer, 'http://news.example.org/bridge', UTF8_PAGE.encode(),
                         'text/html; charset=utf-8')),
      ('latin1', _response(writer, 'http://news.example.org/cafe',
                           LATIN1_PAGE.encode('latin-1'), 'text/html; charset=ISO-8859-1')),
      ('missing', _response(writer, 'http://news.example.org/gone', b'<html>gone</html>',
                            'text/html', '404 Not Found')),
      ('pdf', _response(writer, 'http://news.example.org/report.pdf', b'%PDF-1.4 ...',
                        'application/pdf')),
      ('request', writer.create_warc_record('http://news.example.org/bridge', 'request',
                                            payload=io.BytesIO(b''), http_headers=request)),
      ('revisit', writer.create_revisit_record(
          'http://news.example.org/bridge', digest='sha1:AAAA',
          refers_to_uri='http://news.example.org/bridge', refers_to_date=FETCHED)),
  ]
  records += [(f'extra{n}', _response(writer, f'http://news.example.org/extra/{n}',
                                      PAGE.format(title=f'Extra {n}', lead=f'Story {n}.').encode(),
                                      'text/html'))
              for n in range(extra_pages)]
  records.append(('truncated', _response(writer, 'http://news.example.org/cut',
                                         UTF8_PAGE.encode(), 'text/html')))
  offsets = {}
  for name, record in records:
    offsets[name] = stream.tell()
    writer.write_record(record)
  path.write_bytes(stream.getvalue()[:-TRUNCATED_BY])
  return offsets


@pytest.fixture(params=['warc', 'warc.gz'])
def warc(request, tmp_path):
  path = tmp_path / f'crawl.{request.param}'
  return path, write_warc(path, request.param == 'warc.gz')


def _scan(path):
  scan = W.scan_gzip_warc if str(path).endswith('.gz') else W.scan_plain_warc
  with open(path, 'rb') as f:
    return list(scan(f))


def test_scan_lists_every_record_and_finds_the_truncated_one(warc):
  path, offsets = warc
  framed = _scan(path)
  assert [r.offset for r in framed] == list(offsets.values())
  assert [r.error is None for r in framed] == [True] * 6 + [False]
  assert framed[-1].error.startswith('truncated: ')


def test_a_broken_record_costs_only_itself(tmp_path):
  path = tmp_path / 'crawl.warc'
  offsets = write_warc(path, gzipped=False)
  data = path.read_bytes()
  start, end = offsets['latin1'], offsets['missing']
  record = data[start:end].replace(b'Content-Length: ', b'Content-Length: x')
  broken = data[:start] + record + data[end:]
  path.write_bytes(broken)
  framed = _scan(path)
  assert [(r.offset, r.error) for r in framed[:3]] == [
      (offsets['utf8'], None),
      (offsets['latin1'], 'the WARC header has no valid Content-Length'),
      (offsets['missing'] + 1, None)]  # one byte later: the 'x' added above
  assert len(framed) == 7


def test_a_corrupt_gzip_member_costs_only_itself(tmp_path):
  path = tmp_path / 'crawl.warc.gz'
  offsets = write_warc(path, gzipped=True)
  data = bytearray(path.read_bytes())
  middle = (offsets['latin1'] + offsets['missing']) // 2
  data[middle] ^= 0xff
  path.write_bytes(bytes(data))
  framed = _scan(path)
  assert [r.offset for r in framed] == list(offsets.values())
  assert framed[1].error.startswith('corrupt gzip member: ')
  assert [r.error is None for r in framed] == [True, False] + [True] * 4 + [False]


def test_a_warc_gzipped_whole_is_one_dead_letter(tmp_path):
  plain = tmp_path / 'crawl.warc'
  write_warc(plain, gzipped=False)
  whole = tmp_path / 'whole.warc.gz'
  whole.write_bytes(gzip.compress(plain.read_bytes()))
  (framed,) = _scan(whole)
  assert framed.offset == 0 and 'not gzipped per record' in framed.error


def test_chunks_are_bounded_by_records_and_bytes():
  framed = [W.Framed(n * 100, 100, None) for n in range(7)]
  chunks = W.chunks_and_dead_letters(framed, 'c.warc', b'c.warc', 3, 10_000)
  assert [len(c) for c in chunks] == [3, 3, 1]
  chunks = list(W.chunks_and_dead_letters(framed, 'c.warc', b'c.warc', 10, 250))
  assert [len(c) for c in chunks] == [2, 2, 2, 1]
  assert chunks[0] == [('c.warc#offset=0', b'c.warc', 0), ('c.warc#offset=100', b'c.warc', 100)]


def test_broken_records_are_dead_letters_as_soon_as_they_are_found():
  framed = [W.Framed(0, 100, None), W.Framed(100, 0, 'truncated: x'), W.Framed(200, 100, None)]
  out = list(W.chunks_and_dead_letters(framed, 'c.warc', b'c.warc', 10, 10_000))
  assert out[0].tag == 'dead_letters'  # before the chunk that holds the record before it
  assert (out[0].value[D.SOURCE_URI], out[0].value[D.ERROR_TYPE]) == ('c.warc#offset=100',
                                                                      'WarcFramingError')
  assert out[1] == [('c.warc#offset=0', b'c.warc', 0), ('c.warc#offset=200', b'c.warc', 200)]


def test_warc_dates_and_html_sniffing():
  assert W.parse_warc_date('2024-05-06T07:08:09Z') == FETCHED_AT
  assert W.parse_warc_date('2024-05-06T07:08:09.5Z') == FETCHED_AT.replace(microsecond=500000)
  assert W.parse_warc_date('yesterday') is None
  assert W.is_html_payload('application/xhtml+xml', b'')
  assert not W.is_html_payload('application/pdf', b'<html>')
  assert W.is_html_payload(None, b'\n<!DOCTYPE html>\n<html>')
  assert not W.is_html_payload(None, b'%PDF-1.4')
  assert W.is_warc_path('/x/CRAWL.WARC.GZ') and not W.is_warc_path('/x/crawl.warc.zst')


def test_read_warc_files_yields_pages_drops_and_dead_letters(warc):
  path, offsets = warc
  uri = str(path)
  at = {name: f'{uri}#offset={offset}' for name, offset in offsets.items()}
  with TestPipeline() as p:
    read = p | W.ReadWarcFiles([uri])
    assert_that(read.records | beam.Map(lambda r: (
        r[A.SOURCE_URI], r[A.URL], r[R.HTML], r[R.FETCHED_AT], r[A.INPUT_FORMAT])),
                equal_to([
                    (at['utf8'], 'http://news.example.org/bridge', UTF8_PAGE, FETCHED_AT, 'warc'),
                    (at['latin1'], 'http://news.example.org/cafe', LATIN1_PAGE, FETCHED_AT,
                     'warc')]), label='Records')
    assert_that(read.dropped | beam.Map(lambda d: (d[X.SOURCE_URI], d[X.REASON], d[X.DETAIL])),
                equal_to([(at['missing'], 'warc_not_ok', '404'),
                          (at['pdf'], 'warc_not_html', 'application/pdf'),
                          (at['request'], 'warc_not_response', 'request'),
                          (at['revisit'], 'warc_not_response', 'revisit')]), label='Drops')
    assert_that(read.dead_letters | beam.Map(
        lambda d: (d[D.STAGE], d[D.SOURCE_URI], d[D.ERROR_TYPE], d[D.MESSAGE][:10])),
                equal_to([('read_warc', at['truncated'], 'WarcFramingError', 'truncated:')]),
                label='DeadLetters')
    assert_that(read.reports[RP.INPUTS], equal_to(['warc'] * 7), label='Inputs')


def _counters(result):
  found = result.metrics().query(
      MetricsFilter().with_namespace(stage.COUNTER_NAMESPACE))['counters']
  return {c.key.metric.name: c.committed for c in found if c.committed}


def test_a_large_file_is_read_in_several_chunks(tmp_path):
  path = tmp_path / 'big.warc.gz'
  offsets = write_warc(path, gzipped=True, extra_pages=13)
  p = TestPipeline()
  read = p | W.ReadWarcFiles([str(path)], records_per_chunk=4)
  assert_that(read.records | beam.Map(lambda r: r[A.URL].rsplit('/', 2)[-2]),
              equal_to(['news.example.org'] * 2 + ['extra'] * 13), label='Pages')
  result = p.run()
  result.wait_until_finish()
  assert len(offsets) == 20
  assert _counters(result) == {
      'read_warc/scan.in': 1, 'read_warc/scan.out': 5,  # chunks of 4, 4, 4, 4 and 3 records
      'read_warc/scan.dead_letters': 1,  # the truncated record, found by the scan
      'read_warc/records.in': 19, 'read_warc/records.out': 15,
      'read_warc/records.dropped': 4}


def test_unreadable_and_empty_files_are_accounted_for(tmp_path):
  empty = tmp_path / 'empty.warc'
  empty.write_bytes(b'')
  junk = tmp_path / 'junk.warc'
  junk.write_bytes(b'this is not a WARC file at all\n' * 10)
  with TestPipeline() as p:
    read = p | W.ReadWarcFiles([str(empty), str(junk), str(tmp_path / 'missing.warc')])
    assert_that(read.dropped | beam.Map(lambda d: (d[X.SOURCE_URI], d[X.REASON])),
                equal_to([(str(empty), 'empty_input')]), label='Drops')
    assert_that(read.dead_letters | beam.Map(lambda d: (d[D.SOURCE_URI], d[D.ERROR_TYPE])),
                equal_to([(f'{junk}#offset=0', 'WarcFramingError'),
                          (str(tmp_path / 'missing.warc'), 'FileNotFoundError')]),
                label='DeadLetters')


def test_a_warc_runs_end_to_end(warc, tmp_path):
  path, offsets = warc
  output = tmp_path / 'out'
  result = run_newsbeam('--input', path, '--output', output, '--ner-model', 'en=')
  m = result.manifest
  assert (m['inputs_read'], m['articles_written'], m['dropped'], m['dead_lettered']) == (7, 2, 4, 1)
  assert dict(m['inputs_by_format']) == {'warc': 7}
  assert dict(m['dropped_by_reason']) == {'warc_not_ok': 1, 'warc_not_html': 1,
                                          'warc_not_response': 2}
  assert m['accounting_balanced']
  rows = duckdb.sql(
      "SELECT source_uri, url, title, text, input_format FROM "
      f"read_parquet('{output}/articles/**/*.parquet', hive_partitioning = true) "
      "ORDER BY url").fetchall()
  assert [(uri, url, title, fmt) for uri, url, title, _, fmt in rows] == [
      (f'{path}#offset={offsets["utf8"]}', 'http://news.example.org/bridge', 'Bridge vote', 'warc'),
      (f'{path}#offset={offsets["latin1"]}', 'http://news.example.org/cafe', 'Café crème',
       'warc')]
  assert 'Le café du marché était plein à craquer.' in rows[1][3]
  dead = duckdb.sql(
      "SELECT source_uri, stage FROM "
      f"read_parquet('{output}/dead_letters/**/*.parquet', hive_partitioning = true)").fetchall()
  assert dead == [(f'{path}#offset={offsets["truncated"]}', 'read_warc')]
