"""Dates with provenance: date strings in any language, and the dates a page states.

``parse_date`` reads one value: datetimes and epoch numbers as they are, then
the exact parsers (ISO 8601, RFC 822), then ``dateparser`` in the article's
language (or with dateparser's own detection), relative dates ("hace 2 horas")
counted back from the fetch time.

``find_page_dates`` runs where the HTML is (the extract stage) and combines
what a page says rather than trusting one source: a date in its URL, its
JSON-LD and meta tags, the date written under its headline, htmldate's
reading of the page (run once, by trafilatura) and, when they are close,
the first full date in its visible text vote for the day of publication
(``choose_published``). A date read from text needs a day: htmldate's 1st
of a month (what it makes of "(c) 2020" or "May 2024") counts only when
another source or a full date in the page says it. The modification date
comes from JSON-LD or meta tags (``choose_modified``).

``resolve_dates`` picks an article's ``published_at`` and ``modified_at``, and
where each came from, from its raw record.
"""

import copy
import datetime
import email.utils
import json
import re
from typing import NamedTuple

import lxml.etree
import lxml.html

from schemas import article as A
from schemas import raw as R

__all__ = ['parse_date', 'find_page_dates', 'page_date_candidates',
           'choose_published', 'choose_modified', 'date_in_url',
           'resolve_dates', 'ResolvedDates', 'byline_date', 'vote_margin',
           'confirmed_htmldate', 'run_htmldate', 'htmldate_candidate', 'HTMLDATE_OPTIONS']

WARN_DATE_UNPARSEABLE = 'date_unparseable'
WARN_DATE_OUT_OF_RANGE = 'date_out_of_range'

MAX_FUTURE = datetime.timedelta(days=1)  # later dates are not trusted
# Dates before this year are kept only when they were stated explicitly (ISO
# 8601, RFC 822, epoch) by a structured source (a feed, a JSON field, a
# text header, a page's JSON-LD or meta tags) ...
MIN_YEAR = 1990
STRUCTURED_MIN_YEAR = 1900  # ... and never before this one
MAX_DATE_CHARS = 100  # longer date strings are not dates
EPOCH_MILLIS_ABOVE = 10**11  # larger numeric timestamps are in milliseconds
MAX_PAGE_CHARS = 20 << 20  # longer pages are cut before parsing (lxml tree size)
MAX_JSON_LD_CHARS = 1 << 20  # longer JSON-LD blocks are skipped
LANGUAGE_GUESS_CHARS = 2000  # characters of title and text a language guess reads
# dateparser: dates in UTC, the past preferred for ambiguous ones, and a day,
# a month and a year required of absolute dates (so "5" or "May 2024" are not
# read as dates; relative dates such as "2 hours ago" need no parts).
DATEPARSER_SETTINGS = {
    'TIMEZONE': 'UTC',
    'RETURN_AS_TIMEZONE_AWARE': True,
    'PREFER_DATES_FROM': 'past',
    'REQUIRE_PARTS': ['day', 'month', 'year'],
}
HTMLDATE_FORMAT = '%Y-%m-%dT%H:%M:%S%z'  # htmldate's output, with a time when it found one
# htmldate's options: the first publication, searching the text too. The
# extract stage hands them to trafilatura, whose metadata step runs htmldate,
# and passes its answer on (``htmldate_found``): one htmldate run per page.
HTMLDATE_OPTIONS = {'original_date': True, 'extensive_search': True,
                    'outputformat': HTMLDATE_FORMAT}

# Meta names and properties (lower-cased) that state when a page was first
# published, and when it was last modified, best first.
PUBLISHED_META = (
    'article:published_time', 'og:article:published_time', 'article:published',
    'og:published_time', 'datepublished', 'publishdate', 'publish-date',
    'publish_date', 'published_time', 'pubdate', 'publication_date',
    'sailthru.date', 'parsely-pub-date', 'cxenseparse:recs:publishtime',
    'article.published', 'dc.date.issued', 'dcterms.issued', 'dc.date.created',
    'dcterms.created', 'citation_publication_date', 'citation_date', 'dc.date',
    'dcterms.date', 'date', 'datecreated',
)
MODIFIED_META = (
    'article:modified_time', 'og:article:modified_time', 'article:modified',
    'og:updated_time', 'datemodified', 'dc.date.modified', 'dcterms.modified',
    'modified_time', 'last-modified', 'lastmod', 'article.updated', 'updated_time',
    'modified', 'revised',
)
# JSON-LD types that describe the article itself, before any other object
# (a WebPage, an organisation's founding date, a product's release).
ARTICLE_TYPES = frozenset((
    'article', 'newsarticle', 'blogposting', 'reportagenewsarticle',
    'analysisnewsarticle', 'opinionnewsarticle', 'reviewnewsarticle',
    'backgroundnewsarticle', 'livebloggingposting', 'liveblogposting',
    'techarticle', 'scholarlyarticle', 'socialmediaposting', 'report',
    'medicalwebpage', 'posting', 'recipe', 'howto', 'review', 'videoobject',
    'podcastepisode', 'creativework',
))
PAGE_TYPES = frozenset(('webpage', 'itempage', 'collectionpage', 'aboutpage',
                        'faqpage', 'qapage', 'profilepage'))

# How much each of a page's sources counts when they disagree on the day of
# publication (measured on half of the article-extraction-2025 development set,
# see benchmarks/quality_dates.py); ties go to the source listed first. A date
# in the link is set once, when the article is published; a meta tag and the
# date shown under the headline are what the page says of itself; JSON-LD's
# datePublished is often the first version of a page that now shows a later
# one, and htmldate repeats one of the others more often than not.
SOURCE_WEIGHTS = {'url': 3, 'json_ld': 1, 'meta': 3, 'htmldate': 1, 'byline': 2,
                  'visible': 1}
BYLINE_CHARS = 1500  # visible text read after the headline for the date shown with it
BEFORE_HEADLINE_CHARS = 400  # ... and before it, when nothing follows
# Visible text searched for full dates (characters): the first one votes
# when the other sources are close, and one confirms htmldate's 1st of a
# month (a year or a month alone, "(c) 2020", "May 2024", is read as the 1st
# by htmldate, and is never a publication date by itself).
VISIBLE_DATE_CHARS = 200_000

# Month names of the languages whose dates bylines are read in (en, de, fr,
# es, pt, it, nl), lower-case, with common abbreviations.
MONTH_NAMES = {}
for _number, _names in enumerate((
    'january jan januar jänner janvier enero janeiro gennaio januari',
    'february feb februar février fevrier febrero fevereiro febbraio februari',
    'march mar märz maerz mars marzo março marco maart',
    'april apr avril abril aprile',
    'may mai mayo maio maggio mei',
    'june jun juni juin junio junho giugno',
    'july jul juli juillet julio julho luglio',
    'august aug août aout agosto augustus',
    'september sep sept septembre septiembre setiembre setembro settembre',
    'october oct oktober okt octobre octubre outubro ottobre',
    'november nov novembre noviembre novembro',
    'december dec dezember dez décembre decembre diciembre dezembro dicembre',
), start=1):
  MONTH_NAMES.update(dict.fromkeys(_names.split(), _number))
del _number, _names

# Keys of the PAGE_DATES dict.
PAGE_PUBLISHED = 'published'
PAGE_PUBLISHED_SOURCE = 'published_source'
PAGE_MODIFIED = 'modified'
PAGE_MODIFIED_SOURCE = 'modified_source'
PAGE_TRAFILATURA_DATE = 'trafilatura_date'  # what the extract stage put in PUBLISHED

# Where an input's own date comes from, by input format.
GIVEN_DATE_SOURCES = {'feed': A.DATE_FROM_FEED, 'jsonl': A.DATE_FROM_JSON,
                      'sitemap': A.DATE_FROM_SITEMAP}
# Sources whose unusable values are counted as warnings (a page's are only candidates).
GIVEN_SOURCES = frozenset((A.DATE_FROM_FEED, A.DATE_FROM_JSON, A.DATE_FROM_TEXT_HEADER,
                           A.DATE_FROM_SITEMAP))
STRUCTURED_SOURCES = frozenset((A.DATE_FROM_FEED, A.DATE_FROM_JSON, A.DATE_FROM_JSON_LD,
                                A.DATE_FROM_HTML_META, A.DATE_FROM_TEXT_HEADER,
                                A.DATE_FROM_SITEMAP))

_URL_PATH_DATE = re.compile(
    r'/((?:19|20)\d\d)/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])(?=/|$|[_.-])'
    r'|(?<![\d])((?:19|20)\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?![\d])')
_MONTH = '(?P<name>' + '|'.join(sorted(MONTH_NAMES, key=len, reverse=True)) + r')\.?'
_YEAR = r'(?P<year>(?:19|20)\d\d)'
_DAY = r'(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|º|\.)?'
# Dates as bylines write them: "May 3, 2024", "3 May 2024", "3. Mai 2024",
# "3 de mayo de 2024", "2024-05-03", "03.05.2024", "13/5/2024" or "5/13/2024".
_TEXT_DATES = tuple(re.compile(p, re.IGNORECASE) for p in (
    rf'\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b',
    rf'\b{_DAY}\s+(?:de\s+|of\s+)?{_MONTH},?\s+(?:de\s+)?{_YEAR}\b',
    rf'\b{_YEAR}-(?P<month>[01]\d)-(?P<day>[0-3]\d)\b',
    rf'\b(?P<day>[0-3]?\d)\.(?P<month>[01]?\d)\.{_YEAR}\b',
    rf'\b(?P<first>[0-3]?\d)/(?P<second>[0-3]?\d)/{_YEAR}\b',
))
_MARKER = '\u2063'  # an invisible separator marking the headline in the page's text
_SPACES = re.compile(r'\s+')
_HAS_TIME = re.compile(r'\d[T ]\d{1,2}:\d\d')
_MIDNIGHT_NO_ZONE = re.compile(r'T00:00:00$')


class Candidate(NamedTuple):
  """A date a page states: its value (aware or naive), whether it has a time, its source."""
  value: datetime.datetime
  has_time: bool
  source: str


class ResolvedDates(NamedTuple):
  published: datetime.datetime  # aware UTC, or None
  published_source: str  # a DATE_FROM_* value; DATE_FROM_INGESTED when None
  modified: datetime.datetime  # aware UTC, or None
  modified_source: str  # a DATE_FROM_* value, or None
  warnings: tuple  # WARN_* of given values that were not used


def as_utc(value):
  """An aware UTC datetime; a naive one is taken to be UTC."""
  if value.tzinfo is None:
    return value.replace(tzinfo=datetime.timezone.utc)
  return value.astimezone(datetime.timezone.utc)


def parse_exact(value):
  """ISO 8601 or RFC 822 (as written: aware or naive), else None."""
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
    return None


def _dateparser_parse(value, languages, relative_base):
  import dateparser  # pylint: disable=import-outside-toplevel
  settings = dict(DATEPARSER_SETTINGS)
  if relative_base is not None:
    settings['RELATIVE_BASE'] = as_utc(relative_base).replace(tzinfo=None)
  try:
    return dateparser.parse(value, languages=languages, settings=settings)
  except (ValueError, OverflowError, TypeError, KeyError):
    return None


def parse_free(value, language=None, relative_base=None):
  """A date string in any language with dateparser; ``language`` is a hint (ISO 639-1)."""
  value = value.strip()
  if not value or len(value) > MAX_DATE_CHARS:
    return None
  if language:
    parsed = _dateparser_parse(value, [language], relative_base)
    if parsed is not None:
      return parsed
  return _dateparser_parse(value, None, relative_base)


def _read_value(value, language, relative_base):
  """``(datetime as written, explicit)``; ``explicit`` when an exact format said it."""
  if isinstance(value, datetime.datetime):
    return value, True
  if isinstance(value, datetime.date):
    return datetime.datetime(value.year, value.month, value.day), True
  if isinstance(value, (int, float)) and not isinstance(value, bool):
    seconds = value / 1000 if abs(value) > EPOCH_MILLIS_ABOVE else value
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc), True
  if isinstance(value, str):
    exact = parse_exact(value)
    if exact is not None:
      return exact, True
    return parse_free(value, language() if callable(language) else language,
                      relative_base), False
  return None, False


def parse_date(value, now, structured=True, language=None, relative_base=None):
  """A date value as an aware UTC datetime; returns ``(datetime, warning)``.

  ``language`` (a code, or a function returning one, called only when
  dateparser is needed) hints the language of a free-text date;
  ``relative_base`` (default ``now``) anchors relative dates. ``warning``
  names why a given value was not used: unparseable, or out of range (more
  than MAX_FUTURE after ``now``, before MIN_YEAR, or before
  STRUCTURED_MIN_YEAR for an explicit date from a ``structured`` source).
  """
  if value is None or value == '':
    return None, None
  try:
    parsed, explicit = _read_value(value, language,
                                   relative_base if relative_base is not None else now)
  except (OverflowError, ValueError, OSError):
    parsed, explicit = None, False
  if parsed is None:
    return None, WARN_DATE_UNPARSEABLE
  try:
    parsed = as_utc(parsed)
  except (OverflowError, ValueError):
    return None, WARN_DATE_OUT_OF_RANGE
  min_year = STRUCTURED_MIN_YEAR if explicit and structured else MIN_YEAR
  if parsed.year < min_year or parsed > now + MAX_FUTURE:
    return None, WARN_DATE_OUT_OF_RANGE
  return parsed, None


# Dates a page states.

def date_in_url(url):
  """The date in a link's path (``/2024/05/03/``, ``2024-05-03``), or None."""
  if not url:
    return None
  path = url.split('?', 1)[0].split('#', 1)[0]
  for match in _URL_PATH_DATE.finditer(path):
    year, month, day = (int(g) for g in (match.groups()[:3] if match.group(1)
                                         else match.groups()[3:]))
    try:
      return datetime.datetime(year, month, day)
    except ValueError:
      continue
  return None


def _candidate(text, source):
  """A Candidate from a date string a page states (exact formats, else dateparser)."""
  if not isinstance(text, str) or not text.strip():
    return None
  text = text.strip()
  value = parse_exact(text)
  if value is None:
    value = parse_free(text)
    if value is None:
      return None
  has_time = bool(_HAS_TIME.search(text)) and not (
      value.hour == value.minute == value.second == 0 and value.tzinfo is None)
  return Candidate(value, has_time, source)


def _json_ld_objects(data, depth=0):
  """Every JSON object of a JSON-LD block, outer ones first (through @graph and nesting)."""
  if depth > 8:
    return
  if isinstance(data, list):
    for item in data:
      yield from _json_ld_objects(item, depth + 1)
  elif isinstance(data, dict):
    yield data
    for key, value in data.items():
      if isinstance(value, (dict, list)) and key not in ('author', 'publisher', 'creator'):
        yield from _json_ld_objects(value, depth + 1)


def _types(obj):
  kind = obj.get('@type')
  kinds = kind if isinstance(kind, list) else [kind]
  return {k.lower().rsplit('/', 1)[-1] for k in kinds if isinstance(k, str)}


def _json_ld_dates(tree):
  """``(published, modified)`` candidate lists from the page's JSON-LD, article types first."""
  ranked = []
  for script in tree.xpath('//script[@type="application/ld+json"]'):
    text = script.text or ''
    if len(text) > MAX_JSON_LD_CHARS:
      continue
    try:
      data = json.loads(text, strict=False)
    except ValueError:
      continue
    for obj in _json_ld_objects(data):
      kinds = _types(obj)
      rank = 0 if kinds & ARTICLE_TYPES else 1 if kinds & PAGE_TYPES else 2
      ranked.append((rank, obj))
  ranked.sort(key=lambda item: item[0])
  published, modified = [], []
  for _, obj in ranked:
    for key in ('datePublished', 'dateCreated', 'uploadDate'):
      found = _candidate(obj.get(key), A.DATE_FROM_JSON_LD)
      if found:
        published.append(found)
        break
    found = _candidate(obj.get('dateModified'), A.DATE_FROM_JSON_LD)
    if found:
      modified.append(found)
  return published, modified


def _meta_dates(tree):
  """``(published, modified)`` candidate lists from meta tags and microdata, best first."""
  values = {}
  for meta in tree.iter('meta'):
    key = (meta.get('property') or meta.get('name') or meta.get('itemprop') or
           meta.get('http-equiv') or '').strip().lower()
    content = meta.get('content')
    if key and content and key not in values:
      values[key] = content
  for element in tree.xpath('//*[@itemprop="datePublished" or @itemprop="dateModified"]'
                            '[@datetime or @content]'):
    key = element.get('itemprop').lower()
    values.setdefault(key, element.get('datetime') or element.get('content'))
  published = [c for c in (_candidate(values.get(k), A.DATE_FROM_HTML_META)
                           for k in PUBLISHED_META) if c]
  modified = [c for c in (_candidate(values.get(k), A.DATE_FROM_HTML_META)
                          for k in MODIFIED_META) if c]
  return published, modified


def _page_url(tree):
  for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
    found = tree.xpath(xpath)
    if found:
      return found[0].strip()
  return None


def _parse_page(html):
  """The page's lxml tree (a declared encoding is ignored: the text is decoded), or None."""
  try:
    return lxml.html.document_fromstring(
        html[:MAX_PAGE_CHARS].encode('utf-8', errors='replace'),
        parser=lxml.html.HTMLParser(encoding='utf-8'))
  except (lxml.etree.ParserError, ValueError):
    return None


def run_htmldate(tree, url):
  """htmldate's answer for a page with HTMLDATE_OPTIONS (a string), or None."""
  from htmldate import find_date  # pylint: disable=import-outside-toplevel
  try:
    return find_date(tree, url=url, **HTMLDATE_OPTIONS)
  except (ValueError, TypeError, OverflowError, AttributeError, IndexError, KeyError,
          lxml.etree.LxmlError):
    return None  # htmldate could not read this page: the other sources still can


def htmldate_candidate(found):
  """A Candidate labelled ``htmldate`` from htmldate's answer in HTMLDATE_FORMAT, or None."""
  if not isinstance(found, str) or len(found) < len('2000-01-01T00:00:00'):
    return None
  has_time = not _MIDNIGHT_NO_ZONE.search(found)
  try:
    value = datetime.datetime.strptime(
        found, HTMLDATE_FORMAT if found[-5] in '+-' else HTMLDATE_FORMAT[:-2])
  except ValueError:
    return None
  return Candidate(value, has_time, A.DATE_FROM_HTMLDATE)


def _visible_tree(tree):
  """A copy of the page without its head, scripts and meta tags: only what readers see."""
  visible = copy.deepcopy(tree)
  for element in visible.xpath('//head|//script|//style|//noscript|//template|//meta|//link'):
    element.drop_tree()
  return visible


def _text_date(match):
  """The date of a _TEXT_DATES match, or None when it is no calendar date or is ambiguous."""
  found = match.groupdict()
  try:
    if found.get('name'):
      month = MONTH_NAMES[found['name'].lower().rstrip('.')]
    elif found.get('first'):  # 3/5/2024: read only when one part cannot be a month
      first, second = int(found['first']), int(found['second'])
      if (first <= 12) == (second <= 12):
        return None
      month, found['day'] = (second, first) if first > 12 else (first, second)
    else:
      month = int(found['month'])
    return datetime.datetime(int(found['year']), month, int(found['day']))
  except (KeyError, ValueError):
    return None


def _text_dates(text):
  """``(position, datetime)`` of every full calendar date (with a day) written in a text."""
  found = []
  for pattern in _TEXT_DATES:
    for match in pattern.finditer(text):
      value = _text_date(match)
      if value is not None:
        found.append((match.start(), value))
  return found


def _first_text_date(text, last=False):
  """The first (or last) calendar date written in a text, by position."""
  if last:
    found = _text_dates(text)
  else:  # each pattern's first date: the search stops there
    found = [next(((m.start(), v) for m in pattern.finditer(text)
                   for v in (_text_date(m),) if v is not None), None)
             for pattern in _TEXT_DATES]
    found = [item for item in found if item is not None]
  if not found:
    return None
  return (max if last else min)(found, key=lambda item: item[0])[1]


def _visible_text(visible):
  return _SPACES.sub(' ', ' '.join(visible.itertext()))  # a space between elements


def _marked_text(visible):
  """The visible text, the headline (the first ``h1``) marked; changes ``visible``."""
  headlines = visible.xpath('//h1')
  if headlines:
    headlines[0].text = _MARKER + (headlines[0].text or '')
  return _visible_text(visible)


def _byline_in(text):
  at = text.find(_MARKER)
  if at < 0:
    return None
  value = (_first_text_date(text[at:at + BYLINE_CHARS]) or
           _first_text_date(text[max(0, at - BEFORE_HEADLINE_CHARS):at], last=True))
  return Candidate(value, False, A.DATE_FROM_BYLINE) if value else None


def byline_date(visible):
  """The date written under the headline (the first ``h1``), else just above it; or None.

  Reads BYLINE_CHARS of visible text from the headline, else the
  BEFORE_HEADLINE_CHARS before it. Changes ``visible`` (a marker in the h1).
  """
  return _byline_in(_marked_text(visible))


def confirmed_htmldate(found, stated, text):
  """htmldate's date, unless it may be a year or a month alone that nothing else states.

  htmldate reads a copyright line ("(c) 2020"), a year or a month and year
  as the 1st of a month (with no time). Such a date counts only when another
  of the page's sources (``stated``: Candidates) or a full date written in
  the page's visible ``text`` says the same day.
  """
  if found is None or found.has_time or found.value.day != 1:
    return found
  day = _day(found)
  if any(c is not None and _day(c) == day for c in stated):
    return found
  return found if any(value.date() == day for _, value in _text_dates(text)) else None


_NOT_GIVEN = object()


def page_date_candidates(html, url=None, htmldate_found=_NOT_GIVEN):
  """Every date a page states, by kind: a dict of Candidates (lists for published and modified).

  ``htmldate_found`` is htmldate's answer when the caller already has it
  (trafilatura ran htmldate with HTMLDATE_OPTIONS: ``None`` when it found
  nothing); htmldate runs here only when it is not given, so once a page.
  """
  tree = _parse_page(html)
  if tree is None:
    return None
  url = url or _page_url(tree)
  json_ld_published, json_ld_modified = _json_ld_dates(tree)
  meta_published, meta_modified = _meta_dates(tree)
  in_url = date_in_url(url)
  text = _marked_text(_visible_tree(tree))
  if htmldate_found is _NOT_GIVEN:
    htmldate_found = run_htmldate(tree, url)
  candidates = {
      'url': Candidate(in_url, False, A.DATE_FROM_URL) if in_url else None,
      'json_ld': json_ld_published[0] if json_ld_published else None,
      'meta': meta_published[0] if meta_published else None,
      'byline': _byline_in(text),
      'visible': None,
      'published': json_ld_published + meta_published,
      'modified': json_ld_modified + meta_modified,
  }
  text = text.replace(_MARKER, '')[:VISIBLE_DATE_CHARS]
  stated = [candidates[k] for k in ('url', 'json_ld', 'meta', 'byline')]
  candidates['htmldate'] = confirmed_htmldate(htmldate_candidate(htmldate_found),
                                              stated + candidates['published'], text)
  if vote_margin(candidates) <= SOURCE_WEIGHTS['visible']:
    first = _first_text_date(text)
    candidates['visible'] = Candidate(first, False, A.DATE_FROM_PAGE_TEXT) if first else None
  return candidates


def _day(candidate):
  return candidate.value.date()


def _votes(candidates):
  """Day -> summed SOURCE_WEIGHTS of the sources stating it, and each day's first statement."""
  votes, first = {}, {}
  for rank, (kind, weight) in enumerate(SOURCE_WEIGHTS.items()):
    found = candidates.get(kind)
    if found is not None:
      votes[_day(found)] = votes.get(_day(found), 0) + weight
      first.setdefault(_day(found), (rank, found))
  return votes, first


def vote_margin(candidates):
  """How many votes the leading day has over the next (0 when nothing is stated)."""
  ranked = sorted(_votes(candidates)[0].values(), reverse=True) + [0, 0]
  return ranked[0] - ranked[1]


def choose_published(candidates):
  """The page's publication date: a Candidate, or None.

  Each source votes for the day it states with its SOURCE_WEIGHTS; the day
  with most votes wins, a tie going to the source first in SOURCE_WEIGHTS.
  The value is that day's best-timed statement: a JSON-LD or meta date with
  a time (labelled with the tag that states the day), else htmldate's, else
  the day alone, labelled with the heaviest source that states it.
  """
  votes, first = _votes(candidates)
  if not votes:
    return None
  day = max(votes, key=lambda d: (votes[d], -first[d][0]))
  timed = [c for c in candidates['published'] + candidates['modified'] +
           [candidates['htmldate']]
           if c is not None and c.has_time and _day(c) == day]
  stated = [c for c in candidates['published'] if _day(c) == day]
  if timed:
    return timed[0]._replace(source=stated[0].source if stated else timed[0].source)
  return _strongest(candidates, day)


def _strongest(candidates, day):
  """The statement of ``day`` by its heaviest source (the first listed of equals): the label."""
  stating = [(weight, -rank, candidates[kind])
             for rank, (kind, weight) in enumerate(SOURCE_WEIGHTS.items())
             if candidates.get(kind) is not None and _day(candidates[kind]) == day]
  return max(stating, key=lambda item: item[:2])[2]


def choose_modified(candidates, published=None):
  """The page's last-modified date (JSON-LD, meta tags), not before ``published``."""
  for found in candidates['modified']:
    if published is not None and as_utc(found.value) < as_utc(published.value):
      continue
    return found
  return None


def _isoformat(candidate):
  if candidate is None:
    return None
  if candidate.has_time:
    return candidate.value.isoformat()
  return candidate.value.date().isoformat()


def find_page_dates(html, url=None, trafilatura_date=None, htmldate_found=_NOT_GIVEN):
  """The page's dates for PAGE_DATES: ISO strings as the page states them, and their sources.

  ``trafilatura_date`` is the date the extract stage stored in PUBLISHED, so
  normalisation can tell it from a date the input gave; ``htmldate_found``
  is htmldate's answer when the caller has it (``page_date_candidates``).
  """
  candidates = page_date_candidates(html, url, htmldate_found) if html else None
  published = choose_published(candidates) if candidates else None
  modified = choose_modified(candidates, published) if candidates else None
  return {
      PAGE_PUBLISHED: _isoformat(published),
      PAGE_PUBLISHED_SOURCE: published.source if published else None,
      PAGE_MODIFIED: _isoformat(modified),
      PAGE_MODIFIED_SOURCE: modified.source if modified else None,
      PAGE_TRAFILATURA_DATE: trafilatura_date,
  }


# An article's dates.

def _given_source(raw):
  return GIVEN_DATE_SOURCES.get(raw.get(A.INPUT_FORMAT), A.DATE_FROM_JSON)


class _DateReader:
  """Reads one article's date values; guesses its language once, only if dateparser needs it."""

  def __init__(self, raw, now, guess_language):
    self._now = now
    self._base = raw.get(R.FETCHED_AT) or now
    self._text = f'{raw.get(A.TITLE) or ""}\n{raw.get(A.TEXT) or ""}'[:LANGUAGE_GUESS_CHARS]
    self._guess_language = guess_language
    self._language = None
    self.warnings = []

  def language(self):
    if self._language is None:
      self._language = (self._guess_language and self._guess_language(self._text)) or ''
    return self._language or None

  def first(self, *options):
    """``(datetime, source)`` of the first usable ``(value, source)``; warns of given ones."""
    for value, source in options:
      parsed, warning = parse_date(value, self._now, source in STRUCTURED_SOURCES,
                                   self.language, self._base)
      if warning and source in GIVEN_SOURCES:
        self.warnings.append(warning)
      if parsed is not None:
        return parsed, source
    return None, None


def resolve_dates(raw, now, guess_language=None):
  """An article's published and modified dates with their sources, from its raw record.

  Published: the first usable of the input's own date (a feed's, a JSON
  object's), the text file's header date and the page's date
  (``find_page_dates``). Modified: the input's own MODIFIED, else the page's;
  dropped when before published. ``guess_language`` (text -> ISO 639-1 or
  None) is called only when a date string needs dateparser; relative dates
  count back from FETCHED_AT, else from ``now``.
  """
  page = raw.get(R.PAGE_DATES) or {}
  given = raw.get(R.PUBLISHED)
  if page and given is not None and given == page.get(PAGE_TRAFILATURA_DATE):
    given = None  # the extract stage's date: the page's own dates speak for it
  reader = _DateReader(raw, now, guess_language)
  published, published_source = reader.first(
      (given, _given_source(raw)),
      (raw.get(R.HEADER_DATE), A.DATE_FROM_TEXT_HEADER),
      (page.get(PAGE_PUBLISHED), page.get(PAGE_PUBLISHED_SOURCE)))
  modified, modified_source = reader.first(
      (raw.get(R.MODIFIED), _given_source(raw)),
      (page.get(PAGE_MODIFIED), page.get(PAGE_MODIFIED_SOURCE)))
  if modified is not None and published is not None and modified < published:
    modified, modified_source = None, None
  return ResolvedDates(published, published_source or A.DATE_FROM_INGESTED,
                       modified, modified_source, tuple(reader.warnings))
