"""Small files of the output (journals, reports, state): written whole or not at all.

Local paths are written to a temporary name in the same folder, fsynced and
renamed over the target, so a crash or a full disk never leaves a truncated
file behind. Other Beam filesystems (gs://, s3://) make an object visible
only when it is closed, which is atomic already.
"""

import json
import os
import secrets

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

__all__ = ['write_json', 'read_json', 'ensure_folder', 'parent_of', 'is_local',
           'CorruptFileError']


class CorruptFileError(ValueError):
  """A small file exists but does not hold the JSON document it should."""


def is_local(path):
  return '://' not in path


def parent_of(path):
  return path.rstrip('/').rsplit('/', 1)[0]


def ensure_folder(path):
  """Creates a folder and its parents; object stores need none and ignore it."""
  if is_local(path):
    os.makedirs(path, exist_ok=True)
    return
  try:
    FileSystems.mkdirs(path)
  except IOError:
    pass  # it exists already


def _fsync_folder(folder):
  try:
    handle = os.open(folder, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(handle)
  except OSError:
    pass
  finally:
    os.close(handle)


def write_json(path, value, indent=None):
  """Writes ``value`` as JSON to ``path`` atomically (see the module docstring)."""
  data = json.dumps(value, sort_keys=True, indent=indent).encode('utf-8')
  if not is_local(path):
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
      f.write(data)
    return
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  staged = os.path.join(folder, f'.{os.path.basename(path)}.{secrets.token_hex(4)}.tmp')
  try:
    with open(staged, 'wb') as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(staged, path)
  except BaseException:
    if os.path.exists(staged):
      os.remove(staged)
    raise
  _fsync_folder(folder)


def read_json(path):
  """The JSON document at ``path``; CorruptFileError when it is empty or not JSON."""
  with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
    data = f.read()
  try:
    return json.loads(data.decode('utf-8'))
  except (UnicodeDecodeError, ValueError) as error:
    raise CorruptFileError(f'{path}: not a JSON document ({len(data)} bytes): '
                           f'{error}') from error
