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
import json
import logging
import time

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

import schemas
from pipeline import state as feed_state
from pipeline.lock import output_lock
from schemas import run as M
from transforms import accounting
from transforms.write import FILE_FINAL_PATH
from transforms.write import FILE_STAGED_PATH
from transforms.write import STAGING_FOLDER
from transforms.write import write_parquet

__all__ = ['commit_run', 'build_manifest', 'remove_staging',
           'recover_interrupted_commits', 'RUNS_DATASET']

RUNS_DATASET = 'runs'
COMPACTION_PREFIX = 'compact-'  # staging of `newsbeam compact`, which cleans it up itself
JOURNAL_FILE = '_COMMIT.json'
STALE_STAGING_HOURS = 24  # staging of a run that never committed is deleted after this

_LOG = logging.getLogger(__name__)


def _ensure_folder(path):
  """Creates a folder and its parents; object stores need none and ignore it."""
  try:
    FileSystems.mkdirs(path)
  except IOError:
    pass  # it exists already


def _parent(path):
  return path.rsplit('/', 1)[0]


def move_into_place(files):
  """Renames each staged file to its final path; skips files already moved."""
  for entry in files:
    staged, final = entry[FILE_STAGED_PATH], entry[FILE_FINAL_PATH]
    if not FileSystems.exists(staged):
      if FileSystems.exists(final):
        continue
      raise IOError(f'staged file {staged} is missing and {final} was never written')
    _ensure_folder(_parent(final))
    FileSystems.rename([staged], [final])


def build_manifest(run_id, started_at, finished_at, arguments, output, report,
                   status=M.STATUS_SUCCEEDED, failing=()):
  """The run manifest row from the pipeline's run report."""
  counts = report['counts']
  inputs = counts.get(accounting.INPUTS, {})
  written = counts.get(accounting.WRITTEN, {})
  dropped = counts.get(accounting.DROPPED, {})
  dead = counts.get(accounting.DEAD_LETTERED, {})
  inputs_read = sum(inputs.values())
  total = sum(written.values()) + sum(dropped.values()) + sum(dead.values())
  return {
      M.RUN_ID: run_id,
      M.STATUS: status,
      M.STARTED_AT: started_at,
      M.FINISHED_AT: finished_at,
      M.ARGUMENTS: list(arguments),
      M.OUTPUT: output,
      M.INPUTS_READ: inputs_read,
      M.INPUTS_BY_FORMAT: sorted(inputs.items()),
      M.ARTICLES_WRITTEN: sum(written.values()),
      M.ARTICLES_BY_LANGUAGE: sorted(written.items()),
      M.ARTICLES_BY_SOURCE: sorted(counts.get(accounting.SOURCES, {}).items()),
      M.DROPPED: sum(dropped.values()),
      M.DROPPED_BY_REASON: sorted(dropped.items()),
      M.DEAD_LETTERED: sum(dead.values()),
      M.DEAD_LETTERED_BY_STAGE: sorted(dead.items()),
      M.DEAD_LETTER_EXAMPLES: sorted(report.get(accounting.EXAMPLES, {}).items()),
      M.DEAD_LETTER_SHARE: round(sum(dead.values()) / inputs_read, 6) if inputs_read else 0.0,
      M.WALL_SECONDS: round((finished_at - started_at).total_seconds(), 3),
      M.WARNINGS_BY_KIND: sorted(counts.get(accounting.WARNINGS, {}).items()),
      M.FILES_WRITTEN: len(report['files']),
      M.FEEDS_BY_STATUS: sorted(collections.Counter(
          str(f['error_type'] or f['status']) for f in report.get('feeds', [])).items()),
      M.FAILING_FEEDS: [{M.FAILING_FEED_URL: url, M.FAILING_FEED_FAILURES: count,
                         M.FAILING_FEED_ERROR: error} for url, count, error in failing],
      M.COMPACTED_PARTITIONS: [],
      M.ACCOUNTING_BALANCED: inputs_read == total,
      M.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION,
  }


def manifest_path(output, run_id):
  return FileSystems.join(output, RUNS_DATASET, f'part-{run_id}.parquet')


def _staging(output, run_id):
  return FileSystems.join(output, STAGING_FOLDER, run_id)


def remove_staging(output, run_id):
  """Deletes the run's staging folder and everything left in it."""
  staging = _staging(output, run_id)
  if FileSystems.exists(staging):
    FileSystems.delete([staging])


def _write_json(path, value):
  with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
    f.write(json.dumps(value, sort_keys=True).encode('utf-8'))


def _read_json(path):
  with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
    return json.loads(f.read().decode('utf-8'))


def _write_manifest(output, run_id, manifest):
  staged = FileSystems.join(_staging(output, run_id), RUNS_DATASET,
                            f'part-{run_id}.parquet')
  write_parquet(staged, [manifest], M.RUN_SCHEMA)
  final = manifest_path(output, run_id)
  _ensure_folder(_parent(final))
  FileSystems.rename([staged], [final])


def _finish(output, journal, status):
  """Moves the journal's files into place, writes the manifest, drops staging."""
  run_id = journal['run_id']
  report = accounting.read_run_report(output, run_id)
  with output_lock(output):
    move_into_place(report['files'])
  failing = ()
  if report.get('feeds'):
    state_dir = journal['state_dir']
    state = feed_state.update_feed_state(feed_state.load_feed_state(state_dir),
                                         report['feeds'])
    feed_state.save_feed_state(state_dir, state, run_id)
    failing = feed_state.failing_feeds(state)
  manifest = build_manifest(
      run_id, datetime.datetime.fromisoformat(journal['started_at']),
      datetime.datetime.now(datetime.timezone.utc), journal['arguments'],
      output, report, status, failing)
  if not FileSystems.exists(manifest_path(output, run_id)):
    _write_manifest(output, run_id, manifest)
  remove_staging(output, run_id)
  if not manifest[M.ACCOUNTING_BALANCED]:
    _LOG.error('run %s does not balance: %d inputs read, %d accounted for',
               run_id, manifest[M.INPUTS_READ],
               manifest[M.ARTICLES_WRITTEN] + manifest[M.DROPPED] +
               manifest[M.DEAD_LETTERED])
  return manifest, report


def commit_run(output, run_id, started_at, arguments, state_dir):
  """Journals the commit, moves the run's staged files into place, updates the
  feed state, writes the manifest. Returns ``(manifest_row, report)``.
  """
  journal = {'run_id': run_id, 'started_at': started_at.isoformat(),
             'arguments': list(arguments), 'state_dir': state_dir}
  _write_json(FileSystems.join(_staging(output, run_id), JOURNAL_FILE), journal)
  return _finish(output, journal, M.STATUS_SUCCEEDED)


def _staged_runs(output):
  """Run ids with a staging folder, and the newest modification time in each."""
  root = FileSystems.join(output, STAGING_FOLDER)
  try:
    matched = FileSystems.match([FileSystems.join(root, '**')])[0].metadata_list
  except Exception:  # pylint: disable=broad-except
    return {}
  newest = {}
  for meta in matched:
    relative = meta.path[len(root):].lstrip('/')
    run_id = relative.split('/', 1)[0]
    if run_id and not run_id.startswith(('.', COMPACTION_PREFIX)):
      newest[run_id] = max(newest.get(run_id, 0.0), meta.last_updated_in_seconds or 0.0)
  return newest


def recover_interrupted_commits(output, own_run_id=None, now=None):
  """Finishes commits that a killed run left journaled; deletes stale staging.

  Returns the run ids whose commit was finished.
  """
  now = time.time() if now is None else now
  recovered = []
  for run_id, newest in sorted(_staged_runs(output).items()):
    if run_id == own_run_id:
      continue
    journal_path = FileSystems.join(_staging(output, run_id), JOURNAL_FILE)
    if FileSystems.exists(journal_path):
      _LOG.warning('finishing the interrupted commit of run %s', run_id)
      _finish(output, _read_json(journal_path), M.STATUS_RECOVERED)
      recovered.append(run_id)
    elif now - newest > STALE_STAGING_HOURS * 3600:
      _LOG.warning('deleting the staged files of run %s, which never committed',
                   run_id)
      remove_staging(output, run_id)
  return recovered
