"""Article URLs: the published link as given, its canonical form, and the ids they make.

``canonicalize_url`` puts a link in one form per article with w3lib (scheme and
host lower-cased, percent-encoding normalised, dot segments resolved, query
sorted, fragment dropped), then drops the default port and the tracking
parameters of ``TRACKING_PARAMS`` (and any given with ``--tracking-params``).
``article_id`` is a hash of that form.

``legacy_canonical_url`` and ``legacy_article_id`` keep the scheme of schema
version 2 (hand-written canonicalisation, query order and dot segments kept),
so that deduplication can recognise the rows earlier versions wrote.
"""

import hashlib
import re
import urllib.parse

from w3lib.url import canonicalize_url as w3lib_canonicalize_url

from transforms.decode import replace_lone_surrogates

__all__ = ['TRACKING_PARAMS', 'TRACKING_PARAM_PREFIXES', 'published_url',
           'canonicalize_url', 'legacy_canonical_url', 'make_article_id',
           'legacy_article_id', 'host_of', 'parse_tracking_params']

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


def canonicalize_url(url, extra_tracking_params=()):
  """One form per article for an http(s) link: see the module docstring; else None."""
  url = published_url(url)
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
