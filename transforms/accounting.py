"""The run report: every input's outcome counted, and every staged file listed.

The counts come from the data itself (not from runner metrics, which some
runners do not report), so the run manifest balances on every runner:
inputs read = articles written + drops + dead letters.
"""

import json

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from schemas import article as A
from schemas import dead_letter as D
from transforms import dead_letters as dl
from transforms.read_files import detect_format
from transforms.write import STAGING_FOLDER

__all__ = ['WriteRunReport', 'read_run_report', 'report_path']

REPORT_FILE = '_report.json'

# Categories of the report's counts.
INPUTS = 'inputs'
WRITTEN = 'written'
DROPPED = 'dropped'
DEAD_LETTERED = 'dead_lettered'
WARNINGS = 'warnings'
SOURCES = 'sources'
FILES = 'files'
FEEDS = 'feeds'
LISTED = (FILES, FEEDS)  # categories listed whole in the report, not counted
EXAMPLES = 'examples'  # (key, message) pairs: one example message per key


def report_path(output, run_id):
  return FileSystems.join(output, STAGING_FOLDER, run_id, REPORT_FILE)


def input_format_of(element):
  """The input format of a reader outcome (record, drop or dead letter)."""
  if A.INPUT_FORMAT in element:
    return element[A.INPUT_FORMAT]
  return detect_format(element.get(dl.DROP_SOURCE_URI) or
                       element.get(D.SOURCE_URI) or '')


def _write_report(entries, path):
  counts = {}
  examples = {}
  listed = {category: [] for category in LISTED}
  for entry in entries:
    if entry[0] in listed:
      listed[entry[0]].append(entry[1])
    elif entry[0] == EXAMPLES:
      examples[entry[1]] = entry[2]
    else:
      category, key, count = entry
      counts.setdefault(category, {})[key] = count
  report = {'counts': counts,
            EXAMPLES: examples,
            FILES: sorted(listed[FILES], key=lambda f: f['final_path']),
            FEEDS: sorted(listed[FEEDS], key=lambda f: f['url'])}
  with FileSystems.create(
      path, compression_type=CompressionTypes.UNCOMPRESSED) as sink:
    sink.write(json.dumps(report, sort_keys=True).encode('utf-8'))
  return path


def read_run_report(output, run_id):
  """The report a finished pipeline left in the run's staging folder."""
  with FileSystems.open(report_path(output, run_id),
                        compression_type=CompressionTypes.UNCOMPRESSED) as f:
    return json.loads(f.read().decode('utf-8'))


class WriteRunReport(beam.PTransform):
  """Counts outcomes by category and key and writes them with the file list.

  Input: a dict of PCollections, keyed by the categories above, holding
  for each the keys to count (FILES and FEEDS hold entries listed whole,
  EXAMPLES (key, message) pairs of which one message per key is kept).
  """

  def __init__(self, output, run_id, label=None):
    super().__init__(label)
    self._path = report_path(output, run_id)

  def expand(self, pcolls):
    parts = []
    for category, pcoll in sorted(pcolls.items()):
      if category in LISTED:
        parts.append(pcoll | f'Tag{category.title()}' >> beam.Map(
            lambda f, c: (c, f), category))
        continue
      if category == EXAMPLES:
        parts.append(pcoll
                     | 'FirstExample' >> beam.CombinePerKey(min)
                     | 'TagExamples' >> beam.Map(lambda kv: (EXAMPLES, kv[0], kv[1])))
        continue
      parts.append(
          pcoll
          | f'Key{category.title()}' >> beam.Map(lambda k, c: (c, k), category)
          | f'Count{category.title()}' >> beam.combiners.Count.PerElement()
          | f'Flatten{category.title()}' >> beam.Map(
              lambda kv: (kv[0][0], kv[0][1], kv[1])))
    return (parts
            | 'MergeEntries' >> beam.Flatten()
            | 'CollectEntries' >> beam.combiners.ToList()
            | 'WriteReport' >> beam.Map(_write_report, self._path))
