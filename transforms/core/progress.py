"""Progress lines on stderr for long runs: counts and rate, at most every few seconds."""

import sys
import time

import apache_beam as beam

__all__ = ['ReportProgress', 'format_progress']

PROGRESS_SECONDS = 5.0  # least time between two progress lines of one worker


def format_progress(what, count, seconds):
  """``newsbeam: tagged 1,234 articles (41.2/s)``."""
  rate = count / seconds if seconds > 0 else 0.0
  return f'newsbeam: {what} {count:,} ({rate:.1f}/s)'


class _ProgressFn(beam.DoFn):
  """Passes elements through; prints a progress line now and then."""

  def __init__(self, what, interval):
    self._what = what
    self._interval = interval
    self._count = 0
    self._started = None
    self._last = None

  def start_bundle(self):
    if self._started is None:
      self._started = self._last = time.monotonic()

  def process(self, element):
    self._count += 1
    now = time.monotonic()
    if now - self._last >= self._interval:
      self._last = now
      print(format_progress(self._what, self._count, now - self._started),
            file=sys.stderr, flush=True)
    yield element


class ReportProgress(beam.PTransform):
  """A pass-through step that reports how many elements went by, per worker."""

  def __init__(self, what, interval=PROGRESS_SECONDS, label=None):
    super().__init__(label)
    self._what = what
    self._interval = interval

  def expand(self, pcoll):
    return pcoll | 'Count' >> beam.ParDo(_ProgressFn(self._what, self._interval))
