"""WARC files (``.warc``, ``.warc.gz``) to raw records: the HTML pages a crawler saved.

Every WARC record is an input unit. A ``response`` record holding an HTTP
200 answer with an HTML payload becomes a raw record like an HTML file
(``url`` from ``WARC-Target-URI``, the page decoded with the charset of its
HTTP ``Content-Type``, then the one it declares, then detection; the fetch
time from ``WARC-Date``), which ExtractMainText extracts downstream. Every
other record is a counted drop with a reason: ``warc_not_response`` (request,
metadata, revisit, warcinfo, resource, ...; the type is the drop's detail),
``warc_not_http`` (a response that is not HTTP, e.g. DNS), ``warc_not_ok``
(any status but 200) and ``warc_not_html``. A record that cannot be read
(truncated, an unparseable header, a corrupt gzip member, an HTTP head that
does not parse, a payload over MAX_PAGE_BYTES) is a dead letter whose
``source_uri`` is ``<path>#offset=<n>``, ``n`` the byte offset of the record
(of its gzip member in a ``.warc.gz``) in the file; the rest of the file is
still read.

HTTP as crawlers really stored it is read (``parse_http_head``): head lines
ending with a bare LF (ClueWeb09), a status line without a reason phrase,
repeated and folded headers, a Content-Type in any case and spacing; a
chunked or gzip/deflate/br-encoded body is decoded, and one stored decoded
under its server's Content-Encoding is used as it is (no gzip signature);
HTML labelled ``application/octet-stream``, ``text/plain`` or nothing is a
page when its first bytes are HTML (``sniffs_as_html``). A malformed
``WARC-Date`` leaves the page without a fetch time.

Two steps, so that one large file keeps every worker busy and memory does not
grow with the file: ``read_warc/scan`` walks each file once, checking only
each record's framing (its header, its Content-Length, for ``.warc.gz`` its
gzip member, inflated and discarded), yields a dead letter for each broken
record as it finds it, and lists the offsets of the others in chunks of at
most RECORDS_PER_CHUNK records and CHUNK_BYTES bytes; after a shuffle,
``read_warc/records`` reads each chunk by seeking to its records and
streaming them with fastwarc. A ``.warc.gz`` must be gzipped per record (as
crawlers write them): a gzip member holding several records is one dead
letter.
"""

import datetime
import os
import re
import zlib
from typing import NamedTuple

import apache_beam as beam
import brotli
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from fastwarc.warc import ArchiveIterator
from fastwarc.warc import WarcRecordType

from schemas import article as A
from schemas import raw as R
from transforms.core import stage
from transforms.net.full_text import HTML_TYPES
from transforms.net.full_text import decode_page
from transforms.read.files import DROP_EMPTY_INPUT
from transforms.read.files import FORMAT_WARC
from transforms.read.files import GZIP_EXTENSION
from transforms.read.files import describe_os_error
from transforms.read.files import display_path
from transforms.read.files import folder_name_of
from transforms.read.files import refusal_outcome

__all__ = ['ReadWarcFiles', 'is_warc_path', 'scan_plain_warc', 'scan_gzip_warc',
           'chunks_and_dead_letters', 'parse_warc_header',
           'parse_warc_date', 'parse_http_head', 'split_http_head', 'sniffs_as_html',
           'FORMAT_WARC', 'WARC_EXTENSIONS']

STAGE = 'read_warc'
SCAN_STEP = 'read_warc/scan'  # counts files in, chunks out, broken records dead-lettered
RECORDS_STEP = 'read_warc/records'  # counts records in, raw records out
WARC_EXTENSIONS = ('.warc', '.warc.gz')

RECORDS_PER_CHUNK = 256  # records read by one element at most
CHUNK_BYTES = 32 << 20  # bytes of records (uncompressed) read by one element at most
MAX_HEADER_BYTES = 32 << 10  # a WARC header longer than this is malformed
HEAD_READ_BYTES = 8 << 10  # bytes read at a record's offset to find its header first
SCAN_READ_BYTES = 1 << 20  # bytes read at a time by the scan
INFLATE_STEP_BYTES = 1 << 20  # bytes inflated per zlib call (a gzip bomb is streamed too)
MAX_PAGE_BYTES = 20 << 20  # largest HTML payload read; larger is a dead letter
SNIFF_BYTES = 1024  # payload bytes looked at when a response names no HTML Content-Type
GZIP_WBITS = 31  # zlib: one gzip member, header and trailer checked
ZLIB_WBITS = 15  # zlib: a zlib stream (what most servers send as `deflate`)
RAW_DEFLATE_WBITS = -15  # zlib: a raw deflate stream (what the others send)
MAX_HTTP_HEAD_BYTES = 64 << 10  # an HTTP head longer than this is malformed
MAX_HTTP_FIELDS = 1000  # header lines of an HTTP head parsed at most
MAX_CODINGS = 4  # transfer and content codings undone at most, each
# Content-Types that servers give HTML they do not label: such a payload is a
# page when its first bytes are HTML (`sniffs_as_html`).
SNIFFED_TYPES = frozenset(('application/octet-stream', 'binary/octet-stream',
                           'application/unknown', 'unknown/unknown', 'application/x-unknown',
                           'application/x-unknown-content-type', 'text/plain'))
GZIP_CODINGS = frozenset(('gzip', 'x-gzip'))
DEFLATE_CODINGS = frozenset(('deflate',))
BROTLI_CODINGS = frozenset(('br',))
CHUNKED = 'chunked'

DROP_NOT_RESPONSE = 'warc_not_response'
DROP_NOT_HTTP = 'warc_not_http'
DROP_NOT_OK = 'warc_not_ok'
DROP_NOT_HTML = 'warc_not_html'
WARN_TRUNCATED_PAYLOAD = 'warc_truncated_payload'  # WARC-Truncated: the crawler kept part

ERR_FRAMING = 'WarcFramingError'
ERR_RECORD = 'WarcRecordError'

RECORD_END = b'\r\n\r\n'
_HEADER_END = b'\r\n\r\n'
_RECORD_START = b'\nWARC/'  # a record starts on a line of its own
_GZIP_MAGIC = b'\x1f\x8b\x08'
_WARC_VERSION = re.compile(rb'WARC/\d+\.\d+\r\n')
_CONTENT_LENGTH = re.compile(rb'^content-length:[ \t]*(\d+)[ \t]*\r?$',
                             re.IGNORECASE | re.MULTILINE)
_GZIP_MEMBER_START = b'\x1f\x8b'
_UTF8_BOM = b'\xef\xbb\xbf'
# A page starts with one of these tags, after white space, comments and an
# XML declaration; atomic and possessive so that any input is matched in
# linear time.
_HTML_START = re.compile(
    rb'(?<!\s)(?>\s++|<!--.*?-->|<\?xml[^>]*+>)*+<(?:!doctype\s++html|html|head|body)[\s>]',
    re.IGNORECASE | re.DOTALL)
_HTTP_HEAD_END = re.compile(rb'\r?\n\r?\n')  # old crawlers end head lines with a bare LF
_LINE_BREAK = re.compile(rb'\r?\n')
_HTTP_STATUS = re.compile(rb'(?:(?<![ \t])[ \t]++)?+HTTP/\d++(?:\.\d++)?+[ \t]++(\d{3})(?![0-9])')
_CHUNK_SIZE = re.compile(rb'(?:(?<![ \t])[ \t]++)?+([0-9A-Fa-f]{1,15})[ \t]*+(?:;[^\r\n]*+)?\r?\n')
_CHUNK_END = re.compile(rb'\r?\n')
_MEDIA_TYPE = re.compile(r"(?<![a-z0-9!#$&^_.+-])[a-z0-9!#$&^_.+-]++/[a-z0-9!#$&^_.+-]++")
_TOKEN_SPACE = re.compile(r'(?:(?<![ \t])[ \t]++)?+/[ \t]*+')


class WarcFramingError(ValueError):
  """A record whose framing (header, length, gzip member) is broken."""


class WarcRecordError(ValueError):
  """A well-framed record that still cannot be read."""


class PayloadTooLargeError(WarcRecordError):
  """A page larger than MAX_PAGE_BYTES."""


class Framed(NamedTuple):
  """One record found by the scan: its offset, its size in bytes, and what is wrong with it."""
  offset: int
  size: int  # uncompressed bytes of the record (0 when broken)
  error: str  # None when well framed


def is_warc_path(path):
  """Whether a path names a WARC file (``.warc`` or ``.warc.gz``, any case)."""
  return path.lower().endswith(WARC_EXTENSIONS)


def parse_warc_header(head):
  """``(header_bytes, content_length)`` of a record's first bytes; WarcFramingError if malformed."""
  if not _WARC_VERSION.match(head):
    raise WarcFramingError(f'not a WARC record: starts with {bytes(head[:24])!r}')
  end = head.find(_HEADER_END)
  if end < 0:
    raise WarcFramingError(f'no end of the WARC header within {MAX_HEADER_BYTES} bytes')
  match = _CONTENT_LENGTH.search(head, 0, end + 2)
  if not match:
    raise WarcFramingError('the WARC header has no valid Content-Length')
  return end + len(_HEADER_END), int(match.group(1))


def parse_warc_date(value):
  """A WARC-Date (ISO 8601, UTC) as an aware datetime, or None."""
  try:
    when = datetime.datetime.fromisoformat((value or '').strip())
  except ValueError:
    return None
  if when.tzinfo is None:
    return when.replace(tzinfo=datetime.timezone.utc)
  return when.astimezone(datetime.timezone.utc)


def _find(f, start, marker):
  """Offset of the first ``marker`` at or after ``start`` in a seekable file, or None."""
  f.seek(start)
  offset, carry = start, b''
  while True:
    block = f.read(SCAN_READ_BYTES)
    if not block:
      return None
    data = carry + block
    found = data.find(marker)
    if found >= 0:
      return offset - len(carry) + found
    carry = data[-(len(marker) - 1):]
    offset += len(block)


def _file_size(f):
  f.seek(0, os.SEEK_END)
  return f.tell()


def scan_plain_warc(f):
  """The Framed records of an uncompressed WARC file, in order.

  Reads each record's header and the four bytes after its content; seeks
  over the content. After a broken record the scan resumes at the next line
  that starts with ``WARC/``.
  """
  size = _file_size(f)
  pos = 0
  while pos < size:
    f.seek(pos)
    head = f.read(HEAD_READ_BYTES)
    blank = len(head) - len(head.lstrip(b'\r\n'))
    if blank:  # line breaks between records are tolerated
      pos += blank
      continue
    if _HEADER_END not in head and len(head) == HEAD_READ_BYTES:
      head += f.read(MAX_HEADER_BYTES - len(head))
    try:
      header_bytes, length = parse_warc_header(head)
    except WarcFramingError as error:
      problem = str(error)
    else:
      end = pos + header_bytes + length
      if end > size:
        problem = (f'truncated: the record declares {length} bytes of content, the file '
                   f'holds {size - pos - header_bytes}')
      else:
        f.seek(end)
        trailer = f.read(len(RECORD_END))
        if trailer == RECORD_END or (end + len(trailer) == size and RECORD_END.startswith(trailer)):
          yield Framed(pos, header_bytes + length + len(trailer), None)
          pos = end + len(trailer)
          continue
        problem = 'no CRLF CRLF after the content its Content-Length declares'
    yield Framed(pos, 0, problem)
    found = _find(f, pos, _RECORD_START)
    if found is None:
      return
    pos = found + 1


def _inflate_member(f, pending):
  """Inflates one gzip member starting at ``pending`` (then the file); returns its outcome.

  ``(consumed, head, total, leftover, error)``: compressed bytes of the member,
  its first MAX_HEADER_BYTES inflated bytes, its inflated size, the bytes read
  after it, and an error (a corrupt or truncated member) or None.
  """
  inflater = zlib.decompressobj(GZIP_WBITS)
  head, total, consumed, data = b'', 0, 0, pending
  while True:
    try:
      out = inflater.decompress(data, INFLATE_STEP_BYTES)
    except zlib.error as error:
      return consumed, head, total, b'', f'corrupt gzip member: {error}'
    total += len(out)
    if len(head) < MAX_HEADER_BYTES:
      head += out[:MAX_HEADER_BYTES - len(head)]
    if inflater.eof:
      leftover = inflater.unused_data
      return consumed + len(data) - len(leftover), head, total, leftover, None
    if inflater.unconsumed_tail:
      consumed += len(data) - len(inflater.unconsumed_tail)
      data = inflater.unconsumed_tail
      continue
    consumed += len(data)
    if len(out) == INFLATE_STEP_BYTES:
      data = b''  # more output may be waiting inside zlib
      continue
    data = f.read(SCAN_READ_BYTES)
    if not data:
      return consumed, head, total, b'', 'truncated: the file ends inside this gzip member'


def _member_problem(head, total):
  """What is wrong with an inflated gzip member meant to hold one record, or None."""
  try:
    header_bytes, length = parse_warc_header(head)
  except WarcFramingError as error:
    return str(error)
  if total < header_bytes + length:
    return (f'truncated: the record declares {length} bytes of content, its gzip member '
            f'holds {total - header_bytes}')
  if total > header_bytes + length + len(RECORD_END):
    return ('the gzip member holds more than one record: this .warc.gz is not gzipped '
            'per record (gunzip it and read the .warc)')
  return None


def scan_gzip_warc(f):
  """The Framed records of a WARC file gzipped per record (one member each), in order.

  Inflates each member once, keeping only its first bytes. After a corrupt
  member the scan resumes at the next gzip signature.
  """
  pos, pending = 0, b''
  f.seek(0)
  while True:
    if not pending:
      pending = f.read(SCAN_READ_BYTES)
      if not pending:
        return
    consumed, head, total, pending, problem = _inflate_member(f, pending)
    if problem is None:
      problem = _member_problem(head, total)
      yield Framed(pos, 0 if problem else total, problem)
      pos += consumed
      continue
    yield Framed(pos, 0, problem)
    found = _find(f, pos + 1, _GZIP_MAGIC)
    if found is None:
      return
    pos, pending = found, b''
    f.seek(pos)


def chunks_and_dead_letters(framed, uri, path, records_per_chunk, chunk_bytes):
  """The scan's outputs, streamed: a dead letter for each broken record as soon as it is
  found, and the well-framed ones in chunks of ``(source_uri, path, offset)`` of at most
  ``records_per_chunk`` records and ``chunk_bytes`` bytes.

  A file of nothing but broken records thus holds no list of them anywhere.
  """
  chunk, size = [], 0
  for record in framed:
    if record.error:
      yield stage.dead_letter(STAGE, record_uri(uri, record.offset), ERR_FRAMING, record.error)
      continue
    if chunk and (len(chunk) >= records_per_chunk or size + record.size > chunk_bytes):
      yield chunk
      chunk, size = [], 0
    chunk.append((record_uri(uri, record.offset), path, record.offset))
    size += record.size
  if chunk:
    yield chunk


def record_uri(uri, offset):
  """The ``source_uri`` of a WARC record: its file and byte offset."""
  return f'{uri}#offset={offset}'


def _open(path):
  return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def _record_type(record):
  """The WARC-Type of a record, as its header spells it when fastwarc does not know it."""
  if record.record_type == WarcRecordType.unknown:
    return (record.headers.get('WARC-Type') or 'unknown')[:40]
  return str(record.record_type)


class HttpHead(NamedTuple):
  """What newsbeam needs of an HTTP response head."""
  status: int
  content_type: str  # the media type, lower case, or None
  charset: str  # the charset parameter of the Content-Type, or None
  transfer_codings: tuple  # of Transfer-Encoding, lower case, as listed
  content_codings: tuple  # of Content-Encoding, lower case, as listed


def split_http_head(block):
  """``(head, body_start)`` of an HTTP block; a head may end lines with CRLF or a bare LF."""
  start = len(block) - len(block.lstrip(b'\r\n'))  # blank lines before the status line
  end = _HTTP_HEAD_END.search(block, start, start + MAX_HTTP_HEAD_BYTES)
  if end is not None:
    return block[start:end.start()], end.end()
  if len(block) - start >= MAX_HTTP_HEAD_BYTES:
    raise WarcRecordError(f'no end of the HTTP head within {MAX_HTTP_HEAD_BYTES} bytes')
  return block[start:], len(block)  # a head with no body


def parse_http_fields(lines):
  """``[(name, value)]`` of header lines: names lower case, folded lines joined, junk skipped."""
  fields = []
  for line in lines[:MAX_HTTP_FIELDS]:
    if line[:1] in (b' ', b'\t'):
      if fields:  # obsolete line folding: the value goes on
        name, value = fields[-1]
        fields[-1] = (name, f"{value} {line.strip().decode('latin-1')}".strip())
      continue
    name, colon, value = line.partition(b':')
    if colon and name.strip():
      fields.append((name.strip().decode('latin-1').lower(), value.strip().decode('latin-1')))
  return fields


def parse_content_type(values):
  """``(media_type, charset)`` of Content-Type values, tolerant of spacing, case and repeats.

  The last value that names a media type wins, as in browsers; either part is
  None when no value gives it.
  """
  media, charset = None, None
  for value in values:
    parts = value.split(';')
    candidate = _TOKEN_SPACE.sub('/', parts[0].split(',')[0].strip().lower())
    found = None
    for parameter in parts[1:]:
      key, equals, label = parameter.partition('=')
      if equals and key.strip().lower() == 'charset':
        found = label.strip().strip('"\'').strip().lower() or None
    if _MEDIA_TYPE.fullmatch(candidate):
      media, charset = candidate, found or charset
    elif found:
      charset = found
  return media, charset


def _codings(fields, name):
  """The codings a header lists, lower case, in order (repeated headers joined)."""
  listed = [c.strip().lower() for n, v in fields if n == name for c in v.split(',')]
  return tuple(c for c in listed if c and c != 'identity')[:MAX_CODINGS]


def parse_http_head(head):
  """The HttpHead of a response head; WarcRecordError when its status line does not parse."""
  lines = _LINE_BREAK.split(head)
  match = _HTTP_STATUS.match(lines[0])
  if not match:
    raise WarcRecordError(f'unparseable HTTP status line {bytes(lines[0][:120])!r}')
  fields = parse_http_fields(lines[1:])
  media, charset = parse_content_type([v for n, v in fields if n == 'content-type'])
  return HttpHead(int(match.group(1)), media, charset, _codings(fields, 'transfer-encoding'),
                  _codings(fields, 'content-encoding'))


def dechunk(body, limit):
  """The data of a chunked body (what a cut one holds); the body itself when it is not chunked."""
  pieces, pos, total = [], 0, 0
  while True:
    match = _CHUNK_SIZE.match(body, pos)
    if match is None:
      return b''.join(pieces) if pieces else body
    size = int(match.group(1), 16)
    if size == 0:
      return b''.join(pieces)
    start = match.end()
    pieces.append(body[start:start + size])
    total += len(pieces[-1])
    if total > limit:
      raise PayloadTooLargeError(f'payload over {limit} bytes once dechunked')
    end = _CHUNK_END.match(body, start + size)
    if end is None:
      return b''.join(pieces)
    pos = end.end()


def _inflate(data, wbits, limit):
  """At most ``limit + 1`` inflated bytes of a zlib, raw-deflate or gzip stream (a cut one too)."""
  return zlib.decompressobj(wbits).decompress(data, limit + 1)


def _is_zlib_stream(data):
  return len(data) >= 2 and data[0] & 0x0f == 8 and (data[0] << 8 | data[1]) % 31 == 0


def undo_coding(body, coding, limit):
  """A body with one content coding undone; as it is when the coding was not really applied.

  Crawlers often store the payload decoded but keep the server's
  Content-Encoding: a gzip body without the gzip signature is used as it is,
  and so is a body under a coding newsbeam does not know (``none``,
  ``utf-8`` and other values servers send). A body that has the coding's
  form but does not decode raises WarcRecordError.
  """
  try:
    if coding in GZIP_CODINGS:
      return _inflate(body, GZIP_WBITS, limit) if body.startswith(_GZIP_MEMBER_START) else body
    if coding in DEFLATE_CODINGS:
      if sniffs_as_html(body):
        return body
      return _inflate(body, ZLIB_WBITS if _is_zlib_stream(body) else RAW_DEFLATE_WBITS, limit)
    if coding in BROTLI_CODINGS:
      if sniffs_as_html(body):
        return body
      return brotli.Decompressor().process(body, output_buffer_limit=limit + 1)
  except (zlib.error, brotli.error) as error:
    raise WarcRecordError(f'the payload does not decode as Content-Encoding {coding}: '
                          f'{error}') from error
  return body


def decode_http_body(body, head, limit):
  """The payload of an HTTP body: its transfer, then its content codings undone, last first."""
  if CHUNKED in head.transfer_codings:
    body = dechunk(body, limit)
  for coding in reversed(head.content_codings):
    body = undo_coding(body, coding, limit)
  if len(body) > limit:
    raise PayloadTooLargeError(f'payload over {limit} bytes once decoded')
  return body


def sniff_prefix(body, head):
  """The first SNIFF_BYTES of a payload, from its body's first bytes (as far as they decode)."""
  try:
    if CHUNKED in head.transfer_codings:
      body = dechunk(body, len(body))
    for coding in reversed(head.content_codings):
      body = undo_coding(body, coding, SNIFF_BYTES)
  except WarcRecordError:
    pass
  return body[:SNIFF_BYTES]


def sniffs_as_html(data):
  """Whether bytes start like an HTML page (after a BOM, white space, comments)."""
  data = data[:SNIFF_BYTES]
  if data.startswith(_UTF8_BOM):
    data = data[len(_UTF8_BOM):]
  return _HTML_START.match(data) is not None


def is_html_payload(content_type, head):
  """Whether an HTTP payload is HTML: by its media type, else (unlabelled, generic) by its bytes."""
  if content_type in HTML_TYPES:
    return True
  return (content_type is None or content_type in SNIFFED_TYPES) and sniffs_as_html(head)


def record_outcomes(record, uri, base):
  """The outcomes of one WARC record: a raw record, or a drop, or a dead letter.

  The HTTP head is parsed here, tolerantly (bare-LF line ends, no reason
  phrase, repeated and folded headers), within MAX_HTTP_HEAD_BYTES. Raises
  WarcRecordError (or the decoder's ValueError) for a record that cannot be
  read; the caller makes it a dead letter.
  """
  kind = _record_type(record)
  if record.record_type != WarcRecordType.response:
    yield stage.drop(DROP_NOT_RESPONSE, STAGE, uri, detail=kind)
    return
  first = record.reader.read(MAX_HTTP_HEAD_BYTES + SNIFF_BYTES)
  if not record.is_http and not first.lstrip().startswith(b'HTTP/'):
    yield stage.drop(DROP_NOT_HTTP, STAGE, uri,
                     detail=(record.headers.get('Content-Type') or 'none')[:80])
    return
  raw_head, body_start = split_http_head(first)
  head = parse_http_head(raw_head)
  if head.status != 200:
    yield stage.drop(DROP_NOT_OK, STAGE, uri, detail=str(head.status))
    return
  if not is_html_payload(head.content_type, sniff_prefix(first[body_start:], head)):
    yield stage.drop(DROP_NOT_HTML, STAGE, uri, detail=(head.content_type or 'none')[:80])
    return
  if record.content_length - body_start > MAX_PAGE_BYTES:
    raise PayloadTooLargeError(
        f'payload of {record.content_length - body_start} bytes, over {MAX_PAGE_BYTES}')
  body = first[body_start:] + record.reader.read(MAX_PAGE_BYTES + body_start - len(first) + 1)
  body = decode_http_body(body, head, MAX_PAGE_BYTES)
  if not body.strip():
    yield stage.drop(DROP_EMPTY_INPUT, STAGE, uri)
    return
  html, _ = decode_page(body, head.charset)
  if record.headers.get('WARC-Truncated'):
    yield stage.warn(WARN_TRUNCATED_PAYLOAD, stage.describe_input(uri))
  target = (record.headers.get('WARC-Target-URI') or '').strip().strip('<>') or None
  yield dict(base, **{A.SOURCE_URI: uri, A.URL: target, R.HTML: html,
                      R.FETCHED_AT: parse_warc_date(record.headers.get('WARC-Date'))})


def read_chunk(f, items, base):
  """The outcomes of a chunk's records, read from the open file ``f``.

  Consecutive records are streamed by one fastwarc iterator; a record that
  fails here is a dead letter and the next record is sought afresh.
  """
  records = None
  for uri, _, offset in items:
    try:
      if records is None:
        f.seek(offset)
        records = iter(ArchiveIterator(f, parse_http=False))
      record = next(records, None)
      if record is None or record.stream_pos != offset:
        raise WarcRecordError(f'fastwarc found no record at offset {offset}')
      outputs = list(record_outcomes(record, uri, base))
    except (OSError, EOFError) as error:  # what fastwarc raises for a record it cannot parse
      records = None
      yield stage.dead_letter(STAGE, uri, ERR_RECORD, f'fastwarc: {error}')
      continue
    except ValueError as error:
      records = None
      yield stage.dead_letter(STAGE, uri, type(error).__name__, error)
      continue
    yield from outputs


def file_element(path):
  """What the scan receives for a path: ``(source_uri, path as bytes)``."""
  return display_path(path), os.fsencode(path)


class _ScanWarcFn(beam.DoFn):
  """Lists a WARC file's records in chunks; the file's own problems are its drop or dead letter."""

  def __init__(self, records_per_chunk, chunk_bytes):
    self._records_per_chunk = records_per_chunk
    self._chunk_bytes = chunk_bytes

  def process(self, element):
    uri, path = element[0], os.fsdecode(element[1])
    refused = refusal_outcome(uri, path, STAGE)
    if refused is not None:
      yield refused
      return
    scan = scan_gzip_warc if path.lower().endswith(GZIP_EXTENSION) else scan_plain_warc
    seen = 0
    try:
      with _open(path) as f:
        for item in chunks_and_dead_letters(scan(f), uri, element[1], self._records_per_chunk,
                                            self._chunk_bytes):
          seen += len(item) if isinstance(item, list) else 1
          yield item
    except OSError as error:
      yield stage.dead_letter(STAGE, uri, type(error).__name__,
                              f'{describe_os_error(error)} (after {seen} records)')
      return
    if not seen:
      yield stage.drop(DROP_EMPTY_INPUT, STAGE, uri)


class _ReadWarcChunkFn(beam.DoFn):
  """Reads the records of one chunk into raw records, drops and dead letters."""

  def process(self, items):
    path = os.fsdecode(items[0][1])
    base = {A.INPUT_FORMAT: FORMAT_WARC,
            R.FOLDER_NAME: display_path(folder_name_of(path) or '') or None}
    with _open(path) as f:
      yield from read_chunk(f, items, base)


class ReadWarcFiles(beam.PTransform):
  """Reads WARC files into raw records of their HTML pages (see the module docstring).

  Returns StageOutputs whose ``reports['inputs']`` counts every record (and
  every file that could not be scanned) as a ``warc`` input.
  """

  def __init__(self, paths, records_per_chunk=RECORDS_PER_CHUNK, chunk_bytes=CHUNK_BYTES,
               label=None):
    super().__init__(label)
    self._paths = list(paths)
    self._records_per_chunk = records_per_chunk
    self._chunk_bytes = chunk_bytes

  def expand(self, pbegin):
    scanned = (pbegin
               | 'ListWarcFiles' >> beam.Create([file_element(p) for p in self._paths])
               | 'SpreadWarcFiles' >> beam.Reshuffle()
               | 'ScanWarcFiles' >> stage.ApplyStage(
                   _ScanWarcFn(self._records_per_chunk, self._chunk_bytes), STAGE,
                   step=SCAN_STEP, stream=True))
    read = (scanned.records
            | 'SpreadChunks' >> beam.Reshuffle()
            | 'ReadWarcRecords' >> stage.ApplyStage(
                _ReadWarcChunkFn(), STAGE, step=RECORDS_STEP, fan_in=True))
    outcomes = stage.merge_outcomes([scanned, read], 'Warc')
    return stage.with_input_formats(outcomes, lambda _: FORMAT_WARC, 'Warc')
