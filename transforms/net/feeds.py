"""Feeds over HTTP: conditional GET, parse with the response headers, entries to raw records.

Every feed URL leaves this stage as its entries (raw records), a counted drop
(``not_modified`` for a 304), or a dead letter (stage ``fetch``: the HTTP
failure, or a feed with no entries with the status and the parser's reason).
An entry an earlier run of the output already wrote (its id or link is in the
feed's state, ``seen_entries``) is counted as seen again, before any
extraction, instead of being passed on to be dropped as a duplicate.
A result per feed (status, validators, error) goes to the run report, from
which the driver updates the conditional-GET state after the commit.
"""

import datetime
import re
import urllib.parse
import xml.etree.ElementTree

import apache_beam as beam

from schemas import article as A
from schemas import report as R
from transforms.core import stage
from transforms.net.http import FetchError
from transforms.net.http import HttpClientFn
from transforms.net.http import map_by_host
from transforms.net.http import parse_target
from transforms.extract.normalize import normalize_inline
from transforms.read.feeds import entries_to_raw_records
from transforms.read.feeds import parse_feed
from transforms.extract.urls import published_url

__all__ = ['FetchFeeds', 'parse_feed_list', 'conditional_headers',
           'FeedListError', 'HTTP_FEED_FORMAT']

STAGE = 'fetch'
HTTP_FEED_FORMAT = 'http_feed'
FEED_RECORD_FORMAT = 'feed'  # the input_format of a feed entry's article
SITEMAP_RECORD_FORMAT = 'sitemap'  # the input_format of a sitemap URL's article (sitemaps.py)
DROP_NOT_MODIFIED = 'not_modified'
WARN_MALFORMED_FEED = 'malformed_feed'
# Feeds fetched side by side by one DoFn call: large, so that many hosts
# overlap while each host's requests are spaced.
FEEDS_PER_BATCH = 512

# Keys of a feed result (one per feed URL and run).
RESULT_URL = 'url'
RESULT_STATUS = 'status'
RESULT_ETAG = 'etag'
RESULT_LAST_MODIFIED = 'last_modified'
RESULT_ERROR_TYPE = 'error_type'
RESULT_MESSAGE = 'message'
RESULT_ENTRIES = 'entries'
RESULT_FETCHED_AT = 'fetched_at'

STATE_ETAG = 'etag'
STATE_LAST_MODIFIED = 'last_modified'
STATE_SEEN = 'seen_entries'  # entry keys (entry_key) written by earlier runs, newest first

_URL_LINE = re.compile(r'^\s*(\S+)')


class FeedListError(ValueError):
  """A feed list or feed URL newsbeam cannot use."""


def check_feed_url(url):
  """The URL if it is http(s) with a host that URL parsers all read alike; else FeedListError."""
  try:
    parts = urllib.parse.urlsplit(url)
  except ValueError as error:
    raise FeedListError(f'feed URL {url!r} is malformed: {error}') from error
  if parts.scheme not in ('http', 'https') or not parts.hostname:
    raise FeedListError(f'feed URL {url!r}: only http and https URLs are fetched')
  try:
    parse_target(url, allow_userinfo=True)
  except FetchError as error:
    raise FeedListError(f'feed URL {url!r}: {error}') from error
  return url


def parse_feed_list(text):
  """Feed URLs of an OPML document or of a list (one per line, ``#`` comments)."""
  stripped = text.lstrip('\ufeff').lstrip()
  if stripped.startswith('<'):
    try:
      root = xml.etree.ElementTree.fromstring(stripped.encode('utf-8'))
    except xml.etree.ElementTree.ParseError as error:
      raise FeedListError(f'feed list looks like OPML but is not XML: {error}') from error
    urls = [o.get('xmlUrl') for o in root.iter('outline') if o.get('xmlUrl')]
  else:
    urls = []
    for line in stripped.splitlines():
      line = line.split('#', 1)[0]
      match = _URL_LINE.match(line)
      if match:
        urls.append(match.group(1))
  return [check_feed_url(u.strip()) for u in dict.fromkeys(urls)]


def entry_key(external_id, url):
  """What identifies a feed entry between polls: its id (guid), else its link; None if neither."""
  if external_id:
    return 'id:' + external_id
  return 'url:' + url if url else None


def raw_entry_key(record):
  """``entry_key`` of a raw feed record, from its fields as normalisation will make them."""
  return entry_key(normalize_inline(record.get(A.EXTERNAL_ID)), published_url(record.get(A.URL)))


def article_entry_key(article):
  """``entry_key`` of an article from a feed fetched over HTTP; None for any other input."""
  source = article.get(A.SOURCE_URI) or ''
  if (article.get(A.INPUT_FORMAT) not in (FEED_RECORD_FORMAT, SITEMAP_RECORD_FORMAT) or
      urllib.parse.urlsplit(source).scheme not in ('http', 'https')):
    return None
  return entry_key(article.get(A.EXTERNAL_ID), article.get(A.URL))


def conditional_headers(state):
  """If-None-Match / If-Modified-Since from a feed's stored validators."""
  headers = {}
  if state.get(STATE_ETAG):
    headers['If-None-Match'] = state[STATE_ETAG]
  if state.get(STATE_LAST_MODIFIED):
    headers['If-Modified-Since'] = state[STATE_LAST_MODIFIED]
  return headers


def _result(url, status=None, etag=None, last_modified=None, error_type=None,
            message=None, entries=0):
  return {RESULT_URL: url, RESULT_STATUS: status, RESULT_ETAG: etag,
          RESULT_LAST_MODIFIED: last_modified, RESULT_ERROR_TYPE: error_type,
          RESULT_MESSAGE: message, RESULT_ENTRIES: entries,
          RESULT_FETCHED_AT: datetime.datetime.now(datetime.timezone.utc).isoformat()}


make_result = _result  # a feed-state result, for the sitemap reader's documents too


def fetch_feed(client, url, state):
  """Fetches and parses one feed; returns ``(outputs, result)``.

  ``outputs`` are raw records, drops, warnings and dead letters as tagged
  Beam outputs, in order; ``result`` is the feed's result for the state.
  """
  try:
    response = client.get(url, headers=conditional_headers(state))
  except FetchError as error:
    message = str(error) if error.status is None else f'HTTP {error.status}: {error}'
    return ([stage.dead_letter(STAGE, url, error.kind, message)],
            _result(url, error.status, error_type=error.kind, message=message))
  etag = response.headers.get('etag') or state.get(STATE_ETAG)
  last_modified = response.headers.get('last-modified') or state.get(STATE_LAST_MODIFIED)
  if response.status == 304:
    return ([stage.drop(DROP_NOT_MODIFIED, STAGE, url)],
            _result(url, 304, etag, last_modified))
  parsed = parse_feed(response.body, response.headers)
  if not parsed.entries:
    message = f'HTTP {response.status}; {parsed.describe_failure()}'
    return ([stage.dead_letter(STAGE, url, 'EmptyFeed', message, response.body)],
            _result(url, response.status, etag, last_modified, 'EmptyFeed', message))
  outputs = ([stage.warn(WARN_MALFORMED_FEED, stage.describe_input(url, f'({parsed.warning})'))]
             if parsed.warning else [])
  seen = frozenset(state.get(STATE_SEEN) or ())
  for record in entries_to_raw_records(parsed, url):
    key = raw_entry_key(record)
    if key in seen:
      outputs.append(stage.seen_again(url, key))
      continue
    record[A.INPUT_FORMAT] = FEED_RECORD_FORMAT
    outputs.append(record)
  return outputs, _result(url, response.status, etag, last_modified,
                          message=parsed.warning, entries=len(parsed.entries))


def fetch_feed_safely(client, url, state):
  """``fetch_feed``, with any other failure turned into this feed's dead letter.

  One hostile feed (a broken redirect, text that cannot be encoded) must not
  cost the other feeds of its batch their articles or their saved state.
  """
  try:
    return fetch_feed(client, url, state)
  except Exception as error:  # pylint: disable=broad-except
    kind = type(error).__name__
    message = f'{kind}: {error}'
    return ([stage.dead_letter(STAGE, url, kind, message)],
            _result(url, error_type=kind, message=message))


class _FetchFeedsFn(HttpClientFn):
  """Fetches a batch of feeds on a thread pool: different hosts overlap."""

  def __init__(self, settings, states, prefetched=None):
    super().__init__(settings)
    self._states = dict(states)
    self._prefetched = dict(prefetched or {})  # url -> (outputs, result) fetched by the driver

  def process(self, urls):
    fetched = map_by_host(
        urls, lambda url: url,
        lambda url: self._prefetched.get(url) or fetch_feed_safely(
            self._client, url, self._states.get(url, {})),
        self._settings.max_per_host)
    for outputs, result in fetched:
      yield from outputs
      yield beam.pvalue.TaggedOutput(FEED_RESULTS, result)


FEED_RESULTS = 'feed_results'


class FetchFeeds(beam.PTransform):
  """Fetches feed URLs into raw records (see the module docstring).

  Returns StageOutputs whose reports hold each feed's result (``feeds``) and
  the input format of each feed (``inputs``).
  """

  def __init__(self, urls, settings, states, prefetched=None, label=None):
    super().__init__(label)
    self._urls = list(urls)
    self._settings = settings
    self._states = {u: states[u] for u in self._urls if u in states}
    self._prefetched = dict(prefetched or {})  # see pipeline/poll.py: not fetched again

  def expand(self, pbegin):
    fetched = (pbegin
               | 'ListFeeds' >> beam.Create(self._urls)
               | 'SpreadFeeds' >> beam.Reshuffle()
               | 'BatchFeeds' >> beam.BatchElements(min_batch_size=FEEDS_PER_BATCH,
                                                    max_batch_size=FEEDS_PER_BATCH)
               | 'Fetch' >> stage.ApplyStage(
                   _FetchFeedsFn(self._settings, self._states, self._prefetched), STAGE,
                   fan_in=True,
                   report_tags={FEED_RESULTS: R.FEEDS}))
    return stage.with_input_formats(fetched, lambda _: HTTP_FEED_FORMAT, 'Feed',
                                    seen_format=HTTP_FEED_FORMAT)
