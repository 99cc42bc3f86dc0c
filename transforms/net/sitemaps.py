"""News sitemaps as input: ``--sitemap URL`` / ``--sitemaps FILE``.

A sitemap URL is read like a feed URL: fetched with the polite client (its
own URL as given, every URL a sitemap names guarded against private
addresses), conditional GETs for urlsets from the state kept between runs,
and parsed behind defusedxml (any entity declaration or external reference
refused: no billion laughs, no XXE). A sitemap index leads to its sitemaps
(newest ``lastmod`` first, at most MAX_CHILD_SITEMAPS per index, nesting at
most MAX_INDEX_DEPTH deep); a urlset's ``<url>`` entries become raw records
with their ``news:`` fields (title, publication date, keywords, the
publication's name) and ``image:loc``. Gzip is recognised by its magic bytes
and decompressed to at most MAX_SITEMAP_BYTES.

Every sitemap and URL leaves as a raw record, a counted drop (``not_modified``,
``empty_sitemap``, ``sitemap_cap``: a sitemap beyond the per-index cap,
``repeated_url``), a dead letter (stage ``sitemap``: the fetch failed, the
document is too large, hostile or not a sitemap), or an entry seen again
(a URL written by an earlier run, kept in the state like a feed's entries).
URLs past MAX_URLS_PER_SITEMAP in one document, or MAX_URLS_PER_ROOT under
one given sitemap, are never parsed into records: a warning
(``sitemap_urls_cut``) says how many were cut.

``FetchSitemapPages`` then fetches each URL's page as ``--fetch-full-text``
fetches an entry's (robots.txt, per-host limits, private addresses refused):
the page's HTML goes on to ExtractMainText, which reads its text and
metadata; a page that cannot be fetched is a dead letter (stage
``sitemap_page``), so the next run tries it again.
"""

import collections
import re
import urllib.parse
import zlib
from typing import NamedTuple

import apache_beam as beam
from defusedxml import ElementTree as DefusedET
import defusedxml

from schemas import article as A
from schemas import raw as R
from schemas import report as RR
from transforms.core import stage
from transforms.net.feeds import DROP_NOT_MODIFIED
from transforms.net.feeds import SITEMAP_RECORD_FORMAT
from transforms.net.feeds import STATE_ETAG
from transforms.net.feeds import STATE_LAST_MODIFIED
from transforms.net.feeds import STATE_SEEN
from transforms.net.feeds import conditional_headers
from transforms.net.feeds import entry_key
from transforms.net.feeds import make_result
from transforms.net.full_text import fetch_page_html
from transforms.net.http import FetchError
from transforms.net.http import HttpClientFn
from transforms.net.http import map_by_host
from transforms.extract.metadata import MAX_NAME_CHARS
from transforms.extract.metadata import clean_image_url
from transforms.extract.metadata import clean_text
from transforms.extract.metadata import sitemap_metadata
from transforms.extract.urls import published_url

__all__ = ['ReadSitemaps', 'parse_sitemap', 'decompress', 'read_sitemap',
           'ParsedSitemap', 'SitemapError', 'HTTP_SITEMAP_FORMAT']

STAGE = 'sitemap'
PAGE_STAGE = 'sitemap_page'
HTTP_SITEMAP_FORMAT = 'http_sitemap'  # the input format of a sitemap URL's outcomes
DROP_EMPTY_SITEMAP = 'empty_sitemap'  # a urlset with no <url> (a quiet news day)
DROP_SITEMAP_CAP = 'sitemap_cap'  # a sitemap past MAX_CHILD_SITEMAPS of its index
DROP_REPEATED_URL = 'repeated_url'  # a URL or sitemap listed twice under one given sitemap
WARN_URLS_CUT = 'sitemap_urls_cut'  # URLs past the caps, never read
WARN_DEPTH = 'sitemap_index_too_deep'  # an index nested past MAX_INDEX_DEPTH

MAX_SITEMAP_BYTES = 50 << 20  # largest sitemap after decompression (the protocol's 50 MiB)
MAX_URLS_PER_SITEMAP = 50_000  # <url> or <sitemap> entries read per document (the protocol's)
MAX_URLS_PER_ROOT = 100_000  # URLs read under one given sitemap per run
MAX_CHILD_SITEMAPS = 50  # sitemaps of one index fetched per run, newest lastmod first
MAX_INDEX_DEPTH = 2  # an index of indexes is followed; deeper ones are not
MAX_LOC_CHARS = 2048  # longer <loc> values are left out
MAX_TITLE_CHARS = 2000  # longest news:title kept, in characters
MAX_KEYWORDS_CHARS = 10_000  # longest news:keywords read, in characters
SITEMAPS_PER_BATCH = 64  # given sitemaps read side by side by one DoFn call
PAGES_PER_BATCH = 256  # pages fetched side by side by one DoFn call
GZIP_MAGIC = b'\x1f\x8b'
# Start tags of a document's entries, counted past the cap instead of parsed (linear).
_ENTRY_TAGS = {'urlset': re.compile(rb'<(?:[A-Za-z_][\w.-]{0,64}:)?url[\s/>]'),
               'sitemapindex': re.compile(rb'<(?:[A-Za-z_][\w.-]{0,64}:)?sitemap[\s/>]')}

KIND_INDEX = 'sitemapindex'
KIND_URLSET = 'urlset'

ERR_TOO_LARGE = 'SitemapTooLarge'
ERR_HOSTILE = 'HostileXml'
ERR_NOT_XML = 'NotXml'
ERR_NOT_SITEMAP = 'NotASitemap'
ERR_NO_HTML = 'PageNotFetched'


class SitemapError(ValueError):
  """A sitemap newsbeam cannot read, with the dead letter's error type."""

  def __init__(self, kind, message):
    super().__init__(message)
    self.kind = kind


class SitemapUrl(NamedTuple):
  loc: str
  lastmod: str = None
  title: str = None
  published: str = None
  language: str = None
  keywords: str = None
  publication: str = None
  image: str = None


class ParsedSitemap(NamedTuple):
  kind: str  # KIND_INDEX or KIND_URLSET
  entries: list  # SitemapUrl of a urlset; (loc, lastmod) of an index
  cut: int  # entries past the cap, counted and not read


def decompress(data, limit=MAX_SITEMAP_BYTES):
  """A sitemap's bytes, gunzipped when they start with gzip's magic; SitemapError past ``limit``."""
  if data[:2] == GZIP_MAGIC:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
      data = inflater.decompress(data, limit + 1)
    except zlib.error as error:
      raise SitemapError(ERR_NOT_XML, f'gzip data is corrupt: {error}') from error
  if len(data) > limit:
    raise SitemapError(ERR_TOO_LARGE, f'sitemap over {limit} bytes once decompressed')
  return data


def _local(tag):
  return tag.rsplit('}', 1)[-1] if isinstance(tag, str) else ''


def _text(element):
  return (element.text or '').strip() if element is not None else ''


def _children(element):
  """``{local name: element}`` of an element's children, and of news:news's and
  news:publication's (the first of each name)."""
  found = {}
  for child in element:
    name = _local(child.tag)
    found.setdefault(name, child)
    if name in ('news', 'image'):
      for grandchild in child:
        inner = _local(grandchild.tag)
        found.setdefault(inner if name == 'news' else 'image_' + inner, grandchild)
        if inner == 'publication':
          for item in grandchild:
            found.setdefault('publication_' + _local(item.tag), item)
  return found


def _url_entry(element):
  fields = _children(element)
  loc = _text(fields.get('loc'))
  if not loc or len(loc) > MAX_LOC_CHARS:
    return None
  if len(fields) == 1:  # a bare <url><loc>: the common case of long sitemaps
    return SitemapUrl(loc)
  title, publication = _text(fields.get('title')), _text(fields.get('publication_name'))
  return SitemapUrl(
      loc=loc, lastmod=_text(fields.get('lastmod')) or None,
      title=clean_text(title, MAX_TITLE_CHARS) if title else None,
      published=_text(fields.get('publication_date')) or None,
      language=_text(fields.get('publication_language')) or None,
      keywords=_text(fields.get('keywords'))[:MAX_KEYWORDS_CHARS] or None,
      publication=clean_text(publication, MAX_NAME_CHARS) if publication else None,
      image=_text(fields.get('image_loc')) or None)


def parse_sitemap(data, max_entries=MAX_URLS_PER_SITEMAP):
  """A sitemap index's or urlset's entries (at most ``max_entries``); SitemapError otherwise.

  Parsed incrementally behind defusedxml (DTD entities and external
  references refused); entries past the cap are counted (their start tags),
  not parsed.
  """
  data = decompress(data)
  kind, entries, read = None, [], 0
  try:
    events = DefusedET.iterparse(_Bytes(data), events=('start', 'end'),
                                 forbid_dtd=False, forbid_entities=True,
                                 forbid_external=True)
    root, depth = None, 0
    for event, element in events:
      name = _local(element.tag)
      if event == 'start':
        depth += 1
        if root is None:
          root, kind = element, name
          if kind not in (KIND_INDEX, KIND_URLSET):
            raise SitemapError(ERR_NOT_SITEMAP,
                               f'root element <{kind}> is neither <urlset> nor <sitemapindex>')
        continue
      depth -= 1
      if depth != 1:
        continue
      if read >= max_entries:
        break
      read += 1
      if kind == KIND_URLSET and name == 'url':
        entry = _url_entry(element)
        if entry:
          entries.append(entry)
      elif kind == KIND_INDEX and name == 'sitemap':
        fields = _children(element)
        loc = _text(fields.get('loc'))
        if loc and len(loc) <= MAX_LOC_CHARS:
          entries.append((loc, _text(fields.get('lastmod')) or None))
      root.remove(element)  # memory stays flat however long the document
  except defusedxml.DefusedXmlException as error:
    raise SitemapError(ERR_HOSTILE, f'{type(error).__name__}: {error}') from error
  except DefusedET.ParseError as error:
    raise SitemapError(ERR_NOT_XML, f'not well-formed XML: {error}') from error
  if kind is None:
    raise SitemapError(ERR_NOT_XML, 'empty document')
  cut = max(0, len(_ENTRY_TAGS[kind].findall(data)) - read) if read >= max_entries else 0
  return ParsedSitemap(kind, entries, cut)


class _Bytes:
  """A file-like view of bytes for iterparse (io.BytesIO would copy them)."""

  def __init__(self, data, chunk=64 << 10):
    self._view, self._at, self._chunk = memoryview(data), 0, chunk

  def read(self, size=-1):
    size = self._chunk if size is None or size < 0 else min(size, self._chunk)
    piece = self._view[self._at:self._at + size].tobytes()
    self._at += len(piece)
    return piece


def newest_first(children):
  """An index's sitemaps, newest ``lastmod`` first (undated last, in document order)."""
  dated = sorted((c for c in children if c[1]), key=lambda c: c[1], reverse=True)
  return dated + [c for c in children if not c[1]]


def url_record(entry, sitemap_url):
  """The raw record of a urlset's ``<url>``: the page to fetch and its ``news:`` fields."""
  record = {
      A.EXTERNAL_ID: None,
      A.URL: published_url(entry.loc),
      A.TITLE: entry.title,
      A.TEXT: None,
      A.AUTHORS: [],
      A.CATEGORIES: [],
      R.PUBLISHED: entry.published,
      R.MODIFIED: entry.lastmod,
      A.SOURCE: entry.publication,
      A.SOURCE_URI: sitemap_url,
      A.INPUT_FORMAT: SITEMAP_RECORD_FORMAT,
      A.TEXT_ORIGIN: A.TEXT_FROM_PAGE,
      A.FLAGS: [],
  }
  record.update(sitemap_metadata(entry.keywords, entry.publication))
  image = clean_image_url(entry.image, record[A.URL])
  if image:
    record[A.IMAGE_URL] = image
    record[A.METADATA_SOURCE] = dict(record[A.METADATA_SOURCE] or
                                     {f: None for f in A.METADATA_FIELDS},
                                     **{A.IMAGE_URL: A.METADATA_FROM_SITEMAP})
  return record


def fetch_sitemap(client, url, state, guarded):
  """``(parsed, response_status, etag, last_modified)``; raises FetchError or SitemapError.

  ``parsed`` is None for a 304.
  """
  response = client.get(url, headers=conditional_headers(state), guarded=guarded)
  etag = response.headers.get('etag') or state.get(STATE_ETAG)
  last_modified = response.headers.get('last-modified') or state.get(STATE_LAST_MODIFIED)
  if response.status == 304:
    return None, 304, etag, last_modified
  return parse_sitemap(response.body), response.status, etag, last_modified


def _seen_by_host(states):
  """Host -> keys of URLs written under any sitemap (or feed) of that host."""
  seen = collections.defaultdict(set)
  for url, entry in states.items():
    keys = (entry or {}).get(STATE_SEEN)
    if keys:
      seen[urllib.parse.urlsplit(url).netloc.lower()].update(keys)
  return seen


def read_sitemap(client, root_url, states, seen_by_host=None):
  """Reads one given sitemap and what it leads to; returns ``(outputs, results)``.

  ``outputs`` are raw records, drops, warnings, dead letters and entries seen
  again, in order; ``results`` one feed-state result per document fetched.
  """
  seen_by_host = _seen_by_host(states) if seen_by_host is None else seen_by_host
  outputs, results, emitted, total = [], [], set(), 0
  queue, visited = collections.deque([(root_url, 0)]), set()
  while queue:
    url, depth = queue.popleft()
    if url in visited:  # an index that lists itself, or a sitemap twice
      outputs.append(stage.drop(DROP_REPEATED_URL, STAGE, url, detail='sitemap listed again'))
      continue
    visited.add(url)
    state = states.get(url) or {}
    try:
      parsed, status, etag, last_modified = fetch_sitemap(client, url, state, url != root_url)
    except FetchError as error:
      message = str(error) if error.status is None else f'HTTP {error.status}: {error}'
      outputs.append(stage.dead_letter(STAGE, url, error.kind, message))
      results.append(make_result(url, error.status, error_type=error.kind, message=message))
      continue
    except SitemapError as error:
      outputs.append(stage.dead_letter(STAGE, url, error.kind, str(error)))
      results.append(make_result(url, None, error_type=error.kind, message=str(error)))
      continue
    if parsed is None:
      outputs.append(stage.drop(DROP_NOT_MODIFIED, STAGE, url))
      results.append(make_result(url, 304, etag, last_modified))
      continue
    if parsed.cut:
      outputs.append(stage.warn(WARN_URLS_CUT, stage.describe_input(
          url, f'({parsed.cut} entries past {MAX_URLS_PER_SITEMAP})')))
    if parsed.kind == KIND_INDEX:
      # An index is read whole every run: its sitemaps change under an unchanged index.
      results.append(make_result(url, status, entries=len(parsed.entries)))
      if not parsed.entries:
        outputs.append(stage.drop(DROP_EMPTY_SITEMAP, STAGE, url))
      elif depth >= MAX_INDEX_DEPTH:
        outputs.append(stage.warn(WARN_DEPTH, stage.describe_input(url)))
        outputs.extend(stage.drop(DROP_SITEMAP_CAP, STAGE, loc, detail='index nested too deep')
                       for loc, _ in parsed.entries)
      else:
        children = newest_first(parsed.entries)
        queue.extend((loc, depth + 1) for loc, _ in children[:MAX_CHILD_SITEMAPS])
        outputs.extend(stage.drop(DROP_SITEMAP_CAP, STAGE, loc,
                                  detail=f'past {MAX_CHILD_SITEMAPS} sitemaps of {url}')
                       for loc, _ in children[MAX_CHILD_SITEMAPS:])
      continue
    results.append(make_result(url, status, etag, last_modified, entries=len(parsed.entries)))
    if not parsed.entries:
      outputs.append(stage.drop(DROP_EMPTY_SITEMAP, STAGE, url))
      continue
    room = max(0, MAX_URLS_PER_ROOT - total)
    if len(parsed.entries) > room:
      outputs.append(stage.warn(WARN_URLS_CUT, stage.describe_input(
          url, f'({len(parsed.entries) - room} URLs past {MAX_URLS_PER_ROOT} under {root_url})')))
    seen = seen_by_host.get(urllib.parse.urlsplit(url).netloc.lower(), ())
    for entry in parsed.entries[:room]:
      total += 1
      record = url_record(entry, url)
      key = entry_key(None, record[A.URL])
      if key is None:
        outputs.append(stage.dead_letter(STAGE, url, 'BadUrl',
                                         f'<loc> is not an http(s) URL: {entry.loc!r}'))
      elif key in seen:
        outputs.append(stage.seen_again(url, key))
      elif key in emitted:
        outputs.append(stage.drop(DROP_REPEATED_URL, STAGE, url, title=entry.title,
                                  detail=record[A.URL]))
      else:
        emitted.add(key)
        outputs.append(record)
  return outputs, results


def read_sitemap_safely(client, root_url, states, seen_by_host):
  """``read_sitemap``, with any other failure turned into the sitemap's dead letter."""
  try:
    return read_sitemap(client, root_url, states, seen_by_host)
  except Exception as error:  # pylint: disable=broad-except
    kind = type(error).__name__
    message = f'{kind}: {error}'
    return ([stage.dead_letter(STAGE, root_url, kind, message)],
            [make_result(root_url, error_type=kind, message=message)])


SITEMAP_RESULTS = 'sitemap_results'


class _ReadSitemapsFn(HttpClientFn):
  """Reads a batch of given sitemaps on a thread pool: different hosts overlap."""

  def __init__(self, settings, states):
    super().__init__(settings)
    self._states = dict(states)
    self._seen = None

  def setup(self):
    super().setup()
    self._seen = _seen_by_host(self._states)

  def process(self, urls):
    read = map_by_host(
        urls, lambda url: url,
        lambda url: read_sitemap_safely(self._client, url, self._states, self._seen),
        self._settings.max_per_host)
    for outputs, results in read:
      yield from outputs
      for result in results:
        yield beam.pvalue.TaggedOutput(SITEMAP_RESULTS, result)


def page_record(client, record):
  """The record with its page's HTML, or a dead letter saying why there is none."""
  try:
    html, final_url, reason = fetch_page_html(client, record[A.URL])
  except Exception as error:  # pylint: disable=broad-except
    html, reason = None, f'{type(error).__name__}: {error}'
  if html is None:
    return stage.dead_letter(PAGE_STAGE, record[A.SOURCE_URI], ERR_NO_HTML,
                             f'{record[A.URL]}: {reason}')
  return dict(record, **{R.HTML: html, A.URL: record[A.URL] or final_url})


class _FetchSitemapPagesFn(HttpClientFn):

  def process(self, records):
    yield from map_by_host(records, lambda r: r.get(A.URL),
                           lambda r: page_record(self._client, r),
                           self._settings.max_per_host)


class ReadSitemaps(beam.PTransform):
  """Reads sitemap URLs and fetches their pages (see the module docstring).

  Returns StageOutputs whose records carry each page's HTML, and whose
  reports hold each sitemap document's result (``feeds``: its state is kept
  with the feeds') and the input format of each outcome (``inputs``).
  """

  def __init__(self, urls, settings, states, label=None):
    super().__init__(label)
    self._urls = list(urls)
    self._settings = settings
    self._states = dict(states)

  def expand(self, pbegin):
    listed = (pbegin
              | 'ListSitemaps' >> beam.Create(self._urls)
              | 'SpreadSitemaps' >> beam.Reshuffle()
              | 'BatchSitemaps' >> beam.BatchElements(min_batch_size=SITEMAPS_PER_BATCH,
                                                      max_batch_size=SITEMAPS_PER_BATCH)
              | 'Read' >> stage.ApplyStage(
                  _ReadSitemapsFn(self._settings, self._states), STAGE, fan_in=True,
                  report_tags={SITEMAP_RESULTS: RR.FEEDS}))
    listed = stage.with_input_formats(listed, lambda _: HTTP_SITEMAP_FORMAT, 'Sitemap',
                                      seen_format=HTTP_SITEMAP_FORMAT)
    pages = (listed.records
             | 'SpreadPages' >> beam.Reshuffle()
             | 'BatchPages' >> beam.BatchElements(min_batch_size=PAGES_PER_BATCH,
                                                  max_batch_size=PAGES_PER_BATCH)
             | 'FetchPages' >> stage.ApplyStage(_FetchSitemapPagesFn(self._settings),
                                                PAGE_STAGE, fan_in=True))
    return stage.merge_outcomes([listed, pages], 'SitemapPages', records=pages.records)
