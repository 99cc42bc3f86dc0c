"""Conditional-GET state of feeds, kept between runs under ``--state``.

One JSON document, ``<state>/feeds.json``: per feed URL its ``etag``,
``last_modified``, ``last_status``, ``last_success_at``,
``consecutive_failures`` and ``last_error``. It is read on the driver when the
pipeline is built and written after the run's files are committed (staged,
then renamed over the old one), so a run that dies never advances it.
Read and written through Beam's FileSystems: local paths, gs://, s3://.
"""

import logging

from apache_beam.io.filesystems import FileSystems

from schemas import report as R
from transforms.net import feeds as F
from transforms.core.files import CorruptFileError
from transforms.core.files import read_json
from transforms.core.files import write_json

__all__ = ['load_feed_state', 'update_feed_state', 'save_feed_state',
           'failing_feeds', 'FAILING_AFTER_RUNS']

STATE_FILE = 'feeds.json'
FAILING_AFTER_RUNS = 3  # a feed failing this many runs in a row is reported
MAX_SEEN_ENTRIES = 2000  # entry keys kept per feed (newest first): several feeds' lengths

LAST_STATUS = 'last_status'
LAST_SUCCESS_AT = 'last_success_at'
CONSECUTIVE_FAILURES = 'consecutive_failures'
LAST_ERROR = 'last_error'

_LOG = logging.getLogger(__name__)


def state_path(state_dir):
  return FileSystems.join(state_dir, STATE_FILE)


def load_feed_state(state_dir):
  """URL -> stored state; {} when there is none yet."""
  path = state_path(state_dir)
  if not FileSystems.exists(path):
    return {}
  try:
    document = read_json(path)
  except CorruptFileError as error:
    # Losing validators costs one full fetch per feed, never articles.
    _LOG.error('feed state unreadable, starting afresh: %s', error)
    return {}
  feeds = document.get('feeds') if isinstance(document, dict) else None
  return feeds if isinstance(feeds, dict) else {}


def update_feed_state(state, results, seen_entries=()):
  """The state after a run's feed results (pure: returns a new dict).

  A failed fetch, or a feed with no entries, adds one to the feed's
  consecutive failures; validators change only with a 2xx or 304 answer.
  ``seen_entries`` (``{feed, key}``: entries the run wrote or saw again) go
  first in their feed's ``seen_entries``, capped at MAX_SEEN_ENTRIES.
  """
  updated = {url: dict(entry) for url, entry in state.items()}
  for result in results:
    entry = updated.setdefault(result[F.RESULT_URL], {})
    status = result[F.RESULT_STATUS]
    entry[LAST_STATUS] = status
    if result[F.RESULT_ERROR_TYPE]:
      entry[CONSECUTIVE_FAILURES] = entry.get(CONSECUTIVE_FAILURES, 0) + 1
      entry[LAST_ERROR] = result[F.RESULT_MESSAGE]
    else:
      entry[CONSECUTIVE_FAILURES] = 0
      entry[LAST_ERROR] = None
      entry[LAST_SUCCESS_AT] = result[F.RESULT_FETCHED_AT]
    if status is not None and (200 <= status < 300 or status == 304):
      entry[F.STATE_ETAG] = result[F.RESULT_ETAG]
      entry[F.STATE_LAST_MODIFIED] = result[F.RESULT_LAST_MODIFIED]
  fresh = {}
  for seen in seen_entries:
    fresh.setdefault(seen[R.SEEN_FEED], []).append(seen[R.SEEN_KEY])
  for url, keys in fresh.items():
    if url in updated:
      kept = list(dict.fromkeys(sorted(keys) + list(updated[url].get(F.STATE_SEEN) or [])))
      updated[url][F.STATE_SEEN] = kept[:MAX_SEEN_ENTRIES]
  return updated


def failing_feeds(state, threshold=FAILING_AFTER_RUNS):
  """``(url, consecutive_failures, last_error)`` of feeds failing threshold runs or more."""
  return sorted((url, entry.get(CONSECUTIVE_FAILURES, 0), entry.get(LAST_ERROR))
                for url, entry in state.items()
                if entry.get(CONSECUTIVE_FAILURES, 0) >= threshold)


def save_feed_state(state_dir, state):
  """Writes the state atomically (a temporary file renamed over the old one)."""
  write_json(state_path(state_dir), {'feeds': state}, indent=1)
