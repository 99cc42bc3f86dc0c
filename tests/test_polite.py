"""Polite fetching: robots.txt for pages, Retry-After per host (loopback servers only)."""

import threading
import time

import apache_beam as beam
import duckdb
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to

from schemas import article as A
from tests.conftest import run_newsbeam
from tests.feed_server import FeedServer
from transforms.net import full_text as T
from transforms.net import http as H

LOOPBACK = H.parse_networks(['127.0.0.0/8'])
QUICK = H.HttpSettings(deadline=2.0, retries=0, backoff_base=0.05, backoff_max=0.1,
                       host_delay=0.0, max_per_host=4, allowed_private=LOOPBACK)
ROBOTS = 'User-agent: *\nDisallow: /private/\n'
FEED_TEXT = 'Feed summary of disallowed page, short.'


@pytest.fixture
def server():
  srv = FeedServer().start()
  yield srv
  srv.stop()


def test_robots_rules_take_the_longest_match_and_wildcards():
  rules = H.parse_robots('User-agent: *\nDisallow: /\nAllow: /news\nDisallow: /news/*.pdf$\n'
                         'Allow: /same\nDisallow: /same\n\n'
                         'User-agent: newsbeam\nDisallow: /drafts/\n')
  other = 'otherbot/2.0'
  assert [rules.can_fetch(other, f'http://x.org{path}') for path in (
      '/news/a', '/about', '/news/a.pdf', '/news/a.pdfx', '/same/1')] == [
          True, False, False, True, True]
  ours = H.make_user_agent('ops@example.org')
  assert [rules.can_fetch(ours, f'http://x.org{path}') for path in ('/drafts/1', '/about')] == [
      False, True]


@pytest.mark.parametrize('error, refused', [
    (H.FetchError(H.ERR_STATUS, 'HTTP 404', 404), None),
    (H.FetchError(H.ERR_STATUS, 'HTTP 401', 401), None),
    (H.FetchError(H.ERR_REDIRECTS, 'loop', 302), None),
    (H.FetchError(H.ERR_FORBIDDEN, 'refused'), None),
    (H.FetchError(H.ERR_STATUS, 'HTTP 503', 503),
     'robots.txt unreachable (HTTP 503): host skipped for this run'),
    (H.FetchError(H.ERR_STATUS, 'HTTP 429', 429),
     'robots.txt unreachable (HTTP 429): host skipped for this run'),
    (H.FetchError(H.ERR_TIMEOUT, 'timed out'),
     'robots.txt unreachable (Timeout): host skipped for this run'),
    (H.FetchError(H.ERR_CONNECTION, 'refused'),
     'robots.txt unreachable (ConnectionFailed): host skipped for this run'),
])
def test_robots_fetch_failures_follow_rfc_9309(error, refused):
  policy = H.robots_policy_of(error=error)
  assert policy.refusal('http://x.org/a', 'newsbeam/1') == refused


def test_a_disallowed_page_is_not_fetched_and_keeps_its_feed_text(server, tmp_path):
  server.robots = ROBOTS
  output = tmp_path / 'out'
  run_newsbeam('--feed', f'{server.base}/robots-links.xml', '--output', output,
               '--fetch-full-text', '--allow-private-hosts', '127.0.0.1/32',
               '--host-delay', '0', '--http-retries', '0', '--ner-model', 'en=')
  rows = {title: (origin, error, text) for title, origin, error, text in duckdb.sql(
      "SELECT title, text_origin, full_text_error, text FROM "
      f"read_parquet('{output}/articles/**/*.parquet', hive_partitioning = true)").fetchall()}
  assert rows['Disallowed page'] == ('feed', 'robots.txt disallows /private/1', FEED_TEXT)
  assert rows['Allowed page'][:2] == ('page', None)
  assert '/private/1' not in server.hits
  assert server.hits['/robots.txt'] == 1
  assert server.hits['/page/1'] == 1


def test_ignore_robots_fetches_the_disallowed_page(server):
  server.robots = ROBOTS
  settings = H.HttpSettings(**{**QUICK.__dict__, 'respect_robots': False})
  entries = [{A.SOURCE_URI: f'{server.base}/robots-links.xml', A.URL: f'{server.base}/private/1',
              A.TITLE: 'Disallowed page', A.TEXT: FEED_TEXT, A.TEXT_ORIGIN: A.TEXT_FROM_FEED}]
  with TestPipeline() as p:
    fetched = p | beam.Create(entries) | T.FetchFullText(settings)
    assert_that(fetched.records | beam.Map(lambda r: (r[A.TEXT_ORIGIN], r[A.FULL_TEXT_ERROR])),
                equal_to([('page', None)]))
  assert server.hits == {'/private/1': 1}


def test_an_unreachable_robots_txt_refuses_the_host_once_fetched(server):
  server.robots = 503
  client = H.HttpClient(QUICK)
  reasons = [T.page_text(client, f'{server.base}/page/{n}')[1] for n in (1, 2)]
  assert reasons == ['robots.txt unreachable (HTTP 503): host skipped for this run'] * 2
  assert server.hits == {'/robots.txt': 1}


def test_a_missing_robots_txt_allows_everything(server):
  client = H.HttpClient(QUICK)
  text, reason = T.page_text(client, f'{server.base}/private/1')
  assert reason is None and 'the whole story of the council meeting' in text
  assert server.hits == {'/robots.txt': 1, '/private/1': 1}


def _first_time(server, path):
  return next(t for t, p in server.log if p == path)


def test_retry_after_holds_back_its_host_and_no_other():
  first = FeedServer('127.0.0.1').start()
  second = FeedServer('127.0.0.2').start()
  try:
    client = H.HttpClient(H.HttpSettings(**{**QUICK.__dict__, 'retries': 1}))
    results = {}

    def get(name, url):
      results[name] = client.get(url).status

    limited = threading.Thread(target=get, args=('limited', f'{first.base}/429-retry-after/2'))
    limited.start()
    while '/429-retry-after/2' not in first.hits:
      time.sleep(0.01)
    time.sleep(0.3)  # the 429 is back at the client: its host is held back from now on
    others = [threading.Thread(target=get, args=('same_host', f'{first.base}/page/1')),
              threading.Thread(target=get, args=('other_host', f'{second.base}/page/1'))]
    for thread in others:
      thread.start()
    for thread in [limited] + others:
      thread.join(timeout=10)
    assert results == {'limited': 200, 'same_host': 200, 'other_host': 200}
    asked_at = _first_time(first, '/429-retry-after/2')
    retried_at = [t for t, p in first.log if p == '/429-retry-after/2'][1]
    assert retried_at - asked_at >= 2.0
    assert _first_time(first, '/page/1') - asked_at >= 2.0
    assert _first_time(second, '/page/1') - asked_at < 1.0
  finally:
    first.stop()
    second.stop()
