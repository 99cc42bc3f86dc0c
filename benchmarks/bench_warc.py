"""Reading WARC files: records per second, without and with extraction, and peak memory.

Builds, at benchmark time and in a temporary folder, a WARC of ``--pages``
HTML responses cycling through the real pages of
../shared/eval/article-extraction-2025/html (each copy with its own URL and
closing sentence), gzipped per record and uncompressed. Then runs, each in a
fresh process, ``--runs`` times round robin, and prints the medians:

  read           ReadWarcFiles alone (scan, shuffle, fastwarc, decoding);
  read+extract   ReadWarcFiles then ExtractMainText (trafilatura);
  newsbeam       the whole pipeline (``--ner-model en=``: NER is not about the
                 input format and costs the same from any reader), once
                 transforms/read/inputs.py routes .warc paths to ReadWarcFiles.

``--large-gib N`` also writes an uncompressed WARC of about N GiB (the same
pages over and over) and reads it with ReadWarcFiles alone, to show that
memory does not grow with the file.

    .venv/bin/python -m benchmarks.bench_warc [--pages 2000] [--runs 3] [--large-gib 1]
                                              [--only 'end to end']
"""

import argparse
import datetime
import gzip
import io
import json
import pathlib
import shutil
import statistics
import sys
import tempfile

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from benchmarks.bench_pipeline import copy_sentence
from benchmarks.bench_pipeline import machine
from benchmarks.bench_pipeline import measure
from benchmarks.corpus import ROOT

PAGES = ROOT.parent / 'shared' / 'eval' / 'article-extraction-2025' / 'html'
SAMPLE_SECONDS = 0.2
WARC_DATE = '2026-01-02T03:04:05Z'
MODES = {
    'in_memory': ['--direct_running_mode=in_memory', '--direct_num_workers=1'],
    'multi_processing': ['--direct_running_mode=multi_processing', '--direct_num_workers=0'],
}


def load_pages():
  """The eval pages' HTML, as bytes."""
  paths = sorted(PAGES.glob('*.html.gz'))
  if not paths:
    sys.exit(f'no pages in {PAGES}: the benchmark needs ../shared/eval beside the clone')
  return [gzip.decompress(p.read_bytes()) for p in paths]


def page_copy(page, i):
  """Copy ``i`` of a page: its own closing sentence in the first paragraph, so copies differ."""
  return page.replace(b'</p>', f' {copy_sentence(i)}</p>'.encode(), 1)


def write_warc(path, pages, count, gzipped):
  """A WARC of ``count`` HTML responses cycling through ``pages``; returns its size in bytes."""
  with open(path, 'wb') as f:
    writer = WARCWriter(f, gzip=gzipped)
    for i in range(count):
      body = page_copy(pages[i % len(pages)], i)
      headers = StatusAndHeaders('200 OK', [('Content-Type', 'text/html')], protocol='HTTP/1.1')
      writer.write_record(writer.create_warc_record(
          f'https://site{i // len(pages)}.example.org/story/{i}', 'response',
          payload=io.BytesIO(body), http_headers=headers,
          warc_headers_dict={'WARC-Date': WARC_DATE}))
  return path.stat().st_size


def write_large_warc(path, pages, gib):
  """An uncompressed WARC of about ``gib`` GiB; returns the number of records."""
  count, target = 0, int(gib * (1 << 30))
  with open(path, 'wb') as f:
    writer = WARCWriter(f, gzip=False)
    while f.tell() < target:
      headers = StatusAndHeaders('200 OK', [('Content-Type', 'text/html')], protocol='HTTP/1.1')
      writer.write_record(writer.create_warc_record(
          f'https://large.example.org/{count}', 'response',
          payload=io.BytesIO(pages[count % len(pages)]), http_headers=headers))
      count += 1
  return count


def child(step, path, mode, result_path):
  """Runs one configuration in this process and writes its counters as JSON."""
  # pylint: disable=import-outside-toplevel
  import apache_beam as beam
  from apache_beam.options.pipeline_options import PipelineOptions
  from pipeline.main import stage_counters
  from transforms.extract.html import ExtractMainText
  from transforms.read.warc import ReadWarcFiles
  p = beam.Pipeline(options=PipelineOptions(MODES[mode]))
  read = p | 'ReadWarcFiles' >> ReadWarcFiles([path])
  if step == 'read+extract':
    _ = read.records | 'ExtractMainText' >> ExtractMainText()
  result = p.run()
  result.wait_until_finish()
  pathlib.Path(result_path).write_text(json.dumps(stage_counters(result)))


def configurations(files, tmp):
  """``[(description, command, how to count records)]`` of every configuration measured."""
  found = []
  for kind, path in files.items():
    found.append((f'read, .{kind}, in_memory',
                  ['read', str(path), 'in_memory'], 'read_warc/records.in'))
  gz = str(files['warc.gz'])
  for step, counter in (('read', 'read_warc/records.in'), ('read+extract', 'extract.in')):
    found.append((f'{step}, .warc.gz, multi_processing', [step, gz, 'multi_processing'], counter))
  for mode in MODES:
    found.append((f'newsbeam end to end, .warc.gz, {mode}',
                  ['newsbeam', gz, mode], 'read_warc/records.in'))
  return found


def run_once(config, tmp):
  """(wall s, largest RSS, summed RSS, records, articles written) of one configuration."""
  step, path, mode = config
  result = tmp / 'result.json'
  if step == 'newsbeam':
    out = tmp / 'out'
    command = [sys.executable, '-m', 'pipeline.main', '--input', path, '--output', str(out),
               '--ner-model', 'en=', '--dedup-window-days', '0', *MODES[mode]]
    wall, largest, total = measure(command)
    from pipeline.runs import load_runs  # pylint: disable=import-outside-toplevel
    manifest = load_runs(str(out), 1)[0]
    counts, written = dict(manifest['stage_counts']), manifest['articles_written']
    shutil.rmtree(out)
  else:
    wall, largest, total = measure([sys.executable, '-m', 'benchmarks.bench_warc', '--child',
                                    step, path, mode, str(result)])
    counts, written = json.loads(result.read_text()), None
  return wall, largest, total, counts, written


def benchmark(args, tmp):
  pages = load_pages()
  files = {}
  for kind, gzipped in (('warc', False), ('warc.gz', True)):
    files[kind] = tmp / f'pages.{kind}'
    size = write_warc(files[kind], pages, args.pages, gzipped)
    print(f'built {files[kind].name}: {args.pages} records, {size / 2**20:.1f} MiB', flush=True)
  configs = [c for c in configurations(files, tmp) if args.only in c[0]]
  runs = {description: [] for description, _, _ in configs}
  for _ in range(args.runs):
    for description, config, counter in configs:
      wall, largest, total, counts, written = run_once(config, tmp)
      runs[description].append((wall, largest, total, counts.get(counter, 0), written))
  print(f'\n{datetime.date.today()}  {machine()}')
  print(f'WARC of {args.pages} HTML responses from {PAGES.relative_to(ROOT.parent)}, '
        f'median of {args.runs} (fresh process each)\n')
  print('| configuration | records | records/s | wall s | peak RSS largest MiB | '
        'peak RSS sum MiB | articles written |')
  print('|---|---:|---:|---:|---:|---:|---:|')
  for description, results in runs.items():
    wall = statistics.median(r[0] for r in results)
    records = results[0][3]
    written = results[0][4]
    print(f'| {description} | {records} | {records / wall:.1f} | {wall:.1f} | '
          f'{statistics.median(r[1] for r in results):.0f} | '
          f'{statistics.median(r[2] for r in results):.0f} | '
          f'{"-" if written is None else written} |')
  if args.large_gib:
    large = tmp / 'large.warc'
    count = write_large_warc(large, pages, args.large_gib)
    print(f'\nbuilt {large.name}: {count} records, {large.stat().st_size / 2**30:.2f} GiB')
    for mode in MODES:
      wall, largest, total, counts, _ = run_once(('read', str(large), mode), tmp)
      print(f'| read, {large.stat().st_size / 2**30:.2f} GiB .warc, {mode} | '
            f'{counts.get("read_warc/records.in", 0)} | '
            f'{counts.get("read_warc/records.in", 0) / wall:.1f} | {wall:.1f} | '
            f'{largest:.0f} | {total:.0f} | - |')


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
  parser.add_argument('--pages', type=int, default=2000)
  parser.add_argument('--runs', type=int, default=3)
  parser.add_argument('--large-gib', type=float, default=0)
  parser.add_argument('--only', default='', metavar='TEXT',
                      help='only the configurations whose description holds TEXT')
  parser.add_argument('--child', nargs=4, metavar=('STEP', 'PATH', 'MODE', 'RESULT'),
                      help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.child:
    child(*args.child)
    return
  with tempfile.TemporaryDirectory(prefix='bench-warc-') as tmp:
    benchmark(args, pathlib.Path(tmp))


if __name__ == '__main__':
  main()
