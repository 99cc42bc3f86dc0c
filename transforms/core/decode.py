"""Bytes to text: BOM, declared charset, UTF-8, then a charset detector.

A file with a NUL byte anywhere, or with too many control characters in any
stretch of its text, is binary: refused, never decoded into garbage. Text
handed on never holds lone surrogates (``replace_lone_surrogates``).
"""

import codecs
import re

import charset_normalizer
from charset_normalizer.md import mess_ratio

__all__ = ['BinaryContentError', 'UndecodableError', 'decode_bytes',
           'find_declared_charset', 'is_binary', 'replace_lone_surrogates',
           'has_lone_surrogates', 'repair_strings']

DETECTOR_BYTES = 1 << 20  # bytes given to the charset detector
SNIFF_BYTES = 8192  # bytes inspected for a declared charset; characters per control-share window
MAX_CONTROL_SHARE = 0.01  # share of control characters in any window above which text is binary
MAX_DETECTOR_CHAOS = 0.2  # charset_normalizer "mess" above which a guess is refused
# Browsers read latin-1 as windows-1252 and it is the commonest legacy charset
# of the web: its reading wins when it is Western text (Latin letters of
# Western European languages and common punctuation), over guesses (cp775,
# cp850, cp1250, cp1257, ...) at most WESTERN_CHAOS_MARGIN less "messy".
PREFERRED_LEGACY_ENCODING = 'cp1252'
WESTERN_CHAOS_MARGIN = 0.1  # "mess" a Western reading may have above the best guess's
MIN_WESTERN_SHARE = 0.95  # share of non-ASCII characters that are Western letters or punctuation
MAX_UTF8_ERROR_SHARE = 0.001  # invalid UTF-8 sequences per byte still read as damaged UTF-8
MAX_UTF8_ERRORS = 32  # most invalid sequences replaced by U+FFFD in damaged UTF-8
REPLACEMENT_CHAR = '\ufffd'

# Python codecs no web page means: not text codecs (hex, base64, rot13, zlib,
# ...) are refused by ``_is_text_encoding``; these turn escapes into characters.
_UNTRUSTED_CODECS = frozenset(('unicode-escape', 'raw-unicode-escape', 'undefined'))
_BOMS = (
    (codecs.BOM_UTF32_LE, 'utf-32-le'),
    (codecs.BOM_UTF32_BE, 'utf-32-be'),
    (codecs.BOM_UTF8, 'utf-8'),
    (codecs.BOM_UTF16_LE, 'utf-16-le'),
    (codecs.BOM_UTF16_BE, 'utf-16-be'),
)
_XML_DECLARED = re.compile(
    rb'''<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']''')
_HTML_META_CHARSET = re.compile(
    rb'''<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})''',
    re.IGNORECASE)
_CONTROL_CHARS = re.compile('[\x00-\x08\x0b\x0e-\x1f\x7f]')
_LONE_SURROGATES = re.compile('[\ud800-\udfff]')
_CONTAINER_TYPES = (str, dict, list)  # list items that may hold strings
_NON_ASCII = re.compile('[^\x00-\x7f]')
_WESTERN_CHARS = frozenset(
    'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜßàáâãäåæçèéêëìíîïñòóôõöøùúûüÿŒœŸ'
    '\xa0¡¢£¥§©«®°´·»¿€‚„…†‡•‹›‘’“”–—™')


class BinaryContentError(ValueError):
  """The input is not text (it holds NUL bytes or control characters)."""


class UndecodableError(ValueError):
  """No charset decodes the input into plausible text."""


def has_lone_surrogates(text):
  """True when ``text`` cannot be written as UTF-8 (it holds lone surrogates)."""
  if text.isascii():
    return False
  try:
    text.encode('utf-8')
  except UnicodeEncodeError:
    return True
  return False


def replace_lone_surrogates(text):
  """``text`` with each lone surrogate (from JSON escapes or file names) replaced by U+FFFD."""
  if not text or not has_lone_surrogates(text):
    return text
  return _LONE_SURROGATES.sub(REPLACEMENT_CHAR, text)


def _needs_repair(value):
  """True when ``value`` (a string, or dicts and lists of them) holds a string with lone surrogates.

  Rows are checked on every write: an ASCII string (most of them) costs one
  ``isascii`` call, and a list of numbers one look at its first item.
  """
  kind = type(value)
  if kind is str:
    return not value.isascii() and has_lone_surrogates(value)
  if kind is dict:
    value = value.values()
  elif kind is not list or not value or type(value[0]) not in _CONTAINER_TYPES:
    return False
  for item in value:
    kind = type(item)
    if kind is str:
      if not item.isascii() and has_lone_surrogates(item):
        return True
    elif (kind is dict or kind is list) and _needs_repair(item):
      return True
  return False


def _repaired(value):
  if isinstance(value, str):
    return replace_lone_surrogates(value)
  if isinstance(value, dict):
    return {k: _repaired(v) for k, v in value.items()}
  if isinstance(value, list):
    return [_repaired(v) for v in value]
  return value


def repair_strings(value):
  """``value`` (a row, list or string) with lone surrogates in every string replaced by U+FFFD.

  A string that cannot be encoded as UTF-8 fails Arrow and Beam's coders,
  and with them the whole run. ``value`` itself is returned when it needs
  no repair, after one cheap pass.
  """
  return _repaired(value) if _needs_repair(value) else value


def find_declared_charset(data):
  """The charset an XML declaration or an HTML meta tag names, if any."""
  head = data[:SNIFF_BYTES]
  for pattern in (_XML_DECLARED, _HTML_META_CHARSET):
    match = pattern.search(head)
    if match:
      return match.group(1).decode('ascii').lower()
  return None


def _lookup(charset):
  """The codec name for a charset label, or None when it names no text charset."""
  if not charset:
    return None
  try:
    codec = codecs.lookup(charset)
  except LookupError:
    return None
  is_text = codec._is_text_encoding  # pylint: disable=protected-access
  return codec.name if is_text and codec.name not in _UNTRUSTED_CODECS else None


def is_binary(data):
  """True for bytes that are plainly not text: a NUL byte anywhere."""
  return b'\x00' in data


def _is_plausible(text):
  """True unless some window of SNIFF_BYTES characters holds too many control characters."""
  limit = MAX_CONTROL_SHARE * min(len(text), SNIFF_BYTES)
  counts = {}
  for match in _CONTROL_CHARS.finditer(text):
    window = match.start() // SNIFF_BYTES
    counts[window] = counts.get(window, 0) + 1
    if counts[window] > limit:
      return False
  return True


def decode_bytes(data, declared_charset=None):
  """Decodes ``data``; returns ``(text, encoding)`` or raises a ValueError.

  Order: a byte-order mark, then the declared charset (from HTTP headers or the
  document itself), then UTF-8, then UTF-8 with a few damaged bytes replaced,
  then charset_normalizer's best guess (windows-1252 for Western text).
  """
  for bom, encoding in _BOMS:
    if data.startswith(bom):
      try:
        return _checked(data[len(bom):].decode(encoding), encoding)
      except UnicodeDecodeError as error:
        raise UndecodableError(
            f'bytes do not match their {encoding} byte-order mark: {error}'
        ) from error
  if is_binary(data):
    raise BinaryContentError(f'binary content: a NUL byte at offset {data.index(0)}')
  candidates = [_lookup(declared_charset), 'utf-8']
  for encoding in dict.fromkeys(c for c in candidates if c):
    try:
      return _checked(data.decode(encoding), encoding)
    except (UnicodeError, BinaryContentError):
      continue
  damaged = decode_damaged_utf8(data)
  if damaged is not None:
    return _checked(damaged, 'utf-8')
  encoding = _guess_encoding(data)
  try:
    return _checked(data.decode(encoding), encoding)
  except UnicodeDecodeError as error:
    raise UndecodableError(f'undecodable bytes: {error}') from error


def decode_damaged_utf8(data):
  """UTF-8 text with its few invalid bytes replaced by U+FFFD, or None when it is not UTF-8.

  The bytes count as UTF-8 when invalid sequences are at most
  MAX_UTF8_ERRORS and MAX_UTF8_ERROR_SHARE of the bytes, and valid
  multi-byte characters are at least as many as them.
  """
  text = data.decode('utf-8', errors='replace')
  errors = text.count(REPLACEMENT_CHAR) - data.count(REPLACEMENT_CHAR.encode('utf-8'))
  if errors > min(MAX_UTF8_ERRORS, len(data) * MAX_UTF8_ERROR_SHARE):
    return None
  multi_byte = len(text) - len(text.encode('ascii', errors='ignore')) - errors
  return text if multi_byte >= errors else None


def _western_reading(data):
  """The windows-1252 reading of ``data`` when it is Western text, else None."""
  try:
    text = data[:DETECTOR_BYTES].decode(PREFERRED_LEGACY_ENCODING)
  except UnicodeDecodeError:
    return None
  non_ascii = _NON_ASCII.findall(text)
  western = sum(1 for c in non_ascii if c in _WESTERN_CHARS)
  if not non_ascii or western < MIN_WESTERN_SHARE * len(non_ascii):
    return None
  return text


def _guess_encoding(data):
  """windows-1252 for Western text, else charset_normalizer's best guess."""
  matches = charset_normalizer.from_bytes(data[:DETECTOR_BYTES])
  best = matches.best()
  western_limit = MAX_DETECTOR_CHAOS
  if best is not None:
    western_limit = min(western_limit, best.chaos + WESTERN_CHAOS_MARGIN)
  western = _western_reading(data)
  if western is not None and mess_ratio(western, maximum_threshold=1.0) <= western_limit:
    return PREFERRED_LEGACY_ENCODING
  if best is None or best.chaos > MAX_DETECTOR_CHAOS:
    raise UndecodableError('undecodable bytes: not UTF-8 and no charset fits')
  return best.encoding


def _checked(text, encoding):
  """``(text, encoding)`` for plausible text, lone surrogates (UTF-7 can make them) replaced."""
  if not _is_plausible(text):
    raise BinaryContentError(
        f'binary content: too many control characters when read as {encoding}')
  return replace_lone_surrogates(text), encoding
