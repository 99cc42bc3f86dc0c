"""Right-sized execution on the DirectRunner: one process for a small run, every core for a big one.

Worker processes cost seconds each to start and to load their models, so a
run of a few articles is done sooner by one process (``in_memory``); a run of
thousands spreads over every core (``multi_processing``). The choice is made
from an estimate of the run's articles (input files, their sizes, feeds),
logged in one line, and never made when the user gave Beam's own
``--direct_running_mode`` or ``--direct_num_workers``, or another runner.
"""

import logging
import os
from typing import NamedTuple

from apache_beam.options.pipeline_options import DirectOptions
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.options.pipeline_options import StandardOptions

from transforms.read.files import FORMAT_FEED
from transforms.read.files import FORMAT_JSON
from transforms.read.files import detect_format
from transforms.read.warc import is_warc_path

__all__ = ['Execution', 'choose_execution', 'estimate_articles', 'user_chose_execution',
           'right_size', 'SMALL_RUN_ARTICLES', 'RunOptions']

SMALL_RUN_ARTICLES = 300  # estimated articles below which one process does the whole run
BYTES_PER_RECORD = 20_000  # bytes of a JSON Lines, WARC or feed file per article, for the estimate
ENTRIES_PER_FEED = 20  # articles a polled feed is expected to bring, for the estimate
MODE_ONE_PROCESS = 'in_memory'
MODE_EVERY_CORE = 'multi_processing'
DIRECT_RUNNERS = (None, '', 'DirectRunner', 'direct', 'BundleBasedDirectRunner')
EXECUTION_FLAGS = ('direct_running_mode', 'direct_num_workers')

_LOG = logging.getLogger('newsbeam')


class RunOptions(PipelineOptions):
  """PipelineOptions whose view of each options class is made once.

  Beam asks the pipeline's options for a view at every transform it applies,
  and each new view builds an argument parser: about a quarter of building
  newsbeam's graph. Views share one store of values, so a kept view stays
  current.
  """

  def view_as(self, cls):
    views = self.__dict__.setdefault('_views', {})
    if cls not in views:
      views[cls] = super().view_as(cls)
    return views[cls]


class Execution(NamedTuple):
  """How the DirectRunner runs a pipeline, and why."""
  mode: str
  workers: int
  reason: str


def _record_estimate(path, size):
  """Articles a file is expected to hold: one, or its size over BYTES_PER_RECORD."""
  if is_warc_path(path) or detect_format(path) in (FORMAT_JSON, FORMAT_FEED):
    return max(1, size // BYTES_PER_RECORD)
  return 1


def estimate_articles(paths, feeds=0, entries=None, size_of=os.path.getsize,
                      stop_at=SMALL_RUN_ARTICLES):
  """Articles a run is expected to read, counted up to ``stop_at``.

  ``feeds`` are feeds (or sitemaps) still to fetch, guessed at
  ENTRIES_PER_FEED each; ``entries`` are new entries of feeds fetched
  already. A file whose size cannot be read counts as one article.
  """
  total = (entries or 0) + feeds * ENTRIES_PER_FEED
  for path in paths:
    if total >= stop_at:
      break
    try:
      size = size_of(path)
    except (OSError, ValueError):
      size = 0
    total += _record_estimate(path, size)
  return total


def choose_execution(articles, cores, threshold=SMALL_RUN_ARTICLES):
  """One process below ``threshold`` articles (or on one core), else one worker per core."""
  if articles < threshold or cores <= 1:
    return Execution(MODE_ONE_PROCESS, 1,
                     f'about {articles} articles' if articles < threshold else 'one core')
  return Execution(MODE_EVERY_CORE, cores, f'{articles}+ articles')


def user_chose_execution(argv):
  """Whether flags name Beam's own execution options (then they are left alone)."""
  names = {a.split('=', 1)[0].lstrip('-').replace('-', '_') for a in argv if a.startswith('--')}
  return bool(names & set(EXECUTION_FLAGS))


def right_size(options, argv, articles, cores=None):
  """Sets the DirectRunner's mode and workers on ``options`` for ``articles``; returns the choice.

  None (options untouched) for another runner or when ``argv`` chose already.
  """
  if options.view_as(StandardOptions).runner not in DIRECT_RUNNERS or user_chose_execution(argv):
    return None
  chosen = choose_execution(articles, cores or os.cpu_count() or 1)
  direct = options.view_as(DirectOptions)
  direct.direct_running_mode = chosen.mode
  direct.direct_num_workers = chosen.workers
  _LOG.info('execution: %s, %d worker%s (%s; set --direct_running_mode / '
            '--direct_num_workers to choose)', chosen.mode, chosen.workers,
            '' if chosen.workers == 1 else 's', chosen.reason)
  return chosen
