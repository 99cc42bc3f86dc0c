"""Memory of a WARC full of broken records: dead letters must stream, not pile up.

Builds, in a temporary folder, uncompressed WARC files of ``--records``
counts of broken records (a WARC header whose Content-Length is not a
number, as a damaged crawl holds them), then in a fresh process per
measurement, ``--runs`` times round robin, records the peak resident memory of:

  read      ReadWarcFiles alone, its dead letters counted where they are made
            (the reader's own memory; a merge of them would be held whole);
  newsbeam  the whole pipeline (``--ner-model en=``, in_memory), which writes them all.

Prints the median peak per count, the growth per 10,000 broken records
between the smallest and the largest count (flat memory: close to 0) and the
ratio of their peaks (the aim: within RATIO_AIM).

    .venv/bin/python -m benchmarks.bench_warc_dead_letters [--records 20000,80000] [--runs 3]
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

from benchmarks.bench_pipeline import machine

REPO = pathlib.Path(__file__).resolve().parent.parent
BROKEN_RECORD = (b'WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://broken.example.org/'
                 b'%d\r\nWARC-Date: 2026-01-02T03:04:05Z\r\nContent-Length: x%d\r\n\r\n'
                 b'HTTP/1.1 200 OK\r\n\r\n<html></html>\r\n\r\n')
PER_10K = 10_000  # broken records per unit of growth reported
RATIO_AIM = 1.2  # largest count's peak over the smallest's that counts as flat enough

READ_ONLY = """
import json, resource, sys
import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from transforms.read.warc import ReadWarcFiles
with beam.Pipeline(options=PipelineOptions(['--direct_running_mode=in_memory',
                                            '--direct_num_workers=1'])) as p:
  read = p | ReadWarcFiles([sys.argv[1]])
  ([part | f'Count{n}' >> beam.combiners.Count.Globally()
    for n, part in enumerate(read.dead_letter_parts)]
   | beam.Flatten() | beam.CombineGlobally(sum)
   | beam.Map(lambda n: open(sys.argv[2], 'w').write(str(n))))
print(json.dumps({'dead_letters': int(open(sys.argv[2]).read()),
                  'peak_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

WHOLE_RUN = """
import json, resource, sys
from pipeline.main import run
result = run(['--input', sys.argv[1], '--output', sys.argv[2], '--ner-model', 'en=',
              '--direct_running_mode=in_memory', '--direct_num_workers=1'])
print(json.dumps({'dead_letters': result.manifest['dead_lettered'],
                  'peak_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def write_broken_warc(path, count):
  """``count`` broken records, each a dead letter of the scan."""
  with open(path, 'wb') as f:
    for n in range(count):
      f.write(BROKEN_RECORD % (n, n))


def measure(script, warc, scratch):
  """Peak memory (MiB) and dead letters of one run of ``script`` in a fresh process."""
  done = subprocess.run([sys.executable, '-c', script, str(warc), str(scratch)], cwd=REPO,
                        check=True, capture_output=True, text=True)
  found = json.loads(done.stdout.strip().splitlines()[-1])
  return found['peak_kib'] / 1024, found['dead_letters']


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--records', default='20000,80000',
                      help='comma-separated counts of broken records')
  parser.add_argument('--runs', type=int, default=3)
  parser.add_argument('--only', choices=('read', 'newsbeam'))
  args = parser.parse_args(argv)
  counts = [int(c) for c in args.records.split(',')]
  modes = {'read': READ_ONLY, 'newsbeam': WHOLE_RUN}
  if args.only:
    modes = {args.only: modes[args.only]}
  print(machine())
  with tempfile.TemporaryDirectory() as folder:
    folder = pathlib.Path(folder)
    warcs = {}
    for count in counts:
      warcs[count] = folder / f'broken-{count}.warc'
      write_broken_warc(warcs[count], count)
    peaks = {(mode, count): [] for mode in modes for count in counts}
    for run in range(args.runs):
      for mode, script in modes.items():
        for count in counts:
          scratch = folder / f'{mode}-{count}-{run}'
          peak, dead = measure(script, warcs[count], scratch)
          assert dead == count, f'{mode}: {dead} dead letters for {count} broken records'
          peaks[(mode, count)].append(peak)
  print(f'{"mode":<10} {"broken records":>15} {"peak MiB (median)":>18}')
  for (mode, count), values in peaks.items():
    print(f'{mode:<10} {count:>15,} {statistics.median(values):>18.0f}')
  low, high = min(counts), max(counts)
  for mode in modes:
    growth = (statistics.median(peaks[(mode, high)]) - statistics.median(peaks[(mode, low)]))
    ratio = statistics.median(peaks[(mode, high)]) / statistics.median(peaks[(mode, low)])
    print(f'{mode}: {growth / (high - low) * PER_10K:.1f} MiB more per {PER_10K:,} broken records; '
          f'peak at {high:,} / at {low:,} = {ratio:.2f}x (aim: within {RATIO_AIM}x)')


if __name__ == '__main__':
  main()
