"""Driver-side end of a run: move staged files into place, then the manifest.

A commit is rolled forward, never half done: before the first file moves, a
journal (``_staging/<run_id>/_COMMIT.json``) is written. A run killed during
its commit is finished by the next run (``recover_interrupted_commits``): the
remaining staged files are moved and the manifest written. A run killed
before its commit left only staged files; they are never read, and are
deleted once older than STALE_STAGING_HOURS. Each move is a rename of a
complete file, so readers never see a partial file; the run manifest
(``runs/part-<run_id>.parquet``) is written last, so a run that has a
manifest has all of its files in place.
"""

import collections
import datetime
import logging
import time

from apache_beam.io.filesystems import FileSystems

from pipeline import state as feed_state
from pipeline.lock import output_lock
from schemas import datasets as S
from schemas import report as R
from schemas import run as M
from transforms.files import CorruptFileError
from transforms.files import ensure_folder
from transforms.files import parent_of
from transforms.files import read_json
from transforms.files import write_json
from transforms.stories import DEFAULT_WINDOW_DAYS as DEFAULT_STORY_WINDOW_DAYS
from transforms.stories import expire_story_index
from transforms.write import write_parquet

__all__ = ['commit_run', 'build_manifest', 'remove_staging', 'has_journal',
           'recover_interrupted_commits']

STALE_STAGING_HOURS = 24  # staging of a run that never committed is deleted after this

# Keys of a commit journal.
JOURNAL_RUN_ID = 'run_id'
JOURNAL_STARTED_AT = 'started_at'
JOURNAL_ARGUMENTS = 'arguments'
JOURNAL_STATE_DIR = 'state_dir'
JOURNAL_STAGE_COUNTS = 'stage_counts'
JOURNAL_STORY_WINDOW_DAYS = 'story_window_days'

_LOG = logging.getLogger(__name__)


def move_into_place(files):
  """Renames each staged file to its final path; skips files already moved."""
  for entry in files:
    staged, final = entry[R.FILE_STAGED_PATH], entry[R.FILE_FINAL_PATH]
    if not FileSystems.exists(staged):
      if FileSystems.exists(final):
        continue
      raise IOError(f'staged file {staged} is missing and {final} was never written')
    ensure_folder(parent_of(final))
    FileSystems.rename([staged], [final])


def build_manifest(run_id, started_at, finished_at, arguments, output, report,
                   status=M.STATUS_SUCCEEDED, failing=(), stage_counts=None):
  """The run manifest row from the pipeline's run report."""
  counts = report[R.COUNTS]
  inputs = counts.get(R.INPUTS, {})
  written = counts.get(R.WRITTEN, {})
  dropped = counts.get(R.DROPPED, {})
  dead = counts.get(R.DEAD_LETTERED, {})
  return M.make_manifest(
      run_id, status, started_at, finished_at, arguments, output,
      **{M.INPUTS_READ: sum(inputs.values()),
         M.INPUTS_BY_FORMAT: inputs,
         M.ARTICLES_WRITTEN: sum(written.values()),
         M.ARTICLES_BY_LANGUAGE: written,
         M.ARTICLES_BY_SOURCE: counts.get(R.SOURCES, {}),
         M.DROPPED: sum(dropped.values()),
         M.DROPPED_BY_REASON: dropped,
         M.DROPPED_BY_DETAIL: counts.get(R.DROP_DETAILS, {}),
         M.DEAD_LETTERED: sum(dead.values()),
         M.DEAD_LETTERED_BY_STAGE: dead,
         M.DEAD_LETTER_EXAMPLES: report.get(R.EXAMPLES, {}),
         M.WARNINGS_BY_KIND: counts.get(R.WARNINGS, {}),
         M.FILES_WRITTEN: len(report[R.FILES]),
         M.FEEDS_BY_STATUS: collections.Counter(
             str(f['error_type'] or f['status']) for f in report.get(R.FEEDS, [])),
         M.FAILING_FEEDS: [{M.FAILING_FEED_URL: url, M.FAILING_FEED_FAILURES: count,
                            M.FAILING_FEED_ERROR: error} for url, count, error in failing],
         M.STAGE_COUNTS: dict(stage_counts or {})})


def _staging(output, run_id):
  return S.staging_path(output, run_id)


def remove_staging(output, run_id):
  """Deletes the run's staging folder and everything left in it."""
  staging = _staging(output, run_id)
  if FileSystems.exists(staging):
    FileSystems.delete([staging])


def _write_manifest(output, run_id, manifest):
  staged = S.staging_path(output, run_id, S.RUNS, S.manifest_file_name(run_id))
  write_parquet(staged, [manifest], M.RUN_SCHEMA)
  final = S.manifest_path(output, run_id)
  ensure_folder(parent_of(final))
  FileSystems.rename([staged], [final])


def _finish(output, journal, status):
  """Moves the journal's files into place, writes the manifest, drops staging."""
  run_id = journal[JOURNAL_RUN_ID]
  report = read_json(S.staging_path(output, run_id, S.REPORT_FILE))
  with output_lock(output):
    expire_story_index(output, datetime.datetime.fromisoformat(
        journal[JOURNAL_STARTED_AT]).date(), journal.get(JOURNAL_STORY_WINDOW_DAYS)
                       or DEFAULT_STORY_WINDOW_DAYS)
    move_into_place(report[R.FILES])
  failing = ()
  if report.get(R.FEEDS):
    state_dir = journal[JOURNAL_STATE_DIR] or S.output_path(output, S.STATE_FOLDER)
    state = feed_state.update_feed_state(feed_state.load_feed_state(state_dir),
                                         report[R.FEEDS])
    feed_state.save_feed_state(state_dir, state)
    failing = feed_state.failing_feeds(state)
  manifest = build_manifest(
      run_id, datetime.datetime.fromisoformat(journal[JOURNAL_STARTED_AT]),
      datetime.datetime.now(datetime.timezone.utc), journal[JOURNAL_ARGUMENTS],
      output, report, status, failing, journal.get(JOURNAL_STAGE_COUNTS))
  if not FileSystems.exists(S.manifest_path(output, run_id)):
    _write_manifest(output, run_id, manifest)
  remove_staging(output, run_id)
  if not manifest[M.ACCOUNTING_BALANCED]:
    _LOG.error('run %s does not balance: %d inputs read, %d accounted for',
               run_id, manifest[M.INPUTS_READ],
               manifest[M.ARTICLES_WRITTEN] + manifest[M.DROPPED] +
               manifest[M.DEAD_LETTERED])
  return manifest, report


def has_journal(output, run_id):
  """Whether a run's commit journal was written (its commit may have begun)."""
  return FileSystems.exists(S.staging_path(output, run_id, S.JOURNAL_FILE))


def commit_run(output, run_id, started_at, arguments, state_dir, stage_counts=None,
               story_window_days=DEFAULT_STORY_WINDOW_DAYS):
  """Journals the commit, moves the run's staged files into place, updates the
  feed state, writes the manifest. Returns ``(manifest_row, report)``.
  """
  journal = {JOURNAL_RUN_ID: run_id, JOURNAL_STARTED_AT: started_at.isoformat(),
             JOURNAL_ARGUMENTS: list(arguments), JOURNAL_STATE_DIR: state_dir,
             JOURNAL_STAGE_COUNTS: dict(stage_counts or {}),
             JOURNAL_STORY_WINDOW_DAYS: story_window_days}
  write_json(S.staging_path(output, run_id, S.JOURNAL_FILE), journal)
  return _finish(output, journal, M.STATUS_SUCCEEDED)


def _staged_runs(output):
  """Run ids with a staging folder, and the newest modification time in each."""
  root = S.output_path(output, S.STAGING_FOLDER)
  try:
    matched = FileSystems.match([FileSystems.join(root, '**')])[0].metadata_list
  except Exception:  # pylint: disable=broad-except
    return {}
  newest = {}
  for meta in matched:
    relative = meta.path[len(root):].lstrip('/')
    run_id = relative.split('/', 1)[0]
    if run_id and not run_id.startswith(('.', S.COMPACTION_PREFIX)):
      newest[run_id] = max(newest.get(run_id, 0.0), meta.last_updated_in_seconds or 0.0)
  return newest


def _read_journal(path, run_id, newest):
  """A commit journal; one that cannot be read is rebuilt from what is known.

  The journal is written before any file moves, so an unreadable one (left by
  a version that wrote it in place when the disk filled up) still means the
  run's report is complete: the commit rolls forward with the staging
  folder's time as the start and no arguments.
  """
  try:
    return read_json(path)
  except CorruptFileError as error:
    _LOG.error('commit journal of run %s is unreadable (%s); rebuilding it', run_id, error)
    started = datetime.datetime.fromtimestamp(newest, datetime.timezone.utc)
    return {JOURNAL_RUN_ID: run_id, JOURNAL_STARTED_AT: started.isoformat(),
            JOURNAL_ARGUMENTS: [], JOURNAL_STATE_DIR: None}


def recover_interrupted_commits(output, own_run_id=None, now=None):
  """Finishes commits that a killed run left journaled; deletes stale staging.

  Returns the run ids whose commit was finished.
  """
  now = time.time() if now is None else now
  recovered = []
  for run_id, newest in sorted(_staged_runs(output).items()):
    if run_id == own_run_id:
      continue
    journal_path = S.staging_path(output, run_id, S.JOURNAL_FILE)
    if FileSystems.exists(journal_path):
      _LOG.warning('finishing the interrupted commit of run %s', run_id)
      _finish(output, _read_journal(journal_path, run_id, newest), M.STATUS_RECOVERED)
      recovered.append(run_id)
    elif now - newest > STALE_STAGING_HOURS * 3600:
      _LOG.warning('deleting the staged files of run %s, which never committed',
                   run_id)
      remove_staging(output, run_id)
  return recovered
