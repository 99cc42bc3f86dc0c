"""Local (or any Beam filesystem) article files to raw input records.

Formats, by extension (each also as ``.gz``): ``.txt`` plain text, ``.html``
and ``.htm`` pages, ``.jsonl``/``.json`` objects, ``.xml``/``.rss``/``.atom``
feeds. Every input unit (a file, a JSON line, a feed entry) leaves the reader
exactly once: as a raw record, a counted drop, or a dead letter.

Every local path found is accounted for: special files (FIFOs, sockets,
devices) are dropped as ``not_a_regular_file`` without ever being opened,
dangling links as ``broken_link``, and files or folders that cannot be read
are dead letters with the OS error. A name with bytes that are not UTF-8 is
shown with backslash escapes (``name\\xff.txt``) in ``source_uri``.
"""

import errno
import gzip
import io
import json
import os
import posixpath
import re
import stat
import zlib

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystem import FileSystem
from apache_beam.io.filesystems import FileSystems

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas import raw as R
from transforms.core import stage
from transforms.core.decode import decode_bytes
from transforms.core.decode import find_declared_charset
from transforms.core.decode import has_lone_surrogates
from transforms.core.decode import repair_strings
from transforms.read.feeds import MAX_ENTRY_HTML_CHARS
from transforms.read.feeds import MAX_ENTRY_TEXT_CHARS
from transforms.read.feeds import MAX_TITLE_CHARS
from transforms.read.feeds import entries_to_raw_records
from transforms.read.feeds import parse_feed

__all__ = ['ReadArticleFiles', 'expand_inputs', 'detect_format',
           'display_path', 'InputPatternError']

STAGE = 'read'

FORMAT_TEXT = 'text'
FORMAT_HTML = 'html'
FORMAT_JSON = 'jsonl'
FORMAT_FEED = 'feed'
FORMAT_WARC = 'warc'
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
    '.warc': FORMAT_WARC,  # read by transforms/read/warc.py, not here
}
GZIP_EXTENSION = '.gz'

MAX_INPUT_BYTES = 256 << 20  # bytes of the largest file (all gzip members) read; more: dead letter
# Per-article caps, the same as a feed entry's: an article's text past
# MAX_ARTICLE_TEXT_CHARS (its HTML past MAX_ARTICLE_HTML_CHARS) is cut, and the
# article flagged ``text_cut`` with a ``text_cut`` warning naming the input.
MAX_ARTICLE_TEXT_CHARS = MAX_ENTRY_TEXT_CHARS  # characters (1 MiB, about 150,000 words)
MAX_ARTICLE_HTML_CHARS = MAX_ENTRY_HTML_CHARS  # characters of one page's HTML
MAX_ARTICLE_TITLE_CHARS = MAX_TITLE_CHARS  # characters of a title
WARN_TEXT_CUT = A.FLAG_TEXT_CUT
_ARTICLE_CAPS = ((A.TEXT, MAX_ARTICLE_TEXT_CHARS), (R.HTML, MAX_ARTICLE_HTML_CHARS),
                 (A.TITLE, MAX_ARTICLE_TITLE_CHARS))

DROP_EMPTY_INPUT = 'empty_input'
DROP_UNSUPPORTED_FORMAT = 'unsupported_format'
DROP_NOT_A_REGULAR_FILE = 'not_a_regular_file'
DROP_BROKEN_LINK = 'broken_link'

# ` date 2022-01-18 Headline ...` on the first line of a text file.
_TEXT_HEADER = re.compile(r'\A\s*date\s+(\d{4}-\d{2}-\d{2})\s+(.*)\Z', re.DOTALL)
# The line break after a text file's headline: Unix, Windows, old Mac, Unicode.
_LINE_BREAK = re.compile('\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]')
_GLOB_CHARS = re.compile(r'[*?\[]')
_GLOB_PREFIX = re.compile(r'^[^[*?]*')  # the part of a pattern before its first glob character
# ``file.jsonl#L3``: one line of a file; ``file.warc#offset=123``: one WARC record.
_LINE_SUFFIX = re.compile(r'#(?:L\d+|offset=\d+)\Z')
_MISSING_TARGET_ERRORS = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
# Non-blocking, so that even a FIFO opened by mistake cannot hang the reader.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0)
_SPECIAL_FILE_KINDS = ((stat.S_ISFIFO, 'FIFO (named pipe)'), (stat.S_ISSOCK, 'socket'),
                       (stat.S_ISCHR, 'character device'), (stat.S_ISBLK, 'block device'))


class InputPatternError(ValueError):
  """An ``--input`` names nothing newsbeam can read."""


class InputTooLargeError(ValueError):
  """A file is larger than MAX_INPUT_BYTES."""


def detect_format(path):
  """The input format for a path, from its extension (``.gz`` and ``#L<n>`` looked through)."""
  name = _LINE_SUFFIX.sub('', path).lower()
  if name.endswith(GZIP_EXTENSION):
    name = name[:-len(GZIP_EXTENSION)]
  return FORMATS_BY_EXTENSION.get(posixpath.splitext(name)[1], FORMAT_UNKNOWN)


def _is_hidden(path):
  return posixpath.basename(path.rstrip('/')).startswith(('.', '_'))


def expand_inputs(patterns):
  """Expands files, folders and globs into a sorted list of paths.

  Raises InputPatternError naming the first pattern that matches nothing.
  Hidden files (``.x``, ``_x``) found inside folders or globs are skipped.
  Local special files, dangling links, links to folders and folders that
  cannot be listed are listed too: the reader accounts for each.
  """
  paths = set()
  for pattern in patterns:
    found = _match_pattern(pattern)
    if not found:
      raise InputPatternError(f'--input {display_path(pattern)!r} matches no file')
    paths.update(found)
  return sorted(paths)


def _is_local(path):
  return FileSystems.get_scheme(path) is None


def _match_pattern(pattern):
  if _is_local(pattern):
    return _match_local(pattern)
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


def _match_local(pattern):
  """Local paths a pattern names, with Beam's glob rules (``*`` within a folder, ``**`` across)."""
  if _GLOB_CHARS.search(pattern):
    folder = os.path.dirname(_GLOB_PREFIX.match(pattern).group(0))
    if not os.path.isdir(folder):
      return []
    matches = re.compile(FileSystem.translate_pattern(pattern)).match
    return [p for p in _list_local(folder) if matches(p) and not _is_hidden(p)]
  if os.path.isdir(pattern):
    folder = pattern.rstrip('/') or '/'
    return [p for p in _list_local(folder) if not _is_hidden(p)] or [folder]
  return [pattern] if os.path.lexists(pattern) else []


def _list_local(folder):
  """Every path under a local folder but the folders it descends into.

  Besides files: special files, dangling links, links to folders (not
  followed) and folders that cannot be listed, so that each is accounted for.
  """
  found = []
  for parent, folders, files in os.walk(folder, onerror=lambda e: found.append(e.filename)):
    found.extend(os.path.join(parent, name) for name in files)
    found.extend(os.path.join(parent, name) for name in folders
                 if os.path.islink(os.path.join(parent, name)))
  return found


def display_path(path):
  """A path as valid text: bytes of a name that are not UTF-8 shown as backslash escapes."""
  if not has_lone_surrogates(path):
    return path
  try:
    raw = path.encode('utf-8', 'surrogateescape')
  except UnicodeEncodeError:
    raw = path.encode('utf-8', 'surrogatepass')
  return raw.decode('utf-8', 'backslashreplace')


def describe_os_error(error):
  """An OSError as ``[Errno 13] Permission denied``: the path is the dead letter's source_uri."""
  if error.strerror:
    return f'[Errno {error.errno}] {error.strerror}'
  return display_path(str(error))


def _special_kind(mode):
  """What a file mode that is neither a regular file nor a folder is, for a drop's detail."""
  for is_kind, kind in _SPECIAL_FILE_KINDS:
    if is_kind(mode):
      return kind
  return 'special file'


def refuse_local_path(path):
  """Why a local path is not read, as ``(drop reason, detail)``; None for a regular file.

  Never opens a file. Raises OSError when the path cannot be examined or is
  a folder that cannot be listed.
  """
  try:
    info = os.stat(path)
  except OSError as error:
    if error.errno in _MISSING_TARGET_ERRORS and os.path.islink(path):
      return DROP_BROKEN_LINK, (f'link to {display_path(os.readlink(path))!r}: '
                                f'{error.strerror}')
    raise
  if stat.S_ISREG(info.st_mode):
    return None
  if stat.S_ISDIR(info.st_mode):
    with os.scandir(path):
      pass
    if os.path.islink(path):
      return DROP_NOT_A_REGULAR_FILE, 'link to a folder (not followed)'
    return DROP_EMPTY_INPUT, 'folder with no file to read'
  return DROP_NOT_A_REGULAR_FILE, _special_kind(info.st_mode)


def _read_local(path, max_bytes):
  """At most max_bytes + 1 bytes of a regular local file.

  Opened non-blocking and checked again once open, so a FIFO swapped in
  after refuse_local_path cannot hang the reader.
  """
  fd = os.open(path, _OPEN_FLAGS)
  with open(fd, 'rb') as f:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
      raise OSError(errno.EINVAL, 'not a regular file')
    return f.read(max_bytes + 1)


def _gunzip(raw, max_bytes):
  """Every member of gzip data (concatenated members are one file), at most max_bytes."""
  try:
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
      data = stream.read(max_bytes + 1)
  except EOFError as error:
    raise gzip.BadGzipFile(f'truncated gzip stream: {error}') from error
  if len(data) > max_bytes:
    raise InputTooLargeError(f'gunzipped file is larger than {max_bytes} bytes')
  return data


def read_input_bytes(path, max_bytes=MAX_INPUT_BYTES):
  """The bytes of a file, gunzipped (all members) when it ends in ``.gz``, at most max_bytes."""
  if _is_local(path):
    raw = _read_local(path, max_bytes)
  else:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
      raw = f.read(max_bytes + 1)
  if len(raw) > max_bytes:
    raise InputTooLargeError(f'file is larger than {max_bytes} bytes')
  if not path.lower().endswith(GZIP_EXTENSION):
    return raw
  return _gunzip(raw, max_bytes)


def folder_name_of(path):
  """The name of the folder holding a file (a fallback ``source``)."""
  return posixpath.basename(posixpath.dirname(path.replace('\\', '/'))) or None


def parse_text_file(text):
  """Headline, optional header date and body of a plain-text article."""
  lines = _LINE_BREAK.split(text.lstrip('\ufeff').strip(), maxsplit=1)
  first = lines[0].strip()
  body = lines[1] if len(lines) > 1 else ''
  header_date = None
  match = _TEXT_HEADER.match(first)
  if match:
    header_date, first = match.group(1), match.group(2).strip()
  return {A.TITLE: first or None, A.TEXT: body, R.HEADER_DATE: header_date}


def cap_article(record):
  """``(record, cut)``: text, HTML and title cut to the per-article caps; a cut one flagged."""
  cut = {field: value[:limit] for field, limit in _ARTICLE_CAPS
         if isinstance(value := record.get(field), str) and len(value) > limit}
  if not cut:
    return record, False
  flags = [f for f in record.get(A.FLAGS) or [] if f != A.FLAG_TEXT_CUT]
  return dict(record, **cut, **{A.FLAGS: flags + [A.FLAG_TEXT_CUT]}), True


def _capped_outputs(record):
  """A raw record within the per-article caps, with a ``text_cut`` warning when it was cut."""
  record, cut = cap_article(record)
  if cut or A.FLAG_TEXT_CUT in (record.get(A.FLAGS) or ()):  # a feed entry cut by read_feeds
    yield stage.warn(WARN_TEXT_CUT, stage.describe_input(
        record[A.SOURCE_URI], record.get(A.URL) or record.get(A.EXTERNAL_ID)))
  yield record


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
  modified = obj.get('modified')
  return {
      A.EXTERNAL_ID: _as_text(obj.get('id')),
      A.URL: _as_text(obj.get('url')),
      A.TITLE: _as_text(obj.get('title')),
      A.TEXT: _as_text(obj.get('text')),
      R.HTML: _as_text(obj.get('html')),
      R.PUBLISHED: published if isinstance(published, (int, float)) else _as_text(published),
      R.MODIFIED: modified if isinstance(modified, (int, float)) else _as_text(modified),
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
  whole-document array (one item per element, on one line or several) or a
  multi-line object is accepted too; otherwise each non-blank line is one item.
  """
  stripped = text.strip()
  if stripped[:1] == '[' or (stripped[:1] == '{' and '\n' in stripped):
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


def file_element(path):
  """What the reader receives for a path: ``(source_uri, path as bytes)``.

  A local name with bytes that are not UTF-8 is a string with surrogates,
  which Beam's coders cannot encode: its bytes travel instead.
  """
  return display_path(path), os.fsencode(path)


def _repaired(output):
  """A reader output whose strings can all be written (JSON escapes may hold lone surrogates)."""
  if isinstance(output, pvalue.TaggedOutput):
    return pvalue.TaggedOutput(output.tag, repair_strings(output.value))
  return repair_strings(output)


def refusal_outcome(uri, path, stage_name):
  """The drop or dead letter of a local path that must not be opened, or None.

  FIFOs, sockets, devices and links to folders are drops
  (``not_a_regular_file``), dangling links drops (``broken_link``), paths
  that cannot even be examined dead letters with the OS error.
  """
  if not _is_local(path):
    return None
  try:
    refusal = refuse_local_path(path)
  except OSError as error:
    return stage.dead_letter(stage_name, uri, type(error).__name__, describe_os_error(error))
  if refusal:
    reason, detail = refusal
    return stage.drop(reason, stage_name, uri, detail=detail)
  return None


class _ReadFileFn(beam.DoFn):
  """Reads one file into raw records, drops and dead letters."""

  def process(self, element):
    uri, path = element[0], os.fsdecode(element[1])
    for output in self._read(uri, path):
      yield _repaired(output)

  def _read(self, uri, path):
    refused = refusal_outcome(uri, path, STAGE)
    if refused is not None:
      yield refused
      return
    fmt = detect_format(uri)
    if fmt == FORMAT_UNKNOWN:
      yield stage.drop(DROP_UNSUPPORTED_FORMAT, STAGE, uri)
      return
    if fmt == FORMAT_WARC:  # ReadInputs sends WARC files to ReadWarcFiles
      yield stage.drop(DROP_UNSUPPORTED_FORMAT, STAGE, uri, detail='read by ReadWarcFiles')
      return
    try:
      data = read_input_bytes(path)
    except OSError as error:
      yield stage.dead_letter(STAGE, uri, type(error).__name__, describe_os_error(error))
      return
    except (EOFError, zlib.error, InputTooLargeError) as error:
      yield stage.dead_letter(STAGE, uri, type(error).__name__, error)
      return
    if not data.strip():
      yield stage.drop(DROP_EMPTY_INPUT, STAGE, uri)
      return
    base = {A.SOURCE_URI: uri, A.INPUT_FORMAT: fmt,
            R.FOLDER_NAME: display_path(folder_name_of(path) or '') or None}
    if fmt == FORMAT_FEED:
      yield from self._read_feed(uri, data, base)
      return
    try:
      declared = find_declared_charset(data) if fmt == FORMAT_HTML else None
      text, _ = decode_bytes(data, declared)
    except ValueError as error:
      yield stage.dead_letter(STAGE, uri, type(error).__name__, error, data)
      return
    if fmt == FORMAT_JSON:
      yield from self._read_json(uri, text, base)
    elif fmt == FORMAT_HTML:
      yield from _capped_outputs(dict(base, **{R.HTML: text}))
    else:
      yield from _capped_outputs(dict(base, **parse_text_file(text)))

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
      yield from _capped_outputs(dict(base, **record, **{A.SOURCE_URI: uri}))

  def _read_feed(self, path, data, base):
    parsed = parse_feed(data)
    if not parsed.entries:
      yield stage.dead_letter(STAGE, path, 'EmptyFeed', parsed.describe_failure(),
                              data)
      return
    if parsed.warning:
      yield stage.warn('malformed_feed', stage.describe_input(path, f'({parsed.warning})'))
    for record in entries_to_raw_records(parsed, path):
      yield from _capped_outputs(dict(base, **record))


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
            | 'ListFiles' >> beam.Create([file_element(p) for p in self._paths])
            | 'SpreadFiles' >> beam.Reshuffle()
            | 'ReadFiles' >> stage.ApplyStage(_ReadFileFn(), STAGE))
    return stage.with_input_formats(read, input_format_of, 'File')
