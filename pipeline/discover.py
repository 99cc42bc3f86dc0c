"""``newsbeam discover SITE_URL [--opml FILE]``: a site's feeds, verified, for ``--feeds``.

Prints one line per feed found (URL, entries, how it was found, title) on
stdout, and with ``--opml`` writes them as an OPML file that ``--feeds``
reads. Requests go through the polite client: the site's robots.txt for its
home page, its per-host delay, and private addresses refused unless
``--allow-private-hosts``.
"""

import argparse
import os
import sys

from pipeline.options import MAX_HTTP_TIMEOUT
from pipeline.options import ConfigError
from pipeline.runs import print_to_stdout
from transforms.net.discover import discover_feeds
from transforms.net.discover import feeds_to_opml
from transforms.net.feeds import FeedListError
from transforms.net.feeds import check_feed_url
from transforms.net.http import DEADLINE
from transforms.net.http import HOST_DELAY
from transforms.net.http import HttpClient
from transforms.net.http import HttpSettings
from transforms.net.http import make_user_agent
from transforms.net.http import parse_networks

__all__ = ['discover_main']

EXIT_OK = 0
EXIT_NONE_FOUND = 1  # the site was read but no candidate is a feed
EXIT_CONFIG_ERROR = 2
DISCOVERY_RETRIES = 1  # extra attempts per candidate: discovery tries many URLs that 404


class _DiscoverParser(argparse.ArgumentParser):
  """Reports a wrong flag as a ConfigError (one line, exit status 2)."""

  def error(self, message):
    raise ConfigError(message)


def _parser():
  parser = _DiscoverParser(
      prog='newsbeam discover', allow_abbrev=False,
      description="Finds a site's feeds from its home page's <link rel=alternate> and "
      'common paths (/feed, /rss, /rss.xml, /atom.xml, /feeds/posts/default, /index.xml, '
      '/feed.xml), keeps those that parse as feeds, prints them, and can write them '
      'as OPML for --feeds.',
      epilog='Exit status: 0 feeds found; 1 none found; 2 wrong configuration.')
  parser.add_argument('site', metavar='SITE_URL', help='the site (its home page), http(s)')
  parser.add_argument('--opml', default=None, metavar='FILE',
                      help='Write the feeds found to FILE as OPML (what --feeds reads).')
  parser.add_argument(
      '--allow-private-hosts', '--allow_private_hosts', dest='allow_private_hosts',
      nargs='?', const='all', default=None, metavar='NETWORKS',
      help='Let discovery reach loopback/private addresses: all, or the comma-separated '
      'networks given. Default: refused.')
  parser.add_argument('--http-timeout', '--http_timeout', dest='http_timeout', type=float,
                      default=DEADLINE, metavar='SECONDS',
                      help='Deadline of one request. Default: %(default)s.')
  parser.add_argument('--host-delay', '--host_delay', dest='host_delay', type=float,
                      default=HOST_DELAY, metavar='SECONDS',
                      help='Least time between two requests to the site. Default: %(default)s.')
  parser.add_argument('--http-user-agent', '--http_user_agent', dest='http_user_agent',
                      default=None, metavar='UA', help='User-Agent, whole.')
  parser.add_argument('--http-contact', '--http_contact', dest='http_contact', default=None,
                      metavar='EMAIL_OR_URL', help='Added to the User-Agent.')
  return parser


def _settings(args):
  """HttpSettings of the flags; ConfigError when one is out of range."""
  if not 0 < args.http_timeout <= MAX_HTTP_TIMEOUT:
    raise ConfigError(f'--http-timeout: expected a number above 0 and at most '
                      f'{MAX_HTTP_TIMEOUT}, got {args.http_timeout}')
  if not 0 <= args.host_delay <= MAX_HTTP_TIMEOUT:
    raise ConfigError(f'--host-delay: expected a number from 0 to {MAX_HTTP_TIMEOUT}, '
                      f'got {args.host_delay}')
  try:
    allowed = parse_networks([args.allow_private_hosts] if args.allow_private_hosts else [])
  except ValueError as error:
    raise ConfigError(f'--allow-private-hosts: {error}') from error
  return HttpSettings(deadline=args.http_timeout, host_delay=args.host_delay,
                      retries=DISCOVERY_RETRIES, allowed_private=allowed,
                      user_agent=args.http_user_agent or make_user_agent(args.http_contact))


def format_feeds(feeds):
  """One tab-separated line per feed: URL, entries, how found, title."""
  return '\n'.join(f'{f.url}\t{f.entries} entries\t{f.via}\t{f.title or ""}' for f in feeds)


def discover_main(argv):
  """``newsbeam discover``; returns the exit status."""
  try:
    args = _parser().parse_args(argv)
    try:
      site = check_feed_url(args.site)
    except FeedListError as error:
      raise ConfigError(str(error).replace('feed URL', 'site URL')) from error
    settings = _settings(args)
    if args.opml and os.path.isdir(args.opml):
      raise ConfigError(f'--opml {args.opml!r} is a folder: name a file')
  except ConfigError as error:
    print(f'newsbeam: error: {" ".join(str(error).split())}', file=sys.stderr)
    return EXIT_CONFIG_ERROR
  feeds, notes = discover_feeds(HttpClient(settings), site)
  for note in notes:
    print(f'newsbeam discover: not a feed: {note}', file=sys.stderr)
  if not feeds:
    print(f'newsbeam discover: no feed found for {site}', file=sys.stderr)
    return EXIT_NONE_FOUND
  if args.opml:
    try:
      with open(args.opml, 'wb') as f:
        f.write(feeds_to_opml(feeds, f'Feeds of {site}'))
    except OSError as error:
      print(f'newsbeam: error: --opml {args.opml!r}: {error}', file=sys.stderr)
      return EXIT_CONFIG_ERROR
  return print_to_stdout(format_feeds(feeds)) or EXIT_OK
