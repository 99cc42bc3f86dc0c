"""One newsbeam process at a time per output folder: runs and compactions.

A run or a compaction holds an exclusive ``flock`` on
``OUTPUT/_staging/.lock`` from before it reads the output until it has
committed. The kernel releases the lock when the process ends, however it
ends, so a killed run never leaves a stale lock; the file itself only names
the last holder (pid, command, start time) for the message a second process
prints. Within one process the lock is re-entrant (a run's commit and the
recovery of an earlier run's commit take it again). Object stores (gs://,
s3://) have no such lock: there, schedule one writer per output.
"""

import contextlib
import datetime
import fcntl
import json
import os
import threading

from schemas.datasets import LOCK_FILE
from schemas.datasets import STAGING_FOLDER

__all__ = ['output_lock', 'OutputBusyError']

_HELD = {}  # real path of a lock file -> [open handle, depth]
_HELD_GUARD = threading.Lock()


class OutputBusyError(RuntimeError):
  """Another newsbeam process holds the output's lock."""


def _lock_path(output):
  return os.path.join(output, STAGING_FOLDER, LOCK_FILE)


def _holder(handle):
  handle.seek(0)
  try:
    owner = json.loads(handle.read() or '{}')
  except ValueError:
    return 'another newsbeam process'
  return (f"newsbeam pid {owner.get('pid')} ({owner.get('what')}, since "
          f"{owner.get('since')})")


@contextlib.contextmanager
def output_lock(output, what='run', wait=False):
  """Holds the output's exclusive lock; raises OutputBusyError when another process has it.

  ``wait=True`` blocks until the lock is free instead. A no-op for outputs
  that are not local folders.
  """
  if '://' in output:
    yield
    return
  path = os.path.realpath(_lock_path(output))
  with _HELD_GUARD:
    held = _HELD.get(path)
    if held:
      held[1] += 1
  if held:
    try:
      yield
    finally:
      with _HELD_GUARD:
        held[1] -= 1
    return
  os.makedirs(os.path.dirname(path), exist_ok=True)
  handle = open(path, 'a+', encoding='utf-8')  # pylint: disable=consider-using-with
  try:
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError as error:
      raise OutputBusyError(f'{output} is in use by {_holder(handle)}: wait for it to '
                            'finish (one run or compaction per output at a time)') from error
    handle.truncate(0)
    handle.write(json.dumps({
        'pid': os.getpid(), 'what': what,
        'since': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}))
    handle.flush()
    with _HELD_GUARD:
      _HELD[path] = [handle, 1]
    try:
      yield
    finally:
      with _HELD_GUARD:
        del _HELD[path]
      fcntl.flock(handle, fcntl.LOCK_UN)
  finally:
    handle.close()
