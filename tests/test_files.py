"""Small files written whole or not at all, and read back with a clear error."""

import os

import pytest

from pipeline.commit import recover_interrupted_commits
from schemas import datasets as S
from tests.conftest import SAMPLES
from tests.conftest import articles_table
from tests.conftest import run_newsbeam
from transforms.core.files import CorruptFileError
from transforms.core.files import read_json
from transforms.core.files import write_json


def test_write_json_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
  path = tmp_path / 'deep' / 'state.json'
  write_json(str(path), {'b': 1, 'a': [1, 2]})
  write_json(str(path), {'c': 3})
  assert read_json(str(path)) == {'c': 3}
  assert os.listdir(path.parent) == ['state.json']


def test_a_failed_write_keeps_the_old_file(tmp_path):
  path = tmp_path / 'state.json'
  write_json(str(path), {'old': True})
  with pytest.raises(TypeError):
    write_json(str(path), {'bad': object()})
  assert read_json(str(path)) == {'old': True}
  assert os.listdir(tmp_path) == ['state.json']


@pytest.mark.parametrize('content', [b'', b'{"run_id": "x", "star', b'\xff\xfe'])
def test_read_json_names_the_file_it_cannot_read(tmp_path, content):
  path = tmp_path / 'j.json'
  path.write_bytes(content)
  with pytest.raises(CorruptFileError, match='j.json'):
    read_json(str(path))


def test_an_empty_commit_journal_is_rebuilt_not_fatal(tmp_path, monkeypatch):
  """A journal left empty by a full disk used to fail every later run."""
  from pipeline import commit  # pylint: disable=import-outside-toplevel
  output = tmp_path / 'out'

  def die_after_journal(output_, journal, status):
    raise KeyboardInterrupt('killed after the journal was written')

  real_finish = commit._finish  # pylint: disable=protected-access
  monkeypatch.setattr(commit, '_finish', die_after_journal)
  with pytest.raises(KeyboardInterrupt):
    run_newsbeam('--input', SAMPLES, '--output', output, '--run-id', 'first')
  monkeypatch.setattr(commit, '_finish', real_finish)
  journal = output / S.STAGING_FOLDER / 'first' / S.JOURNAL_FILE
  journal.write_bytes(b'')  # what an in-place write on a full disk left behind
  assert recover_interrupted_commits(str(output)) == ['first']
  assert len(articles_table(output)) == 2
  second = run_newsbeam('--input', SAMPLES, '--output', output)
  assert second.manifest['articles_written'] == 0  # already there
