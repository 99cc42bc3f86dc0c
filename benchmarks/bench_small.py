"""Small runs and quiet watch cycles: newsbeam's fixed cost against the plain script.

Builds corpora of 2, 20 and 200 plain-text articles (the two samples, then
the gold article bodies of ../shared/eval/article-extraction-2025 written as
``.txt`` files) and times, each in a fresh process, round robin over
``--runs`` rounds (so slow spells of the machine hit every configuration
alike):

  plain      the one-process script a user would write (baseline_loop's
             steps over .txt files: normalisation, boilerplate rules and the
             classifier, langdetect, spaCy NER with ``nlp.pipe``, places,
             stories, one pyarrow write);
  newsbeam   ``newsbeam --input DIR --output OUT`` with no other flag.

Then one ``newsbeam watch --every 1s --max-cycles 3`` against a loopback feed
server, after a first run that wrote the feed's two entries: cycle 1 finds
nothing new (304), cycle 2 one new entry, cycle 3 nothing new (304). The
seconds of each cycle are read from watch's own line per cycle.

``--tree PATH`` runs newsbeam from another checkout (e.g. the code before a
change), with the same venv. Prints a table of medians and ratios.

    .venv/bin/python -m benchmarks.bench_small [--runs 3] [--sizes 2,20,200]
"""

import argparse
import datetime
import http.server
import json
import os
import pathlib
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
EVAL_2025 = ROOT.parent / 'shared' / 'eval' / 'article-extraction-2025' / 'ground-truth.json'
WATCH_EVERY = '1s'  # interval of the benchmarked watch
FEED_ENTRIES = {1: 2, 2: 2}  # request number -> entries of the feed; later requests: NEW_ENTRIES
NEW_ENTRIES = 3
_CYCLE_LINE = re.compile(r'cycle (\d+) run \S+ (\w+).*?, ([\d.]+) s;')
RUN_FLAGS = ('--host-delay', '0', '--http-retries', '0', '--allow-private-hosts', '127.0.0.0/8')


def build_corpus(folder, count):
  """``count`` .txt articles in ``folder``: the samples first, then eval article bodies."""
  folder.mkdir(parents=True, exist_ok=True)
  written = 0
  for path in sorted((ROOT / 'samples').glob('*.txt'))[:count]:
    (folder / path.name).write_text(path.read_text(encoding='utf-8'), encoding='utf-8')
    written += 1
  truth = json.loads(EVAL_2025.read_text(encoding='utf-8'))
  for key in sorted(truth):
    if written >= count:
      break
    item = truth[key]
    title = ' '.join((item.get('title') or key).split())
    body = item.get('articleBody') or ''
    if len(body.split()) < 50:
      continue
    date = item.get('publish_date') or ''
    header = f'date {date} {title}' if re.match(r'\d{4}-\d{2}-\d{2}\Z', date) else title
    (folder / f'eval_{key}.txt').write_text(f'{header}\n\n{body}\n', encoding='utf-8')
    written += 1
  return written


def plain_main(corpus, out):
  """The plain script over .txt files (baseline_loop's steps); returns the rows written."""
  # pylint: disable=import-outside-toplevel
  from benchmarks.baseline_loop import cleaned_article
  from benchmarks.baseline_loop import write_enriched
  from schemas import article as A
  from schemas import raw as R
  from transforms.enrich.entities import default_ner_models
  from transforms.enrich.entities import load_ner_pipeline
  from transforms.enrich.language import load_detector_factory
  from transforms.clean.classifier import load_cleaner_model
  from transforms.enrich.geo.places import gazetteer
  from transforms.read.files import parse_text_file
  factory = load_detector_factory()
  model = load_cleaner_model()
  nlp = load_ner_pipeline(default_ner_models()['en'])
  gaz = gazetteer()
  now = datetime.datetime.now(datetime.timezone.utc)
  articles = []
  for path in sorted(pathlib.Path(corpus).glob('*.txt')):
    raw = dict(parse_text_file(path.read_text(encoding='utf-8')),
               **{A.SOURCE_URI: str(path), A.INPUT_FORMAT: 'text',
                  R.FOLDER_NAME: path.parent.name})
    article = cleaned_article(raw, factory, model, now, 'text', run_id='plain')
    if article is not None:
      articles.append(article)
  return write_enriched(articles, nlp, gaz, out)


def _env(tree):
  env = dict(os.environ)
  env['PYTHONPATH'] = str(tree)
  return env


def timed(command, tree):
  """``(wall, cpu)`` seconds of a command run from ``tree`` (cpu: user + system of
  its whole process tree, which a loaded machine inflates less); exits on failure."""
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  started = time.monotonic()
  done = subprocess.run(command, cwd=tree, env=_env(tree), capture_output=True, text=True,
                        check=False)
  wall = time.monotonic() - started
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  if done.returncode:
    sys.exit(f'failed ({done.returncode}): {" ".join(command)}\n{done.stderr[-3000:]}')
  return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


class _FeedHandler(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.1'

  def log_message(self, *args):
    pass

  def do_GET(self):  # pylint: disable=invalid-name
    from tests.feed_server import growing_feed  # pylint: disable=import-outside-toplevel
    server = self.server
    with server.lock:
      server.hits += 1
      entries = FEED_ENTRIES.get(server.hits, NEW_ENTRIES)
    body, etag = growing_feed(entries)
    if self.headers.get('If-None-Match') == etag:
      self.send_response(304)
      self.send_header('ETag', etag)
      self.send_header('Content-Length', '0')
      self.end_headers()
      return
    self.send_response(200)
    self.send_header('Content-Type', 'application/rss+xml')
    self.send_header('ETag', etag)
    self.send_header('Content-Length', str(len(body)))
    self.end_headers()
    self.wfile.write(body)


def watch_cycles(tree, tmp, python):
  """Seconds and status of three watch cycles after a first run that wrote the feed."""
  server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _FeedHandler)
  server.lock, server.hits = threading.Lock(), 0
  threading.Thread(target=server.serve_forever, daemon=True).start()
  try:
    url = f'http://127.0.0.1:{server.server_address[1]}/growing.xml'
    out = tmp / 'watch-out'
    flags = ['--feed', url, '--output', str(out), *RUN_FLAGS]
    timed([python, '-m', 'pipeline.main', *flags], tree)
    done = subprocess.run(
        [python, '-m', 'pipeline.watch', '--every', WATCH_EVERY, '--max-cycles', '3', *flags],
        cwd=tree, env=_env(tree), capture_output=True, text=True, check=False)
    cycles = [(m.group(2), float(m.group(3))) for m in map(_CYCLE_LINE.search,
                                                           done.stderr.splitlines()) if m]
    if done.returncode or len(cycles) != 3:
      sys.exit(f'watch failed ({done.returncode}):\n{done.stderr[-3000:]}')
    return cycles
  finally:
    server.shutdown()
    server.server_close()


def benchmark(args, tmp):
  python = sys.executable
  tree = pathlib.Path(args.tree).resolve()
  walls = {}
  corpora = {}
  for size in args.sizes:
    corpora[size] = tmp / f'corpus{size}'
    got = build_corpus(corpora[size], size)
    if got != size:
      sys.exit(f'only {got} texts for a corpus of {size}')
  for index in range(args.runs):
    for size in args.sizes:
      for name in ('plain', 'newsbeam'):
        out = tmp / f'out-{name}-{size}-{index}'
        if name == 'plain':
          command = [python, str(pathlib.Path(__file__).resolve()), '--plain',
                     str(corpora[size]), str(out) + '.parquet']
          measured = timed(command, tree)
        else:
          command = [python, '-m', 'pipeline.main', '--input', str(corpora[size]),
                     '--output', str(out)]
          measured = timed(command, tree)
        walls.setdefault((size, name), []).append(measured)
        print(f'# round {index + 1} {size} {name}: {measured[0]:.1f} s wall, '
              f'{measured[1]:.1f} s cpu', file=sys.stderr, flush=True)
  cycles = []
  for index in range(args.watch_runs):
    cycles.append(watch_cycles(tree, tmp / f'watch{index}', python))
    print(f'# watch round {index + 1}: {cycles[-1]}', file=sys.stderr, flush=True)
  print(f'{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, '
        f'{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; newsbeam from {tree}; '
        f'median of {args.runs} interleaved rounds\n')
  print('| articles | plain wall s | newsbeam wall s | wall ratio | plain cpu s '
        '| newsbeam cpu s | cpu ratio |')
  print('|---:|---:|---:|---:|---:|---:|---:|')
  for size in args.sizes:
    plain = [statistics.median(m[i] for m in walls[(size, 'plain')]) for i in (0, 1)]
    news = [statistics.median(m[i] for m in walls[(size, 'newsbeam')]) for i in (0, 1)]
    print(f'| {size} | {plain[0]:.1f} | {news[0]:.1f} | {news[0] / plain[0]:.2f}x '
          f'| {plain[1]:.1f} | {news[1]:.1f} | {news[1] / plain[1]:.2f}x |')
  print('\n| watch cycle | status | seconds (median) |')
  print('|---|---|---:|')
  for number, what in enumerate(('nothing new (304)', 'one new entry', 'nothing new (304)')
                                if cycles else ()):
    status = cycles[0][number][0]
    seconds = statistics.median(c[number][1] for c in cycles)
    print(f'| {number + 1}: {what} | {status} | {seconds:.2f} |')
  print('\nwall/cpu (s): ' + '; '.join(
      f'{size} {name} ' + ', '.join(f'{w:.1f}/{c:.1f}' for w, c in ws)
      for (size, name), ws in walls.items()))
  print('watch cycles (s): ' + '; '.join(
      ', '.join(f'{s:.2f}' for _, s in c) for c in cycles))


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
  parser.add_argument('--runs', type=int, default=3)
  parser.add_argument('--watch-runs', type=int, default=3)
  parser.add_argument('--sizes', default='2,20,200')
  parser.add_argument('--tree', default=str(ROOT), help='the checkout newsbeam runs from')
  parser.add_argument('--plain', nargs=2, metavar=('CORPUS', 'OUT'),
                      help='run only the plain script (used by the benchmark itself)')
  args = parser.parse_args(argv)
  if args.plain:
    print(plain_main(*args.plain))
    return
  args.sizes = [int(s) for s in args.sizes.split(',') if s.strip()]
  if not EVAL_2025.exists():
    sys.exit(f'{EVAL_2025} is missing: this benchmark needs ../shared/eval beside the clone')
  with tempfile.TemporaryDirectory() as tmp_name:
    benchmark(args, pathlib.Path(tmp_name))


if __name__ == '__main__':
  main()
