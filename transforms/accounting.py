"""The run report: every input's outcome counted, and every staged file listed.

The counts come from the data itself (not from runner metrics, which some
runners do not report), so the run manifest balances on every runner:
inputs read = articles written + drops + dead letters. ``AccountRun`` takes
the articles written, the merged outcomes of every stage and the staged
files, and writes the report (``schemas.report``) into the run's staging
folder for the driver's commit.
"""

import apache_beam as beam

from schemas import article as A
from schemas import datasets as S
from schemas import dead_letter as D
from schemas import drop as X
from schemas import report as R
from transforms.files import write_json
from transforms.progress import ReportProgress

__all__ = ['AccountRun', 'report_path']


def report_path(output, run_id):
  return S.staging_path(output, run_id, S.REPORT_FILE)


def _write_report(entries, path):
  counts = {}
  examples = {}
  listed = {category: [] for category in R.LISTED}
  for entry in entries:
    if entry[0] in listed:
      listed[entry[0]].append(entry[1])
    elif entry[0] == R.EXAMPLES:
      examples[entry[1]] = entry[2]
    else:
      category, key, count = entry
      counts.setdefault(category, {})[key] = count
  report = {R.COUNTS: counts,
            R.EXAMPLES: examples,
            R.FILES: sorted(listed[R.FILES], key=lambda f: f[R.FILE_FINAL_PATH]),
            R.FEEDS: sorted(listed[R.FEEDS], key=lambda f: f['url'])}
  write_json(path, report)
  return path


def drop_detail(drop):
  """``reason: detail`` of a drop, or its reason alone."""
  detail = drop.get(X.DETAIL)
  return f'{drop[X.REASON]}: {detail}' if detail else drop[X.REASON]


class _WriteReport(beam.PTransform):
  """Counts outcomes by category and key and writes them with the file list.

  Input: a dict of PCollections keyed by ``schemas.report`` categories,
  holding for each the keys to count (FILES and FEEDS hold entries listed
  whole, EXAMPLES (key, message) pairs of which one message per key is kept).
  """

  def __init__(self, output, run_id, label=None):
    super().__init__(label)
    self._path = report_path(output, run_id)

  def expand(self, pcolls):
    parts = []
    for category, pcoll in sorted(pcolls.items()):
      name = category.title().replace('_', '')
      if category in R.LISTED:
        parts.append(pcoll | f'Tag{name}' >> beam.Map(lambda f, c: (c, f), category))
        continue
      if category == R.EXAMPLES:
        parts.append(pcoll
                     | 'FirstExample' >> beam.CombinePerKey(min)
                     | 'TagExamples' >> beam.Map(lambda kv: (R.EXAMPLES, kv[0], kv[1])))
        continue
      parts.append(
          pcoll
          | f'Key{name}' >> beam.Map(lambda k, c: (c, k), category)
          | f'Count{name}' >> beam.combiners.Count.PerElement()
          | f'Flatten{name}' >> beam.Map(lambda kv: (kv[0][0], kv[0][1], kv[1])))
    return (parts
            | 'MergeEntries' >> beam.Flatten()
            | 'CollectEntries' >> beam.combiners.ToList()
            | 'WriteReport' >> beam.Map(_write_report, self._path))


class AccountRun(beam.PTransform):
  """Writes the run report from ``(articles, outcomes, files)``.

  ``outcomes`` is the merged StageOutputs of every stage; its ``reports``
  carry the readers' input formats and the feeds' results.
  """

  def __init__(self, output, run_id, label=None):
    super().__init__(label)
    self._output = output
    self._run_id = run_id

  def expand(self, inputs):
    articles, outcomes, files = inputs
    articles = articles | 'ArticleProgress' >> ReportProgress('articles written:')
    dead = outcomes.dead_letters
    categories = dict(outcomes.reports, **{
        R.WRITTEN: articles | 'WrittenLanguages' >> beam.Map(lambda a: a[A.LANGUAGE]),
        R.SOURCES: articles | 'WrittenSources' >> beam.Map(
            lambda a: a[A.SOURCE] or '(none)'),
        R.EXAMPLES: dead | 'DeadLetterExamples' >> beam.Map(
            lambda d: (d[D.STAGE], f'{d[D.SOURCE_URI]}: {d[D.ERROR_TYPE]}: {d[D.MESSAGE]}')),
        R.DROPPED: outcomes.dropped | 'DropReasons' >> beam.Map(lambda d: d[X.REASON]),
        R.DROP_DETAILS: outcomes.dropped | 'DropDetails' >> beam.Map(drop_detail),
        R.DEAD_LETTERED: dead | 'DeadLetterStages' >> beam.Map(lambda d: d[D.STAGE]),
        R.WARNINGS: outcomes.warnings,
        R.FILES: files,
    })
    return categories | 'WriteRunReport' >> _WriteReport(self._output, self._run_id)
