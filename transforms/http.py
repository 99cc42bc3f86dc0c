"""A polite, bounded HTTP client for feeds and pages.

Built on requests (connection pooling, streaming, proxies and TLS handled by
a well-kept library) with what a scheduled crawler needs on top: a total
deadline and a byte cap per request enforced while streaming (a slow drip, a
2 GB body or a gzip bomb stop at the limit), manual redirects with a limit
and loop detection, retries with exponential backoff and jitter on
connection errors, timeouts, 429 and 5xx (honouring ``Retry-After`` up to a
cap), per-host spacing and concurrency limits, and, for URLs taken from
untrusted feeds, a refusal of loopback, private, link-local and metadata
addresses checked after DNS resolution and after every redirect.
"""

import collections
import concurrent.futures
import dataclasses
import email.utils
import ipaddress
import random
import socket
import threading
import time
import urllib.parse

import schemas

__all__ = ['HttpClient', 'make_user_agent', 'SharedHttpClient', 'acquire_client', 'HttpSettings',
           'FetchError', 'Response', 'map_by_host',
           'is_forbidden_address', 'parse_networks']

CONNECT_TIMEOUT = 5.0  # seconds to open a connection
READ_TIMEOUT = 15.0  # seconds without a byte before a read fails
DEADLINE = 30.0  # seconds for one attempt, headers to last byte
MAX_BYTES = 10 << 20  # largest body kept, after decompression
MAX_REDIRECTS = 5
RETRIES = 3  # extra attempts after the first
BACKOFF_BASE = 0.5  # seconds; doubled per attempt, with full jitter
BACKOFF_MAX = 8.0  # seconds
MAX_RETRY_AFTER = 30.0  # longest Retry-After honoured, in seconds
HOST_DELAY = 1.0  # seconds between the starts of two requests to one host
MAX_PER_HOST = 2  # requests at once to one host, per worker process
CHUNK_BYTES = 64 << 10
FETCH_THREADS = 32  # requests in flight per worker, over different hosts
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))

# Error kinds, the ``error_type`` of a fetch dead letter.
ERR_TIMEOUT = 'Timeout'
ERR_DEADLINE = 'DeadlineExceeded'
ERR_TOO_LARGE = 'BodyTooLarge'
ERR_CONNECTION = 'ConnectionFailed'
ERR_STATUS = 'HttpStatus'
ERR_REDIRECTS = 'TooManyRedirects'
ERR_FORBIDDEN = 'ForbiddenAddress'
ERR_BAD_URL = 'BadUrl'

_METADATA_HOSTS = frozenset(('metadata.google.internal', 'metadata'))


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


@dataclasses.dataclass
class Response:
  url: str  # after redirects
  status: int
  headers: dict  # lower-case names
  body: bytes


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


def check_public(url, allowed=()):
  """Raises FetchError(ERR_FORBIDDEN) unless every address of the URL's host is public."""
  parts = urllib.parse.urlsplit(url)
  host = (parts.hostname or '').rstrip('.').lower()
  if not host or host in _METADATA_HOSTS:
    raise FetchError(ERR_FORBIDDEN, f'refused host {host!r} of {url}')
  try:
    infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
  except (socket.gaierror, UnicodeError) as error:
    raise FetchError(ERR_CONNECTION, f'cannot resolve {host!r}: {error}') from error
  for info in infos:
    address = info[4][0]
    if is_forbidden_address(address, allowed):
      raise FetchError(ERR_FORBIDDEN,
                       f'refused {url}: {host} resolves to non-public address {address}')


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


class HttpClient:
  """One per worker process (create it in ``DoFn.setup()``); thread-safe."""

  def __init__(self, settings=HttpSettings()):
    import requests  # pylint: disable=import-outside-toplevel
    self._settings = settings
    self._session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=64, pool_maxsize=64,
                                            max_retries=0)
    self._session.mount('http://', adapter)
    self._session.mount('https://', adapter)
    self._session.headers['User-Agent'] = settings.user_agent
    self._limiter = _HostLimiter(settings.host_delay, settings.max_per_host)

  def get(self, url, headers=None, guarded=False):
    """GET with retries; returns a Response (2xx or 304) or raises FetchError."""
    settings = self._settings
    last_error = None
    for attempt in range(settings.retries + 1):
      try:
        response = self._follow(url, headers or {}, guarded)
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
      if attempt < settings.retries:
        time.sleep(wait)
    raise last_error

  def _follow(self, url, headers, guarded):
    """One attempt: the request and its redirects."""
    seen = set()
    for _ in range(self._settings.max_redirects + 1):
      parts = urllib.parse.urlsplit(url)
      if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise FetchError(ERR_BAD_URL, f'not an http(s) URL: {url!r}')
      if guarded:
        check_public(url, self._settings.allowed_private)
      seen.add(url)
      response = self._once(url, headers)
      location = response.headers.get('location')
      if response.status not in REDIRECT_STATUSES or not location:
        return response
      url = urllib.parse.urljoin(url, location)
      if url in seen:
        raise FetchError(ERR_REDIRECTS, f'redirect loop at {url}', response.status)
    raise FetchError(ERR_REDIRECTS,
                     f'more than {self._settings.max_redirects} redirects from {url}')

  def _once(self, url, headers):
    """One HTTP exchange, streamed under the byte cap and the deadline."""
    import requests  # pylint: disable=import-outside-toplevel
    settings = self._settings
    host = urllib.parse.urlsplit(url).netloc.lower()
    self._limiter.acquire(host)
    try:
      started = time.monotonic()
      try:
        raw = self._session.get(url, headers=headers, stream=True, allow_redirects=False,
                                timeout=(settings.connect_timeout, settings.read_timeout))
      except requests.Timeout as error:
        raise FetchError(ERR_TIMEOUT, f'timed out: {url}: {error}') from error
      except (requests.ConnectionError, requests.exceptions.InvalidURL,
              requests.exceptions.InvalidSchema) as error:
        raise FetchError(ERR_CONNECTION, f'cannot connect: {url}: {error}') from error
      try:
        body = self._read_body(raw, url, started)
      finally:
        raw.close()
      return Response(url, raw.status_code,
                      {k.lower(): v for k, v in raw.headers.items()}, body)
    finally:
      self._limiter.release(host)

  def _read_body(self, raw, url, started):
    import requests  # pylint: disable=import-outside-toplevel
    import urllib3  # pylint: disable=import-outside-toplevel
    settings = self._settings
    declared = raw.headers.get('content-length', '')
    if declared.isdigit() and int(declared) > settings.max_bytes and \
        not raw.headers.get('content-encoding'):
      raise FetchError(ERR_TOO_LARGE,
                       f'{url} declares {declared} bytes, over the cap of {settings.max_bytes}')
    chunks, size = [], 0
    while True:
      if time.monotonic() - started > settings.deadline:
        raise FetchError(ERR_DEADLINE, f'{url} took over {settings.deadline} s')
      try:
        chunk = raw.raw.read1(CHUNK_BYTES, decode_content=True)
      except (urllib3.exceptions.ReadTimeoutError, socket.timeout) as error:
        raise FetchError(ERR_TIMEOUT, f'read timed out: {url}') from error
      except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as error:
        raise FetchError(ERR_CONNECTION, f'broken response from {url}: {error}') from error
      if not chunk:
        return b''.join(chunks)
      size += len(chunk)
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
    host = urllib.parse.urlsplit(url_of(item) or '').netloc.lower()
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
