"""The stage abstraction: every stage's records, counted drops, warnings and dead letters.

Every element a stage receives leaves it exactly once: as a record on the main
output, as a drop with a reason (an expected rejection), or as a dead letter
(an unexpected or unreadable input, with the stage and the error). Warnings
annotate a record that is still kept (e.g. a publication date out of range).

``ApplyStage`` owns what every stage does besides its own work: it runs the
stage's DoFn, turns any exception into dead letters of the failing inputs, and
counts each step's inputs and outcomes in Beam counters of the namespace
``newsbeam`` named ``<step>.in``, ``<step>.out``, ``<step>.dropped`` and
``<step>.dead_letters`` and ``<step>.seen_again`` (``COUNTER_KINDS``). For a
one-to-one step, ``in == out + dropped + dead_letters + seen_again``; a reader's
``in`` counts files or feeds and its ``out`` the records they held.

A polled feed's entry that an earlier run of the same output already wrote
is neither written nor dropped again: it is counted as seen again, per feed
(``seen_again``), so a watch cycle leaves one count per feed, not a drop row
per entry still in the feed.

A warning names its input: ``warn(kind, where)``, or, when a stage gives no
``where``, the source and entry of the element being processed.
"""

import datetime
import itertools
import logging
from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas import report as R
from transforms.core.decode import replace_lone_surrogates

__all__ = ['ApplyStage', 'StageOutputs', 'Stages', 'merge_outcomes',
           'with_input_formats', 'drop', 'seen_again',
           'warn', 'dead_letter', 'make_dead_letter', 'make_drop', 'describe_input',
           'COUNTER_NAMESPACE', 'COUNTER_KINDS']

RECORDS = 'records'
DROPPED = 'dropped'
WARNINGS = 'warnings'
DEAD_LETTERS = 'dead_letters'
SEEN_AGAIN = 'seen_again'
_FAILED = 'failed'

COUNTER_NAMESPACE = 'newsbeam'
COUNT_IN = 'in'
COUNT_OUT = 'out'
COUNT_DROPPED = 'dropped'
COUNT_DEAD = 'dead_letters'
COUNT_SEEN_AGAIN = 'seen_again'
COUNTER_KINDS = (COUNT_IN, COUNT_OUT, COUNT_DROPPED, COUNT_DEAD, COUNT_SEEN_AGAIN)

EXCERPT_CHARS = D.EXCERPT_CHARS
MESSAGE_CHARS = D.MESSAGE_CHARS
ELLIPSIS = '\u2026'  # marks where an over-long input name was shortened
WHERE_CHARS = 300  # longest input name kept in a warning, in characters

_LOG = logging.getLogger(__name__)
_MERGE_NUMBERS = itertools.count()  # tells apart the labels of dead letters merged on demand


class _Outputs(NamedTuple):
  records: beam.PCollection
  drop_parts: tuple  # the drops of each step, as its DoFns left them
  warnings: beam.PCollection
  dead_letter_parts: tuple  # the dead letters of each step, as its DoFns left them
  reports: dict = {}


class StageOutputs(_Outputs):
  """What a stage returns. ``reports`` maps run-report categories to PCollections.

  Drops and dead letters stay in the PCollections of the steps that made
  them (``drop_parts``, ``dead_letter_parts``): the run writes and counts each
  where it is made, since the DirectRunner holds every Flatten whole in
  memory (a WARC can leave hundreds of thousands of either). ``dropped`` and
  ``dead_letters`` merge them, once, for a reader that wants one PCollection.
  """

  @property
  def dropped(self):
    return self._merged('drop_parts', 'MergeDrops')

  @property
  def dead_letters(self):
    return self._merged('dead_letter_parts', 'MergeDeadLetters')

  def _merged(self, field, label):
    merged = self.__dict__.get(label)
    if merged is None:
      parts = getattr(self, field)
      merged = parts[0] if len(parts) == 1 else (
          parts | f'{label}{next(_MERGE_NUMBERS)}' >> beam.Flatten())
      self.__dict__[label] = merged
    return merged


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


def describe_input(source_uri, entry=None):
  """``source`` or ``source entry``: the name of an input in a warning."""
  where = replace_lone_surrogates(' '.join(str(p) for p in (source_uri, entry) if p))
  return where[:WHERE_CHARS] or None


def _entry_of(element):
  """The entry of a record within its source: its link, id or title (None for a whole input)."""
  if not isinstance(element, dict):
    return None
  entry = element.get(A.URL) or element.get(A.EXTERNAL_ID) or element.get(A.TITLE)
  return None if entry == element.get(A.SOURCE_URI) else entry


def warn(kind, where=None):
  """A warning about a record that is still kept: ``(kind, where)``, where names the input.

  ``where`` left None is filled by ``ApplyStage`` from the element being processed.
  """
  return pvalue.TaggedOutput(WARNINGS, (kind, where))


def seen_again(feed_url, entry_key):
  """Counts a polled feed's entry already written by an earlier run (see the module docstring)."""
  return pvalue.TaggedOutput(SEEN_AGAIN, (feed_url, entry_key))


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


def shorten_source_uri(source_uri):
  """An input name within ``SOURCE_URI_CHARS``: its head and its tail (a WARC record's offset)."""
  if source_uri is None or len(source_uri) <= D.SOURCE_URI_CHARS:
    return source_uri
  head = D.SOURCE_URI_CHARS - D.SOURCE_URI_TAIL_CHARS - len(ELLIPSIS)
  return source_uri[:head] + ELLIPSIS + source_uri[-D.SOURCE_URI_TAIL_CHARS:]


def make_dead_letter(stage, source_uri, error_type, message, excerpt=None):
  """A dead-letter record, its text fields capped (run_id and schema version come at the writer)."""
  return {
      D.STAGE: stage,
      D.SOURCE_URI: shorten_source_uri(replace_lone_surrogates(source_uri)),
      D.ERROR_TYPE: (error_type[:D.ERROR_TYPE_CHARS] if isinstance(error_type, str)
                     else error_type),
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

  def __init__(self, fn, step, fan_in, stream=False):
    self._fn = fn
    self._fan_in = fan_in
    self._stream = stream
    self._counters = {kind: Metrics.counter(COUNTER_NAMESPACE, counter_name(step, kind))
                      for kind in COUNTER_KINDS}
    self._by_tag = {DROPPED: self._counters[COUNT_DROPPED],
                    DEAD_LETTERS: self._counters[COUNT_DEAD],
                    SEEN_AGAIN: self._counters[COUNT_SEEN_AGAIN]}

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
    outputs = self._fn.process(element, *side_inputs) or ()
    if self._stream:  # a reader of whole files: outcomes leave as they come
      return (self._counted(element, output) for output in outputs)
    # Materialised first: an element that fails half-way counts no outcome.
    return [self._counted(element, output) for output in list(outputs)]

  def _counted(self, element, output):
    """An outcome, counted (a warning that names no input named after ``element``)."""
    if isinstance(output, pvalue.TaggedOutput):
      if output.tag == WARNINGS and output.value[1] is None:
        output = pvalue.TaggedOutput(WARNINGS, (output.value[0], describe_input(
            source_uri_of(element), _entry_of(element))))
      counter = self._by_tag.get(output.tag)
      if counter is not None:
        counter.inc()
    else:
      self._counters[COUNT_OUT].inc()
    return output


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
  DoFn to run-report categories. ``stream`` sends outcomes on as the DoFn
  yields them instead of after its last, for a DoFn that reads a whole file
  and turns its own failures into outcomes (an exception after some outcomes
  would also dead-letter the element).
  """

  def __init__(self, fn, stage, *side_inputs, step=None, fan_in=False,
               report_tags=None, stream=False, label=None):
    super().__init__(label)
    self._fn = fn
    self._stage = stage
    self._step = step or stage
    self._fan_in = fan_in
    self._stream = stream
    self._side_inputs = side_inputs
    self._report_tags = dict(report_tags or {})

  def expand(self, pcoll):
    results = pcoll | 'Run' >> beam.ParDo(
        _CountedFn(self._fn, self._step, self._fan_in, self._stream),
        *self._side_inputs).with_exception_handling(
            main_tag=RECORDS, dead_letter_tag=_FAILED, partial=self._stream)
    failed = results[_FAILED] | 'DescribeFailures' >> beam.ParDo(
        _CountFailuresFn(self._stage, self._step))
    return StageOutputs(
        records=results[RECORDS],
        drop_parts=(results[DROPPED],),
        warnings=results[WARNINGS],
        dead_letter_parts=(results[DEAD_LETTERS], failed),
        reports=dict({R.SEEN_AGAIN: results[SEEN_AGAIN]},
                     **{category: results[tag]
                        for tag, category in sorted(self._report_tags.items())}))


def with_input_formats(outputs, format_of, kind, seen_format=None):
  """A reader's outputs with the input format of each outcome in ``reports['inputs']``.

  Every record, drop, dead letter and entry seen again (counted as
  ``seen_format``) of a reader is one input unit. Formats
  are taken before any Flatten: the DirectRunner materialises a Flatten of
  several stages' outputs, and raw records carry whole pages.
  """
  seen = outputs.reports.get(R.SEEN_AGAIN)
  formats = ([outcome | f'{kind}InputFormats{name}' >> beam.Map(format_of)
              for name, outcome in (('Records', outputs.records),
                                    *((f'Drops{n}', part) for n, part in
                                      enumerate(outputs.drop_parts)),
                                    *((f'DeadLetters{n}', part) for n, part in
                                      enumerate(outputs.dead_letter_parts)))] +
             ([seen | f'{kind}InputFormatsSeenAgain' >> beam.Map(lambda s: seen_format)]
              if seen is not None and seen_format else [])
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
      drop_parts=tuple(part for o in outcomes for part in o.drop_parts),
      warnings=merged('Warnings', (o.warnings for o in outcomes)),
      dead_letter_parts=tuple(part for o in outcomes for part in o.dead_letter_parts),
      reports={c: merged(c.title(), (o.reports[c] for o in outcomes if c in o.reports))
               for c in categories})


class Stages:
  """The outcomes of the stages applied so far; ``add`` passes a stage's records on."""

  def __init__(self):
    self.outcomes = []

  def add(self, outputs):
    self.outcomes.append(outputs)
    return outputs.records
