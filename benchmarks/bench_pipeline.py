"""newsbeam against the plain script a user would write instead, same work, same libraries.

Builds a corpus of JSON Lines articles from the eval pages' HTML
(../shared/eval/article-extraction, 61 pages cut to about ``--max-words``
words of paragraph text), each copy with its own URL, host and closing
sentence, so deduplication keeps every one. Then runs each configuration in a
fresh process, ``--runs`` times, round robin (so slow spells of the machine
hit every configuration alike), and prints the median of each:

  baseline      benchmarks/baseline_loop.py: one loop (trafilatura, the same
                normalisation and boilerplate rules, langdetect, ``nlp.pipe``
                with newsbeam's batch size, one pyarrow write);
  baseline-n2   the same loop with ``nlp.pipe(..., n_process=2)``;
  in-memory     newsbeam, DirectRunner, ``--direct_num_workers=1
                --direct_running_mode=in_memory``;
  multi         newsbeam, DirectRunner, ``--direct_num_workers=0
                --direct_running_mode=multi_processing`` (run_local.sh's default).

Peak RSS is sampled from /proc every 0.2 s over the process tree: the largest
process and the sum over all of them. ``--memory-sizes 2000,20000`` instead
runs ``multi`` once per corpus size and compares the peaks.

    .venv/bin/python -m benchmarks.bench_pipeline [--articles 2000] [--runs 3]
    .venv/bin/python -m benchmarks.bench_pipeline --memory-sizes 2000,20000
"""

import argparse
import datetime
import gzip
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import lxml.html
import pyarrow.dataset
import pyarrow.parquet as pq

from benchmarks.corpus import EVAL_PAGES
from benchmarks.corpus import ROOT
from transforms.enrich.entities import default_ner_models
from transforms.extract.html import extract_main_text

SAMPLE_SECONDS = 0.2

MARKER = 'NEWSBEAMCOPYMARKER'
NUMBER_WORDS = ('zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine')


def page_template(html, max_words):
  """The page cut to about ``max_words`` words of <p> text, with a marker in its main text.

  Every <p> after the first ``max_words`` words of paragraph text is removed
  (``max_words`` <= 0 keeps them all). The marker ends the longest kept
  paragraph (else wordiest block) that the main-text extractor keeps.
  """
  tree = lxml.html.document_fromstring(html)
  words, kept = 0, []
  for paragraph in list(tree.iter('p')):
    if 0 < max_words <= words:
      paragraph.drop_tree()
    else:
      words += len(paragraph.text_content().split())
      kept.append(paragraph)
  wordy = [e for e in tree.iter() if isinstance(e.tag, str) and e.tag != 'p'
           and len((e.text or '').split()) >= 20]
  candidates = (sorted(kept, key=lambda p: -len(p.text_content()))
                + sorted(wordy, key=lambda e: -len(e.text)) + [tree.body])
  for target in candidates:
    marker = lxml.html.fragment_fromstring(f'<span> {MARKER}</span>')
    target.append(marker)
    page = extract_main_text(lxml.html.tostring(tree, encoding='unicode'), 'https://example.org/')
    if page and MARKER in page['text']:
      break
    marker.drop_tree()
  return lxml.html.tostring(tree, encoding='unicode')


def copy_sentence(i):
  """A closing sentence unique to copy ``i``, in words (boilerplate fingerprints fold digits)."""
  spelled = ' '.join(NUMBER_WORDS[int(d)] for d in str(i))
  return f'This benchmark copy is filed as number {spelled} in the corpus.'


def build_corpus(folder, count, max_words, per_file):
  """``count`` JSON Lines articles cycling through the eval pages, ``per_file`` to a file.

  Each copy has its own URL and closing sentence, so deduplication keeps it,
  and each pass over the pages has its own host: a source never repeats an
  article, so the repeated-paragraph pass sees what it would see on real sites.
  """
  pages = [page_template(gzip.decompress(p.read_bytes()).decode('utf-8', errors='replace'),
                         max_words)
           for p in sorted(EVAL_PAGES.glob('*.html.gz'))]
  if folder.exists():
    shutil.rmtree(folder)
  folder.mkdir(parents=True)
  for first in range(0, count, per_file):
    with open(folder / f'part-{first // per_file:05d}.jsonl', 'w', encoding='utf-8') as f:
      for i in range(first, min(count, first + per_file)):
        html = pages[i % len(pages)].replace(MARKER, copy_sentence(i), 1)
        url = f'https://source{i // len(pages)}.example.org/article/{i}'
        f.write(json.dumps({'id': str(i), 'url': url, 'html': html}) + '\n')


def _tree(pid):
  children = {}
  for entry in os.listdir('/proc'):
    if entry.isdigit():
      try:
        with open(f'/proc/{entry}/stat', encoding='utf-8') as f:
          ppid = int(f.read().rsplit(')', 1)[1].split()[1])
      except (OSError, IndexError, ValueError):
        continue
      children.setdefault(ppid, []).append(int(entry))
  found, todo = [], [pid]
  while todo:
    current = todo.pop()
    found.append(current)
    todo.extend(children.get(current, []))
  return found


def _rss_kib(pid):
  try:
    with open(f'/proc/{pid}/status', encoding='utf-8') as f:
      for line in f:
        if line.startswith('VmRSS:'):
          return int(line.split()[1])
  except OSError:
    pass
  return 0


def measure(command, ok_statuses=(0, 3)):
  """Wall seconds, largest-process and summed peak RSS (MiB) of a command's process tree.

  Exit status 3 (committed, over --max-dead-letter-share) counts as done.
  """
  start = time.perf_counter()
  process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
  peak = {'largest': 0, 'sum': 0}

  def sample():
    while process.poll() is None:
      sizes = [_rss_kib(p) for p in _tree(process.pid)]
      peak['largest'] = max(peak['largest'], max(sizes, default=0))
      peak['sum'] = max(peak['sum'], sum(sizes))
      time.sleep(SAMPLE_SECONDS)

  sampler = threading.Thread(target=sample, daemon=True)
  sampler.start()
  _, err = process.communicate()
  sampler.join()
  if process.returncode not in ok_statuses:
    raise RuntimeError(f'{command[:6]} failed: {err[-2000:]}')
  return time.perf_counter() - start, peak['largest'] / 1024, peak['sum'] / 1024


def configurations(corpus, tmp):
  """``{key: (description, command, output path)}``."""
  baseline = [sys.executable, '-m', 'benchmarks.baseline_loop', str(corpus)]
  newsbeam = [sys.executable, '-m', 'pipeline.main', '--input', str(corpus),
              '--dedup-window-days', '0', '--log-level', 'warning']
  found = {}
  for key, description, command in (
      ('baseline', 'baseline loop, one process', baseline + ['{out}', '1']),
      ('baseline-n2', 'baseline loop, nlp.pipe(n_process=2)', baseline + ['{out}', '2']),
      ('in-memory', 'newsbeam, DirectRunner in_memory, 1 worker',
       newsbeam + ['--output', '{out}', '--direct_num_workers=1',
                   '--direct_running_mode=in_memory']),
      ('multi', 'newsbeam, DirectRunner multi_processing, all cores',
       newsbeam + ['--output', '{out}', '--direct_num_workers=0',
                   '--direct_running_mode=multi_processing'])):
    out = tmp / (f'{key}.parquet' if key.startswith('baseline') else f'out-{key}')
    found[key] = (description, [a.replace('{out}', str(out)) for a in command], out)
  return found


def rows_written(path):
  """Articles in a baseline Parquet file or a newsbeam output's articles dataset."""
  if path.suffix == '.parquet':
    return pq.ParquetFile(path).metadata.num_rows
  return pyarrow.dataset.dataset(path / 'articles', format='parquet',
                                 partitioning='hive').count_rows()


def run_once(command, out):
  """(wall s, largest RSS MiB, summed RSS MiB, articles written) of one run; removes its output."""
  wall, largest, total = measure(command)
  written = rows_written(out)
  if out.is_dir():
    shutil.rmtree(out)
  else:
    out.unlink()
  return wall, largest, total, written


def machine():
  """One line naming the machine and the software."""
  model = 'unknown CPU'
  with open('/proc/cpuinfo', encoding='utf-8') as f:
    for line in f:
      if line.startswith('model name'):
        model = line.split(':', 1)[1].strip()
        break
  memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
  import apache_beam  # pylint: disable=import-outside-toplevel
  import spacy  # pylint: disable=import-outside-toplevel
  return (f'{model}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, '
          f'Python {platform.python_version()}, Beam {apache_beam.__version__}, '
          f'spaCy {spacy.__version__} ({default_ner_models()["en"]})')


def benchmark(args, tmp):
  corpus = tmp / 'corpus'
  build_corpus(corpus, args.articles, args.max_words, args.per_file)
  chosen = {k: v for k, v in configurations(corpus, tmp).items() if k in args.only}
  runs = {key: [] for key in chosen}
  for index in range(args.runs):
    for key, (_, command, out) in chosen.items():
      runs[key].append(run_once(command, out))
      print(f'# run {index + 1} {key}: {runs[key][-1][0]:.1f} s', file=sys.stderr, flush=True)
  first = next(iter(runs))
  base = statistics.median(r[0] for r in runs[first])
  print(f'{args.articles} articles (about {args.max_words} words each, {args.per_file} '
        f'per JSON Lines file), median of '
        f'{args.runs} runs; ratio = {first} wall / wall\n')
  print('| configuration | articles/s | ratio | wall s | peak RSS largest MiB '
        '| peak RSS sum MiB | articles written |')
  print('|---|---:|---:|---:|---:|---:|---:|')
  for key, measured in runs.items():
    wall = statistics.median(r[0] for r in measured)
    print(f'| {chosen[key][0]} | {args.articles / wall:.2f} | {base / wall:.2f} '
          f'| {wall:.1f} | {statistics.median(r[1] for r in measured):.0f} '
          f'| {statistics.median(r[2] for r in measured):.0f} '
          f'| {measured[0][3]} |')
  print('\nwalls (s): ' + '; '.join(
      f'{k} ' + ', '.join(f'{r[0]:.1f}' for r in v) for k, v in runs.items()))


def memory_check(args, tmp):
  sizes = [int(n) for n in args.memory_sizes.split(',')]
  _, command, out = configurations(tmp / 'corpus', tmp)['multi']
  results = []
  for size in sizes:
    build_corpus(tmp / 'corpus', size, args.max_words, args.per_file)
    results.append(run_once(command, out))
    print(f'# {size} articles: {results[-1]}', file=sys.stderr, flush=True)
  print('| articles | wall s | articles/s | peak RSS largest MiB | peak RSS sum MiB '
        '| largest vs first | articles written |')
  print('|---:|---:|---:|---:|---:|---:|---:|')
  for size, (wall, largest, total, written) in zip(sizes, results):
    print(f'| {size} | {wall:.1f} | {size / wall:.2f} | {largest:.0f} | {total:.0f} '
          f'| {largest / results[0][1]:.2f}x | {written} |')


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
  parser.add_argument('--articles', type=int, default=2000)
  parser.add_argument('--runs', type=int, default=3)
  parser.add_argument('--max-words', type=int, default=500,
                      help='cut each page to about this many words of <p> text (0: whole pages)')
  parser.add_argument('--per-file', type=int, default=50,
                      help='articles per JSON Lines file of the corpus')
  parser.add_argument('--only', default='baseline,baseline-n2,in-memory,multi',
                      help='comma-separated configurations; the first is the ratio baseline')
  parser.add_argument('--memory-sizes', default=None,
                      help='e.g. 2000,20000: run only the memory check at these corpus sizes')
  args = parser.parse_args(argv)
  args.only = [k.strip() for k in args.only.split(',') if k.strip()]
  if not EVAL_PAGES.exists():
    sys.exit(f'{EVAL_PAGES} is missing: this benchmark needs ../shared/eval beside the clone')
  print(f'{datetime.date.today()}: {machine()}')
  print(f'command: python -m benchmarks.bench_pipeline {" ".join(sys.argv[1:] if argv is None else argv)}\n')
  with tempfile.TemporaryDirectory() as tmp_name:
    if args.memory_sizes:
      memory_check(args, pathlib.Path(tmp_name))
    else:
      benchmark(args, pathlib.Path(tmp_name))


if __name__ == '__main__':
  main()
