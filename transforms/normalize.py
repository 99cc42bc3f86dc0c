"""Raw input records to article records: clean text, dates, URL, ids, hashes."""

import datetime
import email.utils
import hashlib
import html
import re
import unicodedata
import urllib.parse

import apache_beam as beam
from dateutil import parser as dateutil_parser

import schemas
from schemas import article as A
from schemas import raw as R
from transforms import stage
from transforms.decode import replace_lone_surrogates

__all__ = ['NormalizeArticles', 'normalize_text', 'normalize_inline',
           'canonicalize_url', 'parse_published', 'source_of',
           'make_article_id', 'make_content_hash']

STAGE = 'normalize'
DROP_EMPTY_TEXT = 'empty_text'
WARN_DATE_UNPARSEABLE = 'date_unparseable'
WARN_DATE_OUT_OF_RANGE = 'date_out_of_range'

HASH_HEX_CHARS = 32  # 128-bit ids and hashes, as hex
MAX_PLACEHOLDER_CHARS = 400  # a longer text is never only a placeholder
MAX_FUTURE = datetime.timedelta(days=1)  # later publication dates are not trusted
MIN_YEAR = 1900  # earlier publication dates are not trusted
MAX_DATE_CHARS = 100  # longer date strings are not dates
EPOCH_MILLIS_ABOVE = 10**11  # larger numeric timestamps are in milliseconds

TRACKING_PARAMS = frozenset(('fbclid', 'gclid', 'dclid', 'msclkid', 'mc_cid',
                             'mc_eid', 'igshid'))
TRACKING_PARAM_PREFIXES = ('utm_',)
DEFAULT_PORTS = {'http': 80, 'https': 443}

_WHITESPACE = re.compile(r'[^\S\n]+')
_INVISIBLE = re.compile('[\u200b\u200c\u200d\u2060\ufeff\u00ad]')
_CONTROL = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]')
# dateutil reads almost anything as a date ("5" is the 5th of this month): it
# is only trusted with strings that name a four-digit year.
_HAS_YEAR = re.compile(r'(?<!\d)(?:1[89]|2\d)\d\d(?!\d)')
# What aggregators put in an entry that is only a link: "Comments", "[link]
# [comments]", "Article URL: ... Comments URL: ... Points: 12 # Comments: 3".
_PLACEHOLDER_LINE = re.compile(
    r'\A\W*(?:\d+\s+)?(?:comments?|discuss(?:ion)?|link|permalink|read more|continue reading'
    r'|\[link\]\s*\[comments?\]|submitted by \S+(?:\s+\[link\]\s*\[comments?\])?'
    r'|(?:article url|comments url|url|points|# comments|comments)\s*:\s*\S*'
    r'(?:\s+(?:article url|comments url|points|# comments)\s*:\s*\S*)*)\W*\Z',
    re.IGNORECASE)
_NEWLINES = re.compile(r'\r\n?|[\u2028\u2029\x0b\x0c\x85]')


def normalize_text(text):
  """NFC text, entities decoded, one paragraph per line, paragraphs joined by blank lines."""
  if not text:
    return ''
  text = unicodedata.normalize('NFC', html.unescape(replace_lone_surrogates(text)))
  text = _NEWLINES.sub('\n', text)
  text = _CONTROL.sub(' ', _INVISIBLE.sub('', text))
  paragraphs = (_WHITESPACE.sub(' ', line).strip() for line in text.split('\n'))
  return '\n\n'.join(p for p in paragraphs if p)


def normalize_inline(text):
  """A one-line field (title, author): normalised text on a single line."""
  if not text:
    return None
  return normalize_text(text).replace('\n\n', ' ') or None


def canonicalize_url(url):
  """http(s) URL with lower-case host, no fragment, no tracking parameters; else None."""
  if not url or not isinstance(url, str):
    return None
  try:
    parts = urllib.parse.urlsplit(replace_lone_surrogates(url).strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or '').rstrip('.')
    port = parts.port
  except ValueError:
    return None
  if scheme not in DEFAULT_PORTS or not host:
    return None
  try:
    host = host.encode('idna').decode('ascii')
  except UnicodeError:
    pass
  netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f'{host}:{port}'
  query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query,
                                                     keep_blank_values=True)
           if k.lower() not in TRACKING_PARAMS and
           not k.lower().startswith(TRACKING_PARAM_PREFIXES)]
  return urllib.parse.urlunsplit((scheme, netloc, parts.path or '/',
                                  urllib.parse.urlencode(query), ''))


def _as_utc(value):
  if value.tzinfo is None:
    return value.replace(tzinfo=datetime.timezone.utc)
  return value.astimezone(datetime.timezone.utc)


def _parse_date_string(value):
  value = value.strip()
  if not value or len(value) > MAX_DATE_CHARS:
    return None
  try:
    return datetime.datetime.fromisoformat(value)
  except ValueError:
    pass
  try:
    return email.utils.parsedate_to_datetime(value)
  except (TypeError, ValueError, IndexError):
    pass
  if not _HAS_YEAR.search(value):
    return None
  try:
    return dateutil_parser.parse(value)
  except (ValueError, OverflowError, TypeError):
    return None


def parse_published(value, now):
  """Publication time as an aware UTC datetime; returns ``(datetime, warning)``.

  ``warning`` names why a given value was not used: unparseable, or out of
  range (before MIN_YEAR or more than MAX_FUTURE after ``now``).
  """
  if value is None or value == '':
    return None, None
  parsed = None
  try:
    if isinstance(value, datetime.datetime):
      parsed = value
    elif isinstance(value, datetime.date):
      parsed = datetime.datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
      seconds = value / 1000 if abs(value) > EPOCH_MILLIS_ABOVE else value
      parsed = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    elif isinstance(value, str):
      parsed = _parse_date_string(value)
  except (OverflowError, ValueError, OSError):
    parsed = None
  if parsed is None:
    return None, WARN_DATE_UNPARSEABLE
  try:
    parsed = _as_utc(parsed)
  except (OverflowError, ValueError):
    return None, WARN_DATE_OUT_OF_RANGE
  if parsed.year < MIN_YEAR or parsed > now + MAX_FUTURE:
    return None, WARN_DATE_OUT_OF_RANGE
  return parsed, None


def host_of(url):
  """The host of a canonical URL without a leading ``www.``."""
  host = urllib.parse.urlsplit(url).hostname or ''
  return host[4:] if host.startswith('www.') else host


def source_of(raw, url):
  """The source: as given, else the URL's host, else the feed title, else the folder."""
  for candidate in (raw.get(A.SOURCE), host_of(url) if url else None,
                    raw.get(R.FEED_TITLE), raw.get(R.FOLDER_NAME)):
    candidate = normalize_inline(candidate)
    if candidate:
      return candidate
  return None


def _hash(*parts):
  digest = hashlib.sha256('\x1f'.join(p or '' for p in parts).encode('utf-8'))
  return digest.hexdigest()[:HASH_HEX_CHARS]


def make_article_id(url, source, title, text):
  """Stable id: a hash of the canonical URL, else of source, title and text."""
  if url:
    return _hash('url', url)
  return _hash('content', source, title, text)


def make_content_hash(text):
  """Hash of the normalised text, shared by syndicated copies of one story."""
  return _hash(text)


def is_placeholder_text(text):
  """Whether a text says nothing but "Comments" or a link: an aggregator's entry."""
  if not text:
    return True
  if len(text) > MAX_PLACEHOLDER_CHARS:
    return False
  return all(_PLACEHOLDER_LINE.match(line) for line in text.split('\n\n'))


def normalize_record(raw, run_id, ingested_at):
  """An article record from a raw record; returns ``(article, warning)``.

  ``article`` is None when no text is left. LANGUAGE fields stay unset for the
  language step.
  """
  text = normalize_text(raw.get(A.TEXT))
  url = canonicalize_url(raw.get(A.URL))
  title = normalize_inline(raw.get(A.TITLE))
  origin = raw.get(A.TEXT_ORIGIN) or A.TEXT_FROM_FILE
  if is_placeholder_text(text) and url and title:
    text, origin = '', A.TEXT_FROM_LINK  # an aggregator's entry: a title and a link
  elif not text:
    return None, None
  source = source_of(raw, url)
  published, warning = parse_published(
      raw.get(R.PUBLISHED) or raw.get(R.HEADER_DATE), ingested_at)
  authors = [a for a in (normalize_inline(a) for a in raw.get(A.AUTHORS) or [])
             if a]
  article = {
      A.ARTICLE_ID: make_article_id(url, source, title, text),
      A.EXTERNAL_ID: normalize_inline(raw.get(A.EXTERNAL_ID)),
      A.URL: url,
      A.SOURCE_URI: replace_lone_surrogates(raw[A.SOURCE_URI]),
      A.SOURCE: source,
      A.TITLE: title,
      A.TEXT: text,
      A.AUTHORS: list(dict.fromkeys(authors)),
      A.CATEGORIES: [c for c in (normalize_inline(c) for c in raw.get(A.CATEGORIES) or [])
                     if c],
      A.PUBLISHED_AT: published,
      A.INGESTED_AT: ingested_at,
      A.DATE_SOURCE: A.DATE_FROM_PUBLISHED if published else A.DATE_FROM_INGESTED,
      A.LANGUAGE: None,
      A.LANGUAGE_CONFIDENCE: None,
      A.WORD_COUNT: len(text.split()),
      A.CONTENT_HASH: make_content_hash(text),
      A.TEXT_ORIGIN: origin,
      A.FULL_TEXT_ERROR: replace_lone_surrogates(raw.get(A.FULL_TEXT_ERROR)),
      A.BOILERPLATE: [],
      A.FLAGS: [],
      A.ENTITIES: [],
      A.NER_MODEL: None,
      A.MINHASH: None,
      A.NEAR_DUPLICATE_OF: None,
      A.INPUT_FORMAT: raw[A.INPUT_FORMAT],
      A.RUN_ID: run_id,
      A.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION,
  }
  return article, warning


class _NormalizeFn(beam.DoFn):

  def __init__(self, run_id, ingested_at):
    self._run_id = run_id
    self._ingested_at = ingested_at

  def process(self, raw):
    article, warning = normalize_record(raw, self._run_id, self._ingested_at)
    if warning:
      yield stage.warn(warning)
    if article is None:
      yield stage.drop(DROP_EMPTY_TEXT, STAGE, replace_lone_surrogates(raw[A.SOURCE_URI]),
                       title=normalize_inline(raw.get(A.TITLE)))
      return
    yield article


class NormalizeArticles(beam.PTransform):
  """Raw records to article records; records with no text are dropped."""

  def __init__(self, run_id, ingested_at, label=None):
    super().__init__(label)
    self._run_id = run_id
    self._ingested_at = ingested_at

  def expand(self, pcoll):
    return pcoll | 'Normalize' >> stage.ApplyStage(
        _NormalizeFn(self._run_id, self._ingested_at), STAGE)
