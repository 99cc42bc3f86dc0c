"""WARC as crawlers really wrote it: ClueWeb09 (WARC/0.18, bare-LF HTTP heads) and old Heritrix.

The files are written byte by byte, as those crawlers wrote them, so that
nothing a modern writer would fix hides a problem. Every record must come
out as a page, a drop or a dead letter.
"""

import gzip
import html
import os
import zlib

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas import raw as R
from schemas import report as RP
from tests.conftest import SAMPLE_DATED
from tests.conftest import SAMPLE_UNDATED
from tests.conftest import run_newsbeam
from transforms.read import warc as W
from transforms.read.files import parse_text_file

PAGE = ('<html><head><title>{title}</title></head><body><article><h1>{title}</h1>'
        '<p>{lead}</p>{paragraphs}</article></body></html>')
PARAGRAPH_CHARS = 150  # sample paragraphs shorter than this are not used
PARAGRAPHS_PER_PAGE = 3
CLUEWEB_PAGES = 5  # HTML responses in the ClueWeb09-style file
GOOD_DATE = '2009-01-13T18:05:10-0800'
BAD_DATE = '2009-03-65T08:43:19-0800'  # day 65: ClueWeb09 has such dates


def _sample_paragraphs():
  texts = (parse_text_file(sample.read_text(encoding='utf-8'))['text']
           for sample in (SAMPLE_DATED, SAMPLE_UNDATED))
  return [p.strip() for text in texts for p in text.split('\n\n')
          if len(p.strip()) >= PARAGRAPH_CHARS]


SAMPLE_PARAGRAPHS = _sample_paragraphs()


def page(n, lead='Residents packed the hall.'):
  """A page with its own real paragraphs, so that pages are not duplicates of each other."""
  chosen = [SAMPLE_PARAGRAPHS[(PARAGRAPHS_PER_PAGE * n + k) % len(SAMPLE_PARAGRAPHS)]
            for k in range(PARAGRAPHS_PER_PAGE)]
  return PAGE.format(title=f'Bridge vote {n}', lead=lead,
                     paragraphs=''.join(f'<p>{html.escape(p)}</p>' for p in chosen))


def warc_record(http, url, date, version=b'WARC/0.18', kind=b'response',
                content_type=b'application/http;msgtype=response'):
  """One WARC record: CRLF WARC header, the HTTP block as given, CRLF CRLF after it."""
  header = (version + b'\r\nWARC-Type: ' + kind + b'\r\nWARC-Target-URI: ' + url.encode() +
            b'\r\nWARC-Date: ' + date.encode() +
            b'\r\nWARC-Record-ID: <urn:uuid:' + os.urandom(8).hex().encode() + b'>' +
            b'\r\nContent-Type: ' + content_type +
            b'\r\nContent-Length: ' + str(len(http)).encode() + b'\r\n\r\n')
  return header + http + b'\r\n\r\n'


def clueweb_http(body, status=b'HTTP/1.1 200 OK', extra=b''):
  """An HTTP block as ClueWeb09 stored it: head lines end with a bare LF."""
  return (status + b'\nContent-Type: text/html\nDate: Tue, 13 Jan 2009 18:05:10 GMT\n'
          b'Server: Apache/2.2.3 (CentOS)\nConnection: close\n' + extra +
          b'Content-Length: ' + str(len(body)).encode() + b'\n\n' + body)


def write_clueweb_warc(path):
  """A ClueWeb09-style file: warcinfo, HTML pages (one with a bad date, one with a gzip
  Content-Encoding for a payload stored decoded), a 404; returns the expected outcomes."""
  info = b'software: Nutch 1.0-dev\r\nformat: WARC file version 0.18\r\n'
  records = [warc_record(info, 'clueweb09-en0000-00.warc', GOOD_DATE, kind=b'warcinfo',
                         content_type=b'application/warc-fields')]
  expected_pages = []
  for n in range(CLUEWEB_PAGES):
    extra = b'Content-Encoding: gzip\n' if n == 1 else b''
    date = BAD_DATE if n == 2 else GOOD_DATE
    url = f'http://www.example.com/news/{n}.html'
    records.append(warc_record(clueweb_http(page(n).encode(), extra=extra), url, date))
    expected_pages.append((url, f'Bridge vote {n}', n != 2))
  records.append(warc_record(clueweb_http(b'<html>Not found</html>',
                                          status=b'HTTP/1.1 404 Not Found'),
                             'http://www.example.com/gone.html', GOOD_DATE))
  path.write_bytes(b''.join(records))
  return expected_pages


HERITRIX_RECORDS = {
    # name: (HTTP block, outcome) with outcome 'page', ('drop', reason, detail) or 'dead'
    'no_reason_phrase': (b'HTTP/1.0 200\r\nContent-Type: text/html\r\n\r\n' +
                         page(1).encode(), 'page'),
    'folded_and_repeated': (b'HTTP/1.1 200 OK\r\nX-Long: first part\r\n\tsecond part\r\n'
                            b'Content-Type: text/plain\r\nContent-Type: text/html;\r\n'
                            b'  charset=utf-8\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n' +
                            page(2).encode(), 'page'),
    'odd_content_type': (b'HTTP/1.1 200 OK\r\nContent-Type: Text/HTML ; charset = '
                         b'"ISO-8859-1"\r\n\r\n' +
                         page(3, 'Le caf\xe9 du march\xe9 \xe9tait plein.').encode(
                             'latin-1', 'xmlcharrefreplace'),
                         'page'),
    'html_as_octet_stream': (b'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n'
                             b'\r\n\xef\xbb\xbf\n<!-- saved by a proxy -->\n<!DOCTYPE html>' +
                             page(4).encode(), 'page'),
    'html_as_text_plain': (b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n  <html>' +
                           page(5).encode(), 'page'),
    'binary_as_octet_stream': (b'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream'
                               b'\r\n\r\n\x00\x01PK\x03\x04<html>', ('drop', 'warc_not_html',
                                                                     'application/octet-stream')),
    'prose_as_text_plain': (b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nA note about '
                            b'the <html> tag.', ('drop', 'warc_not_html', 'text/plain')),
    'chunked_gzip': (b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: '
                     b'chunked\r\nContent-Encoding: gzip\r\n\r\n', 'page'),  # body added below
    'gzip_declared_stored_decoded': (b'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n'
                                     b'Content-Type: text/html\r\n\r\n' + page(7).encode(),
                                     'page'),
    'deflate': (b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: deflate'
                b'\r\n\r\n' + zlib.compress(page(8).encode()), 'page'),
    'no_content_type': (b'HTTP/1.1 200 OK\n\n<html>' + page(9).encode(), 'page'),
    'corrupt_gzip': (b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip'
                     b'\r\n\r\n\x1f\x8b\x08\x00garbage that is not deflate', 'dead'),
    'status_without_code': (b'HTTP/1.1 OK\r\nContent-Type: text/html\r\n\r\n<html></html>',
                            'dead'),
    'redirect_lf': (b'HTTP/1.0 301\nLocation: http://example.org/\n\n', ('drop', 'warc_not_ok',
                                                                         '301')),
}


def _chunked(data, size=100):
  pieces = [data[i:i + size] for i in range(0, len(data), size)]
  return b''.join(b'%x\r\n%s\r\n' % (len(p), p) for p in pieces) + b'0\r\n\r\n'


def heritrix_blocks():
  blocks = {name: block for name, (block, _) in HERITRIX_RECORDS.items()}
  blocks['chunked_gzip'] += _chunked(gzip.compress(page(6).encode()))
  return blocks


def write_heritrix_warc(path):
  """Records as old Heritrix kept them (raw HTTP as received), gzipped one member per record."""
  members = [gzip.compress(warc_record(block, f'http://heritrix.example.org/{name}',
                                       '2008-07-30T21:10:33Z', version=b'WARC/0.17'))
             for name, block in heritrix_blocks().items()]
  path.write_bytes(b''.join(members))


def read_outcomes(path):
  """``(records, outcomes)`` of a WARC file: every record's outcome, read directly."""
  scan = W.scan_gzip_warc if str(path).endswith('.gz') else W.scan_plain_warc
  with open(path, 'rb') as f:
    framed = list(scan(f))
    outcomes = []
    for item in W.chunks_and_dead_letters(framed, str(path), os.fsencode(path), 1000, 1 << 30):
      outcomes += W.read_chunk(f, item, {}) if isinstance(item, list) else [item]
  return [(W.record_uri(str(path), r.offset),) for r in framed], outcomes


def _by_kind(outcomes):
  pages = [o for o in outcomes if isinstance(o, dict)]
  tagged = [o for o in outcomes if not isinstance(o, dict)]
  drops = [o.value for o in tagged if o.tag == 'dropped']
  dead = [o.value for o in tagged if o.tag == 'dead_letters']
  return pages, drops, dead


def test_clueweb09_pages_are_read_despite_lf_heads_bad_dates_and_a_false_gzip(tmp_path):
  path = tmp_path / 'clueweb09-en0000-00.warc'
  expected = write_clueweb_warc(path)
  items, outcomes = read_outcomes(path)
  pages, drops, dead = _by_kind(outcomes)
  assert [(p[A.URL], p[R.FETCHED_AT] is not None) for p in pages] == [
      (url, dated) for url, _, dated in expected]
  assert all(f'<title>{title}</title>' in p[R.HTML] for p, (_, title, _) in zip(pages, expected))
  assert pages[0][R.FETCHED_AT].isoformat() == '2009-01-14T02:05:10+00:00'
  assert [(d[X.REASON], d[X.DETAIL]) for d in drops] == [('warc_not_response', 'warcinfo'),
                                                          ('warc_not_ok', '404')]
  assert not dead
  assert len(items) == len(pages) + len(drops) + len(dead) == CLUEWEB_PAGES + 2


def test_heritrix_records_each_come_out_once_as_expected(tmp_path):
  path = tmp_path / 'IAH-20080730211033-00000.warc.gz'
  write_heritrix_warc(path)
  items, outcomes = read_outcomes(path)
  by_uri = {}
  for outcome in outcomes:
    if isinstance(outcome, dict):
      by_uri.setdefault(outcome[A.SOURCE_URI], []).append('page')
    elif outcome.tag == 'dropped':
      by_uri.setdefault(outcome.value[X.SOURCE_URI], []).append(
          ('drop', outcome.value[X.REASON], outcome.value[X.DETAIL]))
    elif outcome.tag == 'dead_letters':
      by_uri.setdefault(outcome.value[D.SOURCE_URI], []).append('dead')
  names = list(HERITRIX_RECORDS)
  assert {name: by_uri[uri] for name, (uri, *_) in zip(names, items)} == {
      name: [outcome] for name, (_, outcome) in HERITRIX_RECORDS.items()}
  pages = {p[A.URL].rsplit('/', 1)[-1]: p[R.HTML] for p in _by_kind(outcomes)[0]}
  assert 'Le café du marché était plein.' in pages['odd_content_type']
  assert '<title>Bridge vote 6</title>' in pages['chunked_gzip']
  assert '<title>Bridge vote 8</title>' in pages['deflate']


def test_read_warc_files_reads_a_clueweb09_file_in_a_pipeline(tmp_path):
  path = tmp_path / 'clueweb09-en0000-00.warc'
  expected = write_clueweb_warc(path)
  with TestPipeline() as p:
    read = p | W.ReadWarcFiles([str(path)])
    assert_that(read.records | beam.Map(lambda r: r[A.URL]),
                equal_to([url for url, _, _ in expected]), label='Pages')
    assert_that(read.dropped | beam.Map(lambda d: d[X.REASON]),
                equal_to(['warc_not_response', 'warc_not_ok']), label='Drops')
    assert_that(read.reports[RP.INPUTS], equal_to(['warc'] * (CLUEWEB_PAGES + 2)),
                label='Inputs')


def test_a_clueweb09_file_runs_end_to_end(tmp_path):
  path = tmp_path / 'clueweb09-en0000-00.warc'
  write_clueweb_warc(path)
  result = run_newsbeam('--input', path, '--output', tmp_path / 'out', '--ner-model', 'en=')
  m = result.manifest
  assert (m['inputs_read'], m['articles_written'], m['dead_lettered']) == (CLUEWEB_PAGES + 2,
                                                                          CLUEWEB_PAGES, 0)
  assert m['accounting_balanced']


@pytest.mark.parametrize('block, head, body', [
    (b'HTTP/1.1 200 OK\nA: b\n\n<html>', b'HTTP/1.1 200 OK\nA: b', b'<html>'),
    (b'HTTP/1.1 200 OK\r\nA: b\r\n\r\n<html>', b'HTTP/1.1 200 OK\r\nA: b', b'<html>'),
    (b'HTTP/1.1 200 OK\r\nA: b\n\r\n<html>', b'HTTP/1.1 200 OK\r\nA: b', b'<html>'),
    (b'\r\nHTTP/1.0 200\n\n', b'HTTP/1.0 200', b''),
    (b'HTTP/1.0 204 No Content\r\n', b'HTTP/1.0 204 No Content\r\n', b''),
])
def test_split_http_head_takes_lf_crlf_and_mixed_line_ends(block, head, body):
  found, start = W.split_http_head(block)
  assert (found, block[start:]) == (head, body)


def test_an_http_head_without_end_is_bounded():
  with pytest.raises(W.WarcRecordError, match='no end of the HTTP head'):
    W.split_http_head(b'HTTP/1.1 200 OK\r\nX: ' + b'a' * W.MAX_HTTP_HEAD_BYTES)


@pytest.mark.parametrize('head, expected', [
    (b'HTTP/1.0 200', W.HttpHead(200, None, None, (), ())),
    (b'HTTP/1.1  404  Not Found', W.HttpHead(404, None, None, (), ())),
    (b'HTTP/2 200\nContent-Type: TEXT/Html\nContent-Encoding: gzip\ncontent-encoding: br',
     W.HttpHead(200, 'text/html', None, (), ('gzip', 'br'))),
    (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nContent-Encoding: identity',
     W.HttpHead(200, None, None, ('chunked',), ())),
    (b'HTTP/1.1 200 OK\r\nContent-Type: text/html;\r\n charset=koi8-r\r\nbroken line',
     W.HttpHead(200, 'text/html', 'koi8-r', (), ())),
])
def test_parse_http_head_is_tolerant(head, expected):
  assert W.parse_http_head(head) == expected


@pytest.mark.parametrize('status_line', [b'HTTP/1.1 OK', b'ICY 200 OK', b'HTTP/1.1 2000 OK', b''])
def test_an_unparseable_status_line_is_an_error(status_line):
  with pytest.raises(W.WarcRecordError, match='unparseable HTTP status line'):
    W.parse_http_head(status_line + b'\r\nContent-Type: text/html')


@pytest.mark.parametrize('values, expected', [
    (['Text/HTML ; charset = "utf-8"'], ('text/html', 'utf-8')),
    (["text/html; Charset='ISO-8859-1'"], ('text/html', 'iso-8859-1')),
    (['text / html'], ('text/html', None)),
    (['text/plain', 'text/html; charset=utf-8'], ('text/html', 'utf-8')),
    (['text/html; charset=utf-8', 'text/html'], ('text/html', 'utf-8')),
    (['text/html, text/html'], ('text/html', None)),
    (['', 'none'], (None, None)),
    (['; charset=windows-1252'], (None, 'windows-1252')),
])
def test_parse_content_type(values, expected):
  assert W.parse_content_type(values) == expected


def test_dechunk_undoes_chunks_and_keeps_a_body_that_was_not_chunked():
  data = page(1).encode()
  assert W.dechunk(_chunked(data, 7), len(data)) == data
  assert W.dechunk(b'5;ext=1\r\nhello\r\n6\nworld!\n0\r\n\r\n', 100) == b'helloworld!'
  assert W.dechunk(data, len(data)) == data  # stored dechunked, header kept
  assert W.dechunk(_chunked(data, 7)[:60], len(data)) == data[:35]  # cut by the crawler
  with pytest.raises(W.PayloadTooLargeError):
    W.dechunk(_chunked(data, 7), 20)


def test_undo_coding_uses_the_bytes_as_they_are_when_they_were_stored_decoded():
  data = page(1).encode()
  assert W.undo_coding(gzip.compress(data), 'gzip', len(data)) == data
  assert W.undo_coding(data, 'gzip', len(data)) == data
  assert W.undo_coding(data, 'x-gzip', len(data)) == data
  assert W.undo_coding(zlib.compress(data)[2:-4], 'deflate', len(data)) == data  # raw deflate
  assert W.undo_coding(data, 'deflate', len(data)) == data
  assert W.undo_coding(data, 'utf-8', len(data)) == data  # not a coding: a server's mistake
  assert W.undo_coding(gzip.compress(data), 'gzip', 10) == data[:11]  # bounded
  with pytest.raises(W.WarcRecordError, match='does not decode as Content-Encoding gzip'):
    W.undo_coding(b'\x1f\x8b\x08\x00 not deflate at all', 'gzip', 100)


@pytest.mark.parametrize('data, expected', [
    (b'<!DOCTYPE html><html>', True),
    (b'\xef\xbb\xbf  \r\n<html lang="en">', True),
    (b'<!-- cached 2008 --><!-- x -->\n<HEAD>', True),
    (b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN">', True),
    (b'\t<body>', True),
    (b'A note about the <html> tag.', False),
    (b'<htmlx>', False),
    (b'%PDF-1.4 <html>', False),
    (b'<!-- never closed ' + b'-' * 5000, False),
    (b'', False),
])
def test_sniffs_as_html_looks_only_at_the_start(data, expected):
  assert W.sniffs_as_html(data) is expected


def test_only_generic_or_missing_types_are_sniffed():
  html = b'<!doctype html><html>'
  assert W.is_html_payload('application/octet-stream', html)
  assert W.is_html_payload('text/plain', html)
  assert W.is_html_payload(None, html)
  assert not W.is_html_payload('image/png', html)
  assert not W.is_html_payload('text/plain', b'plain words')


BROKEN_RECORDS = 3000  # a damaged crawl: every record's Content-Length is garbage
BROKEN_RECORD = (b'WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://broken.example.org/'
                 b'%d\r\nContent-Length: x%d\r\n\r\nHTTP/1.1 200 OK\r\n\r\n<html></html>\r\n\r\n')


def test_broken_records_stream_out_one_by_one():
  consumed = []

  def framed():
    for n in range(BROKEN_RECORDS):
      consumed.append(n)
      yield W.Framed(n * 100, 0, 'the WARC header has no valid Content-Length')

  out = W.chunks_and_dead_letters(framed(), 'c.warc', b'c.warc', 256, 1 << 20)
  first = next(out)
  assert first.tag == 'dead_letters' and len(consumed) == 1  # nothing read ahead, nothing held
  assert sum(1 for _ in out) == BROKEN_RECORDS - 1


def test_every_broken_record_of_a_damaged_file_is_a_dead_letter(tmp_path):
  path = tmp_path / 'damaged.warc'
  path.write_bytes(b''.join(BROKEN_RECORD % (n, n) for n in range(BROKEN_RECORDS)))
  with TestPipeline() as p:
    read = p | W.ReadWarcFiles([str(path)])
    dead = read.dead_letters | beam.Map(lambda d: (d[D.ERROR_TYPE], d[D.SOURCE_URI]))
    assert_that(dead | 'Kinds' >> beam.Map(lambda d: d[0]) | 'OneKind' >> beam.Distinct(),
                equal_to(['WarcFramingError']), label='Kinds')
    assert_that(dead | 'Unique' >> beam.Distinct()
                | 'CountDead' >> beam.combiners.Count.Globally(),
                equal_to([BROKEN_RECORDS]), label='DeadLetters')
    assert_that(read.records, equal_to([]), label='NoPages')
    assert_that(read.reports[RP.INPUTS] | 'CountInputs' >> beam.combiners.Count.Globally(),
                equal_to([BROKEN_RECORDS]), label='Inputs')
