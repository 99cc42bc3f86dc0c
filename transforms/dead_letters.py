"""Outcomes shared by every stage: records, counted drops, warnings, dead letters.

Every element a stage receives leaves it exactly once: as a record on the main
output, as a drop with a reason (an expected rejection), or as a dead letter
(an unexpected or unreadable input, with the stage and the error). Warnings
annotate a record that is still kept (e.g. a publication date out of range).
"""

import datetime
import logging
from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X

__all__ = ['ApplyStage', 'StageOutputs', 'drop', 'warn', 'dead_letter',
           'make_dead_letter']

RECORDS = 'records'
DROPPED = 'dropped'
WARNINGS = 'warnings'
DEAD_LETTERS = 'dead_letters'
_FAILED = 'failed'

DROP_REASON = X.REASON
DROP_SOURCE_URI = X.SOURCE_URI

EXCERPT_CHARS = 200  # characters of the failing input kept for diagnosis
MESSAGE_CHARS = 2000  # longest error message kept

_LOG = logging.getLogger(__name__)


class StageOutputs(NamedTuple):
  records: beam.PCollection
  dropped: beam.PCollection
  warnings: beam.PCollection
  dead_letters: beam.PCollection


def make_drop(reason, stage, source_uri, article_id=None, duplicate_of=None):
  """A drop-audit record (run_id and schema version are added by the writer)."""
  return {X.REASON: reason, X.STAGE: stage, X.SOURCE_URI: source_uri,
          X.ARTICLE_ID: article_id, X.DUPLICATE_OF: duplicate_of,
          X.DROPPED_AT: datetime.datetime.now(datetime.timezone.utc)}


def drop(reason, stage, source_uri, article_id=None, duplicate_of=None):
  """Routes the current element to the drop output with a reason."""
  return pvalue.TaggedOutput(
      DROPPED, make_drop(reason, stage, source_uri, article_id, duplicate_of))


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
  text = str(value)[:EXCERPT_CHARS]
  return ''.join(c if c.isprintable() or c in '\n\t' else '\ufffd' for c in text)


def make_dead_letter(stage, source_uri, error_type, message, excerpt=None):
  """A dead-letter record (run_id and schema version are added by the writer)."""
  return {
      D.STAGE: stage,
      D.SOURCE_URI: source_uri,
      D.ERROR_TYPE: error_type,
      D.MESSAGE: str(message)[:MESSAGE_CHARS],
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


def dead_letters_from_exception(failure, stage):
  """Turns a ``with_exception_handling`` failure into dead-letter records.

  A failed batch (a list of inputs) gives one dead letter per input, so the
  run's accounting still balances.
  """
  element, (error_type, error_repr, _traceback) = failure
  name = getattr(error_type, '__name__', str(error_type))
  elements = element if isinstance(element, list) else [element]
  for item in elements:
    _LOG.warning('dead letter at %s for %s: %s', stage, source_uri_of(item),
                 error_repr)
    yield make_dead_letter(stage, source_uri_of(item), name, error_repr, item)


class ApplyStage(beam.PTransform):
  """Applies one stage DoFn; returns its records, drops, warnings and dead letters.

  Any exception the DoFn raises for an element sends that element to the dead
  letters with ``stage`` and the error, instead of failing the run.
  """

  def __init__(self, fn, stage, *side_inputs, label=None):
    super().__init__(label)
    self._fn = fn
    self._stage = stage
    self._side_inputs = side_inputs

  def expand(self, pcoll):
    results = pcoll | 'Run' >> beam.ParDo(
        self._fn, *self._side_inputs).with_exception_handling(
            main_tag=RECORDS, dead_letter_tag=_FAILED)
    failed = results[_FAILED] | 'DescribeFailures' >> beam.FlatMap(
        dead_letters_from_exception, self._stage)
    dead = ((results[DEAD_LETTERS], failed)
            | 'MergeDeadLetters' >> beam.Flatten())
    return StageOutputs(
        records=results[RECORDS],
        dropped=results[DROPPED],
        warnings=results[WARNINGS],
        dead_letters=dead)
