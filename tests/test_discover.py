"""Feed discovery: links and common paths, verification, OPML that --feeds reads, the command."""

import http.server
import threading

import pytest

from pipeline.main import main
from transforms.net import discover as T
from transforms.net.feeds import parse_feed_list

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Main news</title>
<item><title>One</title><link>http://example.org/1</link></item></channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Comments</title><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>
<entry><title>A</title><id>urn:a</id><updated>2024-01-01T00:00:00Z</updated>
<link href="http://example.org/a"/></entry></feed>"""
HOME = """<html><head><title>Home</title>
<link rel="alternate" type="application/rss+xml" title="Main" href="/news.rss">
<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="comments.atom">
<link rel="alternate" type="application/rss+xml" href="/broken.rss">
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
<link rel="stylesheet" type="application/rss+xml" href="/not-alternate.rss">
</head><body><p>Hello</p></body></html>"""


def test_find_feed_links():
  assert T.find_feed_links(HOME, 'https://site.example/en/') == [
      ('https://site.example/news.rss', 'Main'), ('https://site.example/en/comments.atom', None),
      ('https://site.example/broken.rss', None)]
  assert T.find_feed_links('', 'https://site.example/') == []


def test_candidates_are_links_then_common_paths_once_each():
  links = [('https://site.example/feed', None)]
  candidates = T.candidate_urls('https://site.example/some/page?x=1', links)
  assert candidates[0] == ('https://site.example/feed', 'link')
  assert [url for url, _ in candidates[1:]] == [
      f'https://site.example{p}' for p in T.COMMON_FEED_PATHS if p != '/feed']


def test_opml_is_read_by_feeds():
  feeds = [T.DiscoveredFeed('https://site.example/news.rss', 'Main & co', 3, 'link'),
           T.DiscoveredFeed('https://site.example/atom.xml', None, 1, 'path')]
  assert parse_feed_list(T.feeds_to_opml(feeds, 'Feeds').decode()) == [
      'https://site.example/news.rss', 'https://site.example/atom.xml']


class _Site(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.1'
  routes = {'/': (HOME.encode(), 'text/html'), '/news.rss': (RSS, 'application/rss+xml'),
            '/en/comments.atom': (ATOM, 'application/atom+xml'),
            '/comments.atom': (ATOM, 'application/atom+xml'),
            '/broken.rss': (b'<html>not a feed</html>', 'text/html'),
            '/rss.xml': (RSS, 'application/rss+xml'),
            '/feed': (b'<html><body>a page</body></html>', 'text/html')}

  def log_message(self, *args):
    pass

  def do_GET(self):  # pylint: disable=invalid-name
    body, kind = self.routes.get(self.path, (b'', 'text/plain'))
    self.send_response(200 if body else 404)
    self.send_header('Content-Type', kind)
    self.send_header('Content-Length', str(len(body)))
    self.end_headers()
    self.wfile.write(body)


@pytest.fixture
def site():
  server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Site)
  server.daemon_threads = True
  threading.Thread(target=server.serve_forever, daemon=True).start()
  yield f'http://127.0.0.1:{server.server_address[1]}'
  server.shutdown()
  server.server_close()


def test_discover_command_prints_and_writes_opml(site, tmp_path, capsys):
  opml = tmp_path / 'feeds.opml'
  status = main(['discover', f'{site}/', '--opml', str(opml), '--allow-private-hosts',
                 '127.0.0.1/32', '--host-delay', '0'])
  out, err = capsys.readouterr()
  assert status == 0
  lines = [line.split('\t') for line in out.splitlines()]
  assert lines == [[f'{site}/news.rss', '1 entries', 'link', 'Main news'],
                   [f'{site}/comments.atom', '1 entries', 'link', 'Comments'],
                   [f'{site}/rss.xml', '1 entries', 'path', 'Main news']]
  assert f'{site}/broken.rss' in err and f'{site}/feed:' in err
  assert parse_feed_list(opml.read_text()) == [f'{site}/news.rss', f'{site}/comments.atom',
                                               f'{site}/rss.xml']


def test_discover_refuses_private_addresses_unless_allowed(site, capsys):
  assert main(['discover', f'{site}/', '--host-delay', '0']) == 1
  assert 'ForbiddenAddress' in capsys.readouterr().err


@pytest.mark.parametrize('argv', [
    ['discover'], ['discover', 'ftp://site.example/'], ['discover', 'https://x.example/',
                                                        '--http-timeout', '-1'],
    ['discover', 'https://x.example/', '--allow-private-hosts', 'not-a-network']])
def test_discover_configuration_errors_are_one_line(argv, capsys):
  assert main(argv) == 2
  err = capsys.readouterr().err
  assert err.startswith('newsbeam: error:') and err.count('\n') == 1


@pytest.mark.parametrize('flags', [['--sitemap', 'ftp://site.example/s.xml'],
                                   ['--sitemaps', '/nonexistent/list.txt']])
def test_sitemap_flag_errors_are_one_line(flags, tmp_path, capsys):
  assert main(flags + ['--output', str(tmp_path / 'out')]) == 2
  err = capsys.readouterr().err
  assert err.startswith('newsbeam: error: --sitemap') or 'sitemap URL' in err
  assert err.count('\n') == 1
