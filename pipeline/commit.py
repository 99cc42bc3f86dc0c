"""Driver-side end of a run: move staged files into place, then the manifest.

The run manifest (``runs/part-<run_id>.parquet``) is written last: a run that
has a manifest has all of its files in place.
"""

import datetime
import logging

from apache_beam.io.filesystems import FileSystems

import schemas
from schemas import run as M
from transforms import accounting
from transforms.write import FILE_FINAL_PATH
from transforms.write import FILE_ROWS
from transforms.write import FILE_STAGED_PATH
from transforms.write import STAGING_FOLDER
from transforms.write import write_parquet

__all__ = ['commit_run', 'build_manifest', 'remove_staging']

RUNS_DATASET = 'runs'

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
  """Renames each staged file to its final path."""
  for entry in files:
    _ensure_folder(_parent(entry[FILE_FINAL_PATH]))
    FileSystems.rename([entry[FILE_STAGED_PATH]], [entry[FILE_FINAL_PATH]])


def build_manifest(run_id, started_at, finished_at, arguments, output, report):
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
      M.STATUS: M.STATUS_SUCCEEDED,
      M.STARTED_AT: started_at,
      M.FINISHED_AT: finished_at,
      M.ARGUMENTS: list(arguments),
      M.OUTPUT: output,
      M.INPUTS_READ: inputs_read,
      M.INPUTS_BY_FORMAT: sorted(inputs.items()),
      M.ARTICLES_WRITTEN: sum(written.values()),
      M.DROPPED: sum(dropped.values()),
      M.DROPPED_BY_REASON: sorted(dropped.items()),
      M.DEAD_LETTERED: sum(dead.values()),
      M.DEAD_LETTERED_BY_STAGE: sorted(dead.items()),
      M.WARNINGS_BY_KIND: sorted(counts.get(accounting.WARNINGS, {}).items()),
      M.FILES_WRITTEN: len(report['files']),
      M.ACCOUNTING_BALANCED: inputs_read == total,
      M.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION,
  }


def manifest_path(output, run_id):
  return FileSystems.join(output, RUNS_DATASET, f'part-{run_id}.parquet')


def remove_staging(output, run_id):
  """Deletes the run's staging folder and everything left in it."""
  staging = FileSystems.join(output, STAGING_FOLDER, run_id)
  if FileSystems.exists(staging):
    FileSystems.delete([staging])


def commit_run(output, run_id, started_at, arguments):
  """Moves the run's staged files into place and writes its manifest last.

  Returns ``(manifest_row, report)``.
  """
  report = accounting.read_run_report(output, run_id)
  move_into_place(report['files'])
  finished_at = datetime.datetime.now(datetime.timezone.utc)
  manifest = build_manifest(run_id, started_at, finished_at, arguments, output,
                            report)
  staged = FileSystems.join(output, STAGING_FOLDER, run_id, RUNS_DATASET,
                            f'part-{run_id}.parquet')
  write_parquet(staged, [manifest], M.RUN_SCHEMA)
  final = manifest_path(output, run_id)
  _ensure_folder(_parent(final))
  FileSystems.rename([staged], [final])
  remove_staging(output, run_id)
  if not manifest[M.ACCOUNTING_BALANCED]:
    _LOG.error('run %s does not balance: %d inputs read, %d accounted for',
               run_id, manifest[M.INPUTS_READ],
               manifest[M.ARTICLES_WRITTEN] + manifest[M.DROPPED] +
               manifest[M.DEAD_LETTERED])
  return manifest, report
