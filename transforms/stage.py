"""The stage abstraction: every stage's records, counted drops, warnings and dead letters.

Every element a stage receives leaves it exactly once: as a record on the main
output, as a drop with a reason (an expected rejection), or as a dead letter
(an unexpected or unreadable input, with the stage and the error). Warnings
annotate a record that is still kept (e.g. a publication date out of range).

``ApplyStage`` owns what every stage does besides its own work: it runs the
stage's DoFn, turns any exception into dead letters of the failing inputs, and
counts each step's inputs and outcomes in Beam counters of the namespace
``newsbeam`` named ``<step>.in``, ``<step>.out``, ``<step>.dropped`` and
``<step>.dead_letters`` (``COUNTER_KINDS``). For a one-to-one step,
``in == out + dropped + dead_letters``; a reader's ``in`` counts files or feeds
and its ``out`` the records they held.
"""

import datetime
import logging
from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas import report as R
from transforms.decode import replace_lone_surrogates

__all__ = ['ApplyStage', 'StageOutputs', 'Stages', 'merge_outcomes',
           'with_input_formats', 'drop',
           'warn', 'dead_letter', 'make_dead_letter', 'make_drop',
           'COUNTER_NAMESPACE', 'COUNTER_KINDS']

RECORDS = 'records'
DROPPED = 'dropped'
WARNINGS = 'warnings'
DEAD_LETTERS = 'dead_letters'
_FAILED = 'failed'

COUNTER_NAMESPACE = 'newsbeam'
COUNT_IN = 'in'
COUNT_OUT = 'out'
COUNT_DROPPED = 'dropped'
COUNT_DEAD = 'dead_letters'
COUNTER_KINDS = (COUNT_IN, COUNT_OUT, COUNT_DROPPED, COUNT_DEAD)

EXCERPT_CHARS = 200  # characters of the failing input kept for diagnosis
MESSAGE_CHARS = 2000  # longest error message kept

_LOG = logging.getLogger(__name__)


class StageOutputs(NamedTuple):
  """What a stage returns. ``reports`` maps run-report categories to PCollections."""
  records: beam.PCollection
  dropped: beam.PCollection
  warnings: beam.PCollection
  dead_letters: beam.PCollection
  reports: dict = {}


def counter_name(step, kind):
  """``extract.in``: the one naming scheme of stage counters."""
  return f'{step}.{kind}'


def make_drop(reason, stage, source_uri, article_id=None, duplicate_of=None,
              title=None, detail=None):
  """A drop-audit record (run_id and schema version are added by the writer)."""
  return {X.REASON: reason, X.STAGE: stage, X.SOURCE_URI: replace_lone_surrogates(source_uri),
          X.ARTICLE_ID: article_id, X.DUPLICATE_OF: duplicate_of,
          X.TITLE: replace_lone_surrogates(title), X.DETAIL: replace_lone_surrogates(detail),
          X.DROPPED_AT: datetime.datetime.now(datetime.timezone.utc)}


def drop(reason, stage, source_uri, article_id=None, duplicate_of=None,
         title=None, detail=None):
  """Routes the current element to the drop output with a reason."""
  return pvalue.TaggedOutput(
      DROPPED, make_drop(reason, stage, source_uri, article_id, duplicate_of,
                         title, detail))


def warn(kind):
  """Counts a warning about a record that is still kept."""
  return pvalue.TaggedOutput(WARNINGS, kind)


def make_excerpt(value):
  """A short printable excerpt of an input, for a dead letter."""
  if value is None:
    return None
  if isinstance(value, bytes):
    value = value[:EXCERPT_CHARS].decode('utf-8', errors='replace')
  elif isinstance(value, dict):
    value = value.get(A.TEXT) or value.get(A.TITLE) or repr(value)
  text = replace_lone_surrogates(str(value)[:EXCERPT_CHARS])
  return ''.join(c if c.isprintable() or c in '\n\t' else '\ufffd' for c in text)


def make_dead_letter(stage, source_uri, error_type, message, excerpt=None):
  """A dead-letter record (run_id and schema version are added by the writer)."""
  return {
      D.STAGE: stage,
      D.SOURCE_URI: replace_lone_surrogates(source_uri),
      D.ERROR_TYPE: error_type,
      D.MESSAGE: replace_lone_surrogates(str(message)[:MESSAGE_CHARS]),
      D.EXCERPT: make_excerpt(excerpt),
      D.FAILED_AT: datetime.datetime.now(datetime.timezone.utc),
  }


def dead_letter(stage, source_uri, error_type, message, excerpt=None):
  """Routes the current element to the dead-letter output."""
  return pvalue.TaggedOutput(
      DEAD_LETTERS,
      make_dead_letter(stage, source_uri, error_type, message, excerpt))


def source_uri_of(element):
  """The input a failing element came from, whatever its shape."""
  if isinstance(element, dict):
    return element.get(A.SOURCE_URI)
  if isinstance(element, tuple) and element and isinstance(element[0], str):
    return element[0]
  if isinstance(element, str):
    return element
  return None


def input_units(element):
  """The inputs an element stands for: a batch (list) or a group ``(key, values)`` holds several."""
  if isinstance(element, list):
    return element
  if (isinstance(element, tuple) and len(element) == 2 and
      not isinstance(element[1], (str, bytes, dict))):
    try:
      values = list(element[1])
    except TypeError:
      return [element]
    if all(isinstance(v, dict) for v in values):
      return values
  return [element]


def dead_letters_from_exception(failure, stage):
  """Turns a ``with_exception_handling`` failure into dead-letter records.

  A failed batch or group gives one dead letter per input, so the run's
  accounting still balances.
  """
  element, (error_type, error_repr, _traceback) = failure
  name = getattr(error_type, '__name__', str(error_type))
  for item in input_units(element):
    _LOG.warning('dead letter at %s for %s: %s', stage, source_uri_of(item),
                 error_repr)
    yield make_dead_letter(stage, source_uri_of(item), name, error_repr, item)


class _CountedFn(beam.DoFn):
  """Runs a stage's DoFn and counts its inputs and outcomes (see the module docstring)."""

  def __init__(self, fn, step, fan_in):
    self._fn = fn
    self._fan_in = fan_in
    self._counters = {kind: Metrics.counter(COUNTER_NAMESPACE, counter_name(step, kind))
                      for kind in COUNTER_KINDS}
    self._by_tag = {DROPPED: self._counters[COUNT_DROPPED],
                    DEAD_LETTERS: self._counters[COUNT_DEAD]}

  def setup(self):
    self._fn.setup()

  def start_bundle(self):
    self._fn.start_bundle()

  def finish_bundle(self):
    return self._fn.finish_bundle()

  def teardown(self):
    self._fn.teardown()

  def process(self, element, *side_inputs):
    self._counters[COUNT_IN].inc(len(input_units(element)) if self._fan_in else 1)
    # Materialised first: an element that fails half-way counts no outcome.
    outputs = list(self._fn.process(element, *side_inputs) or ())
    for output in outputs:
      if isinstance(output, pvalue.TaggedOutput):
        counter = self._by_tag.get(output.tag)
        if counter is not None:
          counter.inc()
      else:
        self._counters[COUNT_OUT].inc()
    return outputs


class _CountFailuresFn(beam.DoFn):
  """Dead letters of the inputs whose processing raised, counted."""

  def __init__(self, stage, step):
    self._stage = stage
    self._dead = Metrics.counter(COUNTER_NAMESPACE, counter_name(step, COUNT_DEAD))

  def process(self, failure):
    for record in dead_letters_from_exception(failure, self._stage):
      self._dead.inc()
      yield record


class ApplyStage(beam.PTransform):
  """Applies one stage DoFn; returns its StageOutputs.

  Any exception the DoFn raises for an element sends that element (or each
  input of a batch or group) to the dead letters with ``stage`` and the
  error, instead of failing the run. ``step`` names the counters (default:
  the stage); ``fan_in`` says that an element is a batch or a group whose
  inputs each count as one. ``report_tags`` maps extra output tags of the
  DoFn to run-report categories.
  """

  def __init__(self, fn, stage, *side_inputs, step=None, fan_in=False,
               report_tags=None, label=None):
    super().__init__(label)
    self._fn = fn
    self._stage = stage
    self._step = step or stage
    self._fan_in = fan_in
    self._side_inputs = side_inputs
    self._report_tags = dict(report_tags or {})

  def expand(self, pcoll):
    results = pcoll | 'Run' >> beam.ParDo(
        _CountedFn(self._fn, self._step, self._fan_in),
        *self._side_inputs).with_exception_handling(
            main_tag=RECORDS, dead_letter_tag=_FAILED)
    failed = results[_FAILED] | 'DescribeFailures' >> beam.ParDo(
        _CountFailuresFn(self._stage, self._step))
    dead = ((results[DEAD_LETTERS], failed)
            | 'MergeDeadLetters' >> beam.Flatten())
    return StageOutputs(
        records=results[RECORDS],
        dropped=results[DROPPED],
        warnings=results[WARNINGS],
        dead_letters=dead,
        reports={category: results[tag]
                 for tag, category in sorted(self._report_tags.items())})


def with_input_formats(outputs, format_of, kind):
  """A reader's outputs with the input format of each outcome in ``reports['inputs']``.

  Every record, drop and dead letter of a reader is one input unit. Formats
  are taken before any Flatten: the DirectRunner materialises a Flatten of
  several stages' outputs, and raw records carry whole pages.
  """
  formats = ([outcome | f'{kind}InputFormats{name}' >> beam.Map(format_of)
              for name, outcome in (('Records', outputs.records),
                                    ('Drops', outputs.dropped),
                                    ('DeadLetters', outputs.dead_letters))]
             | f'Merge{kind}Inputs' >> beam.Flatten())
  return outputs._replace(reports=dict(outputs.reports, **{R.INPUTS: formats}))


def merge_outcomes(outcomes, label, records=None):
  """One StageOutputs from several: drops, warnings, dead letters and reports flattened.

  ``records`` is the merged stage's main output (default: the last outcome's).
  """
  outcomes = list(outcomes)
  pipeline = outcomes[0].records.pipeline

  def merged(name, pcolls):
    pcolls = list(pcolls)
    if len(pcolls) == 1:
      return pcolls[0]
    return pcolls | f'{label}Merge{name}' >> beam.Flatten(pipeline=pipeline)

  categories = sorted({c for o in outcomes for c in o.reports})
  return StageOutputs(
      records=outcomes[-1].records if records is None else records,
      dropped=merged('Drops', (o.dropped for o in outcomes)),
      warnings=merged('Warnings', (o.warnings for o in outcomes)),
      dead_letters=merged('DeadLetters', (o.dead_letters for o in outcomes)),
      reports={c: merged(c.title(), (o.reports[c] for o in outcomes if c in o.reports))
               for c in categories})


class Stages:
  """The outcomes of the stages applied so far; ``add`` passes a stage's records on."""

  def __init__(self):
    self.outcomes = []

  def add(self, outputs):
    self.outcomes.append(outputs)
    return outputs.records
