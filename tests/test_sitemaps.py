"""News sitemaps: parsing (plain, gzip, index), hostile documents, accounting, an end-to-end run."""

import gzip
import http.server
import json
import threading

import duckdb
import pytest

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from transforms.net import sitemaps as S
from transforms.net.http import FetchError
from transforms.net.http import Response
from tests.conftest import run_newsbeam

NS = ('xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
      'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9" '
      'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"')


def news_url(loc, title, date='2024-05-03T10:00:00+00:00', keywords='Markets, Economy'):
  return (f'<url><loc>{loc}</loc><news:news><news:publication><news:name>The Paper'
          '</news:name><news:language>en</news:language></news:publication>'
          f'<news:publication_date>{date}</news:publication_date>'
          f'<news:title>{title}</news:title><news:keywords>{keywords}</news:keywords>'
          '</news:news></url>')


def urlset(*urls):
  return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}>{"".join(urls)}</urlset>'.encode()


def index(*locs):
  items = ''.join(f'<sitemap><loc>{loc}</loc>{f"<lastmod>{mod}</lastmod>" if mod else ""}'
                  '</sitemap>' for loc, mod in locs)
  return f'<?xml version="1.0"?><sitemapindex {NS}>{items}</sitemapindex>'.encode()


BILLION_LAUGHS = b'''<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol2;</loc></url></urlset>'''
XXE = b'''<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>'''


def test_news_urlset_plain_and_gzip():
  data = urlset(news_url('https://n.example/a', 'A &amp; B'), '<url><loc>https://n.example/b</loc>'
                '<lastmod>2024-05-02</lastmod><image:image><image:loc>https://i.example/b.jpg'
                '</image:loc></image:image></url>')
  for body in (data, gzip.compress(data)):
    parsed = S.parse_sitemap(body)
    assert (parsed.kind, parsed.cut) == ('urlset', 0)
    first, second = parsed.entries
    assert (first.loc, first.title, first.published, first.language, first.keywords,
            first.publication) == ('https://n.example/a', 'A & B', '2024-05-03T10:00:00+00:00',
                                   'en', 'Markets, Economy', 'The Paper')
    assert (second.loc, second.lastmod, second.image, second.title) == (
        'https://n.example/b', '2024-05-02', 'https://i.example/b.jpg', None)


def test_url_record_carries_news_fields():
  entry = S.parse_sitemap(urlset(news_url('https://n.example/a?x=1', 'Title'))).entries[0]
  record = S.url_record(entry, 'https://n.example/news.xml')
  assert record[A.URL] == 'https://n.example/a?x=1'
  assert record[A.TITLE] == 'Title'
  assert record[A.KEYWORDS] == ['Markets', 'Economy']
  assert record[A.SITE_NAME] == record[A.SOURCE] == 'The Paper'
  assert record[A.METADATA_SOURCE][A.KEYWORDS] == 'sitemap'
  assert record[A.INPUT_FORMAT] == 'sitemap'


def test_index_newest_first():
  parsed = S.parse_sitemap(index(('https://n.example/old.xml', '2024-01-01'),
                                 ('https://n.example/undated.xml', None),
                                 ('https://n.example/new.xml', '2024-05-01')))
  assert parsed.kind == 'sitemapindex'
  assert [loc for loc, _ in S.newest_first(parsed.entries)] == [
      'https://n.example/new.xml', 'https://n.example/old.xml', 'https://n.example/undated.xml']


@pytest.mark.parametrize('body, kind', [
    (BILLION_LAUGHS, S.ERR_HOSTILE), (XXE, S.ERR_HOSTILE),
    (b'<html><body>not a sitemap</body></html>', S.ERR_NOT_SITEMAP),
    (b'<urlset><url>', S.ERR_NOT_XML), (b'', S.ERR_NOT_XML),
    (b'\x1f\x8b\x08\x00garbage', S.ERR_NOT_XML)])
def test_hostile_or_wrong_documents_are_refused(body, kind):
  with pytest.raises(S.SitemapError) as raised:
    S.parse_sitemap(body)
  assert raised.value.kind == kind


def test_gzip_bomb_is_cut_at_the_cap():
  bomb = gzip.compress(b' ' * (S.MAX_SITEMAP_BYTES + 1), compresslevel=1)
  assert len(bomb) < S.MAX_SITEMAP_BYTES // 100
  with pytest.raises(S.SitemapError) as raised:
    S.parse_sitemap(bomb)
  assert raised.value.kind == S.ERR_TOO_LARGE


def test_a_million_urls_are_capped_and_counted():
  body = (f'<urlset {NS}>'.encode() +
          b''.join(b'<url><loc>https://n.example/%d</loc></url>' % n for n in range(1_000_000)) +
          b'</urlset>')
  parsed = S.parse_sitemap(body)
  assert len(parsed.entries) == S.MAX_URLS_PER_SITEMAP
  assert parsed.cut == 1_000_000 - S.MAX_URLS_PER_SITEMAP
  assert parsed.entries[-1].loc == f'https://n.example/{S.MAX_URLS_PER_SITEMAP - 1}'


class FakeClient:
  """Serves documents from a dict: bytes, a status, or a FetchError; records what was asked."""

  def __init__(self, documents):
    self.documents = documents
    self.asked = []

  def get(self, url, headers=None, guarded=False, keep_bytes=None):
    self.asked.append((url, dict(headers or {}), guarded))
    found = self.documents.get(url, 404)
    if isinstance(found, int):
      if found == 304:
        return Response(url, 304, {}, b'')
      raise FetchError('HttpStatus', f'HTTP {found} from {url}', found)
    return Response(url, 200, {'etag': f'"{len(found)}"'}, found)


def outcomes(outputs):
  """``(records, {tag: [values]})`` of read_sitemap's outputs."""
  records, tagged = [], {}
  for output in outputs:
    if isinstance(output, dict):
      records.append(output)
    else:
      tagged.setdefault(output.tag, []).append(output.value)
  return records, tagged


def test_read_sitemap_accounts_for_every_sitemap_and_url(monkeypatch):
  monkeypatch.setattr(S, 'MAX_CHILD_SITEMAPS', 3)
  base = 'https://n.example'
  client = FakeClient({
      f'{base}/index.xml': index(*[(f'{base}/s{n}.xml', f'2024-05-0{n}') for n in range(1, 6)]),
      f'{base}/s5.xml': urlset(news_url(f'{base}/a', 'A'), news_url(f'{base}/b', 'B'),
                               news_url(f'{base}/a', 'A again'), news_url('ftp://x/y', 'Bad')),
      f'{base}/s4.xml': gzip.compress(urlset(news_url(f'{base}/c', 'C'))),
      f'{base}/s3.xml': BILLION_LAUGHS,
  })
  states = {f'{base}/s5.xml': {'seen_entries': [f'url:{base}/b']}}
  outputs, results = S.read_sitemap(client, f'{base}/index.xml', states)
  records, tagged = outcomes(outputs)
  assert [r[A.URL] for r in records] == [f'{base}/a', f'{base}/c']
  assert tagged['seen_again'] == [(f'{base}/s5.xml', f'url:{base}/b')]
  assert sorted((d[X.REASON], d[X.SOURCE_URI]) for d in tagged['dropped']) == [
      ('repeated_url', f'{base}/s5.xml'), ('sitemap_cap', f'{base}/s1.xml'),
      ('sitemap_cap', f'{base}/s2.xml')]
  assert sorted((d[D.SOURCE_URI], d[D.ERROR_TYPE]) for d in tagged['dead_letters']) == [
      (f'{base}/s3.xml', S.ERR_HOSTILE), (f'{base}/s5.xml', 'BadUrl')]
  # every URL of s5 (4), s4 (1) and every sitemap of the index (s1, s2 capped; s3 refused)
  assert len(records) + sum(len(v) for k, v in tagged.items() if k != 'warnings') == 8
  assert [r['url'] for r in results] == [f'{base}/index.xml', f'{base}/s5.xml',
                                         f'{base}/s4.xml', f'{base}/s3.xml']
  assert results[0]['etag'] is None  # an index is read whole every run
  assert results[1]['etag'] == f'"{len(client.documents[f"{base}/s5.xml"])}"'
  # the given URL is fetched as given; every URL a sitemap names is guarded
  assert [guarded for _, _, guarded in client.asked] == [False, True, True, True]


def test_read_sitemap_conditional_get_and_failures():
  base = 'https://n.example'
  client = FakeClient({f'{base}/news.xml': 304, f'{base}/empty.xml': urlset()})
  state = {f'{base}/news.xml': {'etag': '"v1"'}}
  records, tagged = outcomes(S.read_sitemap(client, f'{base}/news.xml', state)[0])
  assert client.asked[0][1] == {'If-None-Match': '"v1"'}
  assert [d[X.REASON] for d in tagged['dropped']] == ['not_modified']
  records, tagged = outcomes(S.read_sitemap(client, f'{base}/empty.xml', {})[0])
  assert [d[X.REASON] for d in tagged['dropped']] == ['empty_sitemap']
  outputs, results = S.read_sitemap(client, f'{base}/missing.xml', {})
  assert [d[D.ERROR_TYPE] for d in outcomes(outputs)[1]['dead_letters']] == ['HttpStatus']
  assert results[0]['error_type'] == 'HttpStatus'


def test_read_sitemap_caps_urls_per_given_sitemap(monkeypatch):
  monkeypatch.setattr(S, 'MAX_URLS_PER_ROOT', 2)
  base = 'https://n.example'
  client = FakeClient({f'{base}/news.xml': urlset(*(news_url(f'{base}/{n}', str(n))
                                                    for n in range(5)))})
  records, tagged = outcomes(S.read_sitemap(client, f'{base}/news.xml', {})[0])
  assert len(records) == 2
  assert [kind for kind, _ in tagged['warnings']] == [S.WARN_URLS_CUT]
  assert '3 URLs past 2' in tagged['warnings'][0][1]


PAGE = """<html><head><title>{title} | The Paper</title>{head}</head><body>
<article><h1>{title}</h1>
<p>This is the story called {title}, told here in a paragraph of its own so that each page
has a text of its own and no page is a copy of another page of the site.</p>
<p>The council met on Tuesday evening and voted to rebuild the old bridge over the river,
after months of debate about its cost and about the traffic it would bring to the town.</p>
<p>The mayor said the work would start in spring and last two years, and that the town
would pay for a third of it from its own budget and the rest from a regional grant.</p>
</article></body></html>"""
JSON_LD = ('<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
           '{"@type": "NewsArticle", "description": "The council votes.", "image": '
           '{"@type": "ImageObject", "url": "/img/bridge.jpg?utm_source=x"}, "keywords": '
           '["Bridge", "council"], "articleSection": "Local", "isAccessibleForFree": "False",'
           '"publisher": {"@type": "Organization", "name": "The Paper"}}]}</script>')
OG = ('<meta property="og:description" content="OG says">'
      '<meta property="og:image" content="https://cdn.example/og.jpg">'
      '<meta property="og:site_name" content="Paper OG">'
      '<meta property="article:section" content="Politics">'
      '<meta property="article:tag" content="Vote"><meta name="keywords" content="x,y">')


class _Routes(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.1'

  def log_message(self, *args):
    pass

  def do_GET(self):  # pylint: disable=invalid-name
    with self.server.lock:
      self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
    status, body, content_type = self.server.routes.get(self.path, (404, b'', 'text/plain'))
    self.send_response(status)
    self.send_header('Content-Type', content_type)
    self.send_header('Content-Length', str(len(body)))
    self.end_headers()
    self.wfile.write(body)


@pytest.fixture
def site():
  server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Routes)
  server.daemon_threads = True
  server.lock, server.hits = threading.Lock(), {}
  base = f'http://127.0.0.1:{server.server_address[1]}'
  server.base = base
  server.routes = {
      '/sitemap_index.xml': (200, index((f'{base}/news.xml', '2024-05-03'),
                                        (f'{base}/news2.xml.gz', '2024-05-02'),
                                        (f'{base}/laughs.xml', None)), 'application/xml'),
      '/news.xml': (200, urlset(news_url(f'{base}/a', 'Bridge vote'),
                                news_url(f'{base}/b', 'Second story', keywords='Rivers')),
                    'application/xml'),
      '/news2.xml.gz': (200, gzip.compress(urlset(news_url(f'{base}/c', 'Third story'),
                                                  news_url(f'{base}/gone', 'Gone'))),
                        'application/x-gzip'),
      '/laughs.xml': (200, BILLION_LAUGHS, 'application/xml'),
      '/a': (200, PAGE.format(title='Bridge vote', head=JSON_LD).encode(), 'text/html'),
      '/b': (200, PAGE.format(title='Second story', head=OG).encode(), 'text/html'),
      '/c': (200, PAGE.format(title='Third story', head='').encode(), 'text/html'),
  }
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  yield server
  server.shutdown()
  server.server_close()


def test_sitemap_run_end_to_end_then_seen_again(site, tmp_path):
  output = str(tmp_path / 'out')
  flags = ['--sitemap', f'{site.base}/sitemap_index.xml', '--output', output,
           '--allow-private-hosts', '127.0.0.1/32', '--host-delay', '0',
           '--http-retries', '0', '--ner-model', 'en=', '--cleaner', 'rules']
  result = run_newsbeam(*flags)
  rows = {r[0]: r[1:] for r in duckdb.sql(
      'SELECT title, description, image_url, keywords, section, site_name, is_paywalled, '
      'metadata_source, date_source, input_format, text_origin, source_uri FROM '
      f"read_parquet('{output}/articles/**/*.parquet', hive_partitioning = true)").fetchall()}
  base = site.base
  assert rows['Bridge vote'][:6] == (
      'The council votes.', f'{base}/img/bridge.jpg', ['Bridge', 'council'], 'Local',
      'The Paper', True)
  assert rows['Bridge vote'][6] == {'description': 'json_ld', 'image_url': 'json_ld',
                                    'keywords': 'json_ld', 'section': 'json_ld',
                                    'site_name': 'json_ld', 'is_paywalled': 'json_ld'}
  assert rows['Bridge vote'][7:] == ('sitemap', 'sitemap', 'page', f'{base}/news.xml')
  assert rows['Second story'][:6] == ('OG says', 'https://cdn.example/og.jpg', ['Vote'],
                                      'Politics', 'Paper OG', None)
  # a page that declares nothing keeps the sitemap's keywords and publication name
  assert rows['Third story'][2:6] == (['Markets', 'Economy'], None, 'The Paper', None)
  assert rows['Third story'][6]['keywords'] == 'sitemap'
  manifest = result.manifest
  assert manifest['dead_lettered'] == 2  # the billion laughs, the page that 404s
  dead = duckdb.sql(f"SELECT stage, error_type FROM read_parquet('{output}/dead_letters/**/*"
                    ".parquet') ORDER BY stage").fetchall()
  assert dead == [('sitemap', S.ERR_HOSTILE), ('sitemap_page', S.ERR_NO_HTML)]
  assert manifest['accounting_balanced']
  pages = {p: site.hits.get(p, 0) for p in ('/a', '/b', '/c', '/gone')}
  assert pages == {'/a': 1, '/b': 1, '/c': 1, '/gone': 1}
  state = json.loads((tmp_path / 'out' / '_state' / 'feeds.json').read_text())['feeds']
  assert state[f'{base}/news.xml']['seen_entries'] == [f'url:{base}/a', f'url:{base}/b']

  second = run_newsbeam(*flags).manifest
  assert {p: site.hits.get(p, 0) for p in pages} == {'/a': 1, '/b': 1, '/c': 1, '/gone': 2}
  assert second['seen_again'] == 3
  assert second['accounting_balanced']


def test_an_index_listing_itself_is_read_once():
  base = 'https://n.example'
  client = FakeClient({f'{base}/index.xml': index((f'{base}/index.xml', None),
                                                  (f'{base}/news.xml', None)),
                       f'{base}/news.xml': urlset(news_url(f'{base}/a', 'A'))})
  records, tagged = outcomes(S.read_sitemap(client, f'{base}/index.xml', {})[0])
  assert [r[A.URL] for r in records] == [f'{base}/a']
  assert [(d[X.REASON], d[X.SOURCE_URI]) for d in tagged['dropped']] == [
      ('repeated_url', f'{base}/index.xml')]
  assert [url for url, _, _ in client.asked] == [f'{base}/index.xml', f'{base}/news.xml']


def test_huge_and_bomb_sitemaps_over_http_are_dead_letters(site):
  from transforms.net.http import HttpClient  # pylint: disable=import-outside-toplevel
  from transforms.net.http import HttpSettings  # pylint: disable=import-outside-toplevel
  from transforms.net.http import parse_networks  # pylint: disable=import-outside-toplevel
  site.routes['/huge.xml'] = (200, b'<urlset>' + b' ' * (2 << 20) + b'</urlset>', 'text/xml')
  site.routes['/bomb.xml.gz'] = (
      200, gzip.compress(b'<urlset>' + b' ' * S.MAX_SITEMAP_BYTES, compresslevel=1),
      'application/gzip')
  site.routes['/big-index.xml'] = (200, index((f'{site.base}/bomb.xml.gz', None)),
                                   'application/xml')
  client = HttpClient(HttpSettings(max_bytes=1 << 20, host_delay=0, retries=0,
                                   allowed_private=parse_networks(['127.0.0.1/32'])))
  for path, kind in (('/huge.xml', 'BodyTooLarge'), ('/big-index.xml', S.ERR_TOO_LARGE)):
    outputs, results = S.read_sitemap(client, f'{site.base}{path}', {})
    records, tagged = outcomes(outputs)
    assert not records
    assert [d[D.ERROR_TYPE] for d in tagged['dead_letters']] == [kind]
    assert results[-1]['error_type'] == kind


def test_sitemap_flags_reach_the_run_context(tmp_path):
  from pipeline.main import prepare  # pylint: disable=import-outside-toplevel
  listed = tmp_path / 'sitemaps.txt'
  listed.write_text('# news\nhttps://a.example/news.xml\nhttps://b.example/s.xml.gz  # gz\n')
  _, context = prepare(['--sitemaps', str(listed), '--sitemap', 'https://a.example/news.xml',
                        '--sitemap', 'https://c.example/index.xml',
                        '--output', str(tmp_path / 'out')])
  assert context.sitemap_urls == ['https://a.example/news.xml', 'https://b.example/s.xml.gz',
                                  'https://c.example/index.xml']
  assert context.feed_urls == [] and context.paths == []
