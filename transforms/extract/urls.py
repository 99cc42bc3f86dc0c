"""Article URLs: the published link as given, its canonical form, and the ids they make.

``unwrap_redirect`` finds the article behind a redirect wrapper whose target is
written in the link itself (``?url=``, ``?u=``, ``?target=``, ``?q=`` on a
redirect path, ``.../*https://...``, Google News ``articles/`` ids that hold the
URL, a Feedburner link with the entry's ``feedburner:origLink``); a wrapper
that hides its target (``t.co``) stays as it is. ``canonicalize_url`` unwraps
first, so ids and deduplication see the target, while the ``url`` column keeps
the link as published.

``canonicalize_url`` puts a link in one form per article with w3lib (scheme and
host lower-cased, percent-encoding normalised, dot segments resolved, query
sorted, fragment dropped), then drops the default port and the tracking
parameters of ``TRACKING_PARAMS`` (and any given with ``--tracking-params``).
``article_id`` is a hash of that form.

``legacy_canonical_url`` and ``legacy_article_id`` keep the scheme of schema
version 2 (hand-written canonicalisation, query order and dot segments kept),
so that deduplication can recognise the rows earlier versions wrote.
"""

import base64
import binascii
import hashlib
import re
import urllib.parse

from w3lib.url import canonicalize_url as w3lib_canonicalize_url

from transforms.core.decode import replace_lone_surrogates

__all__ = ['TRACKING_PARAMS', 'TRACKING_PARAM_PREFIXES', 'published_url',
           'canonicalize_url', 'legacy_canonical_url', 'make_article_id',
           'legacy_article_id', 'host_of', 'parse_tracking_params', 'unwrap_redirect']

HASH_HEX_CHARS = 32  # 128-bit ids, as hex
DEFAULT_PORTS = {'http': 80, 'https': 443}

# Query parameters that say how a reader arrived, never which article: removed
# from the canonical URL (compared case-insensitively). Click ids of ad and
# social networks, newsletter and analytics tags, referrer and feed markers.
TRACKING_PARAMS = frozenset((
    # click ids: Facebook, Google (ads, DoubleClick, iOS), Microsoft, Yandex,
    # Twitter, TikTok, LinkedIn, Instagram
    'fbclid', 'gclid', 'gclsrc', 'dclid', 'gbraid', 'wbraid', 'msclkid',
    'yclid', 'twclid', 'ttclid', 'li_fat_id', 'igshid', 'igsh',
    # newsletters: Mailchimp, HubSpot, Marketo
    'mc_cid', 'mc_eid', '_hsenc', '_hsmi', 'mkt_tok',
    # analytics and campaign tags: Google Analytics linker, Adobe, AT Internet,
    # Microsoft (ocid), Yahoo/AOL (ncid), Alibaba (spm), New York Times (smid)
    '_ga', '_gl', 'cmpid', 'ncid', 'ocid', 'icid', 's_cid', 'xtor', 'spm',
    'smid', 'wt.mc_id',
    # referrer and feed markers: ?ref=rss, ?ref_src=twsrc, ?rss=1
    'ref', 'ref_src', 'ref_url', 'rss',
))
# Families of parameters removed by prefix: Google Analytics (utm_source,
# utm_medium, ...), Matomo/Piwik (pk_campaign, mtm_source), HubSpot ads.
TRACKING_PARAM_PREFIXES = ('utm_', 'pk_', 'mtm_', 'hsa_')

# The tracking parameters schema version 2 removed: part of its id scheme.
_LEGACY_TRACKING_PARAMS = frozenset(('fbclid', 'gclid', 'dclid', 'msclkid', 'mc_cid',
                                     'mc_eid', 'igshid'))
_PARAM_NAME = re.compile(r'\A[A-Za-z0-9_.\-\[\]]+\Z')

# Redirect wrappers with their target in the link.
MAX_UNWRAP_LEVELS = 3  # wrappers around wrappers followed, at most
MAX_DECODE_ROUNDS = 3  # percent-decodings tried on one embedded value, at most
MAX_WRAPPED_URL_CHARS = 8192  # longer links are not searched for a target, in characters
MAX_NEWS_ID_CHARS = 2048  # longest Google News article id decoded, in characters
# Query parameters that hold the target of a redirect on any path
# (``?url=``: Google News, many CMS redirectors; ``?u=``: Facebook's l.php).
REDIRECT_PARAMS = ('url', 'u', 'target')
# ``?q=`` holds a target only on a redirect path (Google's ``/url?q=``); elsewhere it is a search.
REDIRECT_Q_PARAM = 'q'
REDIRECT_PATHS = frozenset(('/url', '/l.php', '/redirect', '/redir', '/link', '/out',
                            '/away', '/r', '/go'))
# ``redir.example/click/123*https://www1.site/story``: the target after a ``*``.
_STAR_TARGET = re.compile(r'\*(?=https?(?::|%3a)(?://|%2f%2f))', re.IGNORECASE)
_ABSOLUTE_HTTP = re.compile(r'\Ahttps?://[^\s/?#]', re.IGNORECASE)
_PERCENT_ESCAPE = re.compile(r'%[0-9A-Fa-f]{2}')
GOOGLE_NEWS_HOST = 'news.google.com'
_NEWS_ARTICLE_ID = re.compile(r'/(?:rss/)?articles/([A-Za-z0-9_-]{4,2048})\Z')
# A URL's bytes inside a decoded Google News id: printable ASCII without spaces.
_EMBEDDED_URL = re.compile(rb'https?://[\x21-\x7e]++')
# Feedburner's tracking links (``/~r/<feed>/~3/<id>/``): the target is only in
# the entry's ``feedburner:origLink``.
FEEDBURNER_HOSTS = frozenset(('feedproxy.google.com', 'feeds.feedburner.com',
                              'feeds2.feedburner.com'))
FEEDBURNER_PATH_PREFIX = '/~r/'


def parse_tracking_params(value):
  """Extra parameter names from ``--tracking-params a,b`` (lower-cased); ValueError if malformed."""
  names = [name.strip().lower() for name in (value or '').split(',') if name.strip()]
  for name in names:
    if not _PARAM_NAME.match(name):
      raise ValueError(f'{name!r} is not a query parameter name')
  return tuple(names)


def _split_http(url):
  """``urlsplit`` of a trimmed http(s) URL with a host and a valid port; else None."""
  if not url or not isinstance(url, str):
    return None
  try:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    parts.port  # pylint: disable=pointless-statement
  except ValueError:
    return None
  if scheme not in DEFAULT_PORTS or not host:
    return None
  return parts


def published_url(url):
  """The link as given, trimmed, when it is a usable http(s) URL; else None."""
  if not url or not isinstance(url, str):
    return None
  url = replace_lone_surrogates(url).strip()
  return url if _split_http(url) else None


def is_tracking_param(name, extra=()):
  """Whether a query parameter only tracks the reader (TRACKING_PARAMS, prefixes, extra)."""
  name = urllib.parse.unquote_plus(name).lower()
  return (name in TRACKING_PARAMS or name in extra or
          name.startswith(TRACKING_PARAM_PREFIXES))


def _absolute_target(value):
  """``value`` percent-decoded until it is an absolute http(s) URL (bounded); else None."""
  for _ in range(MAX_DECODE_ROUNDS + 1):
    value = value.strip()
    if _ABSOLUTE_HTTP.match(value):
      return value if _split_http(value) else None
    if not _PERCENT_ESCAPE.search(value):
      return None
    value = urllib.parse.unquote(value)
  return None


def _google_news_target(path):
  """The URL an old-style Google News ``articles/<id>`` holds, when the id holds one."""
  match = _NEWS_ARTICLE_ID.search(path)
  if not match:
    return None
  encoded = match.group(1)
  try:
    data = base64.urlsafe_b64decode(encoded + '=' * (-len(encoded) % 4))
  except (binascii.Error, ValueError):
    return None
  found = _EMBEDDED_URL.search(data)
  return _absolute_target(found.group(0).decode('ascii')) if found else None


def _wrapped_target(url):
  """The target one redirect wrapper holds in its link, or None."""
  parts = _split_http(url)
  if parts is None or len(url) > MAX_WRAPPED_URL_CHARS:
    return None
  star = _STAR_TARGET.search(url, len(parts.scheme) + 3)
  if star:
    target = _absolute_target(url[star.end():])
    if target:
      return target
  params = urllib.parse.parse_qs(parts.query, keep_blank_values=False)
  names = REDIRECT_PARAMS + ((REDIRECT_Q_PARAM,)
                             if parts.path.rstrip('/').lower() in REDIRECT_PATHS else ())
  for name in names:
    for value in params.get(name, ()):
      target = _absolute_target(value)
      if target:
        return target
  if (parts.hostname or '') == GOOGLE_NEWS_HOST:
    return _google_news_target(parts.path)
  return None


def is_feedburner_link(url):
  """Whether a link is Feedburner's tracking redirect, whose target only the feed names."""
  parts = _split_http(url)
  return bool(parts and parts.hostname in FEEDBURNER_HOSTS and
              parts.path.startswith(FEEDBURNER_PATH_PREFIX))


def unwrap_redirect(url, original_link=None):
  """The article behind redirect wrappers whose target is in the link (see the module docstring).

  ``original_link`` is the entry's ``feedburner:origLink``, used for a
  Feedburner link. Returns ``url`` itself when it wraps nothing it names.
  """
  url = published_url(url)
  if url is None:
    return None
  if original_link and is_feedburner_link(url):
    url = published_url(original_link) or url
  for _ in range(MAX_UNWRAP_LEVELS):
    target = _wrapped_target(url)
    if target is None:
      break
    url = target
  return url


def canonicalize_url(url, extra_tracking_params=(), original_link=None):
  """One form per article for an http(s) link: see the module docstring; else None."""
  url = unwrap_redirect(url, original_link)
  if url is None:
    return None
  try:
    canonical = w3lib_canonicalize_url(url)
    parts = urllib.parse.urlsplit(canonical)
    scheme, host, port = parts.scheme, (parts.hostname or '').rstrip('.'), parts.port
  except (ValueError, UnicodeError):
    return None
  if scheme not in DEFAULT_PORTS or not host:
    return None
  if ':' in host:
    host = f'[{host}]'  # an IPv6 literal
  netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f'{host}:{port}'
  query = '&'.join(pair for pair in parts.query.split('&')
                   if pair and not is_tracking_param(pair.partition('=')[0],
                                                     extra_tracking_params))
  return urllib.parse.urlunsplit((scheme, netloc, parts.path or '/', query, ''))


def legacy_canonical_url(url):
  """The canonical URL of schema version 2 (kept verbatim to recompute its ids)."""
  if not url or not isinstance(url, str):
    return None
  try:
    parts = urllib.parse.urlsplit(replace_lone_surrogates(url).strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or '').rstrip('.')
    port = parts.port
  except ValueError:
    return None
  if scheme not in DEFAULT_PORTS or not host:
    return None
  try:
    host = host.encode('idna').decode('ascii')
  except UnicodeError:
    pass
  netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f'{host}:{port}'
  query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query,
                                                     keep_blank_values=True)
           if k.lower() not in _LEGACY_TRACKING_PARAMS and
           not k.lower().startswith('utm_')]
  return urllib.parse.urlunsplit((scheme, netloc, parts.path or '/',
                                  urllib.parse.urlencode(query), ''))



def hash_parts(*parts):
  """128-bit hex hash of strings joined by a unit separator (None as '')."""
  digest = hashlib.sha256('\x1f'.join(p or '' for p in parts).encode('utf-8'))
  return digest.hexdigest()[:HASH_HEX_CHARS]


def make_article_id(canonical_url, source, title, text):
  """Stable id: a hash of the canonical URL, else of source, title and text."""
  if canonical_url:
    return hash_parts('url', canonical_url)
  return hash_parts('content', source, title, text)


def legacy_article_id(raw_url, source, title, text):
  """The id schema version 2 gave an article: its hash of ``legacy_canonical_url``.

  ``source`` is the source that version would have found (it differs only
  when the link was unusable to one scheme and not to the other).
  """
  return make_article_id(legacy_canonical_url(raw_url), source, title, text)


def host_of(url):
  """The host of a URL without a leading ``www.`` ('' when it has none)."""
  try:
    host = urllib.parse.urlsplit(url).hostname or ''
  except ValueError:
    return ''
  return host[4:] if host.startswith('www.') else host
