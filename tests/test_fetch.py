"""Feeds over HTTP against a real server on 127.0.0.1 (tests/feed_server.py)."""

import ast
import collections
import json
import random
import re
import threading

import duckdb
import pytest

from pipeline import state as feed_state
from tests.conftest import files_under
from tests.conftest import run_newsbeam
from tests.conftest import shared_eval
from tests.feed_server import ETAG
from tests.feed_server import LAST_MODIFIED
from tests.feed_server import FeedServer
from transforms.net import feeds as F
from transforms.extract.html import html_fragment_to_text
from transforms.net.feeds import FeedListError
from transforms.net.feeds import conditional_headers
from transforms.net.feeds import parse_feed_list
from transforms.net.http import FetchError
from transforms.net.http import HttpClient
from transforms.net.http import HttpSettings
from transforms.net.http import backoff_seconds
from transforms.net.http import is_forbidden_address
from transforms.net.http import parse_networks
from transforms.net.http import retry_after_seconds
from transforms.extract.normalize import normalize_text
from transforms.read.feeds import parse_feed

FAST = HttpSettings(deadline=2.0, max_bytes=1 << 20, retries=2, backoff_base=0.05,
                    backoff_max=0.1, host_delay=0.0, max_per_host=4)
FAST_FLAGS = ['--http-timeout', '2', '--http-max-bytes', str(1 << 20),
              '--http-retries', '2', '--host-delay', '0', '--ner-model', 'en=']


@pytest.fixture(scope='module')
def server():
  srv = FeedServer().start()
  yield srv
  srv.stop()


@pytest.fixture(scope='module')
def client():
  return HttpClient(FAST)


@pytest.mark.parametrize('address, forbidden', [
    ('127.0.0.1', True), ('10.1.2.3', True), ('172.16.0.1', True), ('192.168.1.1', True),
    ('169.254.169.254', True), ('100.64.0.1', True), ('0.0.0.0', True), ('::1', True),
    ('fc00::1', True), ('fe80::1', True), ('::ffff:10.0.0.1', True), ('224.0.0.1', True),
    ('93.184.216.34', False), ('2606:2800:220:1:248:1893:25c8:1946', False),
])
def test_forbidden_addresses(address, forbidden):
  assert is_forbidden_address(address) is forbidden


def test_allowed_private_networks():
  allowed = parse_networks(['127.0.0.1/32,10.0.0.0/8'])
  assert not is_forbidden_address('127.0.0.1', allowed)
  assert not is_forbidden_address('10.9.9.9', allowed)
  assert is_forbidden_address('169.254.169.254', allowed)
  assert not is_forbidden_address('169.254.169.254', parse_networks(['all']))


def test_retry_after_and_backoff():
  assert retry_after_seconds('7') == 7.0
  assert retry_after_seconds('Wed, 21 Oct 2015 07:28:00 GMT', now=1445412470) == 10.0
  assert retry_after_seconds('soon') is None
  rng = random.Random(1)
  waits = [backoff_seconds(n, FAST, rng) for n in range(6)]
  assert all(0 <= w <= FAST.backoff_max for w in waits)


def test_feed_lists():
  assert parse_feed_list('# news\nhttp://a.org/rss  # main\n\nhttps://b.org/atom\nhttp://a.org/rss\n') == [
      'http://a.org/rss', 'https://b.org/atom']
  opml = ('<?xml version="1.0"?><opml version="2.0"><body><outline text="News">'
          '<outline type="rss" xmlUrl="https://c.org/feed"/></outline>'
          '<outline xmlUrl="http://d.org/rss"/></body></opml>')
  assert parse_feed_list(opml) == ['https://c.org/feed', 'http://d.org/rss']
  with pytest.raises(FeedListError, match='only http and https'):
    parse_feed_list('file:///etc/passwd\n')
  with pytest.raises(FeedListError, match='OPML'):
    parse_feed_list('<opml><body>')


def test_conditional_headers_and_state_updates():
  assert conditional_headers({}) == {}
  assert conditional_headers({'etag': '"x"', 'last_modified': 'Mon'}) == {
      'If-None-Match': '"x"', 'If-Modified-Since': 'Mon'}
  ok = {F.RESULT_URL: 'u', F.RESULT_STATUS: 200, F.RESULT_ETAG: '"a"',
        F.RESULT_LAST_MODIFIED: None, F.RESULT_ERROR_TYPE: None, F.RESULT_MESSAGE: None,
        F.RESULT_ENTRIES: 3, F.RESULT_FETCHED_AT: 't1'}
  failed = dict(ok, **{F.RESULT_STATUS: 500, F.RESULT_ETAG: None,
                       F.RESULT_ERROR_TYPE: 'HttpStatus', F.RESULT_MESSAGE: 'HTTP 500'})
  state = feed_state.update_feed_state({}, [ok])
  assert state['u'] == {'last_status': 200, 'consecutive_failures': 0, 'last_error': None,
                        'last_success_at': 't1', 'etag': '"a"', 'last_modified': None}
  for _ in range(3):
    state = feed_state.update_feed_state(state, [failed])
  assert state['u']['etag'] == '"a"' and state['u']['consecutive_failures'] == 3
  assert feed_state.failing_feeds(state) == [('u', 3, 'HTTP 500')]
  assert feed_state.update_feed_state(state, [ok])['u']['consecutive_failures'] == 0


def test_client_conditional_get(server, client):
  first = client.get(f'{server.base}/etag.xml')
  assert first.status == 200 and first.headers['etag'] == ETAG
  again = client.get(f'{server.base}/etag.xml', headers={'If-None-Match': ETAG})
  assert again.status == 304 and again.body == b''
  assert server.headers_of('/etag.xml')[-1]['User-Agent'].startswith('newsbeam/')


def test_client_retries_5xx_and_429(server, client):
  assert client.get(f'{server.base}/500-then-200').status == 200
  assert server.hits['/500-then-200'] == 2
  assert client.get(f'{server.base}/429-then-200').status == 200
  assert server.hits['/429-then-200'] == 2


@pytest.mark.parametrize('path, kind', [
    ('/404', 'HttpStatus'), ('/drip', 'DeadlineExceeded'), ('/big', 'BodyTooLarge'),
    ('/bomb', 'BodyTooLarge'), ('/loop', 'TooManyRedirects'),
])
def test_client_failures(server, client, path, kind):
  with pytest.raises(FetchError) as error:
    client.get(f'{server.base}{path}')
  assert error.value.kind == kind


def test_guarded_fetches_refuse_private_addresses(server):
  guarded = HttpClient(FAST)
  with pytest.raises(FetchError) as error:
    guarded.get(f'{server.base}/page/1', guarded=True)
  assert error.value.kind == 'ForbiddenAddress'
  local_ok = HttpClient(HttpSettings(**{**FAST.__dict__,
                                        'allowed_private': parse_networks(['127.0.0.1/32'])}))
  assert local_ok.get(f'{server.base}/page/1', guarded=True).status == 200
  with pytest.raises(FetchError) as error:
    local_ok.get(f'{server.base}/to-private', guarded=True)
  assert error.value.kind == 'ForbiddenAddress' and '169.254.169.254' in str(error.value)
  assert '/latest/meta-data/' not in server.hits


def _parse_in_thread(data):
  result = {}
  thread = threading.Thread(target=lambda: result.setdefault('feed', parse_feed(data)),
                            daemon=True)
  thread.start()
  thread.join(timeout=1.0)
  return thread.is_alive(), result.get('feed')


def test_hostile_xml_neither_expands_nor_reads_files():
  lol = b'<!ENTITY lol0 "lol">' + b''.join(
      b'<!ENTITY lol%d "%s">' % (i, b'&lol%d;' % (i - 1) * 10) for i in range(1, 10))
  laughs = (b'<?xml version="1.0"?><!DOCTYPE rss [' + lol + b']><rss version="2.0">'
            b'<channel><title>&lol9;</title><item><title>&lol9;</title>'
            b'<description>d</description></item></channel></rss>')
  still_running, parsed = _parse_in_thread(laughs)
  assert not still_running, 'billion laughs took more than a second'
  assert len(str(parsed.feed_title or '')) < 1000
  assert all(len(str(e.get('title', ''))) < 1000 for e in parsed.entries)
  xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
         b'<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title>'
         b'<description>&xxe;</description></item></channel></rss>')
  still_running, parsed = _parse_in_thread(xxe)
  assert not still_running
  assert 'root:' not in json.dumps(parsed.entries, default=str)


def _expected_entry_text(expect):
  """The plain text an expectation requires of entry 0, or None."""
  match = re.fullmatch(r"not bozo and entries\[0\](?:\['(description|summary)'\]|\.(summary|description)) == (u?'.*')", expect)
  if not match:
    return None
  try:
    value = ast.literal_eval(match.group(3).lstrip('u'))
  except (ValueError, SyntaxError):
    return None
  return normalize_text(html_fragment_to_text(value)) or None


def test_every_feedparser_test_feed_is_accounted_for(server, tmp_path):
  root = shared_eval('feeds', 'feedparser-tests')
  urls = server.eval_urls('feedparser-tests')
  assert len(urls) == 398
  feeds = tmp_path / 'feeds.txt'
  feeds.write_text('\n'.join(urls))
  output = tmp_path / 'out'
  result = run_newsbeam('--feeds', feeds, '--output', output, '--dedup-window-days', '0',
                        '--keep-boilerplate', *FAST_FLAGS)
  m = result.manifest
  assert m['accounting_balanced']
  assert dict(m['inputs_by_format'])['http_feed'] == m['inputs_read']
  seen = collections.defaultdict(set)
  for table, column in (('articles', 'source_uri'), ('drops', 'source_uri'),
                        ('dead_letters', 'source_uri')):
    if any(f.startswith(table + '/') for f in files_under(output)):
      for (uri,) in duckdb.sql(f"SELECT {column} FROM read_parquet('{output}/{table}/**/*.parquet', "
                               "hive_partitioning = true)").fetchall():
        seen[uri].add(table)
  assert set(urls) <= set(seen), set(urls) - set(seen)
  dead = dict(duckdb.sql(
      f"SELECT source_uri, message FROM read_parquet('{output}/dead_letters/**/*.parquet', "
      "hive_partitioning = true)").fetchall())
  assert all(message for message in dead.values())

  # Entry text per feed URL: of its articles, and of the article that a
  # syndicated copy (dropped as duplicate_content) duplicates.
  texts = collections.defaultdict(list)
  by_id = {}
  for uri, article_id, text in duckdb.sql(
      f"SELECT source_uri, article_id, text FROM read_parquet('{output}/articles/**/*.parquet', "
      "hive_partitioning = true)").fetchall():
    texts[uri].append(text)
    by_id[article_id] = text
  for uri, duplicate_of in duckdb.sql(
      f"SELECT source_uri, duplicate_of FROM read_parquet('{output}/drops/**/*.parquet', "
      "hive_partitioning = true) WHERE reason = 'duplicate_content'").fetchall():
    texts[uri].append(by_id[duplicate_of])
  checked = 0
  expectations = [json.loads(line) for line in
                  (root / 'expectations.jsonl').read_text(encoding='utf-8').splitlines()]
  for expectation in expectations:
    expected = _expected_entry_text(expectation['expect'])
    url = f"{server.base}/eval/feedparser-tests/{expectation['path']}"
    if expected is None or url not in texts:
      continue
    assert expected in texts[url], (expectation['path'], expected, texts[url])
    checked += 1
  assert checked >= 12  # the rest were dropped as duplicate_id or empty_text


def test_header_charsets_are_honoured(server, client):
  root = shared_eval('feeds', 'feedparser-tests')
  checked = 0
  for line in (root / 'expectations.jsonl').read_text(encoding='utf-8').splitlines():
    expectation = json.loads(line)
    match = re.fullmatch(r"not bozo and encoding == '([^']+)'", expectation['expect'])
    if not match or not expectation['http_headers']:
      continue
    response = client.get(f"{server.base}/eval/feedparser-tests/{expectation['path']}")
    parsed = parse_feed(response.body, response.headers)
    assert parsed.encoding == match.group(1), expectation['path']
    checked += 1
  assert checked >= 15


def test_second_run_sends_validators_and_writes_nothing(server, tmp_path):
  output = tmp_path / 'out'
  feeds = [f'{server.base}/etag.xml', f'{server.base}/lastmod.xml']
  args = ['--feed', feeds[0], '--feed', feeds[1], '--output', output, *FAST_FLAGS]
  first = run_newsbeam(*args)
  assert first.manifest['articles_written'] == 2
  state = json.loads((output / '_state' / 'feeds.json').read_text())['feeds']
  assert state[feeds[0]]['etag'] == ETAG
  assert state[feeds[1]]['last_modified'] == LAST_MODIFIED
  second = run_newsbeam(*args)
  assert server.headers_of('/etag.xml')[-1]['If-None-Match'] == ETAG
  assert server.headers_of('/lastmod.xml')[-1]['If-Modified-Since'] == LAST_MODIFIED
  m = second.manifest
  assert m['articles_written'] == 0
  assert dict(m['dropped_by_reason']) == {'not_modified': 2}
  assert dict(m['feeds_by_status']) == {'304': 2}


def test_failing_feeds_are_counted_and_reported(server, tmp_path):
  output = tmp_path / 'out'
  for _ in range(3):
    result = run_newsbeam('--feed', f'{server.base}/404', '--output', output, *FAST_FLAGS)
  m = result.manifest
  assert dict(m['dead_lettered_by_stage']) == {'fetch': 1}
  assert dict(m['feeds_by_status']) == {'HttpStatus': 1}
  assert [(f['url'], f['consecutive_failures']) for f in m['failing_feeds']] == [
      (f'{server.base}/404', 3)]


def test_full_text_with_fallbacks_and_private_refusal(server, tmp_path):
  output = tmp_path / 'out'
  run_newsbeam('--feed', f'{server.base}/links.xml', '--output', output, '--fetch-full-text',
               '--allow-private-hosts', '127.0.0.1/32', *FAST_FLAGS)
  rows = {title: (origin, error, text) for title, origin, error, text in duckdb.sql(
      f"SELECT title, text_origin, full_text_error, text FROM "
      f"read_parquet('{output}/articles/**/*.parquet', hive_partitioning = true)").fetchall()}
  origin, error, text = rows['Good one']
  assert origin == 'page' and error is None and 'the whole story of the council' in text
  assert rows['Missing page'][0] == 'feed' and 'HTTP 404' in rows['Missing page'][1]
  assert rows['Private'][0] == 'feed' and 'ForbiddenAddress' in rows['Private'][1]
  assert rows['Redirected'][0] == 'feed' and '169.254.169.254' in rows['Redirected'][1]
  assert rows['Private'][2] == 'Feed summary of private, short.'


def test_fetch_feeds_and_full_text_transforms(server):
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  from apache_beam.testing.test_pipeline import TestPipeline  # pylint: disable=import-outside-toplevel
  from apache_beam.testing.util import assert_that  # pylint: disable=import-outside-toplevel
  from apache_beam.testing.util import equal_to  # pylint: disable=import-outside-toplevel
  from schemas import article as A  # pylint: disable=import-outside-toplevel
  from transforms.net.feeds import FetchFeeds  # pylint: disable=import-outside-toplevel
  from transforms.net.full_text import FetchFullText  # pylint: disable=import-outside-toplevel
  settings = HttpSettings(**{**FAST.__dict__,
                             'allowed_private': parse_networks(['127.0.0.1/32'])})
  urls = [f'{server.base}/etag.xml', f'{server.base}/404', f'{server.base}/links.xml']
  with TestPipeline() as p:
    fetched = p | FetchFeeds(urls, settings, {urls[0]: {'etag': ETAG}})
    assert_that(fetched.records | beam.Map(lambda r: r[A.TITLE]),
                equal_to(['Good one', 'Missing page', 'Private', 'Redirected']),
                label='Entries')
    assert_that(fetched.dropped | beam.Map(lambda d: d['reason']),
                equal_to(['not_modified']), label='NotModified')
    assert_that(fetched.dead_letters | beam.Map(lambda d: (d['stage'], d['error_type'])),
                equal_to([('fetch', 'HttpStatus')]), label='DeadLetters')
    assert_that(fetched.reports['feeds'] | beam.Map(lambda r: (r['url'], r['status'])),
                equal_to([(urls[0], 304), (urls[1], 404), (urls[2], 200)]), label='Results')
    full = fetched.records | FetchFullText(settings)
    assert_that(full.records | beam.Map(lambda r: (r[A.TITLE], r[A.TEXT_ORIGIN])),
                equal_to([('Good one', 'page'), ('Missing page', 'feed'),
                          ('Private', 'feed'), ('Redirected', 'feed')]), label='FullText')


class _Answer:
  """What HttpClient.get returns, for fetch_feed without a server."""

  def __init__(self, body, status=200):
    self.body = body
    self.status = status
    self.headers = {'content-type': 'application/rss+xml'}


class _OneFeed:
  def __init__(self, body):
    self._body = body

  def get(self, url, headers=None):
    return _Answer(self._body)


SEEN_FEED = b"""<?xml version="1.0"?><rss version="2.0"
xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel><title>Seen</title>
<item><title>Old story</title><guid>old-1</guid><link>https://example.org/old</link>
<description>Written by an earlier run.</description></item>
<item><title>Old link-only story</title><link> https://example.org/old-2 </link>
<description>Also written before; no guid.</description></item>
<item><title>New story</title><guid>new-1</guid>
<link>http://feedproxy.google.com/~r/Seen/~3/x1/new</link>
<feedburner:origLink>https://example.org/new</feedburner:origLink>
<description>Not seen before.</description></item>
</channel></rss>"""


def test_entries_written_before_are_counted_seen_again_before_extraction():
  url = 'https://feeds.example.org/seen.xml'
  state = {F.STATE_SEEN: ['id:old-1', 'url:https://example.org/old-2']}
  outputs, result = F.fetch_feed(_OneFeed(SEEN_FEED), url, state)
  seen = [o.value for o in outputs if getattr(o, 'tag', None) == 'seen_again']
  records = [o for o in outputs if isinstance(o, dict)]
  assert seen == [(url, 'id:old-1'), (url, 'url:https://example.org/old-2')]
  assert [r['title'] for r in records] == ['New story']
  assert records[0]['original_link'] == 'https://example.org/new'
  assert result[F.RESULT_ENTRIES] == 3
  # with no state every entry is passed on
  outputs, _ = F.fetch_feed(_OneFeed(SEEN_FEED), url, {})
  assert len([o for o in outputs if isinstance(o, dict)]) == 3


def test_a_malformed_feed_warning_names_the_feed_and_the_reason():
  broken = SEEN_FEED.replace(b'</channel></rss>', b'<item><title>cut')
  outputs, _ = F.fetch_feed(_OneFeed(broken), 'https://feeds.example.org/broken.xml', {})
  warnings = [o.value for o in outputs if getattr(o, 'tag', None) == 'warnings']
  assert len(warnings) == 1
  kind, where = warnings[0]
  assert kind == 'malformed_feed'
  assert where.startswith('https://feeds.example.org/broken.xml (')


def test_seen_entries_go_first_in_the_feed_state_and_are_capped(monkeypatch):
  ok = {F.RESULT_URL: 'u', F.RESULT_STATUS: 200, F.RESULT_ETAG: None,
        F.RESULT_LAST_MODIFIED: None, F.RESULT_ERROR_TYPE: None, F.RESULT_MESSAGE: None,
        F.RESULT_ENTRIES: 2, F.RESULT_FETCHED_AT: 't1'}
  state = feed_state.update_feed_state(
      {'u': {F.STATE_SEEN: ['id:a', 'id:b']}}, [ok],
      [{'feed': 'u', 'key': 'id:c'}, {'feed': 'u', 'key': 'id:a'},
       {'feed': 'not-fetched', 'key': 'id:z'}])
  assert state['u'][F.STATE_SEEN] == ['id:a', 'id:c', 'id:b']
  assert 'not-fetched' not in state
  monkeypatch.setattr(feed_state, 'MAX_SEEN_ENTRIES', 2)
  state = feed_state.update_feed_state(state, [ok], [{'feed': 'u', 'key': 'id:d'}])
  assert state['u'][F.STATE_SEEN] == ['id:d', 'id:a']
