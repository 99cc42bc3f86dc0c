"""Local (or any Beam filesystem) article files to raw input records.

Formats, by extension (each also as ``.gz``): ``.txt`` plain text, ``.html``
and ``.htm`` pages, ``.jsonl``/``.json`` objects, ``.xml``/``.rss``/``.atom``
feeds. Every input unit (a file, a JSON line, a feed entry) leaves the reader
exactly once: as a raw record, a counted drop, or a dead letter.
"""

import gzip
import json
import posixpath
import re
import zlib

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas import raw as R
from transforms import stage
from transforms.decode import decode_bytes
from transforms.decode import find_declared_charset
from transforms.read_feeds import entries_to_raw_records
from transforms.read_feeds import parse_feed

__all__ = ['ReadArticleFiles', 'expand_inputs', 'detect_format',
           'InputPatternError']

STAGE = 'read'

FORMAT_TEXT = 'text'
FORMAT_HTML = 'html'
FORMAT_JSON = 'jsonl'
FORMAT_FEED = 'feed'
FORMAT_UNKNOWN = 'unknown'

FORMATS_BY_EXTENSION = {
    '.txt': FORMAT_TEXT,
    '.html': FORMAT_HTML,
    '.htm': FORMAT_HTML,
    '.jsonl': FORMAT_JSON,
    '.json': FORMAT_JSON,
    '.xml': FORMAT_FEED,
    '.rss': FORMAT_FEED,
    '.atom': FORMAT_FEED,
}
GZIP_EXTENSION = '.gz'

MAX_INPUT_BYTES = 256 << 20  # largest file (after gunzip) read; larger is a dead letter

DROP_EMPTY_INPUT = 'empty_input'
DROP_UNSUPPORTED_FORMAT = 'unsupported_format'

# ` date 2022-01-18 Headline ...` on the first line of a text file.
_TEXT_HEADER = re.compile(r'\A\s*date\s+(\d{4}-\d{2}-\d{2})\s+(.*)\Z', re.DOTALL)
_GLOB_CHARS = re.compile(r'[*?\[]')


class InputPatternError(ValueError):
  """An ``--input`` names nothing newsbeam can read."""


class InputTooLargeError(ValueError):
  """A file is larger than MAX_INPUT_BYTES."""


def detect_format(path):
  """The input format for a path, from its extension (``.gz`` looked through)."""
  name = path.split('#', 1)[0].lower()
  if name.endswith(GZIP_EXTENSION):
    name = name[:-len(GZIP_EXTENSION)]
  return FORMATS_BY_EXTENSION.get(posixpath.splitext(name)[1], FORMAT_UNKNOWN)


def _is_hidden(path):
  return posixpath.basename(path.rstrip('/')).startswith(('.', '_'))


def expand_inputs(patterns):
  """Expands files, folders and globs into a sorted list of file paths.

  Raises InputPatternError naming the first pattern that matches no file.
  Hidden files (``.x``, ``_x``) found inside folders or globs are skipped.
  """
  paths = set()
  for pattern in patterns:
    found = _match_pattern(pattern)
    if not found:
      raise InputPatternError(f'--input {pattern!r} matches no file')
    paths.update(found)
  return sorted(paths)


def _match_pattern(pattern):
  if _GLOB_CHARS.search(pattern):
    return [p for p in _match(pattern) if not _is_hidden(p)]
  in_folder = _match(pattern.rstrip('/') + '/**')
  if in_folder:
    return [p for p in in_folder if not _is_hidden(p)]
  return _match(pattern)


def _match(pattern):
  try:
    result = FileSystems.match([pattern])[0]
  except Exception:  # pylint: disable=broad-except
    return []
  return [m.path for m in result.metadata_list if not m.path.endswith('/')]


def read_input_bytes(path, max_bytes=MAX_INPUT_BYTES):
  """The bytes of a file, gunzipped when it ends in ``.gz``, at most max_bytes."""
  with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
    raw = f.read(max_bytes + 1)
  if len(raw) > max_bytes:
    raise InputTooLargeError(f'file is larger than {max_bytes} bytes')
  if not path.lower().endswith(GZIP_EXTENSION):
    return raw
  decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
  data = decompressor.decompress(raw, max_bytes + 1)
  if len(data) > max_bytes:
    raise InputTooLargeError(f'gunzipped file is larger than {max_bytes} bytes')
  if not decompressor.eof:
    raise gzip.BadGzipFile('truncated gzip stream')
  return data


def folder_name_of(path):
  """The name of the folder holding a file (a fallback ``source``)."""
  return posixpath.basename(posixpath.dirname(path.replace('\\', '/'))) or None


def parse_text_file(text):
  """Headline, optional header date and body of a plain-text article."""
  lines = text.lstrip('\ufeff').strip().split('\n', 1)
  first = lines[0].strip()
  body = lines[1] if len(lines) > 1 else ''
  header_date = None
  match = _TEXT_HEADER.match(first)
  if match:
    header_date, first = match.group(1), match.group(2).strip()
  return {A.TITLE: first or None, A.TEXT: body, R.HEADER_DATE: header_date}


def _as_text(value):
  if value is None or isinstance(value, str):
    return value
  if isinstance(value, (int, float)):
    return str(value)
  raise ValueError(f'expected a string, got {type(value).__name__}')


def _as_authors(value):
  if value is None:
    return []
  if isinstance(value, str):
    return [value]
  if isinstance(value, list):
    names = []
    for item in value:
      if isinstance(item, dict):
        item = item.get('name')
      if isinstance(item, str) and item.strip():
        names.append(item)
    return names
  raise ValueError(f'authors: expected a string or a list, got {type(value).__name__}')


def json_object_to_raw(obj):
  """The raw-record fields of one input JSON object; raises ValueError if unusable."""
  if not isinstance(obj, dict):
    raise ValueError(f'expected a JSON object, got {type(obj).__name__}')
  published = obj.get('published')
  return {
      A.EXTERNAL_ID: _as_text(obj.get('id')),
      A.URL: _as_text(obj.get('url')),
      A.TITLE: _as_text(obj.get('title')),
      A.TEXT: _as_text(obj.get('text')),
      R.HTML: _as_text(obj.get('html')),
      R.PUBLISHED: published if isinstance(published, (int, float)) else _as_text(published),
      A.AUTHORS: _as_authors(obj.get('authors')),
      A.SOURCE: _as_text(obj.get('source')),
  }


def _loads(text):
  """json.loads, with too-deep nesting reported as a ValueError."""
  try:
    return json.loads(text)
  except RecursionError as error:
    raise ValueError('JSON nested too deeply to parse') from error


def parse_json_document(text):
  """Splits a JSON or JSON Lines document into ``(number, object, raw)`` items.

  ``object`` is the parsed value or the ValueError that parsing raised. A
  whole-document array (one item per element) or a multi-line object is
  accepted too; otherwise each non-blank line is one item.
  """
  stripped = text.strip()
  if stripped[:1] in '[{' and '\n' in stripped:
    try:
      whole = _loads(stripped)
    except ValueError:
      whole = None
    if isinstance(whole, list):
      return [(i + 1, item, None) for i, item in enumerate(whole)]
    if isinstance(whole, dict):
      return [(1, whole, None)]
  parsed = []
  for number, line in enumerate(text.split('\n'), start=1):
    line = line.strip()
    if not line:
      continue
    try:
      parsed.append((number, _loads(line), line))
    except ValueError as error:
      parsed.append((number, error, line))
  return parsed


class _ReadFileFn(beam.DoFn):
  """Reads one file into raw records, drops and dead letters."""

  def process(self, path):
    fmt = detect_format(path)
    if fmt == FORMAT_UNKNOWN:
      yield stage.drop(DROP_UNSUPPORTED_FORMAT, STAGE, path)
      return
    try:
      data = read_input_bytes(path)
    except (OSError, EOFError, zlib.error, InputTooLargeError) as error:
      yield stage.dead_letter(STAGE, path, type(error).__name__, error)
      return
    if not data.strip():
      yield stage.drop(DROP_EMPTY_INPUT, STAGE, path)
      return
    base = {A.SOURCE_URI: path, A.INPUT_FORMAT: fmt,
            R.FOLDER_NAME: folder_name_of(path)}
    if fmt == FORMAT_FEED:
      yield from self._read_feed(path, data, base)
      return
    try:
      declared = find_declared_charset(data) if fmt == FORMAT_HTML else None
      text, _ = decode_bytes(data, declared)
    except ValueError as error:
      yield stage.dead_letter(STAGE, path, type(error).__name__, error, data)
      return
    if fmt == FORMAT_JSON:
      yield from self._read_json(path, text, base)
    elif fmt == FORMAT_HTML:
      yield dict(base, **{R.HTML: text})
    else:
      yield dict(base, **parse_text_file(text))

  def _read_json(self, path, text, base):
    parsed = parse_json_document(text)
    if not parsed:
      yield stage.drop(DROP_EMPTY_INPUT, STAGE, path)
      return
    for number, obj, raw in parsed:
      uri = f'{path}#L{number}'
      try:
        if isinstance(obj, Exception):
          raise obj
        record = json_object_to_raw(obj)
      except ValueError as error:
        yield stage.dead_letter(STAGE, uri, type(error).__name__, error, raw)
        continue
      yield dict(base, **record, **{A.SOURCE_URI: uri})

  def _read_feed(self, path, data, base):
    parsed = parse_feed(data)
    if not parsed.entries:
      yield stage.dead_letter(STAGE, path, 'EmptyFeed', parsed.describe_failure(),
                              data)
      return
    if parsed.warning:
      yield stage.warn('malformed_feed')
    for record in entries_to_raw_records(parsed, path):
      yield dict(base, **record)


def input_format_of(outcome):
  """The input format of a reader outcome: a record, a drop or a dead letter."""
  if A.INPUT_FORMAT in outcome:
    return outcome[A.INPUT_FORMAT]
  return detect_format(outcome.get(X.SOURCE_URI) or outcome.get(D.SOURCE_URI) or '')


class ReadArticleFiles(beam.PTransform):
  """Reads expanded file paths into raw records (see the module docstring)."""

  def __init__(self, paths, label=None):
    super().__init__(label)
    self._paths = list(paths)

  def expand(self, pbegin):
    read = (pbegin
            | 'ListFiles' >> beam.Create(self._paths)
            | 'SpreadFiles' >> beam.Reshuffle()
            | 'ReadFiles' >> stage.ApplyStage(_ReadFileFn(), STAGE))
    return stage.with_input_formats(read, input_format_of, 'File')
