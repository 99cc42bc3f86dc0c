"""Bytes to text: BOM, declared charset, UTF-8, then a charset detector."""

import codecs
import re

import charset_normalizer

__all__ = ['BinaryContentError', 'UndecodableError', 'decode_bytes',
           'find_declared_charset', 'is_binary']

DETECTOR_BYTES = 1 << 20  # bytes given to the charset detector
SNIFF_BYTES = 8192  # bytes inspected for a binary signature or a declared charset
MAX_CONTROL_SHARE = 0.01  # share of control characters above which text is binary
MAX_DETECTOR_CHAOS = 0.2  # charset_normalizer "mess" above which a guess is refused
CHAOS_TIE = 0.01  # guesses this close in "mess" are equally good
# Browsers read latin-1 as windows-1252 and it is the commonest legacy charset
# of the web, so it wins a tie among equally plausible single-byte guesses.
PREFERRED_LEGACY_ENCODING = 'cp1252'

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


class BinaryContentError(ValueError):
  """The input is not text (it holds NUL bytes or control characters)."""


class UndecodableError(ValueError):
  """No charset decodes the input into plausible text."""


def find_declared_charset(data):
  """The charset an XML declaration or an HTML meta tag names, if any."""
  head = data[:SNIFF_BYTES]
  for pattern in (_XML_DECLARED, _HTML_META_CHARSET):
    match = pattern.search(head)
    if match:
      return match.group(1).decode('ascii').lower()
  return None


def _lookup(charset):
  """The codec name for a charset label, or None when Python has none."""
  if not charset:
    return None
  try:
    return codecs.lookup(charset).name
  except LookupError:
    return None


def is_binary(data):
  """True for bytes that are plainly not text (a NUL byte in the head)."""
  return b'\x00' in data[:SNIFF_BYTES]


def _is_plausible(text):
  sample = text[:SNIFF_BYTES]
  if not sample:
    return True
  return len(_CONTROL_CHARS.findall(sample)) <= MAX_CONTROL_SHARE * len(sample)


def decode_bytes(data, declared_charset=None):
  """Decodes ``data``; returns ``(text, encoding)`` or raises a ValueError.

  Order: a byte-order mark, then the declared charset (from HTTP headers or the
  document itself), then UTF-8, then charset_normalizer's best guess.
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
    raise BinaryContentError('binary content: NUL bytes in the first '
                             f'{SNIFF_BYTES} bytes')
  candidates = [_lookup(declared_charset), 'utf-8']
  for encoding in dict.fromkeys(c for c in candidates if c):
    try:
      return _checked(data.decode(encoding), encoding)
    except (UnicodeDecodeError, BinaryContentError):
      continue
  encoding = _guess_encoding(data)
  try:
    return _checked(data.decode(encoding), encoding)
  except UnicodeDecodeError as error:
    raise UndecodableError(f'undecodable bytes: {error}') from error


def _guess_encoding(data):
  """charset_normalizer's best guess, preferring windows-1252 on a tie."""
  matches = charset_normalizer.from_bytes(data[:DETECTOR_BYTES])
  best = matches.best()
  if best is None or best.chaos > MAX_DETECTOR_CHAOS:
    raise UndecodableError('undecodable bytes: not UTF-8 and no charset fits')
  for match in matches:
    if (match.encoding == PREFERRED_LEGACY_ENCODING and
        match.chaos <= best.chaos + CHAOS_TIE):
      return match.encoding
  return best.encoding


def _checked(text, encoding):
  if not _is_plausible(text):
    raise BinaryContentError(
        f'binary content: too many control characters when read as {encoding}')
  return text, encoding
