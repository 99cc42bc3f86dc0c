"""Runs against each other and against the user: locks, run ids, exit statuses, one-line errors."""

import errno
import os
import shutil
import subprocess

import duckdb
import pytest

from pipeline import commit
from pipeline.compact import compact_main
from pipeline.lock import output_lock
from pipeline.main import EXIT_COMMIT_INCOMPLETE
from pipeline.main import EXIT_CONFIG_ERROR
from pipeline.main import EXIT_OUTPUT_BUSY
from pipeline.main import main
from pipeline.query import query_main
from pipeline.query import with_retries
from pipeline.report import report_main
from pipeline.runs import runs_main
from tests.conftest import REPO
from tests.conftest import SAMPLES
from tests.conftest import articles_table


def _one_line_error(capsys):
  err = capsys.readouterr().err.strip()
  assert 'Traceback' not in err
  assert len(err.splitlines()) == 1, err
  return err


def test_a_second_run_on_a_busy_output_is_refused(tmp_path, capsys):
  output = tmp_path / 'out'
  with output_lock(str(output), 'run'):
    # Another process's lock looks the same: flock is per open file, and the
    # re-entrant bookkeeping is per process, so drop ours for the check.
    from pipeline import lock  # pylint: disable=import-outside-toplevel
    held = dict(lock._HELD)  # pylint: disable=protected-access
    lock._HELD.clear()  # pylint: disable=protected-access
    try:
      status = main(['--input', str(SAMPLES), '--output', str(output)])
      compact_status = compact_main([str(output), '--older-than', '0'])
    finally:
      lock._HELD.update(held)  # pylint: disable=protected-access
  assert status == EXIT_OUTPUT_BUSY
  assert compact_status == EXIT_OUTPUT_BUSY
  err = capsys.readouterr().err
  assert 'is in use by newsbeam pid' in err and 'Traceback' not in err
  assert not (output / 'articles').exists()
  # The lock dies with its holder: the next run goes ahead.
  assert main(['--input', str(SAMPLES), '--output', str(output)]) == 0
  assert len(articles_table(output)) == 2


def test_two_runs_started_together_never_both_write(tmp_path):
  output = tmp_path / 'out'
  command = [str(REPO / '.venv' / 'bin' / 'newsbeam'), '--input', str(SAMPLES),
             '--output', str(output), '--ner-model', 'en=']
  first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
  second = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
  statuses = sorted([first.wait(timeout=300), second.wait(timeout=300)])
  rows = articles_table(output)
  assert len(rows) == len({r['article_id'] for r in rows}) == 2
  # Either the second found the output busy, or it ran after the first and wrote nothing new.
  assert statuses in ([0, EXIT_OUTPUT_BUSY], [0, 0])


def test_a_reused_run_id_is_refused(tmp_path, capsys):
  output = tmp_path / 'out'
  assert main(['--input', str(SAMPLES), '--output', str(output), '--run-id', 'nightly']) == 0
  before = sorted(p.name for p in output.rglob('*.parquet'))
  capsys.readouterr()
  assert main(['--input', str(SAMPLES), '--output', str(output), '--run-id', 'nightly',
               '--keep-boilerplate']) == EXIT_CONFIG_ERROR
  assert "--run-id 'nightly' was already used" in _one_line_error(capsys)
  assert sorted(p.name for p in output.rglob('*.parquet')) == before


def test_a_commit_stopped_by_a_full_disk_says_so_and_is_finished_next_time(
    tmp_path, monkeypatch, capsys):
  output = tmp_path / 'out'

  def disk_full(*_):
    raise OSError(errno.ENOSPC, 'No space left on device')

  monkeypatch.setattr(commit, '_write_manifest', disk_full)
  status = main(['--input', str(SAMPLES), '--output', str(output), '--run-id', 'first'])
  err = capsys.readouterr().err
  assert status == EXIT_COMMIT_INCOMPLETE
  assert 'part of its files may be visible' in err and 'Traceback' not in err
  assert len(articles_table(output)) == 2  # the data is there, the manifest is not
  assert not (output / 'runs').exists()
  monkeypatch.undo()
  assert main(['--input', str(SAMPLES), '--output', str(output)]) == 0
  statuses = dict(duckdb.sql(
      f"SELECT run_id, status FROM read_parquet('{output}/runs/*.parquet')").fetchall())
  assert statuses['first'] == 'recovered'


def test_an_unknown_runner_is_one_line_and_creates_nothing(tmp_path, capsys):
  output = tmp_path / 'out'
  assert main(['--input', str(SAMPLES), '--output', str(output),
               '--runner=NoSuchRunner']) == EXIT_CONFIG_ERROR
  assert "--runner 'NoSuchRunner'" in _one_line_error(capsys)
  assert not output.exists()


@pytest.mark.parametrize('command', [
    lambda path: runs_main([path]),
    lambda path: query_main([path, 'select 1']),
    lambda path: report_main([path, '--out', os.path.join(os.path.dirname(path), 'r.html')]),
    lambda path: compact_main([path]),
])
def test_commands_on_a_folder_that_is_not_an_output(tmp_path, capsys, command):
  folder = tmp_path / 'photos'
  folder.mkdir()
  (folder / 'cat.jpg').write_bytes(b'\xff\xd8')
  assert command(str(folder)) == 2
  assert 'is not a newsbeam output' in _one_line_error(capsys)
  assert sorted(p.name for p in folder.iterdir()) == ['cat.jpg']
  assert not (tmp_path / 'r.html').exists()
  assert command(str(tmp_path / 'missing')) == 2
  assert 'is not a folder' in _one_line_error(capsys)
  assert not (tmp_path / 'missing').exists()


def test_queries_are_run_again_when_a_compaction_swapped_their_files():
  calls = []

  def read():
    calls.append(1)
    if len(calls) < 3:
      raise duckdb.IOException('IO Error: Cannot open file "out/articles/x.parquet"')
    return 'rows'

  assert with_retries(read) == 'rows' and len(calls) == 3
  with pytest.raises(duckdb.CatalogException):
    with_retries(lambda: duckdb.sql('select * from no_such_table').fetchall())


def test_run_local_on_inputs_that_yield_nothing_prints_the_summary_quietly(tmp_path):
  inputs = tmp_path / 'in'
  inputs.mkdir()
  (inputs / 'empty.txt').write_text('')
  shutil.copy(SAMPLES / '000_fb94ac4cff3d6708.txt', inputs / 'notes.doc')
  done = subprocess.run([str(REPO / 'run_local.sh'), '--input', str(inputs), '--output',
                         str(tmp_path / 'out')], capture_output=True, text=True, timeout=300,
                        check=False)
  assert done.returncode == 0, done.stderr
  assert 'No articles in' in done.stdout
  assert 'dropped                 2' in done.stderr
  for noise in ('apitools not found', 'Logging handler created', 'Traceback'):
    assert noise not in done.stderr + done.stdout
