"""newsbeam against the plain script a user would write instead, same work, same libraries.

Builds a corpus of JSON Lines articles from the eval pages' HTML
(../shared/eval/article-extraction), each copy with its own URL and a closing
sentence of its own, so deduplication keeps them all. Then, for each
configuration, median of ``--runs`` runs, in a fresh process:

  1. baseline: one loop (trafilatura, the same normalisation and boilerplate
     rules, langdetect, ``nlp.pipe`` with newsbeam's batch size, one pyarrow
     write), and the same loop with ``nlp.pipe(..., n_process=2)``;
  2. newsbeam on the DirectRunner, one worker, in memory;
  3. newsbeam on the DirectRunner, ``--direct_num_workers=0
     --direct_running_mode=multi_processing``.

Peak RSS is sampled from /proc every 0.2 s over the process tree: the largest
process and the sum over all of them.

    .venv/bin/python -m benchmarks.bench_pipeline [--articles 2000] [--runs 3]

Status (2026-11-22): work in progress for issue 9, not yet run to the end.
On a 40-article trial the ``n_process=2`` baseline hung with its spaCy
worker processes idle (the single-process baseline finished), so that
configuration needs investigating (start method, thread pools before fork)
before the table can be produced.
"""

import argparse
import datetime
import gzip
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
EVAL_PAGES = ROOT.parent / 'shared' / 'eval' / 'article-extraction' / 'html'
SAMPLE_SECONDS = 0.2

BASELINE = r'''
import sys, json, datetime
import pyarrow as pa, pyarrow.parquet as pq
from schemas import article as A
from transforms.boilerplate import apply_rules
from transforms.entities import DEFAULT_ENTITY_TYPES, PIPE_BATCH_SIZE, default_ner_models, load_ner_pipeline
from transforms.extract import extract_main_text
from transforms.language import detect_language, load_detector_factory
from transforms.normalize import normalize_text
corpus, out, n_process = sys.argv[1], sys.argv[2], int(sys.argv[3])
factory = load_detector_factory()
nlp = load_ner_pipeline(default_ner_models()['en'])
rows = []
for line in open(corpus, encoding='utf-8'):
    obj = json.loads(line)
    page = extract_main_text(obj['html'], obj['url'])
    if page is None:
        continue
    text, removed = apply_rules(normalize_text(page['text']))
    lang, conf = detect_language(text, factory)
    rows.append({'url': obj['url'], 'title': page['title'], 'text': text, 'language': lang,
                 'confidence': conf})
docs = nlp.pipe([r['text'] for r in rows], batch_size=PIPE_BATCH_SIZE, n_process=n_process)
for row, doc in zip(rows, docs):
    row['entities'] = [{'text': e.text, 'label': e.label_, 'start': e.start_char,
                        'end': e.end_char} for e in doc.ents if e.label_ in DEFAULT_ENTITY_TYPES]
pq.write_table(pa.Table.from_pylist(rows), out, compression='zstd')
print(len(rows))
'''


def build_corpus(path, count):
  pages = [gzip.decompress(p.read_bytes()).decode('utf-8', errors='replace')
           for p in sorted(EVAL_PAGES.glob('*.html.gz'))]
  with open(path, 'w', encoding='utf-8') as f:
    for i in range(count):
      html = pages[i % len(pages)].replace(
          '</body>', f'<p>This copy is number {i} of the benchmark corpus.</p></body>', 1)
      f.write(json.dumps({'id': str(i), 'url': f'https://bench.example.org/a/{i}',
                          'html': html}) + '\n')


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


def measure(command):
  """Wall seconds, largest-process and summed peak RSS (MiB) of a command's process tree."""
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
  if process.returncode != 0:
    raise RuntimeError(f'{command[:4]} failed: {err[-2000:]}')
  return time.perf_counter() - start, peak['largest'] / 1024, peak['sum'] / 1024


def configurations(corpus, tmp):
  newsbeam = [sys.executable, '-m', 'pipeline.main', '--input', str(corpus),
              '--dedup-window-days', '0']
  return [
      ('baseline loop', [sys.executable, '-c', BASELINE, str(corpus),
                         str(tmp / 'baseline.parquet'), '1']),
      ('baseline loop, nlp.pipe n_process=2', [sys.executable, '-c', BASELINE, str(corpus),
                                               str(tmp / 'baseline2.parquet'), '2']),
      ('newsbeam DirectRunner in_memory, 1 worker',
       newsbeam + ['--direct_num_workers=1', '--direct_running_mode=in_memory']),
      ('newsbeam DirectRunner multi_processing, all cores',
       newsbeam + ['--direct_num_workers=0', '--direct_running_mode=multi_processing']),
  ]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--articles', type=int, default=2000)
  parser.add_argument('--runs', type=int, default=3)
  args = parser.parse_args(argv)
  if not EVAL_PAGES.exists():
    sys.exit(f'{EVAL_PAGES} is missing: this benchmark needs ../shared/eval beside the clone')
  with tempfile.TemporaryDirectory() as tmp_name:
    tmp = pathlib.Path(tmp_name)
    corpus = tmp / 'corpus' / 'articles.jsonl'
    corpus.parent.mkdir()
    build_corpus(corpus, args.articles)
    results = []
    for name, command in configurations(corpus, tmp):
      runs = []
      for run in range(args.runs):
        cmd = list(command)
        if 'pipeline.main' in cmd:
          cmd += ['--output', str(tmp / f'out-{len(results)}-{run}')]
        runs.append(measure(cmd))
      wall = statistics.median(r[0] for r in runs)
      results.append((name, wall, statistics.median(r[1] for r in runs),
                      statistics.median(r[2] for r in runs)))
  base = results[0][1]
  print(f'{datetime.date.today()}  {args.articles} articles, {os.cpu_count()} cores, '
        f'median of {args.runs} runs')
  print(f'{"configuration":50} {"articles/s":>10} {"ratio":>6} {"wall s":>7} '
        f'{"peak RSS largest MiB":>20} {"peak RSS sum MiB":>16}')
  for name, wall, largest, total in results:
    print(f'{name:50} {args.articles / wall:10.2f} {base / wall:6.2f} {wall:7.1f} '
          f'{largest:20.0f} {total:16.0f}')


if __name__ == '__main__':
  main()
