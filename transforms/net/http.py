"""A polite, bounded HTTP client for feeds and pages.

Built on requests (connection pooling, streaming, proxies and TLS handled by
a well-kept library) with what a scheduled crawler needs on top: a deadline
over each whole exchange (a watchdog shuts the socket down when it passes, so
a server dripping its headers or body a byte at a time stops there) and a byte
cap enforced while streaming (a 2 GB body or a gzip bomb stop at the limit),
manual redirects with a limit and loop detection, retries with exponential
backoff and jitter on connection errors, timeouts, 429 and 5xx (honouring
``Retry-After`` up to a cap), and per-host spacing and concurrency limits: a
429 or 503 pushes back every request to its host, not only the one retried.
Pages (not feeds) may also be checked against their host's ``robots.txt``
(RFC 9309), fetched once per host and client and kept for the client's life.

Every request connects to an address resolved once, here: the URL is sent to
that address with the original name in the ``Host`` header (and, for https,
in SNI and the certificate check), so the address that was checked is the
address connected to. For URLs taken from untrusted feeds (``guarded``),
loopback, private, link-local and metadata addresses are refused, after DNS
resolution and after every redirect, and so are URLs that URL parsers may
read differently (user info, a backslash in the authority, urllib.parse and
urllib3 disagreeing on host or port).
"""

import collections
import concurrent.futures
import dataclasses
import email.utils
import http.cookiejar
import ipaddress
import random
import re
import socket
import threading
import time
import urllib.parse
import urllib.robotparser

import apache_beam as beam
from apache_beam.utils import shared
import requests
import urllib3

import schemas

__all__ = ['HttpClient', 'HttpClientFn', 'make_user_agent', 'SharedHttpClient', 'acquire_client',
           'HttpSettings',
           'FetchError', 'Response', 'Target', 'map_by_host', 'parse_target',
           'resolve_addresses', 'check_public', 'is_forbidden_address', 'parse_networks',
           'RobotsPolicy', 'parse_robots', 'robots_policy_of', 'robots_rule_matches']

CONNECT_TIMEOUT = 5.0  # seconds to open a connection
READ_TIMEOUT = 15.0  # seconds without a byte before a read fails
DEADLINE = 30.0  # seconds for one attempt: connects, headers and bodies of it and its redirects
MAX_BYTES = 10 << 20  # largest body kept, after decompression
MAX_REDIRECTS = 5
RETRIES = 3  # extra attempts after the first
BACKOFF_BASE = 0.5  # seconds; doubled per attempt, with full jitter
BACKOFF_MAX = 8.0  # seconds
MAX_RETRY_AFTER = 30.0  # longest Retry-After honoured, in seconds
HOST_DELAY = 1.0  # seconds between the starts of two requests to one host
MAX_PER_HOST = 2  # requests at once to one host, per worker process
MAX_ADDRESSES_TRIED = 3  # addresses of one host tried in turn when connecting fails
CHUNK_BYTES = 64 << 10
FETCH_THREADS = 32  # requests in flight per worker, over different hosts
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
# Answers that speak for the whole host: its next request waits Retry-After
# (or the backoff), whichever request of the host comes next.
HOST_WIDE_STATUSES = frozenset((429, 503))
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
DEFAULT_PORTS = {'http': 80, 'https': 443}

# Error kinds, the ``error_type`` of a fetch dead letter.
ERR_TIMEOUT = 'Timeout'
ERR_DEADLINE = 'DeadlineExceeded'
ERR_TOO_LARGE = 'BodyTooLarge'
ERR_CONNECTION = 'ConnectionFailed'
ERR_STATUS = 'HttpStatus'
ERR_REDIRECTS = 'TooManyRedirects'
ERR_FORBIDDEN = 'ForbiddenAddress'
ERR_BAD_URL = 'BadUrl'

ROBOTS_PATH = '/robots.txt'
# robots.txt bytes read and parsed; the rest is ignored (RFC 9309 2.5: at least 500 KiB).
ROBOTS_MAX_BYTES = 500 << 10
ROBOTS_WILDCARD = '%2A'  # '*' in a rule, as urllib's RuleLine percent-encodes it
ROBOTS_END_ANCHOR = '%24'  # a final '$'
# Failures of a robots.txt fetch that mean "unreachable" (RFC 9309 2.3.1.4),
# like a 5xx: the host is skipped for the run.
ROBOTS_UNREACHABLE_KINDS = frozenset((ERR_TIMEOUT, ERR_DEADLINE, ERR_CONNECTION, ERR_TOO_LARGE))
# The one 4xx read as "unreachable" too, as crawlers do; RFC 9309 reads every
# other 4xx as "no rules".
ROBOTS_RATE_LIMITED = 429

_METADATA_HOSTS = frozenset(('metadata.google.internal', 'metadata'))
# Characters no parser agrees on in an authority: whitespace, controls, backslash.
_AMBIGUOUS_AUTHORITY = re.compile(r'[\\\s\x00-\x1f\x7f]')


def make_user_agent(contact=None):
  """``newsbeam/<version>``, with ``(+contact)`` so site owners can reach the operator."""
  agent = f'newsbeam/{schemas.PACKAGE_VERSION}'
  if not contact:
    return agent
  contact = contact.strip()
  if '@' in contact and '://' not in contact and not contact.startswith('mailto:'):
    contact = f'mailto:{contact}'
  return f'{agent} (+{contact})'


DEFAULT_USER_AGENT = make_user_agent()


class FetchError(Exception):
  """A request that failed for good, with a kind, the last HTTP status and why."""

  def __init__(self, kind, message, status=None):
    super().__init__(message)
    self.kind = kind
    self.status = status


@dataclasses.dataclass(frozen=True)
class HttpSettings:
  connect_timeout: float = CONNECT_TIMEOUT
  read_timeout: float = READ_TIMEOUT
  deadline: float = DEADLINE
  max_bytes: int = MAX_BYTES
  max_redirects: int = MAX_REDIRECTS
  retries: int = RETRIES
  backoff_base: float = BACKOFF_BASE
  backoff_max: float = BACKOFF_MAX
  max_retry_after: float = MAX_RETRY_AFTER
  host_delay: float = HOST_DELAY
  max_per_host: int = MAX_PER_HOST
  user_agent: str = DEFAULT_USER_AGENT
  # Networks a guarded request may reach although private: () for none,
  # ('all',) for every address.
  allowed_private: tuple = ()
  # Whether page fetches (HttpClient.robots_refusal) obey robots.txt; feeds never ask.
  respect_robots: bool = True


@dataclasses.dataclass
class Response:
  url: str  # after redirects
  status: int
  headers: dict  # lower-case names
  body: bytes


@dataclasses.dataclass(frozen=True)
class Target:
  """Where a request for a URL goes, as the HTTP client reads the URL."""
  scheme: str
  host: str  # lower-case, IDNA, an IPv6 address in brackets
  port: int

  @property
  def name(self):
    """The host without brackets or a trailing dot: what DNS and TLS are asked about."""
    return self.host.strip('[]').rstrip('.')

  @property
  def host_header(self):
    """The ``Host`` header a client sends for this target (the port only when not the default)."""
    if self.port == DEFAULT_PORTS[self.scheme]:
      return self.host
    return f'{self.host}:{self.port}'


def parse_networks(values):
  """``--allow-private-hosts`` values as ip_network objects, or ('all',)."""
  if not values:
    return ()
  networks = []
  for value in values:
    for item in str(value).split(','):
      item = item.strip()
      if item in ('all', '*'):
        return ('all',)
      if item:
        networks.append(ipaddress.ip_network(item, strict=False))
  return tuple(networks)


def is_forbidden_address(address, allowed=()):
  """True for loopback, private, link-local, reserved or multicast addresses."""
  if 'all' in allowed:
    return False
  ip = ipaddress.ip_address(address)
  if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
    ip = ip.ipv4_mapped
  if any(ip in network for network in allowed):
    return False
  return not ip.is_global or ip.is_multicast or ip.is_link_local


def _idna(hostname):
  """A host name as IDNA ASCII, or unchanged when it has no such form."""
  if hostname.isascii():
    return hostname
  try:
    return hostname.encode('idna').decode('ascii')
  except UnicodeError:
    return hostname


def parse_target(url, allow_userinfo=False):
  """The Target of an http(s) URL; FetchError(ERR_BAD_URL) when malformed or ambiguous.

  Ambiguous means URL parsers may read a different host from it: user info
  (unless allowed), whitespace, a control character or a backslash in the
  authority, or urllib.parse and urllib3 (what requests connects with)
  disagreeing on scheme, host or port, as for ``http://127.0.0.1\\@8.8.8.8/``.
  """
  try:
    parts = urllib.parse.urlsplit(url)
    port = parts.port
    client = urllib3.util.parse_url(url)
  except ValueError as error:  # urllib3's LocationParseError is a ValueError
    raise FetchError(ERR_BAD_URL, f'malformed URL {url!r}: {error}') from error
  if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
    raise FetchError(ERR_BAD_URL, f'not an http(s) URL: {url!r}')
  if _AMBIGUOUS_AUTHORITY.search(parts.netloc):
    raise FetchError(ERR_BAD_URL, f'ambiguous authority in {url!r}')
  if '@' in parts.netloc and not allow_userinfo:
    raise FetchError(ERR_BAD_URL, f'user info in {url!r}')
  host = (client.host or '').lower()
  if (client.scheme != parts.scheme or host.strip('[]') != _idna(parts.hostname)
      or client.port != port):
    raise FetchError(ERR_BAD_URL,
                     f'ambiguous URL {url!r}: host {parts.hostname!r} port {port} for '
                     f'urllib.parse, host {host!r} port {client.port} for the HTTP client')
  return Target(parts.scheme, host, port or DEFAULT_PORTS[parts.scheme])


def resolve_addresses(target):
  """Every address of the target's host, in the resolver's order, each once."""
  try:
    infos = socket.getaddrinfo(target.name, target.port, type=socket.SOCK_STREAM)
  except (OSError, UnicodeError) as error:  # socket.gaierror is an OSError
    raise FetchError(ERR_CONNECTION, f'cannot resolve {target.name!r}: {error}') from error
  addresses = list(dict.fromkeys(info[4][0] for info in infos))
  if not addresses:
    raise FetchError(ERR_CONNECTION, f'{target.name!r} has no address')
  return addresses


def check_public(url, allowed=()):
  """``(target, addresses)`` of a URL whose host resolves, once, to public addresses only.

  Raises FetchError: ERR_BAD_URL for a malformed or ambiguous URL (user info
  included), ERR_FORBIDDEN for a metadata host name or any non-public address.
  The caller connects to these addresses, never to a second resolution.
  """
  target = parse_target(url)
  if target.name in _METADATA_HOSTS:
    raise FetchError(ERR_FORBIDDEN, f'refused host {target.name!r} of {url}')
  addresses = resolve_addresses(target)
  for address in addresses:
    if is_forbidden_address(address, allowed):
      raise FetchError(ERR_FORBIDDEN,
                       f'refused {url}: {target.name} resolves to non-public address {address}')
  return target, addresses


def pinned_url(url, target, address):
  """The URL with its host replaced by ``address``, the address connected to."""
  literal = f"[{address.replace('%', '%25')}]" if ':' in address else address
  port = None if target.port == DEFAULT_PORTS[target.scheme] else target.port
  return urllib3.util.parse_url(url)._replace(host=literal, port=port, fragment=None).url


def retry_after_seconds(value, now=None):
  """Seconds asked for by a Retry-After header (delta or HTTP date), or None."""
  if not value:
    return None
  value = value.strip()
  if value.isdigit():
    return float(value)
  try:
    when = email.utils.parsedate_to_datetime(value)
  except (TypeError, ValueError):
    return None
  now = time.time() if now is None else now
  return max(0.0, when.timestamp() - now)


def backoff_seconds(attempt, settings, rng=random):
  """Full-jitter exponential backoff before retry number ``attempt`` (from 0)."""
  ceiling = min(settings.backoff_max, settings.backoff_base * (2 ** attempt))
  return rng.uniform(0, ceiling)


def robots_rule_matches(pieces, anchored, path):
  """Whether ``path`` matches a rule split at its ``*`` wildcards, in linear time.

  The first piece must start the path; each later one is found leftmost
  after the one before (the earliest place leaves the most room for the
  rest, so this is exact for ``*``); a rule ending in ``$`` must also end
  the path. No regular expression, so no rule can make matching backtrack.
  """
  first, last = pieces[0], pieces[-1]
  if len(pieces) == 1:
    return path == first if anchored else path.startswith(first)
  if not path.startswith(first):
    return False
  start, end = len(first), len(path)
  middle = pieces[1:-1]
  if anchored:
    if not path.endswith(last) or end - len(last) < start:
      return False
    end -= len(last)
  else:
    middle = pieces[1:]
  for piece in middle:
    found = path.find(piece, start, end)
    if found < 0:
      return False
    start = found + len(piece)
  return True


class _RfcRuleLine(urllib.robotparser.RuleLine):
  """A robots.txt rule matched as RFC 9309 says: ``*`` any characters, a final ``$`` the end."""

  def __init__(self, line):  # pylint: disable=super-init-not-called
    self.path = line.path  # percent-encoded by RuleLine: '*' is '%2A', '$' is '%24'
    self.allowance = line.allowance
    pattern = line.path
    self._anchored = pattern.endswith(ROBOTS_END_ANCHOR)
    if self._anchored:
      pattern = pattern[:-len(ROBOTS_END_ANCHOR)]
    self._pieces = pattern.split(ROBOTS_WILDCARD)

  def applies_to(self, filename):
    return self.path == '*' or robots_rule_matches(self._pieces, self._anchored, filename)


def robots_text(body, truncated):
  """A robots.txt body as text; a body cut at the cap loses its last, partial line."""
  text = body.decode('utf-8', errors='replace') if body else ''
  return text[:text.rfind('\n') + 1] if truncated else text


def parse_robots(text):
  """A RobotFileParser of robots.txt text, with RFC 9309 precedence.

  urllib's parser takes the first rule that matches and reads ``*`` and
  ``$`` literally; here the longest rule wins, Allow wins a tie, and both
  wildcards work.
  """
  parser = urllib.robotparser.RobotFileParser()
  parser.parse(text.splitlines())
  entries = list(parser.entries) + ([parser.default_entry] if parser.default_entry else [])
  for entry in entries:
    entry.rulelines = sorted((_RfcRuleLine(line) for line in entry.rulelines),
                             key=lambda line: (-len(line.path), not line.allowance))
  return parser


def _path_of(url):
  """The path and query of a URL, as robots.txt rules and refusals name them."""
  parts = urllib.parse.urlsplit(url)
  return (parts.path or '/') + (f'?{parts.query}' if parts.query else '')


@dataclasses.dataclass(frozen=True)
class RobotsPolicy:
  """What a host's robots.txt decided: rules, everything allowed, or the host refused."""
  rules: object = None  # a RobotFileParser, or None
  refused: str = None  # why the whole host is refused, or None

  def refusal(self, url, user_agent):
    """None when ``url`` may be fetched, else why not."""
    if self.refused:
      return self.refused
    if self.rules is None or self.rules.can_fetch(user_agent, url):
      return None
    return f'robots.txt disallows {_path_of(url)}'


ALLOW_ALL = RobotsPolicy()


def _robots_url(target):
  """The robots.txt URL of a target's scheme, host and port."""
  return f'{target.scheme}://{target.host_header}{ROBOTS_PATH}'


def robots_policy_of(response=None, error=None):
  """The RobotsPolicy of a robots.txt fetch (RFC 9309 2.3.1), from its Response or FetchError.

  2xx: its rules. 4xx (but 429), too many redirects: no rules. 5xx, 429,
  timeouts, connection failures, a body over the cap: the host is refused
  for the run. A fetch refused here (a private address, a malformed URL) is
  no answer from the site: no rules, and the page fetch, guarded on its own,
  says why it fails.
  """
  if response is not None:
    truncated = response.body is not None and len(response.body) >= ROBOTS_MAX_BYTES
    return RobotsPolicy(rules=parse_robots(robots_text(response.body, truncated)))
  status = error.status
  if (error.kind == ERR_STATUS and status is not None and 400 <= status < 500
      and status != ROBOTS_RATE_LIMITED):
    return ALLOW_ALL
  if error.kind == ERR_STATUS or error.kind in ROBOTS_UNREACHABLE_KINDS:
    answer = f'HTTP {status}' if error.kind == ERR_STATUS else error.kind
    return RobotsPolicy(refused=f'robots.txt unreachable ({answer}): host skipped for this run')
  return ALLOW_ALL


class _HostLimiter:
  """Per-host spacing between request starts and a cap on requests at once."""

  def __init__(self, delay, max_at_once):
    self._delay = delay
    self._max = max_at_once
    self._lock = threading.Lock()
    self._semaphores = {}
    self._next_start = {}

  def acquire(self, host):
    with self._lock:
      semaphore = self._semaphores.setdefault(host, threading.BoundedSemaphore(self._max))
    semaphore.acquire()
    while True:
      with self._lock:
        now = time.monotonic()
        start = self._next_start.get(host, now)
        if start <= now:
          self._next_start[host] = now + self._delay
          return
      time.sleep(start - now)

  def release(self, host):
    self._semaphores[host].release()

  def defer(self, host, seconds):
    """No request to ``host`` starts for ``seconds`` from now (a 429 or 503 asked so)."""
    with self._lock:
      until = time.monotonic() + seconds
      if until > self._next_start.get(host, 0.0):
        self._next_start[host] = until


def _shutdown(sock):
  try:
    sock.shutdown(socket.SHUT_RDWR)
  except OSError:
    pass


class _Watchdog:
  """Shuts down the sockets of one exchange when its deadline passes.

  Read timeouts only bound the wait for each byte; this bounds the whole
  exchange. It keeps a duplicate of each socket's descriptor, so it can shut
  the connection down at any moment, also during a TLS handshake, and a
  blocked read then returns at once.
  """

  def __init__(self, seconds):
    self.expired = False
    self._lock = threading.Lock()
    self._sockets = []
    self._closed = False
    self._expires = time.monotonic() + seconds
    self._timer = threading.Timer(seconds, self._expire)
    self._timer.daemon = True
    self._timer.start()

  def remaining(self):
    """Seconds left before the deadline."""
    return self._expires - time.monotonic()

  def watch(self, sock):
    try:
      duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type)
    except OSError:
      return
    with self._lock:
      if self._closed:
        duplicate.close()
        return
      self._sockets.append(duplicate)
      if self.expired:
        _shutdown(duplicate)

  def _expire(self):
    with self._lock:
      if self._closed:
        return
      self.expired = True
      for sock in self._sockets:
        _shutdown(sock)

  def close(self):
    self._timer.cancel()
    with self._lock:
      self._closed = True
      for sock in self._sockets:
        sock.close()
      self._sockets = []


_current = threading.local()  # .watchdog: the _Watchdog of this thread's exchange


def _watch(sock):
  """Puts a socket of this thread's exchange under its watchdog."""
  watchdog = getattr(_current, 'watchdog', None)
  if watchdog is not None and sock is not None:
    watchdog.watch(sock)


class _WatchedConnection:
  """A urllib3 connection whose sockets, new or reused, are watched by the deadline."""

  def _new_conn(self):
    watchdog = getattr(_current, 'watchdog', None)
    if watchdog is not None and isinstance(self.timeout, (int, float)):
      self.timeout = max(0.001, min(self.timeout, watchdog.remaining()))
    sock = super()._new_conn()
    _watch(sock)
    return sock

  def request(self, *args, **kwargs):  # pylint: disable=arguments-differ
    _watch(self.sock)
    return super().request(*args, **kwargs)


class _WatchedHTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
  pass


class _WatchedHTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
  pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
  ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
  ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {'http': _WatchedHTTPPool, 'https': _WatchedHTTPSPool}


class _PinnedAdapter(requests.adapters.HTTPAdapter):
  """Pools of watched connections, for requests sent to an address with a ``Host`` name.

  For https, SNI and the certificate check use the ``Host`` header's name,
  not the address in the URL; pools are keyed by address and name.
  """

  def init_poolmanager(self, *args, **kwargs):
    super().init_poolmanager(*args, **kwargs)
    self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

  def proxy_manager_for(self, proxy, **proxy_kwargs):
    manager = super().proxy_manager_for(proxy, **proxy_kwargs)
    if not proxy.lower().startswith('socks'):
      manager.pool_classes_by_scheme = _WATCHED_POOLS
    return manager

  def build_connection_pool_key_attributes(self, request, verify, cert=None):
    host_params, pool_kwargs = super().build_connection_pool_key_attributes(
        request, verify, cert)
    host = request.headers.get('Host')
    if host_params['scheme'] == 'https' and host:
      name = urllib3.util.parse_url(f'//{host}').host.strip('[]').rstrip('.')
      pool_kwargs = dict(pool_kwargs, server_hostname=name, assert_hostname=name)
    return host_params, pool_kwargs


class _Session(requests.Session):
  """A session that leaves redirects to ``HttpClient._follow``.

  requests parses a redirect's Location even when not following it, and a
  malformed one raised ValueError out of the request.
  """

  def get_redirect_target(self, resp):
    return None


def _failed_to_connect(error):
  """True when a requests error says no connection was made (so another address may do)."""
  if isinstance(error, requests.exceptions.ConnectTimeout):
    return True
  reason = getattr(error.args[0], 'reason', None) if error.args else None
  return isinstance(reason, urllib3.exceptions.NewConnectionError)


class HttpClient:
  """One per worker process (create it in ``DoFn.setup()``); thread-safe."""

  def __init__(self, settings=HttpSettings()):
    self._settings = settings
    self._session = _Session()
    adapter = _PinnedAdapter(pool_connections=64, pool_maxsize=64, max_retries=0)
    self._session.mount('http://', adapter)
    self._session.mount('https://', adapter)
    self._session.headers['User-Agent'] = settings.user_agent
    # Requests go to addresses, so a cookie could follow one site to another
    # on the same address; a crawler keeps none.
    self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    self._limiter = _HostLimiter(settings.host_delay, settings.max_per_host)
    self._robots = {}  # (scheme, host_header) -> [lock, RobotsPolicy or None]
    self._robots_guard = threading.Lock()

  def robots_refusal(self, url):
    """None when the host's robots.txt lets this client's user agent fetch ``url``, else why not.

    Always None when the settings say not to respect robots.txt, or when the
    URL is too malformed to have a host (the page fetch then says so). Each
    host's robots.txt is fetched once, guarded like a page, by the first
    request that needs it; the others of that host wait for it.
    """
    if not self._settings.respect_robots:
      return None
    try:
      target = parse_target(url)
    except FetchError:
      return None
    with self._robots_guard:
      slot = self._robots.setdefault((target.scheme, target.host_header),
                                     [threading.Lock(), None])
    with slot[0]:
      if slot[1] is None:
        try:
          slot[1] = robots_policy_of(response=self.get(_robots_url(target), guarded=True,
                                                       keep_bytes=ROBOTS_MAX_BYTES))
        except FetchError as error:
          slot[1] = robots_policy_of(error=error)
    return slot[1].refusal(url, self._settings.user_agent)

  def get(self, url, headers=None, guarded=False, keep_bytes=None):
    """GET with retries; returns a Response (2xx or 304) or raises FetchError.

    ``keep_bytes``: read the body up to that many bytes and stop there,
    instead of failing a body over the cap.
    """
    settings = self._settings
    last_error = None
    for attempt in range(settings.retries + 1):
      try:
        response = self._follow(url, headers or {}, guarded, keep_bytes)
      except FetchError as error:
        if error.kind not in (ERR_TIMEOUT, ERR_CONNECTION):
          raise  # a slow drip past the deadline is not retried
        last_error = error
        wait = backoff_seconds(attempt, settings)
      else:
        if response.status not in RETRY_STATUSES:
          if response.status == 304 or 200 <= response.status < 300:
            return response
          raise FetchError(ERR_STATUS, f'HTTP {response.status} from {response.url}',
                           response.status)
        last_error = FetchError(ERR_STATUS, f'HTTP {response.status} from {response.url}',
                                response.status)
        asked = retry_after_seconds(response.headers.get('retry-after'))
        wait = (min(asked, settings.max_retry_after) if asked is not None
                else backoff_seconds(attempt, settings))
        if response.status in HOST_WIDE_STATUSES:
          # The host asked to be left alone: its next request, this retry or
          # another's, waits in the limiter; other hosts do not.
          self._defer_host(response.url, wait)
          wait = 0.0
      if attempt < settings.retries:
        time.sleep(wait)
    raise last_error

  def _defer_host(self, url, seconds):
    """Holds back the next request to the host of ``url`` for ``seconds``."""
    try:
      host = parse_target(url, allow_userinfo=True).host_header
    except FetchError:
      return
    self._limiter.defer(host, seconds)

  def _follow(self, url, headers, guarded, keep_bytes=None):
    """One attempt: the request and its redirects, each hop resolved (and checked) once.

    The attempt's deadline starts with its first exchange and covers them all.
    """
    seen = set()
    expires = None
    for _ in range(self._settings.max_redirects + 1):
      if guarded:
        target, addresses = check_public(url, self._settings.allowed_private)
      else:
        target = parse_target(url, allow_userinfo=True)
        addresses = resolve_addresses(target)
      seen.add(url)
      response, expires = self._once(url, target, addresses, headers, expires, keep_bytes)
      location = response.headers.get('location')
      if response.status not in REDIRECT_STATUSES or not location:
        return response
      try:
        url = urllib.parse.urljoin(url, location)
      except ValueError as error:
        raise FetchError(ERR_BAD_URL, f'{response.url} redirects to a malformed URL '
                         f'{location!r}: {error}', response.status) from error
      if url in seen:
        raise FetchError(ERR_REDIRECTS, f'redirect loop at {url}', response.status)
    raise FetchError(ERR_REDIRECTS,
                     f'more than {self._settings.max_redirects} redirects from {url}')

  def _once(self, url, target, addresses, headers, expires, keep_bytes=None):
    """One exchange with an address of the target; returns ``(response, expires)``.

    ``expires`` is the attempt's deadline (``time.monotonic()``), None before
    its first exchange. The watchdog shuts the connection down when it passes.
    """
    self._limiter.acquire(target.host_header)
    try:
      if expires is None:
        expires = time.monotonic() + self._settings.deadline
      remaining = expires - time.monotonic()
      if remaining <= 0:
        raise FetchError(ERR_DEADLINE, f'{url} took over {self._settings.deadline} s')
      watchdog = _Watchdog(remaining)
      _current.watchdog = watchdog
      try:
        return self._try_addresses(url, target, addresses, headers, watchdog,
                                   keep_bytes), expires
      finally:
        _current.watchdog = None
        watchdog.close()
    finally:
      self._limiter.release(target.host_header)

  def _try_addresses(self, url, target, addresses, headers, watchdog, keep_bytes=None):
    """The response from the first address that takes the connection."""
    headers = dict(headers, Host=target.host_header)
    last_error = None
    for address in addresses[:MAX_ADDRESSES_TRIED]:
      try:
        return self._exchange(url, pinned_url(url, target, address), headers, watchdog,
                              keep_bytes)
      except requests.ConnectionError as error:
        last_error = error
        if watchdog.expired or not _failed_to_connect(error):
          break
    if watchdog.expired:
      raise FetchError(ERR_DEADLINE, f'{url} took over {self._settings.deadline} s') from last_error
    kind = ERR_TIMEOUT if isinstance(last_error, requests.Timeout) else ERR_CONNECTION
    raise FetchError(kind, f'cannot connect: {url}: {last_error}') from last_error

  def _exchange(self, url, address_url, headers, watchdog, keep_bytes=None):
    """The request sent to ``address_url`` (the pinned form of ``url``).

    Raises requests.ConnectionError when the connection failed, for the
    caller to try another address; FetchError for everything else.
    """
    settings = self._settings
    try:
      raw = self._session.get(address_url, headers=headers, stream=True, allow_redirects=False,
                              timeout=(settings.connect_timeout, settings.read_timeout))
    except requests.ConnectionError:
      raise
    except requests.Timeout as error:
      if watchdog.expired:
        raise FetchError(ERR_DEADLINE, f'{url} took over {settings.deadline} s') from error
      raise FetchError(ERR_TIMEOUT, f'timed out: {url}: {error}') from error
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as error:
      raise FetchError(ERR_BAD_URL, f'cannot request {url}: {error}') from error
    except requests.RequestException as error:
      raise FetchError(ERR_CONNECTION, f'request to {url} failed: {error}') from error
    except ValueError as error:
      raise FetchError(ERR_BAD_URL, f'cannot request {url}: {error}') from error
    try:
      body = self._read_body(raw, url, watchdog, keep_bytes)
    finally:
      raw.close()
    return Response(url, raw.status_code, {k.lower(): v for k, v in raw.headers.items()}, body)

  def _read_body(self, raw, url, watchdog, keep_bytes=None):
    settings = self._settings
    declared = raw.headers.get('content-length', '')
    if keep_bytes is None and declared.isdigit() and int(declared) > settings.max_bytes and \
        not raw.headers.get('content-encoding'):
      raise FetchError(ERR_TOO_LARGE,
                       f'{url} declares {declared} bytes, over the cap of {settings.max_bytes}')
    chunks, size = [], 0
    while True:
      try:
        chunk = raw.raw.read1(CHUNK_BYTES, decode_content=True)
      except (urllib3.exceptions.ReadTimeoutError, socket.timeout) as error:
        if watchdog.expired:
          raise FetchError(ERR_DEADLINE, f'{url} took over {settings.deadline} s') from error
        raise FetchError(ERR_TIMEOUT, f'read timed out: {url}') from error
      except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as error:
        if watchdog.expired:
          raise FetchError(ERR_DEADLINE, f'{url} took over {settings.deadline} s') from error
        raise FetchError(ERR_CONNECTION, f'broken response from {url}: {error}') from error
      if watchdog.expired:  # a shut-down socket can look like the end of the body
        raise FetchError(ERR_DEADLINE, f'{url} took over {settings.deadline} s')
      if not chunk:
        return b''.join(chunks)
      size += len(chunk)
      if keep_bytes is not None and size >= keep_bytes:
        return (b''.join(chunks) + chunk)[:keep_bytes]
      if size > settings.max_bytes:
        raise FetchError(ERR_TOO_LARGE, f'{url} sent over {settings.max_bytes} bytes')
      chunks.append(chunk)


class SharedHttpClient:
  """Holds one HttpClient per worker process, for ``apache_beam.utils.shared``."""

  def __init__(self, settings):
    self.client = HttpClient(settings)


def acquire_client(handle, settings):
  """The worker process's one HttpClient for ``settings``, from a ``Shared`` handle."""
  return handle.acquire(lambda: SharedHttpClient(settings), tag=repr(settings)).client


class HttpClientFn(beam.DoFn):
  """A DoFn whose ``self._client`` is its worker process's one HttpClient (from setup())."""

  def __init__(self, settings):
    self._settings = settings
    self._shared = shared.Shared()
    self._client = None

  def setup(self):
    self._client = acquire_client(self._shared, self._settings)


def _host_of(url):
  """The authority of a URL, lower-case; '' for a URL too malformed to have one."""
  try:
    return urllib.parse.urlsplit(url or '').netloc.lower()
  except ValueError:
    return ''


def map_by_host(items, url_of, work, lanes_per_host, threads=FETCH_THREADS):
  """``work(item)`` for every item on a thread pool; returns results in order.

  Items are grouped by their URL's host and each host's items are split into
  at most ``lanes_per_host`` sequential lanes, so different hosts run side by
  side while no host gets more than that many requests at once, and a busy
  host never ties up the whole pool.
  """
  lanes = collections.defaultdict(list)
  per_host = collections.Counter()
  for index, item in enumerate(items):
    host = _host_of(url_of(item))
    lanes[(host, per_host[host] % lanes_per_host)].append(index)
    per_host[host] += 1
  results = [None] * len(items)

  def run_lane(indexes):
    for index in indexes:
      results[index] = work(items[index])

  with concurrent.futures.ThreadPoolExecutor(max(1, min(threads, len(lanes)))) as pool:
    for future in [pool.submit(run_lane, lane) for lane in lanes.values()]:
      future.result()
  return results
