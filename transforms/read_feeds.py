"""Feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0) to raw input records.

feedparser does the parsing, from bytes and never from a path or URL, so it
opens nothing by itself. HTTP response headers, when there are any, are passed
along so that a charset given only in ``Content-Type`` is honoured.
"""

import calendar
import datetime
import io
import re
from typing import NamedTuple

import feedparser

from schemas import article as A
from schemas import raw as R
from transforms.extract import html_fragment_to_text

__all__ = ['ParsedFeed', 'parse_feed', 'entries_to_raw_records', 'defuse_doctype']

DOCTYPE_SCAN_BYTES = 64 << 10  # a DOCTYPE further in than this is not looked for
MAX_ENTITY_VALUE = 100  # longest entity value kept, in bytes
MAX_ENTITIES = 64  # most entity declarations kept

# An internal DTD subset. Entity declarations are what makes "billion laughs"
# (nested expansion) and XXE (SYSTEM/PUBLIC entities) possible; expat stops the
# former only after expanding megabytes through feedparser's Python callbacks.
_INTERNAL_SUBSET = re.compile(rb'<!DOCTYPE\s+([\w:.-]+)([^\[>]*)\[(.*?)\]\s*>',
                              re.DOTALL | re.IGNORECASE)
# A general entity whose short literal value holds text and character
# references only (no entity references, so no nesting).
_ENTITY_CHAR = rb'(?:[^"\'&%<]|&#[0-9]{1,7};|&#x[0-9a-fA-F]{1,6};)'
_SAFE_ENTITY = re.compile(
    rb'<!ENTITY\s+[\w:.-]+\s+(?:"' + _ENTITY_CHAR + rb'{0,%d}"|\'' % MAX_ENTITY_VALUE
    + _ENTITY_CHAR + rb"{0,%d}')\s*>" % MAX_ENTITY_VALUE)


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


def defuse_doctype(data):
  """Feed bytes whose DOCTYPE keeps only short, non-nesting, internal entities.

  External (SYSTEM/PUBLIC) and parameter entities, and entities whose value
  references another entity, are removed, so nothing can expand
  exponentially or read a file. References to removed entities are then
  undefined, and feedparser's loose parser keeps them as text.
  """
  head = data[:DOCTYPE_SCAN_BYTES]
  match = _INTERNAL_SUBSET.search(head)
  if not match:
    return data
  kept = [m.group(0) for m in _SAFE_ENTITY.finditer(match.group(3))][:MAX_ENTITIES]
  doctype = b'<!DOCTYPE ' + match.group(1) + b' [' + b''.join(kept) + b']>'
  return data[:match.start()] + doctype + data[match.end():]


def parse_feed(data, headers=None):
  """Parses feed bytes (with optional HTTP response headers), DOCTYPE defused."""
  parsed = feedparser.parse(io.BytesIO(defuse_doctype(data)),
                            response_headers=headers or {},
                            resolve_relative_uris=True, sanitize_html=True)
  warning = None
  if parsed.get('bozo'):
    error = parsed.get('bozo_exception')
    warning = f'{type(error).__name__}: {error}' if error else 'malformed feed'
  title = (parsed.get('feed') or {}).get('title') or None
  return ParsedFeed(list(parsed.get('entries') or []), title, warning,
                    parsed.get('encoding'))


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
  best = ''
  for content in entry.get('content') or []:
    value = content.get('value') or ''
    if len(value) > len(best):
      best = value
  if not best:
    best = entry.get('summary') or entry.get('description') or ''
  return html_fragment_to_text(best)


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
    records.append({
        A.EXTERNAL_ID: entry.get('id') or None,
        A.URL: entry.get('link') or None,
        A.TITLE: html_fragment_to_text(entry.get('title') or '') or None,
        A.TEXT: entry_text(entry),
        A.AUTHORS: entry_authors(entry),
        A.CATEGORIES: entry_categories(entry),
        R.PUBLISHED: published,
        R.FEED_TITLE: parsed.feed_title,
        A.SOURCE: parsed.feed_title,
        A.TEXT_ORIGIN: A.TEXT_FROM_FEED,
        A.SOURCE_URI: source_uri,
    })
  return records
