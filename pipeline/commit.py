"""Driver-side end of a run: move staged files into place, then the manifest.

A commit is rolled forward, never half done: before the first file moves, a
journal (``_staging/<run_id>/_COMMIT.json``) is written. A run killed during
its commit is finished by the next run (``recover_interrupted_commits``): the
remaining staged files are moved and the manifest written. Each move is a
rename of a complete file, so readers never see a partial file; the run
manifest (``runs/part-<run_id>.parquet``) is written last, so a run that has
a manifest has all of its files in place.

Whatever a crash leaves in ``_staging/<run_id>/`` is resolved by the next
run, with one warning line naming the run (``recover_staged_run``): a
committed run's leftovers are deleted; a journaled commit whose run report
is readable and whose files are all there (staged or moved) is rolled
forward, rebuilding an unreadable journal; any other journaled commit (its
report missing or unreadable, a staged file lost) is rolled back, deleting
the files it had moved (they carry the run id in their names), so it is
invisible; staging without a journal (the run died before its commit) is
deleted at once on a local output, where the lock proves its run is gone,
and after STALE_STAGING_HOURS on an object store, which has no lock.
"""

import collections
import datetime
import logging
import os
import re
import time

from apache_beam.io.filesystems import FileSystems

from pipeline import state as feed_state
from pipeline.lock import output_lock
from schemas import datasets as S
from schemas import report as R
from schemas import run as M
from schemas import story as T
from transforms.core.files import CorruptFileError
from transforms.core.files import ensure_folder
from transforms.core.files import is_local
from transforms.core.files import parent_of
from transforms.core.files import read_json
from transforms.core.files import write_json
from transforms.stories.assign import DEFAULT_WINDOW_DAYS as DEFAULT_STORY_WINDOW_DAYS
from transforms.stories.assign import expire_story_index
from transforms.write.datasets import write_parquet

__all__ = ['commit_run', 'build_manifest', 'remove_staging', 'has_journal',
           'recover_interrupted_commits', 'recover_staged_run', 'files_in_place',
           'ROLLED_FORWARD', 'ROLLED_BACK', 'DISCARDED', 'CLEANED', 'KEPT']

STALE_STAGING_HOURS = 24  # on an object store, staging without a journal is deleted after this

# What recover_staged_run did with a run's staging folder.
ROLLED_FORWARD = 'rolled_forward'  # its commit was finished
ROLLED_BACK = 'rolled_back'  # its commit could not be finished: files it moved were deleted
DISCARDED = 'discarded'  # it never began its commit: its staged files were deleted
CLEANED = 'cleaned'  # it was committed: its leftover staging was deleted
KEPT = 'kept'  # staging without a journal on an object store, younger than the stale age

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
         M.WARNING_INPUTS: report.get(R.WARNING_INPUTS, {}),
         M.SEEN_AGAIN: sum(counts.get(R.SEEN_AGAIN, {}).values()),
         M.SEEN_AGAIN_BY_FEED: counts.get(R.SEEN_AGAIN, {}),
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


def _finish(output, journal, status, report=None):
  """Moves the journal's files into place, writes the manifest, drops staging."""
  run_id = journal[JOURNAL_RUN_ID]
  if report is None:
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
                                         report[R.FEEDS], report.get(R.SEEN_ENTRIES, ()))
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
               story_window_days=DEFAULT_STORY_WINDOW_DAYS, status=M.STATUS_SUCCEEDED):
  """Journals the commit, moves the run's staged files into place, updates the
  feed state, writes the manifest. Returns ``(manifest_row, report)``.
  """
  journal = {JOURNAL_RUN_ID: run_id, JOURNAL_STARTED_AT: started_at.isoformat(),
             JOURNAL_ARGUMENTS: list(arguments), JOURNAL_STATE_DIR: state_dir,
             JOURNAL_STAGE_COUNTS: dict(stage_counts or {}),
             JOURNAL_STORY_WINDOW_DAYS: story_window_days}
  write_json(S.staging_path(output, run_id, S.JOURNAL_FILE), journal)
  return _finish(output, journal, status)


def _staged_runs(output):
  """Run ids with a staging folder, and the newest modification time in each."""
  root = S.output_path(output, S.STAGING_FOLDER)
  newest = {}
  if is_local(root):  # a folder left empty has no file for match() to list
    try:
      with os.scandir(root) as entries:
        for entry in entries:
          newest[entry.name] = entry.stat(follow_symlinks=False).st_mtime
    except OSError:
      return {}
  try:
    matched = FileSystems.match([FileSystems.join(root, '**')])[0].metadata_list
  except Exception:  # pylint: disable=broad-except
    matched = []
  for meta in matched:
    relative = meta.path[len(root):].lstrip('/')
    run_id = relative.split('/', 1)[0]
    newest[run_id] = max(newest.get(run_id, 0.0), meta.last_updated_in_seconds or 0.0)
  return {run_id: when for run_id, when in newest.items()
          if run_id and not run_id.startswith(('.', S.COMPACTION_PREFIX))}


def _read_journal(path, run_id, newest):
  """``(journal, problem)``: a commit journal, or one rebuilt from what is known and why.

  The journal is written before any file moves, so an unreadable one (left by
  a version that wrote it in place when the disk filled up) still means the
  run's report is complete: the commit rolls forward with the staging
  folder's time as the start and no arguments.
  """
  try:
    journal = read_json(path)
    if not isinstance(journal, dict) or not isinstance(journal.get(JOURNAL_STARTED_AT), str):
      raise CorruptFileError(f'{path}: not a commit journal')
    datetime.datetime.fromisoformat(journal[JOURNAL_STARTED_AT])
    journal[JOURNAL_RUN_ID] = run_id
    journal.setdefault(JOURNAL_ARGUMENTS, [])
    journal.setdefault(JOURNAL_STATE_DIR, None)
    return journal, None
  except (CorruptFileError, ValueError, OSError) as error:
    started = datetime.datetime.fromtimestamp(newest, datetime.timezone.utc)
    return {JOURNAL_RUN_ID: run_id, JOURNAL_STARTED_AT: started.isoformat(),
            JOURNAL_ARGUMENTS: [], JOURNAL_STATE_DIR: None}, _short(error)


def _short(error):
  """An error as a few words for a one-line warning."""
  if isinstance(error, FileNotFoundError):
    return 'missing'
  if isinstance(error, CorruptFileError):
    return 'unreadable'
  return f'unreadable ({type(error).__name__})'


def _read_report(output, run_id):
  """``(report, problem)``: the run report in a run's staging, or None and why not."""
  try:
    report = read_json(S.staging_path(output, run_id, S.REPORT_FILE))
  except (CorruptFileError, OSError) as error:
    return None, _short(error)
  files = report.get(R.FILES) if isinstance(report, dict) else None
  if (not isinstance(files, list) or not isinstance(report.get(R.COUNTS), dict) or
      not all(isinstance(f, dict) and R.FILE_STAGED_PATH in f and R.FILE_FINAL_PATH in f
              for f in files)):
    return None, 'unreadable'
  return report, None


def _lost_files(files):
  """Final paths of the report's files that are neither staged nor in place."""
  return [f[R.FILE_FINAL_PATH] for f in files
          if not FileSystems.exists(f[R.FILE_STAGED_PATH]) and
          not FileSystems.exists(f[R.FILE_FINAL_PATH])]


def _run_file_patterns(run_id):
  """Names of a run's files in a dataset (``part-<run_id>-<n>.parquet``) and in the story index."""
  return (re.compile(rf'\Apart-{re.escape(run_id)}-\d+\.parquet\Z'),
          re.compile(rf'\A{re.escape(T.index_file_name(run_id))}\Z'))


def files_in_place(output, run_id):
  """The files of ``run_id`` already moved into the output's datasets and story index."""
  in_dataset, in_index = _run_file_patterns(run_id)
  folders = [(S.output_path(output, name), in_dataset) for name in S.DATASETS if name != S.RUNS]
  folders.append((S.output_path(output, S.STATE_FOLDER, T.STORY_INDEX_FOLDER), in_index))
  found = []
  for folder, pattern in folders:
    try:
      matched = FileSystems.match([FileSystems.join(folder, '**')])[0].metadata_list
    except Exception:  # pylint: disable=broad-except
      continue  # no such folder
    found += [m.path for m in matched if pattern.match(m.path.rsplit('/', 1)[-1])]
  return sorted(found)


def _roll_back(output, run_id):
  """Deletes the files a run had moved into place, then its staging; returns how many."""
  with output_lock(output):
    moved = files_in_place(output, run_id)
    if moved:
      FileSystems.delete(moved)
  remove_staging(output, run_id)
  return len(moved)


def recover_staged_run(output, run_id, newest, now):
  """Rolls a run's staging forward or back (module docstring); one warning line; what it did."""
  if FileSystems.exists(S.manifest_path(output, run_id)):
    _LOG.warning('run %s: deleting the staging folder it left after its commit', run_id)
    remove_staging(output, run_id)
    return CLEANED
  journal_path = S.staging_path(output, run_id, S.JOURNAL_FILE)
  if not FileSystems.exists(journal_path):
    if not is_local(output) and now - newest <= STALE_STAGING_HOURS * 3600:
      return KEPT
    _LOG.warning('run %s: deleting its staged files: it stopped before its commit began',
                 run_id)
    remove_staging(output, run_id)
    return DISCARDED
  report, problem = _read_report(output, run_id)
  lost = _lost_files(report[R.FILES]) if report is not None else []
  if report is None or lost:
    why = (f'its run report is {problem}' if report is None else
           f'{len(lost)} of its staged files are lost (e.g. {lost[0]})')
    moved = _roll_back(output, run_id)
    _LOG.warning('run %s: rolled back its interrupted commit (%s): deleted its staging and '
                 'the %d files it had moved, so none of it is visible', run_id, why, moved)
    return ROLLED_BACK
  journal, problem = _read_journal(journal_path, run_id, newest)
  _LOG.warning('run %s: finishing its interrupted commit%s', run_id,
               f' (its journal is {problem}: rebuilt)' if problem else '')
  _finish(output, journal, M.STATUS_RECOVERED, report)
  return ROLLED_FORWARD


def recover_interrupted_commits(output, own_run_id=None, now=None):
  """Resolves every staging folder a killed run left (module docstring), under the lock.

  Returns the run ids whose commit was finished.
  """
  now = time.time() if now is None else now
  recovered = []
  for run_id, newest in sorted(_staged_runs(output).items()):
    if run_id != own_run_id and recover_staged_run(output, run_id, newest, now) == ROLLED_FORWARD:
      recovered.append(run_id)
  return recovered
