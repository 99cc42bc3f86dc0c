"""Page metadata as the publisher declares it: JSON-LD, Open Graph, ``<meta>``, feed entries.

``page_metadata`` reads a page's head (and any JSON-LD in its body) with lxml
and json: description, top image, keywords, section, site name and the
paywall flag (``isAccessibleForFree``), each with the signal that gave it
(``schemas.article.METADATA_SOURCE``). trafilatura computes several of these
too, but folds them from sources it does not name and falls back to the host
name for the site, so newsbeam reads the declarations itself. Work is
bounded: the HTML is cut, and so are the number and size of JSON-LD blocks
and the nodes walked in them. Values are cleaned: no HTML, whitespace
folded, lengths capped, image URLs absolute and without tracking
parameters, keywords split on commas and semicolons and de-duplicated
case-insensitively.
"""

import html
import json
import re
import unicodedata
import urllib.parse

import lxml.etree
import lxml.html

from schemas import article as A
from transforms.core.decode import replace_lone_surrogates
from transforms.extract.urls import is_tracking_param
from transforms.extract.urls import published_url

__all__ = ['page_metadata', 'feed_entry_metadata', 'sitemap_metadata', 'merge_metadata',
           'empty_metadata', 'clean_text', 'clean_image_url', 'clean_keywords',
           'parse_accessible_for_free']

MAX_METADATA_HTML_CHARS = 4 << 20  # characters of a page read for its metadata
MAX_JSON_LD_BLOCKS = 16  # <script type=application/ld+json> blocks read per page
MAX_JSON_LD_CHARS = 1 << 20  # longest JSON-LD block parsed, in characters
MAX_JSON_LD_NODES = 500  # JSON objects and arrays visited per page
MAX_JSON_LD_DEPTH = 6  # nesting followed when looking for article nodes (@graph, mainEntity)
MAX_META_TAGS = 2000  # <meta> tags read per page
MAX_DESCRIPTION_CHARS = 2000  # longest description kept, in characters
MAX_NAME_CHARS = 300  # longest section or site name kept, in characters
MAX_KEYWORD_CHARS = 100  # longest keyword kept, in characters
MAX_KEYWORDS = 50  # keywords kept per article
MAX_IMAGE_URL_CHARS = 2048  # longer image URLs are left out
MAX_RAW_VALUE_CHARS = 100_000  # a declared value is cut to this before cleaning

# schema.org types of an article node (and their subtypes news pages use).
ARTICLE_TYPES = frozenset((
    'Article', 'NewsArticle', 'ReportageNewsArticle', 'AnalysisNewsArticle',
    'OpinionNewsArticle', 'BackgroundNewsArticle', 'ReviewNewsArticle',
    'AskPublicNewsArticle', 'BlogPosting', 'LiveBlogPosting', 'Report', 'TechArticle',
    'ScholarlyArticle', 'SocialMediaPosting', 'SatiricalArticle', 'AdvertiserContentArticle'))
JSON_LD_TYPE = 'application/ld+json'
_LIST_SEPARATORS = re.compile(r'[,;]')
_SPACES = re.compile(r'\s+')
_FALSE_WORDS = frozenset(('false', 'no', '0', 'https://schema.org/false',
                          'http://schema.org/false'))
_TRUE_WORDS = frozenset(('true', 'yes', '1', 'https://schema.org/true', 'http://schema.org/true'))
# What wraps a JSON-LD block on some sites: an HTML comment or a CDATA section.
_JSON_WRAPPERS = re.compile(r'\A\s*+(?:<!--|//\s*+<!\[CDATA\[|<!\[CDATA\[)|'
                            r'(?:-->|//\s*+\]\]>|\]\]>)\s*+\Z')

# Meta names and properties read, by field, in order of preference within the signal.
OG_DESCRIPTION = ('og:description',)
OG_IMAGE = ('og:image', 'og:image:url', 'og:image:secure_url')
OG_SITE_NAME = ('og:site_name',)
OG_SECTION = ('article:section',)
OG_TAGS = ('article:tag',)
OG_CONTENT_TIER = ('article:content_tier',)  # Open Graph's free | locked | metered
# article:content_tier values that say whether the article is paywalled; metered
# (free up to a count of articles) says neither.
CONTENT_TIER_PAYWALLED = {'locked': True, 'free': False}
META_DESCRIPTION = ('description', 'twitter:description', 'dc.description')
META_IMAGE = ('twitter:image', 'twitter:image:src')
META_KEYWORDS = ('keywords', 'news_keywords')
META_SITE_NAME = ('application-name', 'twitter:site:name')


def empty_metadata():
  """A record's metadata fields, all unset."""
  return {A.DESCRIPTION: None, A.IMAGE_URL: None, A.KEYWORDS: [], A.SECTION: None,
          A.SITE_NAME: None, A.IS_PAYWALLED: None, A.METADATA_SOURCE: None}


def clean_text(value, limit=MAX_DESCRIPTION_CHARS):
  """A declared text as one line of plain text: no HTML, whitespace folded, capped; else None."""
  if isinstance(value, (list, tuple)):
    value = next((v for v in value if isinstance(v, str) and v.strip()), None)
  if not isinstance(value, str):
    return None
  value = replace_lone_surrogates(value[:MAX_RAW_VALUE_CHARS])
  if '<' in value:
    try:
      value = lxml.html.fragment_fromstring(value, create_parent='div').text_content()
    except (lxml.etree.ParserError, ValueError):
      pass
  value = unicodedata.normalize('NFC', html.unescape(value))
  value = _SPACES.sub(' ', value).strip()
  return value[:limit].rstrip() or None


def clean_image_url(value, page_url=None):
  """An image URL made absolute against the page, without tracking parameters; else None."""
  value = clean_text(value, MAX_IMAGE_URL_CHARS + 1)
  if not value or len(value) > MAX_IMAGE_URL_CHARS:
    return None
  if page_url:
    try:
      value = urllib.parse.urljoin(page_url, value)
    except ValueError:
      return None
  value = published_url(value)
  if value is None:
    return None
  try:
    parts = urllib.parse.urlsplit(value)
  except ValueError:
    return None
  query = '&'.join(pair for pair in parts.query.split('&')
                   if pair and not is_tracking_param(pair.partition('=')[0]))
  return urllib.parse.urlunsplit(parts._replace(query=query, fragment=''))


def clean_keywords(values):
  """Keywords from strings or lists of them: split on commas and semicolons, once each."""
  if isinstance(values, (str, dict)):
    values = [values]
  if not isinstance(values, (list, tuple)):
    return []
  kept = {}
  for value in values or ():
    if isinstance(value, dict):  # a DefinedTerm
      value = value.get('name')
    if not isinstance(value, str):
      continue
    for piece in _LIST_SEPARATORS.split(value[:MAX_RAW_VALUE_CHARS]):
      keyword = clean_text(piece, MAX_KEYWORD_CHARS)
      if keyword and keyword.casefold() not in kept:
        kept[keyword.casefold()] = keyword
        if len(kept) >= MAX_KEYWORDS:
          return list(kept.values())
  return list(kept.values())


def parse_accessible_for_free(value):
  """``isAccessibleForFree`` as a bool (JSON bool or a string such as "False"); else None."""
  if isinstance(value, bool):
    return value
  if isinstance(value, str):
    word = value.strip().casefold()
    if word in _TRUE_WORDS:
      return True
    if word in _FALSE_WORDS:
      return False
  return None


def _types_of(node):
  kind = node.get('@type')
  kinds = kind if isinstance(kind, list) else [kind]
  return {k.rsplit('/', 1)[-1] for k in kinds if isinstance(k, str)}


def _json_ld_nodes(blocks):
  """``(article_nodes, other_nodes)``: the JSON objects of the blocks, bounded walk."""
  articles, others, budget = [], [], [MAX_JSON_LD_NODES]

  def walk(value, depth):
    if budget[0] <= 0 or depth > MAX_JSON_LD_DEPTH:
      return
    budget[0] -= 1
    if isinstance(value, list):
      for item in value:
        walk(item, depth + 1)
    elif isinstance(value, dict):
      (articles if _types_of(value) & ARTICLE_TYPES else others).append(value)
      for key in ('@graph', 'mainEntity', 'mainEntityOfPage', 'hasPart'):
        if isinstance(value.get(key), (list, dict)):
          walk(value[key], depth + 1)

  for block in blocks:
    walk(block, 0)
  return articles, others


def _image_of(value):
  """The first image URL of a JSON-LD ``image``: a string, an ImageObject, or a list of them."""
  items = value if isinstance(value, list) else [value]
  for item in items[:MAX_KEYWORDS]:
    if isinstance(item, dict):
      item = item.get('url') or item.get('contentUrl') or item.get('@id')
    if isinstance(item, list):
      item = next((i for i in item if isinstance(i, str)), None)
    if isinstance(item, str) and item.strip():
      return item
  return None


def _name_of(value):
  """A name from a string, or an object's ``name`` (publisher, section)."""
  if isinstance(value, list):
    value = next(iter(value), None)
  if isinstance(value, dict):
    value = value.get('name')
  return value if isinstance(value, str) else None


def _paywall_of(node):
  free = parse_accessible_for_free(node.get('isAccessibleForFree'))
  if free is None:
    parts = node.get('hasPart')
    for part in (parts if isinstance(parts, list) else [parts])[:MAX_KEYWORDS]:
      if isinstance(part, dict):
        free = parse_accessible_for_free(part.get('isAccessibleForFree'))
        if free is not None:
          break
  return None if free is None else not free


def json_ld_metadata(blocks, page_url=None):
  """Metadata fields from parsed JSON-LD blocks (article nodes first); missing ones absent."""
  articles, others = _json_ld_nodes(blocks)
  found = {}
  for node in articles:
    candidates = {
        A.DESCRIPTION: clean_text(node.get('description')),
        A.IMAGE_URL: clean_image_url(_image_of(node.get('image')), page_url),
        A.KEYWORDS: clean_keywords(node.get('keywords')),
        A.SECTION: clean_text(_name_of(node.get('articleSection')), MAX_NAME_CHARS),
        A.SITE_NAME: clean_text(_name_of(node.get('publisher')), MAX_NAME_CHARS),
        A.IS_PAYWALLED: _paywall_of(node),
    }
    for field, value in candidates.items():
      if field not in found and value not in (None, []):
        found[field] = value
  if A.SITE_NAME not in found:
    for node in others:
      if _types_of(node) & {'WebSite', 'NewsMediaOrganization'}:
        name = clean_text(_name_of(node), MAX_NAME_CHARS)
        if name:
          found[A.SITE_NAME] = name
          break
  return found


def _parse_json_ld(text):
  text = _JSON_WRAPPERS.sub('', text[:MAX_JSON_LD_CHARS + 1])
  if len(text) > MAX_JSON_LD_CHARS:
    return None
  try:
    return json.loads(text, strict=False)
  except (ValueError, RecursionError):
    return None


def read_head(page_html):
  """``(meta, json_ld_blocks)`` of a page: meta name/property (lower-cased) -> contents."""
  try:
    root = lxml.html.fromstring(page_html[:MAX_METADATA_HTML_CHARS].encode('utf-8', 'replace'),
                                parser=lxml.html.HTMLParser(encoding='utf-8'))
  except (lxml.etree.ParserError, ValueError):
    return {}, []
  meta, blocks, tags = {}, [], 0
  for element in root.iter('meta', 'script'):
    if element.tag == 'meta':
      tags += 1
      if tags > MAX_META_TAGS:
        continue
      name = (element.get('property') or element.get('name') or '').strip().lower()
      content = element.get('content')
      if name and content and content.strip():
        meta.setdefault(name, []).append(content)
    elif (len(blocks) < MAX_JSON_LD_BLOCKS and
          (element.get('type') or '').split(';')[0].strip().lower() == JSON_LD_TYPE):
      parsed = _parse_json_ld(element.text or '')
      if parsed is not None:
        blocks.append(parsed)
  return meta, blocks


def _first(meta, names):
  for name in names:
    for value in meta.get(name, ()):
      if value.strip():
        return value
  return None


def _all(meta, names):
  return [value for name in names for value in meta.get(name, ())]


def tag_metadata(meta, page_url=None):
  """``{source: {field: value}}`` from a page's Open Graph and other meta tags."""
  og = {
      A.DESCRIPTION: clean_text(_first(meta, OG_DESCRIPTION)),
      A.IMAGE_URL: clean_image_url(_first(meta, OG_IMAGE), page_url),
      A.KEYWORDS: clean_keywords(_all(meta, OG_TAGS)),
      A.SECTION: clean_text(_first(meta, OG_SECTION), MAX_NAME_CHARS),
      A.SITE_NAME: clean_text(_first(meta, OG_SITE_NAME), MAX_NAME_CHARS),
      A.IS_PAYWALLED: CONTENT_TIER_PAYWALLED.get(
          (_first(meta, OG_CONTENT_TIER) or '').strip().lower()),
  }
  other = {
      A.DESCRIPTION: clean_text(_first(meta, META_DESCRIPTION)),
      A.IMAGE_URL: clean_image_url(_first(meta, META_IMAGE), page_url),
      A.KEYWORDS: clean_keywords(_all(meta, META_KEYWORDS[:1]) or _all(meta, META_KEYWORDS)),
      A.SITE_NAME: clean_text(_first(meta, META_SITE_NAME), MAX_NAME_CHARS),
  }
  return {A.METADATA_FROM_OG: {k: v for k, v in og.items() if v not in (None, [])},
          A.METADATA_FROM_META: {k: v for k, v in other.items() if v not in (None, [])}}


# Per field, the signals in order of preference: the top image and the site
# name as the page shares them (Open Graph) first, the rest as the article
# node declares them; a feed's or a sitemap's only where the page says nothing
# (``merge_metadata`` puts a fetched page's first).
_OUTSIDE = (A.METADATA_FROM_FEED, A.METADATA_FROM_SITEMAP)
FIELD_PREFERENCE = {
    A.DESCRIPTION: (A.METADATA_FROM_JSON_LD, A.METADATA_FROM_OG, A.METADATA_FROM_META) + _OUTSIDE,
    A.IMAGE_URL: (A.METADATA_FROM_OG, A.METADATA_FROM_JSON_LD, A.METADATA_FROM_META) + _OUTSIDE,
    A.KEYWORDS: (A.METADATA_FROM_JSON_LD, A.METADATA_FROM_OG, A.METADATA_FROM_META) + _OUTSIDE,
    A.SECTION: (A.METADATA_FROM_JSON_LD, A.METADATA_FROM_OG) + _OUTSIDE,
    A.SITE_NAME: (A.METADATA_FROM_OG, A.METADATA_FROM_JSON_LD, A.METADATA_FROM_META) + _OUTSIDE,
    A.IS_PAYWALLED: (A.METADATA_FROM_JSON_LD, A.METADATA_FROM_OG),
}


def _choose(by_source):
  """A record's metadata fields from ``{source: {field: value}}`` by FIELD_PREFERENCE."""
  chosen, sources = empty_metadata(), {}
  for field, preference in FIELD_PREFERENCE.items():
    for source in preference:
      value = by_source.get(source, {}).get(field)
      if value not in (None, []):
        chosen[field], sources[field] = value, source
        break
  chosen[A.METADATA_SOURCE] = _source_struct(sources)
  return chosen


def _source_struct(sources):
  return {field: sources.get(field) for field in A.METADATA_FIELDS} if sources else None


def page_metadata(page_html, page_url=None):
  """A page's metadata fields (see the module docstring) with the source of each."""
  if not page_html:
    return empty_metadata()
  meta, blocks = read_head(page_html)
  by_source = tag_metadata(meta, page_url)
  by_source[A.METADATA_FROM_JSON_LD] = json_ld_metadata(blocks, page_url)
  return _choose(by_source)


def _is_image(item):
  kind = (item.get('type') or '').lower()
  medium = (item.get('medium') or '').lower()
  return medium == 'image' or kind.startswith('image/') or (not kind and not medium)


def feed_entry_metadata(entry, entry_url=None):
  """A feed entry's image (media:content, media:thumbnail, an image enclosure) and keywords."""
  image = None
  candidates = ([m for m in entry.get('media_content') or [] if _is_image(m)] +
                list(entry.get('media_thumbnail') or []) +
                [e for e in entry.get('enclosures') or []
                 if (e.get('type') or '').lower().startswith('image/')])
  for item in candidates[:MAX_KEYWORDS]:
    image = clean_image_url(item.get('url') or item.get('href'), entry_url)
    if image:
      break
  terms = [t.get('term') or t.get('label') for t in entry.get('tags') or []]
  found = {A.IMAGE_URL: image, A.KEYWORDS: clean_keywords([t for t in terms if t])}
  return _choose({A.METADATA_FROM_FEED: {k: v for k, v in found.items() if v}})


def sitemap_metadata(keywords, publication_name):
  """Keywords and site name of a news sitemap's ``<news:news>``."""
  found = {A.KEYWORDS: clean_keywords(keywords),
           A.SITE_NAME: clean_text(publication_name, MAX_NAME_CHARS)}
  return _choose({A.METADATA_FROM_SITEMAP: {k: v for k, v in found.items() if v}})


def merge_metadata(first, second):
  """Metadata fields of ``first``, each missing one taken from ``second`` with its source."""
  merged, sources = empty_metadata(), {}
  first_sources = first.get(A.METADATA_SOURCE) or {}
  second_sources = second.get(A.METADATA_SOURCE) or {}
  for field in A.METADATA_FIELDS:
    for record, record_sources in ((first, first_sources), (second, second_sources)):
      value = record.get(field)
      if value not in (None, []):
        merged[field], sources[field] = value, record_sources.get(field)
        break
  merged[A.METADATA_SOURCE] = _source_struct(sources)
  return merged


def metadata_of(record):
  """The metadata fields a record carries (unset ones as in ``empty_metadata``)."""
  found = empty_metadata()
  for field in found:
    if record.get(field) not in (None, []):
      found[field] = record[field]
  return found
