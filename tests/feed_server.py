"""A local HTTP server for the feed tests: eval feeds with their headers, and misbehaviour.

Routes (all on 127.0.0.1):
  /eval/<path>          a file of ../shared/eval/feeds, with its ``Header:`` lines
                        sent as response headers
  /etag.xml             200 with ETag, 304 when asked with If-None-Match
  /lastmod.xml          200 with Last-Modified, 304 when asked with If-Modified-Since
  /404, /500-then-200, /429-then-200 (Retry-After: 1), /drip (slow body),
  /drip-headers (a header dripped a byte every 0.2 s, for 10 s), /whoami (the
  server's name, for tests that check which address was connected to),
  /to-bad-url (redirects to ``http://[::1``, a URL urllib.parse refuses),
  /surrogate.xml (a feed whose first title holds ``&#xD800;``, a lone surrogate),
  /undefined-charset.xml (a feed served with ``charset=undefined``, a codec that raises),
  /page-header-charset/<label>, /page-meta-charset/<label> (a page whose charset
  is <label> in Content-Type, or in a meta tag), /charset-links.xml (a feed
  linking to both with the label ``hex``),
  /big (body over any small cap), /bomb (gzip bomb), /loop (redirect loop),
  /to-private (redirects to a metadata address), /page/<n>, /links.xml (a feed
  whose entries link to pages, to a 404, to a private address and to /to-private)
  /robots.txt (``server.robots``: None for a 404, a status code, or the text),
  /private/<n> (a page), /robots-links.xml (a feed linking to /page/1 and /private/1),
  /429-retry-after/<n> (429 with ``Retry-After: <n>`` the first time, then a page),
  /growing.xml (GROWING_START entries for two requests, then one more per request,
  with an ETag per version, 304 when asked with the current one),
  /slow.xml (a one-entry feed sent after ``server.slow_seconds``)

``server.log`` holds ``(time.monotonic(), path)`` of every request, in order.
"""

import gzip
import http.server
import pathlib
import re
import threading
import time
import urllib.parse

from tests.conftest import SHARED_EVAL

ETAG = '"v1"'
DRIP_HEADER_INTERVAL = 0.2  # seconds between two bytes of /drip-headers
DRIP_HEADER_BYTES = 50  # bytes of /drip-headers's header value (10 s in all)
LAST_MODIFIED = 'Mon, 03 Apr 2023 01:02:03 GMT'
GROWING_START = 2  # entries of /growing.xml for its first two requests
SLOW_SECONDS = 3.0  # default wait before /slow.xml answers
_HEADER_LINE = re.compile(rb'^\s*Header:\s*([^:\r\n]+):\s*([^\r\n]*)$', re.MULTILINE)
_COMMENT = re.compile(rb'<!--(.*?)-->', re.DOTALL)

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{title}</title>
<item><title>{title} item</title><link>http://example.org/{slug}</link>
<description>A stable item of the {title} feed, written for the conditional GET test.</description>
<pubDate>Tue, 18 Jan 2022 10:30:00 GMT</pubDate></item></channel></rss>"""

PAGE = """<html><head><title>Page {n}</title></head><body><nav>Home | World</nav>
<article><h1>Page {n}</h1>
<p>The full page text of story {n} is much longer than the feed summary and
tells the whole story of the council meeting, the vote and what comes next.</p>
<p>A second paragraph quotes the mayor of the town, who said the decision would
stand, and explains the background of the dispute over the old bridge.</p>
</article><footer>Copyright 2023</footer></body></html>"""


GROWING_ITEM = """<item><title>Growing story {n}</title><link>http://example.org/growing/{n}</link>
<guid>growing-{n}</guid><description>Story number {n} of the growing feed tells how the
town council met again on day {n} and what it decided about the old bridge.</description>
<pubDate>Tue, 18 Jan 2022 10:{n:02d}:00 GMT</pubDate></item>"""


def growing_feed(entries):
  """The /growing.xml feed with ``entries`` items, and its ETag."""
  items = ''.join(GROWING_ITEM.format(n=n) for n in range(1, entries + 1))
  body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
          f'<title>Growing</title>{items}</channel></rss>')
  return body.encode(), f'"n{entries}"'


def file_headers(data):
  """The ``Header:`` lines of an eval feed's leading comment."""
  comment = _COMMENT.search(data[:4000])
  if not comment:
    return []
  return [(name.strip().decode('latin-1'), value.strip().decode('latin-1'))
          for name, value in _HEADER_LINE.findall(comment.group(1))]


class _Handler(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.1'

  def log_message(self, *args):
    pass

  def _send(self, status, body=b'', headers=()):
    self.send_response(status)
    names = {n.lower() for n, _ in headers}
    for name, value in headers:
      self.send_header(name, value)
    if 'content-length' not in names:
      self.send_header('Content-Length', str(len(body)))
    self.end_headers()
    if body and self.command != 'HEAD':
      self.wfile.write(body)

  def do_GET(self):  # pylint: disable=invalid-name
    server = self.server
    path = urllib.parse.urlsplit(self.path).path
    with server.lock:
      server.requests.append((path, dict(self.headers.items())))
      server.log.append((time.monotonic(), path))
      server.hits[path] = server.hits.get(path, 0) + 1
      hits = server.hits[path]
    base = server.base
    if path.startswith('/eval/'):
      root = (SHARED_EVAL / 'feeds').resolve()
      file = (root / path[len('/eval/'):]).resolve()
      if not file.is_relative_to(root) or not file.is_file():
        return self._send(404)
      data = file.read_bytes()
      headers = file_headers(data)
      if not any(n.lower() == 'content-type' for n, _ in headers):
        headers.append(('Content-Type', 'application/xml'))
      return self._send(200, data, headers)
    if path == '/etag.xml':
      if self.headers.get('If-None-Match') == ETAG:
        return self._send(304, headers=[('ETag', ETAG)])
      return self._send(200, FEED.format(title='Etag', slug='etag').encode(),
                        [('ETag', ETAG), ('Content-Type', 'application/rss+xml')])
    if path == '/lastmod.xml':
      if self.headers.get('If-Modified-Since') == LAST_MODIFIED:
        return self._send(304)
      return self._send(200, FEED.format(title='Lastmod', slug='lastmod').encode(),
                        [('Last-Modified', LAST_MODIFIED),
                         ('Content-Type', 'application/rss+xml')])
    if path == '/404':
      return self._send(404, b'not here')
    if path == '/500-then-200':
      if hits == 1:
        return self._send(500, b'oops')
      return self._send(200, FEED.format(title='Flaky', slug='flaky').encode())
    if path == '/429-then-200':
      if hits == 1:
        return self._send(429, b'slow down', [('Retry-After', '1')])
      return self._send(200, FEED.format(title='Limited', slug='limited').encode())
    if path == '/drip':
      self.send_response(200)
      self.send_header('Content-Length', '100000')
      self.end_headers()
      try:
        for _ in range(100000):
          self.wfile.write(b' ')
          self.wfile.flush()
          time.sleep(0.05)
      except OSError:
        pass
      return None
    if path == '/drip-headers':
      try:
        self.wfile.write(b'HTTP/1.1 200 OK\r\nX-Drip: ')
        for _ in range(DRIP_HEADER_BYTES):
          self.wfile.write(b'a')
          self.wfile.flush()
          time.sleep(DRIP_HEADER_INTERVAL)
        self.wfile.write(b'\r\nContent-Length: 0\r\n\r\n')
      except OSError:
        pass
      self.close_connection = True
      return None
    if path == '/whoami':
      return self._send(200, server.name.encode(), [('Content-Type', 'text/plain')])
    if path == '/to-bad-url':
      return self._send(302, headers=[('Location', 'http://[::1')])
    if path == '/surrogate.xml':
      body = FEED.format(title='Surrogate', slug='surrogate').replace(
          'Surrogate item', 'Bad &#xD800; title')
      return self._send(200, body.encode(), [('Content-Type', 'application/rss+xml')])
    if path == '/undefined-charset.xml':
      return self._send(200, FEED.format(title='Undefined', slug='undefined').encode(),
                        [('Content-Type', 'application/rss+xml; charset=undefined')])
    if path.startswith('/page-header-charset/'):
      label = path.rsplit('/', 1)[1]
      return self._send(200, PAGE.format(n='header').encode(),
                        [('Content-Type', f'text/html; charset={label}')])
    if path.startswith('/page-meta-charset/'):
      label = path.rsplit('/', 1)[1]
      page = PAGE.format(n='meta').replace('<head>', f'<head><meta charset="{label}">')
      return self._send(200, page.encode(), [('Content-Type', 'text/html')])
    if path == '/charset-links.xml':
      items = [('Header charset', f'{base}/page-header-charset/hex'),
               ('Meta charset', f'{base}/page-meta-charset/hex')]
      body = '<?xml version="1.0"?><rss version="2.0"><channel><title>Charsets</title>' + ''.join(
          f'<item><title>{t}</title><link>{u}</link><description>Feed summary of '
          f'{t.lower()}, short.</description></item>' for t, u in items) + '</channel></rss>'
      return self._send(200, body.encode(), [('Content-Type', 'application/rss+xml')])
    if path == '/big':
      self.send_response(200)
      self.send_header('Transfer-Encoding', 'chunked')
      self.end_headers()
      try:
        chunk = b'<!-- ' + b'x' * 65000 + b' -->'
        for _ in range(200):
          self.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
        self.wfile.write(b'0\r\n\r\n')
      except OSError:
        pass
      return None
    if path == '/bomb':
      return self._send(200, server.bomb, [('Content-Encoding', 'gzip'),
                                           ('Content-Type', 'application/xml')])
    if path == '/loop':
      return self._send(302, headers=[('Location', '/loop2')])
    if path == '/loop2':
      return self._send(302, headers=[('Location', '/loop')])
    if path == '/to-private':
      return self._send(302, headers=[('Location', 'http://169.254.169.254/latest/meta-data/')])
    if path.startswith('/page/'):
      n = path.rsplit('/', 1)[1]
      return self._send(200, PAGE.format(n=n).encode(),
                        [('Content-Type', 'text/html; charset=utf-8')])
    if path == '/robots.txt':
      if server.robots is None:
        return self._send(404)
      if isinstance(server.robots, int):
        return self._send(server.robots, b'robots failure')
      return self._send(200, server.robots.encode(), [('Content-Type', 'text/plain')])
    if path.startswith('/private/'):
      n = path.rsplit('/', 1)[1]
      return self._send(200, PAGE.format(n=f'private {n}').encode(),
                        [('Content-Type', 'text/html; charset=utf-8')])
    if path == '/robots-links.xml':
      items = [('Allowed page', f'{base}/page/1'), ('Disallowed page', f'{base}/private/1')]
      body = '<?xml version="1.0"?><rss version="2.0"><channel><title>Robots</title>' + ''.join(
          f'<item><title>{t}</title><link>{u}</link><description>Feed summary of '
          f'{t.lower()}, short.</description></item>' for t, u in items) + '</channel></rss>'
      return self._send(200, body.encode(), [('Content-Type', 'application/rss+xml')])
    if path.startswith('/429-retry-after/'):
      if hits == 1:
        return self._send(429, b'slow down', [('Retry-After', path.rsplit('/', 1)[1])])
      return self._send(200, PAGE.format(n='after').encode(),
                        [('Content-Type', 'text/html; charset=utf-8')])
    if path == '/growing.xml':
      body, etag = growing_feed(GROWING_START + max(0, hits - 2))
      if self.headers.get('If-None-Match') == etag:
        return self._send(304, headers=[('ETag', etag)])
      return self._send(200, body, [('ETag', etag), ('Content-Type', 'application/rss+xml')])
    if path == '/slow.xml':
      time.sleep(server.slow_seconds)
      return self._send(200, FEED.format(title='Slow', slug='slow').encode(),
                        [('Content-Type', 'application/rss+xml')])
    if path == '/links.xml':
      items = [('Good one', f'{base}/page/1'), ('Missing page', f'{base}/404'),
               ('Private', 'http://10.1.2.3/internal'),
               ('Redirected', f'{base}/to-private')]
      body = '<?xml version="1.0"?><rss version="2.0"><channel><title>Links</title>' + ''.join(
          f'<item><title>{t}</title><link>{u}</link><description>Feed summary of '
          f'{t.lower()}, short.</description></item>' for t, u in items) + '</channel></rss>'
      return self._send(200, body.encode(), [('Content-Type', 'application/rss+xml')])
    return self._send(404)


class FeedServer(http.server.ThreadingHTTPServer):
  daemon_threads = True

  def __init__(self, host='127.0.0.1', port=0, name='feeds'):
    super().__init__((host, port), _Handler)
    self.name = name
    self.lock = threading.Lock()
    self.requests = []
    self.log = []
    self.hits = {}
    self.robots = None
    self.slow_seconds = SLOW_SECONDS
    self.bomb = gzip.compress(b'<' * (64 << 20), compresslevel=9)
    self._thread = threading.Thread(target=self.serve_forever, daemon=True)

  def handle_error(self, request, client_address):
    """Clients that hang up on purpose (byte caps, deadlines) are not errors here."""

  @property
  def base(self):
    return f'http://{self.server_address[0]}:{self.server_address[1]}'

  def start(self):
    self._thread.start()
    return self

  def stop(self):
    self.shutdown()
    self.server_close()

  def headers_of(self, path):
    """Request headers of every request for ``path``, in order."""
    with self.lock:
      return [headers for p, headers in self.requests if p == path]

  def eval_urls(self, folder):
    """URLs of every .xml file under ../shared/eval/feeds/<folder>."""
    root = SHARED_EVAL / 'feeds'
    return [f'{self.base}/eval/{p.relative_to(root).as_posix()}'
            for p in sorted((root / folder).rglob('*')) if p.is_file()
            and p.suffix in ('.xml', '.rss', '.atom')]


def page_path(url):
  return pathlib.PurePosixPath(urllib.parse.urlsplit(url).path)
