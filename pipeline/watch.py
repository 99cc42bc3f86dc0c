"""``newsbeam watch``: the batch run again and again, on a schedule, until told to stop.

    newsbeam watch --every 15m [--max-cycles N] [--max-backoff 1h] [every run flag ...]

Each cycle is one ordinary run (``pipeline.main.prepare`` then ``execute``)
with a fresh run id, committed exactly once as any run is; feeds are polled
with conditional GETs from the state the previous commit saved, first, in
this process (``pipeline.poll``): a cycle whose feeds brought nothing new is
committed as a ``nothing_new`` run without building a pipeline, and one with
new entries hands them to its pipeline, which does not fetch them again. A
small cycle runs in this process (``pipeline.execution``), whose loaded
models then serve the next cycles too. Cycles start
``--every`` apart, start to start (a cycle longer than that is followed at
once); a failed cycle doubles the wait, up to ``--max-backoff``, until one
succeeds. A cycle that finds the output held by another run or compaction is
skipped. SIGTERM or SIGINT during the wait stops at once; during a cycle, the
cycle finishes (and commits, or fails leaving nothing visible) and then the
loop stops; a second signal aborts the cycle at once (exit 128 + the signal,
nothing of that run visible unless its commit had begun, which the next run
completes). One line per cycle goes to stderr.

Exit status: 0 after a clean stop (a signal, or ``--max-cycles`` done), 2 for
wrong configuration found before the first cycle (one line on stderr).
"""

import argparse
import logging
import os
import signal
import sys
import threading
import time

from pipeline.compact import parse_age
from pipeline.lock import OutputBusyError
from pipeline.options import ConfigError
from schemas import run as M

__all__ = ['watch_main', 'next_wait', 'format_cycle']

EXIT_OK = 0
EXIT_CONFIG_ERROR = 2  # as pipeline.main: wrong configuration, nothing done
EXIT_SIGNALLED = 128  # plus the signal number: a second signal aborted a cycle
DEFAULT_MAX_BACKOFF = '1h'
MAX_DOUBLINGS = 30  # failures beyond this do not double the wait again (the cap rules anyway)
MAX_CYCLES = 10 ** 9  # largest --max-cycles
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
RUN_ID_FLAGS = ('--run-id', '--run_id')

STATUS_SUCCEEDED = 'succeeded'
STATUS_NOTHING_NEW = M.STATUS_NOTHING_NEW  # the feeds brought nothing new: no pipeline ran
STATUS_OVER_DEAD_LETTER_SHARE = 'over_dead_letter_share'  # committed; see dead_letters
STATUS_BUSY = 'skipped_busy'  # another run or compaction held the output
STATUS_FAILED = 'failed'  # nothing of the run is visible
STATUS_COMMIT_INCOMPLETE = 'commit_incomplete'  # the next cycle completes the commit
FAILED_STATUSES = frozenset((STATUS_FAILED, STATUS_COMMIT_INCOMPLETE))

_LOG = logging.getLogger('newsbeam')


class _Aborted(BaseException):
  """A second stop signal arrived during a cycle: stop now.

  Beam may re-raise it as a new instance of this class with a longer
  message, so the signal itself is kept by ``_Stop``.
  """


class _Stop:
  """Stop signals: the first asks the loop to stop after its cycle, a second aborts the cycle."""

  def __init__(self):
    self.requested = threading.Event()
    self.in_cycle = False
    self.aborted_by = None  # the signal that aborted a cycle

  def handle(self, signum, _frame):
    if self.requested.is_set() and self.in_cycle:
      self.aborted_by = signum
      raise _Aborted(f'aborted by signal {signum}')
    self.requested.set()
    if self.in_cycle:  # os.write: print() is not safe inside a signal handler
      os.write(2, b'newsbeam watch: stopping after this cycle (signal again to abort it)\n')


class _WatchParser(argparse.ArgumentParser):
  """Reports a wrong watch flag as a ConfigError (one line, exit status 2)."""

  def error(self, message):
    raise ConfigError(message)


def _parser():
  parser = _WatchParser(
      prog='newsbeam watch', allow_abbrev=False,
      description='Runs the newsbeam batch pipeline every interval until SIGTERM/SIGINT; '
      'every other flag is a flag of the run (see newsbeam --help).',
      epilog='Exit status: 0 after a clean stop; 2 wrong configuration; 128+N when a '
      'second signal N aborted a cycle.')
  parser.add_argument(
      '--every', required=True, metavar='INTERVAL',
      help='Time from the start of one cycle to the start of the next, e.g. 30s, 15m, 1h.')
  parser.add_argument(
      '--max-cycles', '--max_cycles', dest='max_cycles', type=int, default=0, metavar='N',
      help='Stop after N cycles. Default: run until stopped.')
  parser.add_argument(
      '--max-backoff', '--max_backoff', dest='max_backoff', default=DEFAULT_MAX_BACKOFF,
      metavar='INTERVAL',
      help='Longest wait after failed cycles (each failure doubles the wait). '
      'Default: %(default)s.')
  return parser


def parse_interval(text, flag):
  """Seconds of an interval flag (``30s``, ``15m``, ``1h``, ``1d``); ConfigError unless positive."""
  try:
    seconds = parse_age(text)
  except ValueError as error:
    raise ConfigError(f'{flag}: {error}') from error
  if seconds <= 0:
    raise ConfigError(f'{flag}: expected an interval above 0, got {text!r}')
  return seconds


def next_wait(every, failures, max_backoff):
  """Seconds from a cycle's start to the next: ``every``, doubled per failure in a row, capped."""
  if not failures:
    return every
  return max(every, min(max_backoff, every * 2 ** min(failures, MAX_DOUBLINGS)))


def format_cycle(cycle, run_id, status, manifest, seconds, next_in, detail=None):
  """The one stderr line of a cycle: run id, inputs, written, dropped, dead, seen again, seconds."""
  if manifest:
    counts = (f'inputs {manifest[M.INPUTS_READ]}, written {manifest[M.ARTICLES_WRITTEN]}, '
              f'dropped {manifest[M.DROPPED]}, dead {manifest[M.DEAD_LETTERED]}, '
              f'seen again {manifest.get(M.SEEN_AGAIN) or 0}')
  else:
    counts = 'inputs -, written -, dropped -, dead -, seen again -'
  after = 'stopping' if next_in is None else f'next in {next_in:.1f} s'
  why = f' ({detail})' if detail else ''
  return (f'newsbeam watch: cycle {cycle} run {run_id or "-"} {status}{why}: {counts}, '
          f'{seconds:.1f} s; {after}')


def _run_cycle(runner, argv, prepared):
  """Runs one cycle; returns ``(run_id, status, manifest or None, detail)``."""
  run_id = None
  try:
    options, context = prepared or runner.prepare(argv)
    run_id = context.run_id
    result = runner.execute(options, context, argv, poll_first=True)
  except OutputBusyError as error:
    return run_id, STATUS_BUSY, None, str(error)
  except runner.CommitIncompleteError as error:
    _LOG.debug('commit stopped', exc_info=True)
    return run_id, STATUS_COMMIT_INCOMPLETE, None, str(error)
  except ConfigError as error:  # e.g. an --input folder that went away
    return run_id, STATUS_FAILED, None, f'error: {error}'
  except Exception as error:  # pylint: disable=broad-except
    _LOG.exception('cycle failed')
    return run_id, STATUS_FAILED, None, f'{type(error).__name__}: {error}'
  manifest = result.manifest
  if manifest[M.STATUS] == M.STATUS_NOTHING_NEW:
    return run_id, STATUS_NOTHING_NEW, manifest, None
  if manifest[M.DEAD_LETTER_SHARE] > context.max_dead_letter_share:
    return run_id, STATUS_OVER_DEAD_LETTER_SHARE, manifest, (
        f'{manifest[M.DEAD_LETTER_SHARE]:.1%} dead-lettered')
  return run_id, STATUS_SUCCEEDED, manifest, None


def _loop(runner, argv, every, max_cycles, max_backoff, stop, prepared):
  """Cycles until stopped or ``max_cycles`` are done; returns the exit status."""
  cycle, failures = 0, 0
  while True:
    cycle += 1
    started = time.monotonic()
    stop.in_cycle = True
    try:
      run_id, status, manifest, detail = _run_cycle(runner, argv, prepared)
    finally:
      stop.in_cycle = False
    prepared = None
    if status in FAILED_STATUSES:
      failures += 1
    elif status != STATUS_BUSY:
      failures = 0
    done = stop.requested.is_set() or (max_cycles and cycle >= max_cycles)
    remaining = max(0.0, started + next_wait(every, failures, max_backoff) - time.monotonic())
    print(format_cycle(cycle, run_id, status, manifest, time.monotonic() - started,
                       None if done else remaining, detail), file=sys.stderr, flush=True)
    if done or stop.requested.wait(remaining):
      return EXIT_OK


def watch_main(argv=None):
  """``newsbeam watch`` (see the module docstring); returns the exit status."""
  # Imported here: pipeline.main imports this module for its subcommands.
  from pipeline import main as runner  # pylint: disable=import-outside-toplevel
  argv = list(sys.argv[1:] if argv is None else argv)
  parser = _parser()
  if '-h' in argv or '--help' in argv:
    parser.print_help()
    return EXIT_OK
  try:
    args, run_argv = parser.parse_known_args(argv)
    every = parse_interval(args.every, '--every')
    max_backoff = parse_interval(args.max_backoff, '--max-backoff')
    if not 0 <= args.max_cycles <= MAX_CYCLES:
      raise ConfigError(f'--max-cycles: expected 0 to {MAX_CYCLES}, got {args.max_cycles}')
    if any(a.split('=', 1)[0] in RUN_ID_FLAGS for a in run_argv):
      raise ConfigError('--run-id cannot be used with watch: every cycle is a run '
                        'with its own id')
    prepared = runner.prepare(run_argv)
  except ConfigError as error:  # one line, whatever the message held
    print(f'newsbeam: error: {" ".join(str(error).split())}', file=sys.stderr)
    return EXIT_CONFIG_ERROR
  stop = _Stop()
  previous = {signum: signal.signal(signum, stop.handle) for signum in STOP_SIGNALS}
  try:
    return _loop(runner, run_argv, every, args.max_cycles, max_backoff, stop, prepared)
  except _Aborted:
    print(f'newsbeam watch: cycle aborted by signal {stop.aborted_by}; nothing of it is '
          'visible unless its commit had begun (the next run completes it)', file=sys.stderr)
    return EXIT_SIGNALLED + stop.aborted_by
  finally:
    for signum, handler in previous.items():
      signal.signal(signum, handler)


if __name__ == '__main__':
  sys.exit(watch_main())
