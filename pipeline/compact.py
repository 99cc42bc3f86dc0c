"""``newsbeam compact OUTPUT``: rewrite each partition's small files into few large ones.

Each run adds a file or two per partition; after months of hourly runs
readers open thousands of small files. Compaction reads a partition's files,
writes their rows (every row exactly once, verified by count) into files of
about TARGET_FILE_BYTES in a folder under ``OUTPUT/_staging``, then swaps that
folder with the partition's folder in one atomic step (Linux
``renameat2(RENAME_EXCHANGE)``), so readers see either all the old files or
all the new ones, never both and never neither. The swap happens under the
output lock that run commits also take, and only if the partition's files
did not change meanwhile. A journal makes a killed compaction safe: the next
compaction (or run) finishes or undoes it.

Local filesystems only: object stores have no atomic folder swap (see the
README for how to compact there).
"""

import argparse
import ctypes
import datetime
import errno
import os
import re
import shutil
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lock import OutputBusyError
from pipeline.lock import output_lock
from pipeline.runs import not_an_output
from schemas import datasets as S
from schemas import run as M
from transforms.core.files import read_json
from transforms.core.files import write_json
from transforms.write.datasets import COMPRESSION
from transforms.write.datasets import ROW_GROUP_ROWS

__all__ = ['compact', 'compact_main', 'recover_compactions',
           'parse_age', 'TARGET_FILE_BYTES']

TARGET_FILE_BYTES = 128 << 20  # compacted files hold about this many bytes
DEFAULT_OLDER_THAN = '1d'  # partitions touched more recently are left alone
JOURNAL_FILE = '_COMPACT.json'

DATASETS = tuple(sorted(name for name, d in S.DATASETS.items() if d.partition_schema))
DEFAULT_DATASETS = tuple(sorted(name for name, d in S.DATASETS.items()
                                if d.compacted_by_default))

_AGE = re.compile(r'\A(\d+)([smhd])\Z')
_AGE_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}
MAX_AGE_SECONDS = 3660 * 86400  # about ten years; longer ages overflow time arithmetic
MAX_AGE_DIGITS = 12  # digits of an age read as a number; more is refused unread
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class CompactionError(RuntimeError):
  """A compaction that cannot be done here."""


def parse_age(text):
  """Seconds of an age such as ``30m``, ``12h``, ``1d`` or ``0``."""
  if text == '0':
    return 0
  match = _AGE.match(text)
  if not match:
    raise ValueError(f'expected an age such as 30m, 12h or 1d, got {text!r}')
  digits = match.group(1).lstrip('0') or '0'
  seconds = int(digits) * _AGE_UNITS[match.group(2)] if len(digits) <= MAX_AGE_DIGITS else None
  if seconds is None or seconds > MAX_AGE_SECONDS:
    raise ValueError(f'expected at most {MAX_AGE_SECONDS // 86400}d, got {text!r}')
  return seconds


def exchange(first, second):
  """Swaps two folders atomically (Linux renameat2 with RENAME_EXCHANGE)."""
  libc = ctypes.CDLL(None, use_errno=True)
  if not hasattr(libc, 'renameat2'):
    raise CompactionError('this system has no renameat2: atomic folder swap unavailable')
  if libc.renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                    _RENAME_EXCHANGE) != 0:
    code = ctypes.get_errno()
    raise CompactionError(f'cannot swap {first} and {second}: {os.strerror(code)}'
                          + (' (filesystem lacks RENAME_EXCHANGE)' if code == errno.EINVAL else ''))


def partitions(root, depth):
  """Leaf partition folders (``date=.../lang=...``) of a dataset, sorted."""
  found = []
  for folder, dirs, _ in os.walk(root):
    dirs[:] = sorted(d for d in dirs if '=' in d and not d.startswith(('.', '_')))
    if os.path.relpath(folder, root).count(os.sep) == depth - 1 and folder != root:
      found.append(folder)
  return sorted(found)


def _parquet_files(folder):
  return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                if f.endswith('.parquet') and not f.startswith(('.', '_')))


def _journal_path(output, compaction_id):
  return os.path.join(output, S.STAGING_FOLDER, S.COMPACTION_PREFIX + compaction_id,
                      JOURNAL_FILE)


def compact_partition(output, dataset, folder, compaction_id, staging):
  """Rewrites one partition; returns its record, or None when it has one file or fewer."""
  schema = S.DATASETS[dataset].schema
  files = _parquet_files(folder)
  if len(files) < 2:
    return None
  table = pa.concat_tables(pq.read_table(f, schema=schema) for f in files)
  size = sum(os.path.getsize(f) for f in files)
  rows_per_file = max(1, int(len(table) * TARGET_FILE_BYTES / max(size, 1)))
  relative = os.path.relpath(folder, os.path.join(output, dataset))
  target = os.path.join(staging, dataset, relative)
  os.makedirs(target)
  written = 0
  new_files = []
  for index, start in enumerate(range(0, len(table), rows_per_file)):
    name = S.part_file_name(S.COMPACTION_PREFIX + compaction_id, index)
    chunk = table.slice(start, rows_per_file)
    pq.write_table(chunk, os.path.join(target, name), compression=COMPRESSION,
                   row_group_size=ROW_GROUP_ROWS)
    written += len(chunk)
    new_files.append(name)
  if written != len(table):
    raise CompactionError(f'{folder}: wrote {written} rows of {len(table)}')
  journal = {'id': compaction_id, 'partition': folder, 'staged': target,
             'old_files': [os.path.basename(f) for f in files], 'new_files': new_files}
  write_json(_journal_path(output, compaction_id), journal)
  with output_lock(output):
    if _parquet_files(folder) != files:
      shutil.rmtree(target)
      return None  # a run committed into this partition meanwhile; next time
    exchange(target, folder)
  shutil.rmtree(target)  # now holds the old files
  os.remove(_journal_path(output, compaction_id))
  return {'dataset': dataset, 'partition': relative, 'files_before': len(files),
          'files_after': len(new_files), 'rows': written}


def recover_compactions(output):
  """Finishes or undoes compactions that were killed; returns how many."""
  root = os.path.join(output, S.STAGING_FOLDER)
  recovered = 0
  if not os.path.isdir(root):
    return 0
  for name in sorted(os.listdir(root)):
    journal_path = os.path.join(root, name, JOURNAL_FILE)
    if not name.startswith(S.COMPACTION_PREFIX) or not os.path.exists(journal_path):
      continue
    journal = read_json(journal_path)
    # Whichever folder holds the old files is the one to delete.
    if os.path.isdir(journal['staged']):
      shutil.rmtree(journal['staged'])
    shutil.rmtree(os.path.join(root, name))
    recovered += 1
  for name in sorted(os.listdir(root)):
    folder = os.path.join(root, name)
    if name.startswith(S.COMPACTION_PREFIX) and os.path.isdir(folder):
      shutil.rmtree(folder)  # killed before its journal: only staged new files
  return recovered


def compact(output, datasets=DEFAULT_DATASETS, older_than=DEFAULT_OLDER_THAN,
            arguments=(), now=None):
  """Compacts the datasets' partitions untouched for ``older_than``; returns the manifest."""
  if '://' in output:
    raise CompactionError('compaction needs a local output folder (atomic folder swap)')
  problem = not_an_output(output)
  if problem:
    raise CompactionError(problem)
  with output_lock(output, 'compaction'):
    return _compact(output, datasets, older_than, arguments, now)


def _compact(output, datasets, older_than, arguments, now):
  started_at = datetime.datetime.now(datetime.timezone.utc)
  compaction_id = S.new_run_id(started_at)
  now = started_at.timestamp() if now is None else now
  cutoff = now - parse_age(older_than)
  recover_compactions(output)
  staging = os.path.join(output, S.STAGING_FOLDER, S.COMPACTION_PREFIX + compaction_id)
  os.makedirs(staging)
  done = []
  for dataset in datasets:
    for folder in partitions(os.path.join(output, dataset), S.partition_depth(dataset)):
      files = _parquet_files(folder)
      if files and max(os.path.getmtime(f) for f in files) <= cutoff:
        record = compact_partition(output, dataset, folder, compaction_id, staging)
        if record:
          done.append(record)
  shutil.rmtree(staging)
  manifest = M.make_manifest(
      compaction_id, M.STATUS_COMPACTED, started_at,
      datetime.datetime.now(datetime.timezone.utc), arguments, output,
      **{M.FILES_WRITTEN: sum(d['files_after'] for d in done),
         M.COMPACTED_PARTITIONS: done})
  final = S.manifest_path(output, compaction_id)
  os.makedirs(os.path.dirname(final), exist_ok=True)
  staged = os.path.join(output, S.STAGING_FOLDER, f'.{compaction_id}.parquet')
  pq.write_table(pa.Table.from_pylist([manifest], schema=M.RUN_SCHEMA), staged,
                 compression=COMPRESSION)
  os.replace(staged, final)
  return manifest


def compact_main(argv):
  parser = argparse.ArgumentParser(
      prog='newsbeam compact',
      description='Rewrites the small files of each partition into files of about '
      f'{TARGET_FILE_BYTES >> 20} MB, atomically (local output folders).')
  parser.add_argument('output', help='the dataset folder')
  parser.add_argument('--dataset', choices=list(DATASETS) + ['all'], action='append',
                      help='dataset to compact (repeatable). Default: articles and entities.')
  parser.add_argument('--older-than', default=DEFAULT_OLDER_THAN,
                      help='only partitions whose newest file is older than this '
                      '(e.g. 30m, 12h, 1d, 0). Default: %(default)s.')
  args = parser.parse_args(argv)
  datasets = args.dataset or list(DEFAULT_DATASETS)
  if 'all' in datasets:
    datasets = list(DATASETS)
  try:
    parse_age(args.older_than)
    manifest = compact(args.output, tuple(datasets), args.older_than, ['compact'] + argv)
  except (ValueError, CompactionError) as error:
    print(f'newsbeam: error: {error}', file=sys.stderr)
    return 2
  except OutputBusyError as error:
    print(f'newsbeam: {error}', file=sys.stderr)
    return 5
  done = manifest[M.COMPACTED_PARTITIONS]
  print(f'newsbeam compact {manifest[M.RUN_ID]}: {len(done)} partitions, '
        f'{sum(d["files_before"] for d in done)} files -> {sum(d["files_after"] for d in done)}, '
        f'{sum(d["rows"] for d in done)} rows', file=sys.stderr)
  return 0
