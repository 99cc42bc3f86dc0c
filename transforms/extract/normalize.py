"""Raw input records to article records: clean text, dates, URL, ids, hashes.

URLs and ids come from ``transforms.extract.urls``, dates and their sources from
``transforms.extract.dates``.
"""

import html
import re
import unicodedata

import apache_beam as beam

import schemas
from schemas import article as A
from schemas import raw as R
from transforms.core import stage
from transforms.extract.authors import load_place_names
from transforms.extract.authors import split_authors
from transforms.extract.dates import resolve_dates
from transforms.core.decode import replace_lone_surrogates
from transforms.enrich.language import detect_language
from transforms.enrich.language import shared_detector_factory
from transforms.enrich.language import word_count
from transforms.extract.metadata import metadata_of
from transforms.extract.urls import canonicalize_url
from transforms.extract.urls import hash_parts
from transforms.extract.urls import host_of
from transforms.extract.urls import legacy_canonical_url
from transforms.extract.urls import make_article_id
from transforms.extract.urls import published_url

__all__ = ['NormalizeArticles', 'normalize_text', 'normalize_inline',
           'source_of', 'make_content_hash', 'normalize_record']

STAGE = 'normalize'
DROP_EMPTY_TEXT = 'empty_text'

MAX_PLACEHOLDER_CHARS = 400  # a longer text is never only a placeholder

_WHITESPACE = re.compile(r'[^\S\n]+')
_INVISIBLE = re.compile('[\u200b\u200c\u200d\u2060\ufeff\u00ad]')
_CONTROL = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]')
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


def source_of(raw, url):
  """The source: as given, else the URL's host (no www.), else the feed title, else the folder."""
  for candidate in (raw.get(A.SOURCE), host_of(url) if url else None,
                    raw.get(R.FEED_TITLE), raw.get(R.FOLDER_NAME)):
    candidate = normalize_inline(candidate)
    if candidate:
      return candidate
  return None


def make_content_hash(text):
  """Hash of the normalised text, shared by syndicated copies of one story."""
  return hash_parts(text)


def is_placeholder_text(text):
  """Whether a text says nothing but "Comments" or a link: an aggregator's entry."""
  if not text:
    return True
  if len(text) > MAX_PLACEHOLDER_CHARS:
    return False
  return all(_PLACEHOLDER_LINE.match(line) for line in text.split('\n\n'))


def normalize_record(raw, run_id, ingested_at, tracking_params=(), guess_language=None):
  """An article record from a raw record; returns ``(article, warnings)``.

  ``article`` is None when no text is left; ``warnings`` names given dates
  that could not be used. ``tracking_params`` are removed from the canonical
  URL besides the built-in ones; ``guess_language`` (text -> ISO 639-1 or
  None) hints dateparser. LANGUAGE fields stay unset for the language step.
  """
  text = normalize_text(raw.get(A.TEXT))
  url = published_url(raw.get(A.URL))
  canonical = canonicalize_url(url, tracking_params, raw.get(R.ORIGINAL_LINK))
  title = normalize_inline(raw.get(A.TITLE))
  origin = raw.get(A.TEXT_ORIGIN) or A.TEXT_FROM_FILE
  if is_placeholder_text(text) and canonical and title:
    text, origin = '', A.TEXT_FROM_LINK  # an aggregator's entry: a title and a link
  elif not text:
    return None, ()
  source = source_of(raw, canonical)
  article_id = make_article_id(canonical, source, title, text)
  legacy_url = legacy_canonical_url(raw.get(A.URL))
  legacy_id = make_article_id(legacy_url, source_of(raw, legacy_url), title, text)
  dates = resolve_dates(raw, ingested_at, guess_language)
  authors, author_orgs = split_authors(
      [a for a in (normalize_inline(a) for a in raw.get(A.AUTHORS) or []) if a])
  article = {
      A.ARTICLE_ID: article_id,
      A.LEGACY_ARTICLE_ID: legacy_id if legacy_id != article_id else None,
      A.EXTERNAL_ID: normalize_inline(raw.get(A.EXTERNAL_ID)),
      A.URL: url,
      A.CANONICAL_URL: canonical,
      A.SOURCE_URI: replace_lone_surrogates(raw[A.SOURCE_URI]),
      A.SOURCE: source,
      A.TITLE: title,
      A.TEXT: text,
      A.AUTHORS: authors,
      A.AUTHOR_ORGS: author_orgs,
      A.CATEGORIES: [c for c in (normalize_inline(c) for c in raw.get(A.CATEGORIES) or [])
                     if c],
      **metadata_of(raw),  # description, image_url, keywords, ... (transforms.extract.metadata)
      A.PUBLISHED_AT: dates.published,
      A.MODIFIED_AT: dates.modified,
      A.INGESTED_AT: ingested_at,
      A.DATE_SOURCE: dates.published_source,
      A.MODIFIED_SOURCE: dates.modified_source,
      A.LANGUAGE: None,
      A.LANGUAGE_CONFIDENCE: None,
      A.WORD_COUNT: word_count(text),
      A.CONTENT_HASH: make_content_hash(text),
      A.TEXT_ORIGIN: origin,
      A.FULL_TEXT_ERROR: replace_lone_surrogates(raw.get(A.FULL_TEXT_ERROR)),
      A.BOILERPLATE: [],
      A.FLAGS: list(raw.get(A.FLAGS) or []),  # a reader's flags (text_cut)
      A.PLACES: [],
      A.STORY_ID: None,  # set by AssignStories
      A.ENTITIES: [],
      A.NER_MODEL: None,
      A.MINHASH: None,
      A.NEAR_DUPLICATE_OF: None,
      A.INPUT_FORMAT: raw[A.INPUT_FORMAT],
      A.RUN_ID: run_id,
      A.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION,
  }
  return article, dates.warnings


class _NormalizeFn(beam.DoFn):
  """Normalises raw records; dateparser's language hint comes from langdetect when needed."""

  def __init__(self, run_id, ingested_at, tracking_params):
    self._run_id = run_id
    self._ingested_at = ingested_at
    self._tracking_params = tuple(tracking_params)

  def setup(self):
    load_place_names()  # the place test of bylines (transforms.extract.authors)

  def _guess_language(self, text):
    # The process's one detector (the language stage's too), loaded on first
    # use: it takes about 1.4 s and ISO 8601 and RFC 822 dates never need it.
    language, _ = detect_language(text, shared_detector_factory())
    return None if language == A.UNDETERMINED_LANGUAGE else language

  def process(self, raw):
    article, warnings = normalize_record(raw, self._run_id, self._ingested_at,
                                         self._tracking_params, self._guess_language)
    for warning in warnings:
      yield stage.warn(warning)
    if article is None:
      yield stage.drop(DROP_EMPTY_TEXT, STAGE, replace_lone_surrogates(raw[A.SOURCE_URI]),
                       title=normalize_inline(raw.get(A.TITLE)),
                       detail=('no text in the input' if not (raw.get(A.TEXT) or '').strip()
                               else 'no text left after normalisation (controls, '
                               'invisible characters)'))
      return
    yield article


class NormalizeArticles(beam.PTransform):
  """Raw records to article records; records with no text are dropped.

  ``tracking_params`` (``--tracking-params``) are query parameters removed
  from canonical URLs besides ``transforms.extract.urls.TRACKING_PARAMS``.
  """

  def __init__(self, run_id, ingested_at, tracking_params=(), label=None):
    super().__init__(label)
    self._run_id = run_id
    self._ingested_at = ingested_at
    self._tracking_params = tuple(tracking_params)

  def expand(self, pcoll):
    return pcoll | 'Normalize' >> stage.ApplyStage(
        _NormalizeFn(self._run_id, self._ingested_at, self._tracking_params), STAGE)
