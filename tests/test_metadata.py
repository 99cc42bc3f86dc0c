"""Page metadata: JSON-LD, Open Graph and <meta> in several shapes, feed entries, cleaning."""

import json

import pytest

from schemas import article as A
from transforms.extract import metadata as M
from transforms.read.feeds import entries_to_raw_records
from transforms.read.feeds import parse_feed

PAGE_URL = 'https://news.example/world/2024/story.html'


def page(head='', body='<p>Story.</p>'):
  return f'<html><head><title>T</title>{head}</head><body>{body}</body></html>'


def json_ld(value):
  return f'<script type="application/ld+json">{json.dumps(value)}</script>'


@pytest.mark.parametrize('image, expected', [
    ('https://cdn.example/a.jpg', 'https://cdn.example/a.jpg'),
    ({'@type': 'ImageObject', 'url': '/img/b.jpg', 'width': 800}, 'https://news.example/img/b.jpg'),
    ([{'@type': 'ImageObject', 'contentUrl': 'https://cdn.example/c.jpg'},
      'https://cdn.example/d.jpg'], 'https://cdn.example/c.jpg'),
    (['', 'https://cdn.example/e.jpg?utm_source=tw&w=640'], 'https://cdn.example/e.jpg?w=640'),
])
def test_json_ld_image_as_string_object_or_list(image, expected):
  found = M.page_metadata(page(json_ld({'@type': 'NewsArticle', 'image': image})), PAGE_URL)
  assert found[A.IMAGE_URL] == expected
  assert found[A.METADATA_SOURCE][A.IMAGE_URL] == 'json_ld'


@pytest.mark.parametrize('keywords, expected', [
    ('Politics, Elections;Europe , politics', ['Politics', 'Elections', 'Europe']),
    (['Politics', 'elections, Europe', 'POLITICS', ''], ['Politics', 'elections', 'Europe']),
    ([{'@type': 'DefinedTerm', 'name': 'Climate'}, 'Energy'], ['Climate', 'Energy']),
    ({'@type': 'DefinedTerm', 'name': 'Climate'}, ['Climate']),
    (42, []),
])
def test_json_ld_keywords_as_string_or_list(keywords, expected):
  found = M.page_metadata(page(json_ld({'@type': 'Article', 'keywords': keywords})), PAGE_URL)
  assert found[A.KEYWORDS] == expected


@pytest.mark.parametrize('value, paywalled', [
    (False, True), (True, False), ('False', True), ('true', False), ('maybe', None)])
def test_is_accessible_for_free_as_bool_or_string(value, paywalled):
  found = M.page_metadata(page(json_ld({'@type': 'NewsArticle', 'isAccessibleForFree': value})))
  assert found[A.IS_PAYWALLED] is paywalled


def test_paywall_declared_on_a_part():
  node = {'@type': 'NewsArticle', 'hasPart': {'@type': 'WebPageElement',
                                              'isAccessibleForFree': 'False',
                                              'cssSelector': '.paywall'}}
  assert M.page_metadata(page(json_ld(node)))[A.IS_PAYWALLED] is True


def test_graph_and_publisher_and_section():
  graph = {'@context': 'https://schema.org', '@graph': [
      {'@type': 'WebSite', 'name': 'Site Name'},
      {'@type': ['NewsArticle', 'Thing'], 'description': '  The <b>lead</b> &amp; more\n ',
       'articleSection': ['World', 'Europe'], 'publisher': {'@type': 'Organization',
                                                             'name': 'Example News'}}]}
  found = M.page_metadata(page(json_ld(graph)), PAGE_URL)
  assert found[A.DESCRIPTION] == 'The lead & more'
  assert found[A.SECTION] == 'World'
  assert found[A.SITE_NAME] == 'Example News'
  assert found[A.METADATA_SOURCE] == {
      A.DESCRIPTION: 'json_ld', A.IMAGE_URL: None, A.KEYWORDS: None, A.SECTION: 'json_ld',
      A.SITE_NAME: 'json_ld', A.IS_PAYWALLED: None}


def test_open_graph_and_meta_fill_what_json_ld_lacks():
  head = ('<meta property="og:image" content="/i/top.jpg?fbclid=1#x">'
          '<meta property="og:site_name" content="OG Site">'
          '<meta property="article:section" content="Sport">'
          '<meta property="article:tag" content="Football">'
          '<meta property="article:tag" content="Cup; football">'
          '<meta name="description" content="Meta description.">'
          '<meta name="keywords" content="ignored, because og has tags">'
          + json_ld({'@type': 'NewsArticle', 'headline': 'H'}))
  found = M.page_metadata(page(head), PAGE_URL)
  assert found[A.IMAGE_URL] == 'https://news.example/i/top.jpg'
  assert found[A.SITE_NAME] == 'OG Site'
  assert found[A.SECTION] == 'Sport'
  assert found[A.KEYWORDS] == ['Football', 'Cup']
  assert found[A.DESCRIPTION] == 'Meta description.'
  assert found[A.METADATA_SOURCE] == {
      A.DESCRIPTION: 'meta', A.IMAGE_URL: 'og', A.KEYWORDS: 'og', A.SECTION: 'og',
      A.SITE_NAME: 'og', A.IS_PAYWALLED: None}


def test_og_description_before_meta_and_meta_keywords_alone():
  head = ('<meta name="description" content="Meta one">'
          '<meta property="og:description" content="OG one">'
          '<meta name="keywords" content="a,b;A">')
  found = M.page_metadata(page(head))
  assert (found[A.DESCRIPTION], found[A.KEYWORDS]) == ('OG one', ['a', 'b'])
  assert found[A.METADATA_SOURCE][A.KEYWORDS] == 'meta'


def test_page_with_nothing_declared():
  assert M.page_metadata(page()) == M.empty_metadata()
  assert M.page_metadata('') == M.empty_metadata()


def test_broken_and_wrapped_json_ld_blocks():
  head = ('<script type="application/ld+json">{not json</script>'
          '<script type="application/ld+json"><!--{"@type": "NewsArticle", '
          '"description": "wrapped"}--></script>'
          '<script type="application/ld+json">' + '[' * 100_000 + ']' * 100_000 + '</script>')
  assert M.page_metadata(page(head))[A.DESCRIPTION] == 'wrapped'


def test_json_ld_work_is_bounded():
  blocks = ''.join(json_ld({'@type': 'WebPage'}) for _ in range(M.MAX_JSON_LD_BLOCKS))
  late = json_ld({'@type': 'NewsArticle', 'description': 'too late'})
  assert M.page_metadata(page(blocks + late))[A.DESCRIPTION] is None
  huge = json_ld({'@type': 'NewsArticle', 'description': 'x' * M.MAX_JSON_LD_CHARS})
  assert M.page_metadata(page(huge))[A.DESCRIPTION] is None


def test_json_ld_in_the_body_counts():
  found = M.page_metadata(page(body='<p>x</p>' + json_ld({'@type': 'BlogPosting',
                                                         'description': 'In body'})))
  assert found[A.DESCRIPTION] == 'In body'


def test_clean_text_caps_and_folds():
  folded = ('a b' + ' c' * 5000)[:M.MAX_DESCRIPTION_CHARS].rstrip()
  assert M.clean_text('a\n\t b' + ' c' * 5000) == folded
  assert M.clean_text('   ') is None
  assert M.clean_text(42) is None
  assert M.clean_text('bad \ud800 surrogate') == 'bad \ufffd surrogate'


@pytest.mark.parametrize('value, expected', [
    ('data:image/png;base64,AAAA', None),
    ('javascript:alert(1)', None),
    ('//cdn.example/x.png', 'https://cdn.example/x.png'),
    ('https://cdn.example/x.png?utm_medium=a&utm_campaign=b', 'https://cdn.example/x.png'),
    ('https://cdn.example/' + 'x' * M.MAX_IMAGE_URL_CHARS, None),
])
def test_clean_image_url(value, expected):
  assert M.clean_image_url(value, PAGE_URL) == expected


def test_keywords_capped():
  assert len(M.clean_keywords(','.join(f'k{n}' for n in range(500)))) == M.MAX_KEYWORDS


def test_merge_prefers_the_first_and_keeps_sources():
  page_found = M.page_metadata(page('<meta property="og:site_name" content="Page">'))
  feed = dict(M.empty_metadata(), **{A.IMAGE_URL: 'https://f.example/i.jpg',
                                     A.SITE_NAME: 'Feed',
                                     A.METADATA_SOURCE: {A.IMAGE_URL: 'feed', A.SITE_NAME: 'feed'}})
  merged = M.merge_metadata(page_found, feed)
  assert (merged[A.SITE_NAME], merged[A.IMAGE_URL]) == ('Page', 'https://f.example/i.jpg')
  assert merged[A.METADATA_SOURCE][A.SITE_NAME] == 'og'
  assert merged[A.METADATA_SOURCE][A.IMAGE_URL] == 'feed'


FEED = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>F</title>
<item><title>One</title><link>https://news.example/one</link><description>d</description>
<category>World</category><category>world; Europe</category>
<media:content url="https://cdn.example/v.mp4" medium="video"/>
<media:content url="/img/one.jpg?utm_source=rss" medium="image"/></item>
<item><title>Two</title><link>https://news.example/two</link><description>d</description>
<enclosure url="https://cdn.example/two.jpg" type="image/jpeg" length="1"/></item>
<item><title>Three</title><link>https://news.example/three</link><description>d</description>
<media:thumbnail url="https://cdn.example/three.jpg"/></item>
<item><title>Four</title><link>https://news.example/four</link><description>d</description></item>
</channel></rss>"""


def test_feed_entries_give_image_and_keywords():
  records = entries_to_raw_records(parse_feed(FEED), 'https://news.example/feed')
  assert [r[A.IMAGE_URL] for r in records] == [
      'https://news.example/img/one.jpg', 'https://cdn.example/two.jpg',
      'https://cdn.example/three.jpg', None]
  assert records[0][A.KEYWORDS] == ['World', 'Europe']
  assert records[0][A.METADATA_SOURCE][A.KEYWORDS] == 'feed'
  assert records[3][A.METADATA_SOURCE] is None


def test_sitemap_metadata():
  found = M.sitemap_metadata('Business, Markets', 'The Paper')
  assert (found[A.KEYWORDS], found[A.SITE_NAME]) == (['Business', 'Markets'], 'The Paper')
  assert found[A.METADATA_SOURCE][A.SITE_NAME] == 'sitemap'


def test_a_fetched_page_declarations_come_before_the_feed_entry():
  from transforms.net.full_text import with_page_text  # pylint: disable=import-outside-toplevel
  entry = entries_to_raw_records(parse_feed(FEED), 'https://news.example/feed')[0]
  found = M.page_metadata(page('<meta property="og:description" content="From the page">'
                               '<meta property="article:tag" content="Page tag">'))
  record = with_page_text(entry, 'The page text.', None, found)
  assert (record[A.DESCRIPTION], record[A.KEYWORDS], record[A.IMAGE_URL]) == (
      'From the page', ['Page tag'], 'https://news.example/img/one.jpg')
  assert record[A.METADATA_SOURCE] == {
      A.DESCRIPTION: 'og', A.IMAGE_URL: 'feed', A.KEYWORDS: 'og', A.SECTION: None,
      A.SITE_NAME: None, A.IS_PAYWALLED: None}
  kept = with_page_text(entry, None, 'HTTP 404', None)
  assert kept[A.KEYWORDS] == ['World', 'Europe']


@pytest.mark.parametrize('tier, paywalled', [('locked', True), ('Free', False), ('metered', None)])
def test_open_graph_content_tier(tier, paywalled):
  found = M.page_metadata(page(f'<meta property="article:content_tier" content="{tier}">'))
  assert found[A.IS_PAYWALLED] is paywalled
  assert (found[A.METADATA_SOURCE] or {}).get(A.IS_PAYWALLED) == ('og' if paywalled is not None
                                                                  else None)


def test_json_ld_paywall_wins_over_content_tier():
  head = ('<meta property="article:content_tier" content="free">' +
          json_ld({'@type': 'NewsArticle', 'isAccessibleForFree': False}))
  found = M.page_metadata(page(head))
  assert (found[A.IS_PAYWALLED], found[A.METADATA_SOURCE][A.IS_PAYWALLED]) == (True, 'json_ld')
