"""The stage abstraction: outcomes, dead letters and counters that add up."""

import json

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to

from pipeline.summary import STEP_ORDER
from pipeline.summary import format_summary
from pipeline.summary import stage_rows
from schemas import dead_letter as D
from schemas import drop as X
from schemas import run as M
from tests.conftest import SAMPLES
from tests.conftest import run_newsbeam
from transforms.core import stage


class _ToyFn(beam.DoFn):
  """ok -> record; skip -> drop; warn -> warning and record; again -> seen again; bad -> raises."""

  def process(self, element):
    if element == 'bad':
      raise ValueError('bad input')
    if element == 'skip':
      yield stage.drop('skipped', 'toy', element)
      return
    if element == 'again':
      yield stage.seen_again('https://feed.example/rss', 'id:again')
      return
    if element == 'warn':
      yield stage.warn('odd')
    yield element.upper()


class _BatchFn(beam.DoFn):
  """Fails a whole batch that holds 'bad'; otherwise passes every item."""

  def process(self, batch):
    if 'bad' in batch:
      raise RuntimeError('batch failed')
    yield from batch


def _counters(result, step):
  found = result.metrics().query(
      MetricsFilter().with_namespace(stage.COUNTER_NAMESPACE))['counters']
  counts = {c.key.metric.name: c.committed for c in found}
  return {kind: counts.get(f'{step}.{kind}', 0) for kind in stage.COUNTER_KINDS}


def test_apply_stage_routes_and_counts_every_outcome():
  p = TestPipeline()
  out = (p | beam.Create(['a', 'skip', 'bad', 'warn', 'b', 'again'])
         | stage.ApplyStage(_ToyFn(), 'toy'))
  assert_that(out.records, equal_to(['A', 'WARN', 'B']), label='Records')
  assert_that(out.dropped | beam.Map(lambda d: (d[X.REASON], d[X.STAGE], d[X.SOURCE_URI])),
              equal_to([('skipped', 'toy', 'skip')]), label='Drops')
  assert_that(out.dead_letters | beam.Map(
      lambda d: (d[D.STAGE], d[D.SOURCE_URI], d[D.ERROR_TYPE])),
              equal_to([('toy', 'bad', 'ValueError')]), label='DeadLetters')
  assert_that(out.warnings, equal_to([('odd', 'warn')]), label='Warnings')
  assert_that(out.reports['seen_again'], equal_to([('https://feed.example/rss', 'id:again')]),
              label='SeenAgain')
  result = p.run()
  result.wait_until_finish()
  assert _counters(result, 'toy') == {'in': 6, 'out': 3, 'dropped': 1, 'dead_letters': 1,
                                      'seen_again': 1}


def test_a_failed_batch_dead_letters_and_counts_each_of_its_inputs():
  p = TestPipeline()
  out = (p | beam.Create([['x', 'y'], ['bad', 'z', 'w']])
         | stage.ApplyStage(_BatchFn(), 'batchy', step='batchy/part', fan_in=True))
  assert_that(out.dead_letters | beam.Map(lambda d: d[D.SOURCE_URI]),
              equal_to(['bad', 'z', 'w']), label='DeadLetters')
  result = p.run()
  result.wait_until_finish()
  assert _counters(result, 'batchy/part') == {
      'in': 5, 'out': 2, 'dropped': 0, 'dead_letters': 3, 'seen_again': 0}


def test_merge_outcomes_flattens_drops_dead_letters_and_reports():
  with TestPipeline() as p:
    first = p | 'First' >> beam.Create(['a', 'skip']) | 'One' >> stage.ApplyStage(
        _ToyFn(), 'toy', step='one')
    second = first.records | 'Two' >> stage.ApplyStage(_ToyFn(), 'toy', step='two')
    second = second._replace(reports={'inputs': p | 'Formats' >> beam.Create(['text'])})
    merged = stage.merge_outcomes([first, second], 'Both')
    assert_that(merged.records, equal_to(['A']), label='Records')
    assert_that(merged.dropped | beam.Map(lambda d: d[X.SOURCE_URI]),
                equal_to(['skip']), label='Drops')
    assert_that(merged.reports['inputs'], equal_to(['text']), label='Reports')


def test_input_units_of_batches_groups_and_single_elements():
  assert stage.input_units([{'a': 1}, {'b': 2}]) == [{'a': 1}, {'b': 2}]
  assert stage.input_units(('key', [{'a': 1}, {'b': 2}])) == [{'a': 1}, {'b': 2}]
  assert stage.input_units(('path.txt', 'text')) == [('path.txt', 'text')]
  assert stage.input_units({'a': 1}) == [{'a': 1}]


def _mixed_inputs(folder):
  folder.mkdir()
  for sample in SAMPLES.iterdir():
    (folder / sample.name).write_bytes(sample.read_bytes())
  (folder / 'copy.txt').write_bytes((SAMPLES / '000_fb94ac4cff3d6708.txt').read_bytes())
  (folder / 'empty.txt').write_text('')
  (folder / 'notes.doc').write_text('not an article')
  lines = [json.dumps({'url': f'https://example.org/{n}', 'title': f'Story {n}',
                       'text': f'A story about the number {n}, told in full sentences.'})
           for n in range(3)]
  lines += ['{not json', json.dumps({'url': 'https://example.org/0', 'title': 'Story 0',
                                     'text': 'A story about the number 0, told in full '
                                     'sentences.'})]
  (folder / 'batch.jsonl').write_text('\n'.join(lines) + '\n')
  (folder / 'no-text.jsonl').write_text(json.dumps({'title': 'Only a title'}) + '\n')


def test_stage_counters_add_up_to_the_run_accounting(tmp_path):
  _mixed_inputs(tmp_path / 'in')
  result = run_newsbeam('--input', tmp_path / 'in', '--output', tmp_path / 'out')
  m = result.manifest
  rows = {step: (n_in, n_out, n_drop, n_dead, n_seen)
          for step, n_in, n_out, n_drop, n_dead, n_seen in stage_rows(m[M.STAGE_COUNTS])}
  assert m[M.ACCOUNTING_BALANCED]
  assert set(rows) <= set(STEP_ORDER)
  # One-to-one steps: every input leaves once.
  for step, (n_in, n_out, n_drop, n_dead, n_seen) in rows.items():
    if step != 'read':
      assert n_in == n_out + n_drop + n_dead + n_seen, step
  # The reader's outcomes are the run's inputs; the last step's output is what was written.
  read_in, read_out, read_drop, read_dead, _ = rows['read']
  assert read_in == 7  # files
  assert read_out + read_drop + read_dead == m[M.INPUTS_READ] == 11
  assert rows['entities'][1] == m[M.ARTICLES_WRITTEN]
  assert sum(r[2] for r in rows.values()) == m[M.DROPPED]
  assert sum(r[3] for r in rows.values()) == m[M.DEAD_LETTERED] == 1
  # Each step receives what the one before it let through.
  chain = [s for s in STEP_ORDER if s in rows]
  for before, after in zip(chain, chain[1:]):
    assert rows[after][0] == rows[before][1], (before, after)
  summary = format_summary(m, str(tmp_path / 'out'))
  assert 'dedup/content' in summary and 'stage' in summary
