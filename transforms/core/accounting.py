"""The run report: every input's outcome counted, and every staged file listed.

The counts come from the data itself (not from runner metrics, which some
runners do not report), so the run manifest balances on every runner:
inputs read = articles written + drops + dead letters + polled feed entries
seen again (written by an earlier run). ``AccountRun`` takes
the articles written, the merged outcomes of every stage and the staged
files, and writes the report (``schemas.report``) into the run's staging
folder for the driver's commit.
"""

import apache_beam as beam
from apache_beam.transforms import window

from schemas import article as A
from schemas import datasets as S
from schemas import dead_letter as D
from schemas import drop as X
from schemas import report as R
from transforms.net.feeds import article_entry_key
from transforms.core.files import write_json
from transforms.core.progress import ReportProgress

__all__ = ['AccountRun', 'report_path']


def report_path(output, run_id):
  return S.staging_path(output, run_id, S.REPORT_FILE)


def _write_report(entries, path):
  counts = {}
  examples = {}
  warning_inputs = {}
  listed = {category: [] for category in R.LISTED}
  for entry in entries:
    if entry[0] in listed:
      listed[entry[0]].append(entry[1])
    elif entry[0] == R.EXAMPLES:
      examples[entry[1]] = entry[2]
    elif entry[0] == R.WARNING_INPUTS:
      warning_inputs[entry[1]] = sorted(entry[2])
    else:
      category, key, count = entry
      counts.setdefault(category, {})[key] = count
  report = {R.COUNTS: counts,
            R.EXAMPLES: examples,
            R.WARNING_INPUTS: warning_inputs,
            R.FILES: sorted(listed[R.FILES], key=lambda f: f[R.FILE_FINAL_PATH]),
            R.FEEDS: sorted(listed[R.FEEDS], key=lambda f: f['url']),
            R.SEEN_ENTRIES: sorted(listed[R.SEEN_ENTRIES],
                                   key=lambda e: (e[R.SEEN_FEED], e[R.SEEN_KEY]))}
  write_json(path, report)
  return path


def seen_entry(feed_url, key):
  return {R.SEEN_FEED: feed_url, R.SEEN_KEY: key}


def written_entries(article):
  """The seen entry of a written article from a polled feed (none for other inputs)."""
  key = article_entry_key(article)
  if key:
    yield seen_entry(article[A.SOURCE_URI], key)


def drop_detail(drop):
  """``reason: detail`` of a drop, or its reason alone."""
  detail = drop.get(X.DETAIL)
  return f'{drop[X.REASON]}: {detail}' if detail else drop[X.REASON]


def dead_letter_example(dead):
  """``(stage, 'source: error type: message')``: a dead letter as its stage's example."""
  return dead[D.STAGE], f'{dead[D.SOURCE_URI]}: {dead[D.ERROR_TYPE]}: {dead[D.MESSAGE]}'


class _FirstExamplesFn(beam.DoFn):
  """The first example of each stage in a bundle: the run keeps the first of these."""

  def start_bundle(self):
    self._first = {}

  def process(self, dead):
    stage_name, example = dead_letter_example(dead)
    if stage_name not in self._first or example < self._first[stage_name]:
      self._first[stage_name] = example

  def finish_bundle(self):
    for pair in sorted(self._first.items()):
      yield window.GlobalWindows.windowed_value(pair)


class _WriteReport(beam.PTransform):
  """Counts outcomes by category and key and writes them with the file list.

  Input: a dict of PCollections keyed by ``schemas.report`` categories,
  holding for each the keys to count (FILES, FEEDS and SEEN_ENTRIES hold
  entries listed whole, EXAMPLES (key, message) pairs of which one message per
  key is kept, WARNING_INPUTS (kind, input) pairs of which the first few
  inputs per kind are kept).
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
      if category == R.WARNING_INPUTS:
        parts.append(pcoll
                     | 'NamedWarnings' >> beam.Filter(lambda kv: kv[1])
                     | 'DistinctWarningInputs' >> beam.Distinct()
                     | 'FirstWarningInputs' >> beam.combiners.Top.SmallestPerKey(
                         R.WARNING_INPUTS_KEPT)
                     | 'TagWarningInputs' >> beam.Map(
                         lambda kv: (R.WARNING_INPUTS, kv[0], kv[1])))
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
  carry the readers' input formats, the feeds' results and the polled feed
  entries seen again.
  """

  def __init__(self, output, run_id, label=None):
    super().__init__(label)
    self._output = output
    self._run_id = run_id

  def expand(self, inputs):
    articles, outcomes, files = inputs
    articles = articles | 'ArticleProgress' >> ReportProgress('articles written:')
    dead_letter_parts = outcomes.dead_letter_parts  # counted where made: see StageOutputs
    seen = outcomes.reports.get(R.SEEN_AGAIN)
    if seen is None:
      seen = articles.pipeline | 'NoneSeenAgain' >> beam.Create([])
    seen_entries = (
        (seen | 'SeenEntries' >> beam.Map(lambda s: seen_entry(*s)),
         articles | 'WrittenEntries' >> beam.FlatMap(written_entries))
        | 'MergeSeenEntries' >> beam.Flatten())
    categories = dict(outcomes.reports, **{
        R.SEEN_AGAIN: seen | 'SeenAgainFeeds' >> beam.Map(lambda s: s[0]),
        R.SEEN_ENTRIES: seen_entries,
        R.WRITTEN: articles | 'WrittenLanguages' >> beam.Map(lambda a: a[A.LANGUAGE]),
        R.SOURCES: articles | 'WrittenSources' >> beam.Map(
            lambda a: a[A.SOURCE] or '(none)'),
        R.EXAMPLES: [part | f'DeadLetterExamples{n}' >> beam.ParDo(_FirstExamplesFn())
                     for n, part in enumerate(dead_letter_parts)]
        | 'MergeDeadLetterExamples' >> beam.Flatten(pipeline=articles.pipeline),
        R.DROPPED: [part | f'DropReasons{n}' >> beam.Map(lambda d: d[X.REASON])
                    for n, part in enumerate(outcomes.drop_parts)]
        | 'MergeDropReasons' >> beam.Flatten(pipeline=articles.pipeline),
        R.DROP_DETAILS: [part | f'DropDetails{n}' >> beam.Map(drop_detail)
                         for n, part in enumerate(outcomes.drop_parts)]
        | 'MergeDropDetails' >> beam.Flatten(pipeline=articles.pipeline),
        R.DEAD_LETTERED: [part | f'DeadLetterStages{n}' >> beam.Map(lambda d: d[D.STAGE])
                          for n, part in enumerate(dead_letter_parts)]
        | 'MergeDeadLetterStages' >> beam.Flatten(pipeline=articles.pipeline),
        R.WARNINGS: outcomes.warnings | 'WarningKinds' >> beam.Map(lambda w: w[0]),
        R.WARNING_INPUTS: outcomes.warnings,
        R.FILES: files,
    })
    return categories | 'WriteRunReport' >> _WriteReport(self._output, self._run_id)
