"""Feed discovery: a site's feeds from its home page's links and common paths, verified.

The home page's ``<link rel="alternate" type="application/rss+xml">`` (Atom,
RDF too) and the paths feeds usually live at (COMMON_FEED_PATHS) are the
candidates; each is fetched with the polite client (guarded: private
addresses refused unless allowed) and kept only when it parses as a feed
with entries, or with a title and no parse error. ``feeds_to_opml`` writes
what ``--feeds`` reads.
"""

import urllib.parse
import xml.etree.ElementTree
from typing import NamedTuple

import lxml.etree
import lxml.html

from transforms.net.full_text import decode_page
from transforms.net.http import FetchError
from transforms.net.http import map_by_host
from transforms.read.feeds import parse_feed

__all__ = ['DiscoveredFeed', 'find_feed_links', 'candidate_urls', 'verify_feed',
           'discover_feeds', 'feeds_to_opml', 'COMMON_FEED_PATHS']

COMMON_FEED_PATHS = ('/feed', '/rss', '/rss.xml', '/atom.xml', '/feeds/posts/default',
                     '/index.xml', '/feed.xml')
FEED_LINK_TYPES = frozenset(('application/rss+xml', 'application/atom+xml',
                             'application/rdf+xml'))
MAX_FEED_LINKS = 50  # <link> candidates taken from one home page
MAX_HOME_PAGE_CHARS = 2 << 20  # characters of the home page searched for links
MAX_TITLE_CHARS = 300  # longest feed title shown and written

VIA_LINK = 'link'  # the home page links it
VIA_PATH = 'path'  # found at a common path


class DiscoveredFeed(NamedTuple):
  url: str
  title: str
  entries: int
  via: str  # VIA_LINK or VIA_PATH


def find_feed_links(page_html, page_url):
  """Absolute URLs (and titles) of a page's ``<link rel=alternate>`` feeds, in order, once each."""
  try:
    root = lxml.html.fromstring(page_html[:MAX_HOME_PAGE_CHARS].encode('utf-8', 'replace'),
                                parser=lxml.html.HTMLParser(encoding='utf-8'))
  except (lxml.etree.ParserError, ValueError):
    return []
  found = {}
  for link in root.iter('link'):
    rel = (link.get('rel') or '').lower().split()
    kind = (link.get('type') or '').split(';')[0].strip().lower()
    href = (link.get('href') or '').strip()
    if 'alternate' not in rel or kind not in FEED_LINK_TYPES or not href:
      continue
    try:
      url = urllib.parse.urljoin(page_url, href)
    except ValueError:
      continue
    if urllib.parse.urlsplit(url).scheme in ('http', 'https') and url not in found:
      found[url] = (link.get('title') or '').strip()[:MAX_TITLE_CHARS] or None
      if len(found) >= MAX_FEED_LINKS:
        break
  return list(found.items())


def site_root(site_url):
  """``scheme://host[:port]/`` of a site URL."""
  parts = urllib.parse.urlsplit(site_url)
  return urllib.parse.urlunsplit((parts.scheme, parts.netloc, '/', '', ''))


def candidate_urls(site_url, links):
  """``[(url, via)]``: the page's feed links, then the common paths at the site's root."""
  candidates = {url: VIA_LINK for url, _ in links}
  root = site_root(site_url)
  for path in COMMON_FEED_PATHS:
    candidates.setdefault(urllib.parse.urljoin(root, path), VIA_PATH)
  return list(candidates.items())


def verify_feed(client, url, via, title=None):
  """A DiscoveredFeed when ``url`` answers with a feed; else ``(None, reason)``."""
  try:
    response = client.get(url, guarded=True)
  except FetchError as error:
    return None, f'{error.kind}: {error}'
  if response.status != 200:
    return None, f'HTTP {response.status}'
  parsed = parse_feed(response.body, response.headers)
  if not parsed.entries and (parsed.warning or not parsed.feed_title):
    return None, parsed.describe_failure()
  return DiscoveredFeed(response.url, (parsed.feed_title or title or '')[:MAX_TITLE_CHARS] or None,
                        len(parsed.entries), via), None


def home_page_links(client, site_url):
  """The home page's feed links, or ``([], reason)`` when it cannot be read."""
  refusal = client.robots_refusal(site_url)
  if refusal:
    return [], refusal
  try:
    response = client.get(site_url, guarded=True)
  except FetchError as error:
    return [], f'{error.kind}: {error}'
  if response.status != 200:
    return [], f'HTTP {response.status}'
  try:
    page_html, _ = decode_page(response.body, None)
  except ValueError as error:
    return [], f'{type(error).__name__}: {error}'
  return find_feed_links(page_html, response.url), None


def discover_feeds(client, site_url, lanes_per_host=1):
  """``(feeds, notes)``: the site's verified feeds, once each, and why candidates failed."""
  links, reason = home_page_links(client, site_url)
  notes = [f'{site_url}: {reason}'] if reason else []
  titles = dict(links)
  candidates = candidate_urls(site_url, links)

  def verify(candidate):
    try:
      return verify_feed(client, candidate[0], candidate[1], titles.get(candidate[0]))
    except Exception as error:  # pylint: disable=broad-except
      return None, f'{type(error).__name__}: {error}'

  feeds = {}
  for (url, _), (feed, why) in zip(candidates, map_by_host(candidates, lambda c: c[0], verify,
                                                           lanes_per_host)):
    if feed is None:
      notes.append(f'{url}: {why}')
    elif feed.url not in feeds:
      feeds[feed.url] = feed
  return list(feeds.values()), notes


def feeds_to_opml(feeds, title):
  """An OPML 2.0 document (bytes) listing the feeds, as ``--feeds`` reads it."""
  opml = xml.etree.ElementTree.Element('opml', version='2.0')
  head = xml.etree.ElementTree.SubElement(opml, 'head')
  xml.etree.ElementTree.SubElement(head, 'title').text = title
  body = xml.etree.ElementTree.SubElement(opml, 'body')
  for feed in feeds:
    xml.etree.ElementTree.SubElement(body, 'outline', type='rss', text=feed.title or feed.url,
                                     title=feed.title or feed.url, xmlUrl=feed.url)
  xml.etree.ElementTree.indent(opml)
  return xml.etree.ElementTree.tostring(opml, encoding='utf-8', xml_declaration=True) + b'\n'
