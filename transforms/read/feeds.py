"""Feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0) to raw input records.

feedparser does the parsing, from bytes and never from a path or URL, so it
opens nothing by itself. HTTP response headers, when there are any, are passed
along so that a charset given only in ``Content-Type`` is honoured.

Hostile XML: feedparser's strict parser is defusedxml's expat reader, set up
once per process when this module is imported, and refuses every entity
declaration and external reference; feedparser then parses the document
again with its loose parser, which is given no declared entity to expand
(only the predefined and HTML ones). So neither nested ("billion laughs") nor
repeated references to a long entity can grow a feed, and XXE reads nothing,
whatever the document's encoding. Entry text and titles are also cut at a
cap.
"""

import calendar
import datetime
import html.entities
import io
import re
import xml.sax
from typing import NamedTuple

from defusedxml import expatreader
import feedparser
import feedparser.api

from schemas import article as A
from schemas import raw as R
from transforms.core.decode import decode_bytes
from transforms.extract.html import html_fragment_to_text
from transforms.extract.metadata import feed_entry_metadata

__all__ = ['ParsedFeed', 'parse_feed', 'entries_to_raw_records', 'create_parser']

MAX_ENTRY_TEXT_CHARS = 1 << 20  # longest entry text kept, in characters (about 150,000 words)
MAX_ENTRY_HTML_CHARS = 4 * MAX_ENTRY_TEXT_CHARS  # longest entry HTML made into text, in characters
MAX_TITLE_CHARS = 2000  # longest entry or feed title kept, in characters
# Declared entities whose references are removed (one pass over the document
# each); references to more stay as literal text, never expanded.
MAX_DROPPED_ENTITIES = 64
# The module xml.sax.make_parser imports for feedparser's strict parser: this
# one, whose create_parser() returns the defused reader.
SAX_DRIVER = __name__

# A character reference to a surrogate or past U+10FFFF: feedparser's loose
# parser raises on it ("surrogates not allowed", "chr() arg not in range").
_CHAR_REF = re.compile(r'&#(?:[xX]0*([0-9a-fA-F]+)|0*([0-9]+));')
MAX_CODE_POINT_DIGITS = 8  # longer (after leading zeros) is past U+10FFFF in any base
REPLACEMENT_CHAR_REF = '&#xFFFD;'
_FIRST_ELEMENT = re.compile(rb'<[A-Za-z_]')  # the end of the prolog, where a DTD may be
_ENTITY_DECLARATION = re.compile(rb'<!ENTITY\s+(?:%\s+)?([^\s%;&<>"\']+)')
# Names whose references stay: XML's predefined entities and HTML's, which the
# loose parser turns into one character each whatever the document declares.
_KEPT_ENTITY_NAMES = frozenset(('lt', 'gt', 'amp', 'quot', 'apos')) | frozenset(
    html.entities.name2codepoint)


class _DefusedSaxParser(expatreader.DefusedExpatParser):
  """defusedxml's expat reader, refusing entities with a SAX error.

  defusedxml raises its own ValueErrors, which feedparser would not catch; a
  SAXParseException makes feedparser fall back to its loose parser.
  """

  def _refuse(self, what):
    raise xml.sax.SAXParseException(f'{what} refused', None, self)

  def defused_entity_decl(self, name, *args):  # pylint: disable=arguments-differ
    self._refuse(f'entity declaration {name!r}')

  def defused_unparsed_entity_decl(self, name, *args):  # pylint: disable=arguments-differ
    self._refuse(f'unparsed entity declaration {name!r}')

  def defused_external_entity_ref_handler(self, context, base, sysid, pubid):
    self._refuse(f'external reference {sysid!r}')


def create_parser(*args, **kwargs):
  """The SAX driver's entry point: ``xml.sax.make_parser`` calls it by module name."""
  return _DefusedSaxParser(*args, forbid_dtd=False, forbid_entities=True,
                           forbid_external=True, **kwargs)


_FEEDPARSER_REPLACE_DOCTYPE = feedparser.api.replace_doctype


def _declared_entities(data):
  """Names of the entities a document's prolog declares, except the predefined and HTML ones."""
  first_element = _FIRST_ELEMENT.search(data)
  head = data[:first_element.start()] if first_element else data
  names = {name.decode('utf-8', 'replace') for name in _ENTITY_DECLARATION.findall(head)}
  return names - _KEPT_ENTITY_NAMES


def _drop_declared_references(data):
  """The document without references to the entities it declares (none is expanded)."""
  for name in sorted(_declared_entities(data))[:MAX_DROPPED_ENTITIES]:
    data = data.replace(b'&' + name.encode('utf-8') + b';', b'')
  return data


def _replace_doctype_without_entities(data):
  """feedparser's DOCTYPE rewrite, with no declared entity left to expand.

  feedparser calls it on the document already converted to UTF-8, so no
  encoding hides a declaration from it. References to declared entities are
  removed, and the loose parser is given none of their values: a long entity
  referenced millions of times costs nothing.
  """
  version, data, _ = _FEEDPARSER_REPLACE_DOCTYPE(_drop_declared_references(data))
  return version, data, {}


def _defuse_feedparser():
  """Points feedparser (module globals read at each parse) at the defused parsers."""
  feedparser.api.PREFERRED_XML_PARSERS = [SAX_DRIVER]
  feedparser.api.replace_doctype = _replace_doctype_without_entities


_defuse_feedparser()


class ParsedFeed(NamedTuple):
  entries: list
  feed_title: str
  warning: str  # why feedparser flagged the document malformed, or None
  encoding: str = None  # the charset feedparser decoded the document with

  def describe_failure(self):
    """Why a feed yielded no entries."""
    if self.warning:
      return f'feed has no entries; parser reported: {self.warning}'
    return 'feed has no entries'


def _repair_char_ref(match):
  """U+FFFD's reference in place of a reference to a surrogate or past U+10FFFF."""
  digits = match.group(1) or match.group(2) or '0'
  if len(digits) > MAX_CODE_POINT_DIGITS:
    return REPLACEMENT_CHAR_REF
  code = int(digits, 16 if match.group(1) else 10)
  if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
    return REPLACEMENT_CHAR_REF
  return match.group(0)


def repaired_as_utf8(data):
  """Feed bytes as UTF-8, decoded by detection, references to impossible characters replaced."""
  text, _ = decode_bytes(data)
  return _CHAR_REF.sub(_repair_char_ref, text).encode('utf-8')


def _parse(data, headers):
  return feedparser.parse(io.BytesIO(data), response_headers=headers,
                          resolve_relative_uris=True, sanitize_html=True)


def parse_feed(data, headers=None):
  """Parses feed bytes (with optional HTTP response headers).

  A feed feedparser cannot decode (a charset such as ``undefined`` whose codec
  raises) or whose character references it cannot represent (a lone
  surrogate) is parsed again from its text found by detection, with those
  references replaced by U+FFFD.
  """
  headers = headers or {}
  try:
    parsed = _parse(data, headers)
  except (LookupError, ValueError, OverflowError):  # UnicodeError is a ValueError
    utf8_headers = {k: v for k, v in headers.items() if k.lower() != 'content-type'}
    utf8_headers['content-type'] = 'application/xml; charset=utf-8'
    parsed = _parse(repaired_as_utf8(data), utf8_headers)
  warning = None
  if parsed.get('bozo'):
    error = parsed.get('bozo_exception')
    warning = f'{type(error).__name__}: {error}' if error else 'malformed feed'
  title = _capped((parsed.get('feed') or {}).get('title'), MAX_TITLE_CHARS) or None
  return ParsedFeed(list(parsed.get('entries') or []), title, warning,
                    parsed.get('encoding'))


def _capped(text, limit):
  """``text`` cut to ``limit`` characters (None stays None)."""
  return text[:limit] if text else text


def struct_time_to_datetime(value):
  """feedparser's UTC struct_time as an aware datetime, or None."""
  if not value:
    return None
  try:
    return datetime.datetime.fromtimestamp(calendar.timegm(value),
                                           tz=datetime.timezone.utc)
  except (OverflowError, ValueError, OSError):
    return None


def entry_text(entry):
  """The fullest text of an entry: ``content`` (content:encoded), else summary."""
  return entry_text_and_cut(entry)[0]


def entry_text_and_cut(entry):
  """``(text, cut)``: the entry's text within the caps, and whether the caps cut it."""
  best = ''
  for content in entry.get('content') or []:
    value = content.get('value') or ''
    if len(value) > len(best):
      best = value
  if not best:
    best = entry.get('summary') or entry.get('description') or ''
  text = html_fragment_to_text(best[:MAX_ENTRY_HTML_CHARS])
  return (_capped(text, MAX_ENTRY_TEXT_CHARS),
          len(best) > MAX_ENTRY_HTML_CHARS or len(text or '') > MAX_ENTRY_TEXT_CHARS)


def entry_authors(entry):
  """Author names of an entry, in order, without repeats."""
  names = [a.get('name') for a in entry.get('authors') or [] if a.get('name')]
  if not names and entry.get('author'):
    names = [entry['author']]
  return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def entry_categories(entry):
  """Tag terms of an entry (RSS category, Atom category), in order, once each."""
  terms = [t.get('term') or t.get('label') for t in entry.get('tags') or []]
  return list(dict.fromkeys(t.strip() for t in terms if t and t.strip()))


def entries_to_raw_records(parsed, source_uri):
  """One raw record per entry of a parsed feed; the feed's title is the source."""
  records = []
  for entry in parsed.entries:
    published = (struct_time_to_datetime(entry.get('published_parsed')) or
                 struct_time_to_datetime(entry.get('updated_parsed')) or
                 entry.get('published') or entry.get('updated'))
    # An entry's updated date is its modified date when it has a published one too.
    modified = ((struct_time_to_datetime(entry.get('updated_parsed')) or entry.get('updated'))
                if entry.get('published_parsed') or entry.get('published') else None)
    text, cut = entry_text_and_cut(entry)
    records.append({
        A.EXTERNAL_ID: entry.get('id') or None,
        A.URL: entry.get('link') or None,
        R.ORIGINAL_LINK: entry.get('feedburner_origlink') or None,
        A.TITLE: _capped(html_fragment_to_text((entry.get('title') or '')[:MAX_ENTRY_HTML_CHARS]),
                         MAX_TITLE_CHARS) or None,
        A.TEXT: text,
        A.FLAGS: [A.FLAG_TEXT_CUT] if cut else [],
        A.AUTHORS: entry_authors(entry),
        A.CATEGORIES: entry_categories(entry),
        **feed_entry_metadata(entry, entry.get('link')),  # image (media:*), keywords
        R.PUBLISHED: published,
        R.MODIFIED: modified,
        R.FEED_TITLE: parsed.feed_title,
        A.SOURCE: parsed.feed_title,
        A.TEXT_ORIGIN: A.TEXT_FROM_FEED,
        A.SOURCE_URI: source_uri,
    })
  return records
