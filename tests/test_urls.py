import datetime
import hashlib
import urllib.parse

import pytest

from schemas import article as A
from transforms.extract.normalize import normalize_record
from transforms.extract.urls import TRACKING_PARAMS
from transforms.extract.urls import canonicalize_url
from transforms.extract.urls import host_of
from transforms.extract.urls import legacy_article_id
from transforms.extract.urls import legacy_canonical_url
from transforms.extract.urls import make_article_id
from transforms.extract.urls import parse_tracking_params
from transforms.extract.urls import published_url
from transforms.extract.urls import unwrap_redirect

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CANONICAL = 'https://www.example.com/news/story?id=7&page=2'
VARIANTS = (
    'https://www.example.com/news/story?id=7&page=2',
    'https://www.example.com/news/story?page=2&id=7',  # query order
    'https://www.example.com/news/story?id=7&page=2&utm_source=rss&utm_medium=feed',
    'https://www.example.com/news/story?ref=rss&id=7&page=2',
    'https://www.example.com/news/./story?id=7&page=2',  # ./
    'https://www.example.com/news/archive/../story?id=7&page=2',  # ../
    'https://www.example.com:443/news/story?id=7&page=2',  # default port
    'https://WWW.EXAMPLE.COM/news/story?id=7&page=2',  # upper-case host
    'HTTPS://www.example.com/news/story?id=7&page=2#comments',  # scheme, fragment
    '  https://www.example.com/news/story?fbclid=x&id=7&gclid=y&page=2&_ga=1  ',
)


def _record(url):
  raw = {A.SOURCE_URI: 'in/a.jsonl#L1', A.INPUT_FORMAT: 'jsonl', A.URL: url,
         A.TITLE: 'T', A.TEXT: 'Body text.'}
  return normalize_record(raw, 'run1', NOW)[0]


def test_url_variants_give_one_canonical_url_and_one_article_id():
  records = [_record(url) for url in VARIANTS]
  assert {r[A.CANONICAL_URL] for r in records} == {CANONICAL}
  assert {r[A.ARTICLE_ID] for r in records} == {make_article_id(CANONICAL, None, None, None)}
  assert [r[A.URL] for r in records] == [url.strip() for url in VARIANTS]
  assert {r[A.SOURCE] for r in records} == {'example.com'}


def test_canonical_url_rules():
  assert canonicalize_url('http://example.com') == 'http://example.com/'
  assert canonicalize_url('http://example.com:80/a') == 'http://example.com/a'
  assert canonicalize_url('http://example.com:8080/x') == 'http://example.com:8080/x'
  assert canonicalize_url('http://[::1]:80/a') == 'http://[::1]/a'
  assert canonicalize_url('https://bücher.de/ä?x=ü') == 'https://xn--bcher-kva.de/%C3%A4?x=%C3%BC'
  assert canonicalize_url('https://ex.com/a?b&a=') == 'https://ex.com/a?a=&b='
  assert canonicalize_url('https://ex.com/?UTM_Campaign=x&Ref_Src=twsrc&cmpid=1&ncid=2&'
                          'ocid=3&yclid=4&spm=5&mc_cid=6&mc_eid=7&igshid=8&dclid=9&'
                          'msclkid=10&rss=1&q=kept') == 'https://ex.com/?q=kept'
  assert canonicalize_url('https://ex.com/?source=app&q=1', ('source',)) == 'https://ex.com/?q=1'
  for bad in ('javascript:alert(1)', 'file:///etc/passwd', 'http://[bad', 'mailto:a@b.c',
              'http://example.org:99999/', '', None, 42):
    assert canonicalize_url(bad) is None, bad


def test_tracking_params_are_a_documented_set():
  assert {'fbclid', 'gclid', 'dclid', 'msclkid', 'mc_cid', 'mc_eid', 'igshid', 'ref',
          'ref_src', 'rss', 'cmpid', 'ncid', 'ocid', '_ga', 'yclid', 'spm'} <= TRACKING_PARAMS


def test_published_url_is_trimmed_and_validated():
  assert published_url('  https://Example.org/A?b=1#x \n') == 'https://Example.org/A?b=1#x'
  assert published_url('ftp://example.org/a') is None
  assert published_url('https://example.org/\udc80') == 'https://example.org/\ufffd'


def test_parse_tracking_params():
  assert parse_tracking_params(' Source, at_medium ,,') == ('source', 'at_medium')
  assert parse_tracking_params('') == ()
  with pytest.raises(ValueError):
    parse_tracking_params('a b')


def test_host_of():
  assert host_of('https://www.bbc.co.uk/x') == 'bbc.co.uk'
  assert host_of('not a url') == ''


def test_legacy_scheme_is_the_previous_versions():
  assert legacy_canonical_url(
      'HTTPS://WWW.Example.COM:443/a/./b?utm_source=x&z=3&ref=rss&fbclid=y#frag'
  ) == 'https://www.example.com/a/./b?z=3&ref=rss'
  assert legacy_canonical_url('http://example.com') == 'http://example.com/'
  assert legacy_canonical_url('javascript:alert(1)') is None
  expected = hashlib.sha256('url\x1fhttps://x.org/a?b=1&a=2'.encode()).hexdigest()[:32]
  assert legacy_article_id('https://x.org/a?b=1&a=2&utm_medium=e', None, 't', 'x') == expected
  content = hashlib.sha256('content\x1fs\x1ft\x1fb'.encode()).hexdigest()[:32]
  assert legacy_article_id(None, 's', 't', 'b') == content == make_article_id(None, 's', 't', 'b')


def test_records_carry_the_legacy_id_only_when_it_differs():
  changed = _record('https://www.example.com/news/story?page=2&id=7')
  assert changed[A.LEGACY_ARTICLE_ID] == legacy_article_id(
      'https://www.example.com/news/story?page=2&id=7', None, None, None)
  assert changed[A.LEGACY_ARTICLE_ID] != changed[A.ARTICLE_ID]
  assert _record(CANONICAL)[A.LEGACY_ARTICLE_ID] is None
  assert _record(None)[A.LEGACY_ARTICLE_ID] is None


# Redirect wrappers whose target is in the link, as aggregators and mailers publish them.
TARGET = 'https://www1.site.example/politik/2024/ausschuss-tagt.html'
GOOGLE_NEWS_OLD_ID = 'CBMiK2h0dHBzOi8vd3d3LmV4YW1wbGUuY29tLzIwMjAvMDEvMDIvc3RvcnkuaHRtbNIBAA'
WRAPPED = (
    f'https://redir.example/rd/2/click/8812*{TARGET}',
    'https://redir.example/rd/2/click/8812*https%3A%2F%2Fwww1.site.example%2Fpolitik%2F'
    '2024%2Fausschuss-tagt.html',
    f'https://news.google.com/news/url?sa=t&fd=R&ct2=us&url={TARGET}&usg=AFQjCN',
    f'https://www.google.com/url?rct=j&sa=t&q={TARGET}&ved=0ah',
    'https://l.facebook.com/l.php?u=https%3A%2F%2Fwww1.site.example%2Fpolitik%2F2024%2F'
    'ausschuss-tagt.html%3Futm_source%3Dfb&h=AT3x',
    f'https://click.mailer.example/track?target={TARGET}',
    # a wrapper around a wrapper, the inner value encoded twice
    'https://out.example/go?url=https%3A%2F%2Fl.facebook.com%2Fl.php%3Fu%3Dhttps%253A%252F'
    '%252Fwww1.site.example%252Fpolitik%252F2024%252Fausschuss-tagt.html',
)


@pytest.mark.parametrize('wrapped', WRAPPED)
def test_redirect_wrappers_are_unwrapped_to_their_target(wrapped):
  assert unwrap_redirect(wrapped).split('?')[0] == TARGET
  assert canonicalize_url(wrapped) == canonicalize_url(TARGET)


def test_wrappers_without_a_target_in_the_link_stay():
  for url in ('https://t.co/Xy12AbC9', 'https://www.google.com/search?q=https://a.example/b',
              'https://site.example/share?url=javascript:alert(1)',
              'https://site.example/a?u=not-a-url', 'https://site.example/r?url=//a.example/b',
              # a current Google News id: opaque, the target is not in it
              'https://news.google.com/rss/articles/CBMiAUFVX3lxTE1hYmNkZWZnaGlqaw?oc=5'):
    assert unwrap_redirect(url) == url
  assert unwrap_redirect('not a link') is None


def test_google_news_article_ids_that_hold_the_link_are_unwrapped():
  for path in ('rss/articles', 'articles'):
    url = f'https://news.google.com/{path}/{GOOGLE_NEWS_OLD_ID}?oc=5&hl=en-US'
    assert unwrap_redirect(url) == 'https://www.example.com/2020/01/02/story.html'


def test_feedburner_links_use_the_entrys_original_link():
  proxy = 'http://feedproxy.google.com/~r/SiteNews/~3/aB1cD2eF/ausschuss-tagt.html'
  assert canonicalize_url(proxy, original_link=TARGET) == canonicalize_url(TARGET)
  assert canonicalize_url(proxy) == proxy  # no origLink: the target is unknown
  # origLink counts only for a Feedburner link
  assert canonicalize_url('https://a.example/x', original_link=TARGET) == 'https://a.example/x'


def test_unwrapping_is_bounded():
  nested = TARGET
  for level in range(10):
    nested = f'https://r{level}.example/go?url={urllib.parse.quote(nested, safe="")}'
  # at most MAX_UNWRAP_LEVELS wrappers are followed; the result is still a link
  assert unwrap_redirect(nested).startswith('https://r')
  huge = f'https://redir.example/{"a" * 10_000}*{TARGET}'
  assert unwrap_redirect(huge) == huge


def test_a_wrapped_link_keeps_its_published_form_and_takes_the_targets_id():
  wrapped = _record(WRAPPED[0])
  direct = _record(TARGET)
  assert wrapped[A.URL] == WRAPPED[0]
  assert wrapped[A.CANONICAL_URL] == direct[A.CANONICAL_URL] == TARGET
  assert wrapped[A.ARTICLE_ID] == direct[A.ARTICLE_ID]
  assert wrapped[A.SOURCE] == 'www1.site.example'
