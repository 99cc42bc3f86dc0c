"""``newsbeam runs OUTPUT``: the last runs of a dataset with their accounting."""

import argparse
import os
import sys

from apache_beam.io.filesystems import FileSystems

from schemas import datasets as S
from schemas import run as M

__all__ = ['runs_main', 'load_runs', 'format_runs', 'not_an_output', 'print_to_stdout']

DEFAULT_LAST = 10
MAX_LAST = 1_000_000  # runs listed at most by --last
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader that went away


def not_an_output(path):
  """Why ``path`` is not a newsbeam output folder, or None when it is one.

  An output holds at least one dataset folder or the staging folder.
  """
  if '://' in path:
    return None  # object stores have no folders to look at; trust the caller
  if not os.path.isdir(path):
    return f'{path!r} is not a folder'
  names = set(os.listdir(path))
  if not names & (set(S.DATASETS) | {S.STAGING_FOLDER}):
    return (f'{path!r} is not a newsbeam output (it has none of '
            f'{", ".join(sorted(S.DATASETS))}/)')
  return None


def load_runs(output, last=DEFAULT_LAST):
  """The last ``last`` run manifests of a dataset, newest first, as dicts."""
  import pyarrow.dataset as ds  # pylint: disable=import-outside-toplevel
  root = S.output_path(output, S.RUNS)
  if not FileSystems.exists(root):
    return []
  table = ds.dataset(root, format='parquet', schema=M.RUN_SCHEMA).to_table()
  rows = table.to_pylist()
  rows.sort(key=lambda r: (r[M.STARTED_AT], r[M.RUN_ID]), reverse=True)
  return rows[:last]


def print_to_stdout(text):
  """Prints ``text``; returns EXIT_CLOSED_PIPE when the reader went away (``| head``), else 0.

  stdout is pointed at /dev/null after a closed pipe, so the interpreter's
  final flush cannot fail with a traceback either.
  """
  try:
    sys.stdout.write(text + '\n')
    sys.stdout.flush()
  except BrokenPipeError:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_CLOSED_PIPE
  return 0


def _pairs(pairs):
  return ', '.join(f'{k}={v}' for k, v in pairs) if pairs else '-'


def format_runs(rows):
  """A plain-text table of run manifests."""
  header = (f'{"run_id":26} {"status":11} {"started (UTC)":19} {"read":>7} '
            f'{"written":>7} {"dropped":>7} {"dead":>5} {"seen":>5} {"ok":3}  '
            'drops by reason; dead letters by stage')
  lines = [header]
  for r in rows:
    lines.append(
        f'{r[M.RUN_ID]:26} {r[M.STATUS]:11} {r[M.STARTED_AT]:%Y-%m-%d %H:%M:%S} '
        f'{r[M.INPUTS_READ]:7d} {r[M.ARTICLES_WRITTEN]:7d} {r[M.DROPPED]:7d} '
        f'{r[M.DEAD_LETTERED]:5d} {r.get(M.SEEN_AGAIN) or 0:5d} '
        f'{"yes" if r[M.ACCOUNTING_BALANCED] else "NO":3}  '
        f'{_pairs(r[M.DROPPED_BY_REASON])}; {_pairs(r[M.DEAD_LETTERED_BY_STAGE])}')
  return '\n'.join(lines)


def runs_main(argv):
  parser = argparse.ArgumentParser(
      prog='newsbeam runs',
      description='Lists the last runs of a newsbeam dataset: inputs read, '
      'articles written, drops by reason and dead letters by stage '
      '(read = written + dropped + dead + seen again, feed entries an earlier run '
      'wrote; "ok" says it balances).')
  parser.add_argument('output', help='the dataset folder (--output of the runs)')
  parser.add_argument('--last', type=int, default=DEFAULT_LAST,
                      help='how many runs to list. Default: %(default)s.')
  args = parser.parse_args(argv)
  if not 1 <= args.last <= MAX_LAST:
    print(f'newsbeam: error: --last must be between 1 and {MAX_LAST:,}, not {args.last}',
          file=sys.stderr)
    return 2
  problem = not_an_output(args.output)
  if problem:
    print(f'newsbeam: error: {problem}', file=sys.stderr)
    return 2
  rows = load_runs(args.output, args.last)
  if not rows:
    print(f'newsbeam: no runs in {args.output}', file=sys.stderr)
    return 1
  return print_to_stdout(format_runs(rows))
