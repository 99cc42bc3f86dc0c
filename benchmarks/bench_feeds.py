"""Fetching 200 feeds from 20 local hosts with realistic latency: do hosts overlap?

Starts 20 HTTP servers on 127.0.0.1 ... 127.0.0.20 (all loopback), each
answering every request after LATENCY seconds with a small RSS feed, and runs
newsbeam's FetchFeeds over 200 feed URLs (10 per host) on the DirectRunner.
Reports, median of 3, the wall time against the sum of the latencies (what a
one-at-a-time loop would wait) and against the floor that politeness sets
(per-host spacing times the requests per host).

    .venv/bin/python -m benchmarks.bench_feeds [--runs 3]
"""

import argparse
import datetime
import http.server
import statistics
import threading
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.net.feeds import FetchFeeds
from transforms.net.http import HttpSettings

HOSTS = 20
FEEDS_PER_HOST = 10
LATENCY = 0.2  # seconds before each answer
FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>'
        b'<item><title>Item</title><link>http://example.org/x</link>'
        b'<description>Body of the item.</description></item></channel></rss>')


class _SlowHandler(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.1'

  def log_message(self, *args):
    pass

  def do_GET(self):  # pylint: disable=invalid-name
    time.sleep(LATENCY)
    self.send_response(200)
    self.send_header('Content-Type', 'application/rss+xml')
    self.send_header('Content-Length', str(len(FEED)))
    self.end_headers()
    self.wfile.write(FEED)


def start_servers():
  servers = []
  for host in range(1, HOSTS + 1):
    server = http.server.ThreadingHTTPServer((f'127.0.0.{host}', 0), _SlowHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    servers.append(server)
  return servers


def fetch_all(urls, settings):
  options = PipelineOptions(['--runner=DirectRunner'])
  start = time.perf_counter()
  with beam.Pipeline(options=options) as p:
    _ = p | FetchFeeds(urls, settings, {})
  return time.perf_counter() - start


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--runs', type=int, default=3)
  args = parser.parse_args(argv)
  servers = start_servers()
  urls = [f'http://{s.server_address[0]}:{s.server_address[1]}/feed/{i}.xml'
          for s in servers for i in range(FEEDS_PER_HOST)]
  total_latency = len(urls) * LATENCY
  print(f'{datetime.date.today()}  {len(urls)} feeds on {HOSTS} loopback hosts, '
        f'{LATENCY * 1000:.0f} ms latency each, median of {args.runs}')
  print(f'{"configuration":36} {"wall s":>7} {"sum of latencies / wall":>24} {"politeness floor s":>19}')
  for delay in (1.0, 0.0):
    settings = HttpSettings(host_delay=delay)
    wall = statistics.median(fetch_all(urls, settings) for _ in range(args.runs))
    floor = (FEEDS_PER_HOST - 1) * max(delay, LATENCY / settings.max_per_host)
    print(f'{"host delay %.1f s, %d per host" % (delay, settings.max_per_host):36} '
          f'{wall:7.2f} {total_latency / wall:24.1f} {floor:19.1f}')
  for server in servers:
    server.shutdown()


if __name__ == '__main__':
  main()
