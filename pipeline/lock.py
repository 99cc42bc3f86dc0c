"""One writer at a time in an output folder's critical sections (commit, compaction swap)."""

import contextlib
import fcntl
import os

from schemas.datasets import LOCK_FILE
from schemas.datasets import STAGING_FOLDER

__all__ = ['output_lock']


@contextlib.contextmanager
def output_lock(output):
  """An exclusive lock on the output folder (local folders only; elsewhere a no-op)."""
  if '://' in output:
    yield
    return
  folder = os.path.join(output, STAGING_FOLDER)
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(folder, LOCK_FILE), 'a+') as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(handle, fcntl.LOCK_UN)
