"""newsbeam on the DirectRunner against newsbeam on Dask with two workers, same input.

Builds the JSON Lines corpus of benchmarks/bench_pipeline.py (the eval pages,
each copy its own URL and closing sentence), then runs, in fresh processes,
round robin, ``--runs`` times each:

  direct   DirectRunner, --direct_num_workers=2 --direct_running_mode=multi_processing
  dask     --runner=DaskRunner on a `dask scheduler` and two `dask worker
           --nthreads 1` processes started here on 127.0.0.1 (the cluster is
           started once, before the runs, and is not counted in the time)

and prints the median articles/s of each, the ratio dask/direct, and the peak
RSS of each process (sampled from /proc every 0.2 s): the driver (with its
worker processes for the DirectRunner) and, for Dask, the scheduler and each
worker.

    .venv/bin/python -m benchmarks.bench_dask [--articles 300] [--runs 3]
"""

import argparse
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchmarks.bench_pipeline import SAMPLE_SECONDS
from benchmarks.bench_pipeline import _rss_kib
from benchmarks.bench_pipeline import _tree
from benchmarks.bench_pipeline import build_corpus
from benchmarks.bench_pipeline import machine
from benchmarks.bench_pipeline import rows_written
from benchmarks.corpus import ROOT

BIN = pathlib.Path(sys.executable).parent
STARTUP_SECONDS = 120  # longest wait for the Dask workers, in seconds
MAX_WORDS = 400  # words of paragraph text per page copy
PER_FILE = 50  # articles per JSON Lines file


def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


class _Peaks:
  """Peak RSS (MiB) per labelled process tree, sampled in a thread."""

  def __init__(self, roots):
    self._roots = roots  # label -> pid
    self.peaks = {label: 0.0 for label in roots}
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._sample, daemon=True)

  def _sample(self):
    while not self._stop.is_set():
      for label, pid in self._roots.items():
        sizes = [_rss_kib(p) for p in _tree(pid)]
        self.peaks[label] = max(self.peaks[label], max(sizes, default=0) / 1024)
      time.sleep(SAMPLE_SECONDS)

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()


def start_cluster(workers):
  """A scheduler and ``workers`` one-thread workers; returns (address, {label: Popen})."""
  port = _free_port()
  address = f'tcp://127.0.0.1:{port}'
  processes = {'scheduler': subprocess.Popen(
      [str(BIN / 'dask'), 'scheduler', '--host', '127.0.0.1', '--port', str(port),
       '--no-dashboard'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
      start_new_session=True)}
  for i in range(workers):
    processes[f'worker{i + 1}'] = subprocess.Popen(
        [str(BIN / 'dask'), 'worker', address, '--nthreads', '1', '--host', '127.0.0.1',
         '--no-dashboard', '--memory-limit', '0'], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
  import distributed  # pylint: disable=import-outside-toplevel
  with distributed.Client(address, timeout=STARTUP_SECONDS) as client:
    client.wait_for_workers(workers, timeout=STARTUP_SECONDS)
  return address, processes


def stop(processes):
  for process in processes.values():
    if process.poll() is None:
      process.send_signal(signal.SIGTERM)
  for process in processes.values():
    try:
      process.wait(timeout=30)
    except subprocess.TimeoutExpired:
      process.kill()


def run_once(command, out, others):
  """(wall s, {label: peak RSS MiB}, articles written) of one run; removes its output."""
  start = time.perf_counter()
  process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
  with _Peaks(dict({'driver': process.pid}, **{k: p.pid for k, p in others.items()})) as peaks:
    _, err = process.communicate()
  wall = time.perf_counter() - start
  if process.returncode not in (0, 3):
    raise RuntimeError(f'{command[:6]} failed: {err[-2000:]}')
  written = rows_written(out)
  shutil.rmtree(out)
  return wall, peaks.peaks, written


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--articles', type=int, default=300)
  parser.add_argument('--runs', type=int, default=3)
  args = parser.parse_args(argv)
  with tempfile.TemporaryDirectory(prefix='bench-dask-') as tmp:
    tmp = pathlib.Path(tmp)
    corpus = tmp / 'corpus'
    build_corpus(corpus, args.articles, MAX_WORDS, PER_FILE)
    address, cluster = start_cluster(2)
    try:
      newsbeam = [sys.executable, '-m', 'pipeline.main', '--input', str(corpus),
                  '--dedup-window-days', '0', '--log-level', 'warning',
                  '--output', str(tmp / 'out')]
      configs = {
          'direct': (newsbeam + ['--direct_num_workers=2',
                                 '--direct_running_mode=multi_processing'], {}),
          'dask': (newsbeam + ['--runner=DaskRunner', f'--dask_client_address={address}'],
                   {k: p for k, p in cluster.items()}),
      }
      results = {key: [] for key in configs}
      for _ in range(args.runs):
        for key, (command, others) in configs.items():
          results[key].append(run_once(command, tmp / 'out', others))
          wall, peaks, written = results[key][-1]
          print(f'{key}: {wall:.1f} s, {written} articles, peaks MiB '
                + ', '.join(f'{k} {v:.0f}' for k, v in peaks.items()), flush=True)
    finally:
      stop(cluster)
  print(machine())
  print(f'{args.articles} articles, median of {args.runs} runs')
  rates = {}
  for key, runs in results.items():
    rates[key] = statistics.median(written / wall for wall, _, written in runs)
    labels = runs[0][1].keys()
    peaks = ', '.join(f'{label} {statistics.median(r[1][label] for r in runs):.0f}'
                      for label in labels)
    print(f'{key:8s} {rates[key]:6.2f} articles/s   peak RSS MiB: {peaks}')
  print(f'dask/direct: {rates["dask"] / rates["direct"]:.2f}x')


if __name__ == '__main__':
  main()
