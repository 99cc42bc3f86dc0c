"""Every state a crash can leave in ``_staging/<run>/`` is rolled forward or back, with one line.

The states are built by hand from one run stopped just before its commit
(staged files, run report, no journal yet): a journal is written, emptied or
cut, the report deleted or cut, files moved or lost, as a power cut, a full
disk or a kill at each point of the commit would leave them.
"""

import json
import logging
import os
import shutil

import duckdb
import pytest

from pipeline import commit
from pipeline.main import main
from schemas import datasets as S
from tests.conftest import SAMPLES
from tests.conftest import articles_table
from tests.conftest import run_newsbeam

RUN = 'crashed'
SAMPLE_ARTICLES = 2  # articles written from SAMPLES
JOURNAL = {'run_id': RUN, 'started_at': '2026-12-07T10:00:00+00:00',
           'arguments': ['--input', 'samples'], 'state_dir': None, 'stage_counts': {},
           'story_window_days': 30}


class _StopBeforeCommit(BaseException):  # not caught by the run, which keeps its staging
  pass


@pytest.fixture(scope='module')
def staged_template(tmp_path_factory):
  """An output holding one run that finished its pipeline and died before its journal."""
  output = tmp_path_factory.mktemp('staged') / 'out'

  def stop(*_):
    raise _StopBeforeCommit()

  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(commit, 'commit_run', stop)
    with pytest.raises(_StopBeforeCommit):
      run_newsbeam('--input', SAMPLES, '--output', output, '--run-id', RUN,
                   '--ner-model', 'en=')
  return output


@pytest.fixture
def staged(staged_template, tmp_path):
  """A private copy of the staged output, its report's paths pointing at the copy."""
  output = tmp_path / 'out'
  shutil.copytree(staged_template, output)
  report = output / S.STAGING_FOLDER / RUN / S.REPORT_FILE
  report.write_text(report.read_text(encoding='utf-8').replace(
      str(staged_template), str(output)), encoding='utf-8')
  return output


def _staging(output):
  return output / S.STAGING_FOLDER / RUN


def _report_files(output):
  return json.loads((_staging(output) / S.REPORT_FILE).read_text(encoding='utf-8'))['files']


def _move_first_files(output, count):
  """What a kill after ``count`` renames of the commit leaves: those files in place."""
  for entry in _report_files(output)[:count]:
    os.makedirs(os.path.dirname(entry['final_path']), exist_ok=True)
    os.rename(entry['staged_path'], entry['final_path'])


def _journal(output, content=None):
  data = json.dumps(JOURNAL).encode() if content is None else content
  (_staging(output) / S.JOURNAL_FILE).write_bytes(data)


# Each state: how to build it from the staged run, and what recovery must do.
def _journal_only(output):
  _journal(output)


def _journal_some_moved(output):
  _journal(output)
  _move_first_files(output, 2)


def _journal_empty(output):
  _journal(output, b'')


def _journal_truncated_some_moved(output):
  _journal(output, json.dumps(JOURNAL).encode()[:25])
  _move_first_files(output, 1)


def _journal_not_an_object(output):
  _journal(output, b'[1, 2, 3]')


def _journal_bad_start(output):
  _journal(output, json.dumps(dict(JOURNAL, started_at='last Tuesday')).encode())


def _journal_empty_report_missing(output):
  """The state of the issue: a power cut during the journal write and the report lost."""
  _journal(output, b'')
  (_staging(output) / S.REPORT_FILE).unlink()


def _report_missing_some_moved(output):
  _journal(output)
  _move_first_files(output, 2)
  (_staging(output) / S.REPORT_FILE).unlink()


def _report_truncated(output):
  _journal(output)
  report = _staging(output) / S.REPORT_FILE
  report.write_bytes(report.read_bytes()[:40])


def _report_not_a_report(output):
  _journal(output)
  (_staging(output) / S.REPORT_FILE).write_text('{"files": [{"x": 1}]}', encoding='utf-8')


def _staged_file_lost(output):
  _journal(output)
  _move_first_files(output, 1)
  os.remove(_report_files(output)[-1]['staged_path'])


def _no_journal(output):
  pass


def _no_journal_no_report(output):
  (_staging(output) / S.REPORT_FILE).unlink()


def _empty_staging_folder(output):
  shutil.rmtree(_staging(output))
  _staging(output).mkdir()


STATES = {
    # name: (build, outcome, articles visible afterwards, words of the warning)
    'journal_only': (_journal_only, commit.ROLLED_FORWARD, SAMPLE_ARTICLES,
                     'finishing its interrupted commit'),
    'journal_some_files_moved': (_journal_some_moved, commit.ROLLED_FORWARD, SAMPLE_ARTICLES,
                                 'finishing its interrupted commit'),
    'journal_empty': (_journal_empty, commit.ROLLED_FORWARD, SAMPLE_ARTICLES,
                      'journal is unreadable: rebuilt'),
    'journal_truncated_some_moved': (_journal_truncated_some_moved, commit.ROLLED_FORWARD,
                                     SAMPLE_ARTICLES, 'journal is unreadable: rebuilt'),
    'journal_not_an_object': (_journal_not_an_object, commit.ROLLED_FORWARD, SAMPLE_ARTICLES,
                              'journal is unreadable: rebuilt'),
    'journal_bad_start_time': (_journal_bad_start, commit.ROLLED_FORWARD, SAMPLE_ARTICLES,
                               'rebuilt'),
    'journal_empty_report_missing': (_journal_empty_report_missing, commit.ROLLED_BACK, 0,
                                     'its run report is missing'),
    'report_missing_some_moved': (_report_missing_some_moved, commit.ROLLED_BACK, 0,
                                  'the 2 files it had moved'),
    'report_truncated': (_report_truncated, commit.ROLLED_BACK, 0, 'report is unreadable'),
    'report_not_a_report': (_report_not_a_report, commit.ROLLED_BACK, 0, 'report is unreadable'),
    'staged_file_lost': (_staged_file_lost, commit.ROLLED_BACK, 0,
                         '1 of its staged files are lost'),
    'no_journal': (_no_journal, commit.DISCARDED, 0, 'stopped before its commit began'),
    'no_journal_no_report': (_no_journal_no_report, commit.DISCARDED, 0,
                             'stopped before its commit began'),
    'empty_staging_folder': (_empty_staging_folder, commit.DISCARDED, 0,
                             'stopped before its commit began'),
}


def _warnings(caplog):
  return [r.getMessage() for r in caplog.records
          if r.name == commit.__name__ and r.levelno >= logging.WARNING]


def _manifests(output):
  if not (output / S.RUNS).exists():
    return []
  return duckdb.sql(f"SELECT run_id, status FROM read_parquet('{output}/runs/*.parquet') "
                    'ORDER BY run_id').fetchall()


def _data_files(output):
  return sorted(str(p.relative_to(output)) for p in output.rglob('*.parquet')
                if p.relative_to(output).parts[0] != S.STAGING_FOLDER)


@pytest.mark.parametrize('state', list(STATES))
def test_each_crash_state_is_resolved_with_one_warning(staged, state, caplog):
  build, outcome, visible, words = STATES[state]
  build(staged)
  caplog.set_level(logging.WARNING, logger=commit.__name__)
  recovered = commit.recover_interrupted_commits(str(staged))
  assert recovered == ([RUN] if outcome == commit.ROLLED_FORWARD else [])
  (warning,) = _warnings(caplog)
  assert f'run {RUN}: ' in warning and words in warning and '\n' not in warning
  assert not _staging(staged).exists()
  if visible:
    assert len(articles_table(staged)) == visible
  else:
    assert not _data_files(staged)  # nor articles, nor its story index
  if outcome == commit.ROLLED_FORWARD:
    assert _manifests(staged) == [(RUN, 'recovered')]
    assert len({r['article_id'] for r in articles_table(staged)}) == SAMPLE_ARTICLES
  else:
    assert _manifests(staged) == []
  caplog.clear()
  assert commit.recover_interrupted_commits(str(staged)) == []  # nothing left to resolve
  assert not _warnings(caplog)


def test_leftover_staging_of_a_committed_run_is_deleted(staged, caplog):
  _journal(staged)
  assert commit.recover_interrupted_commits(str(staged)) == [RUN]
  _staging(staged).mkdir()  # a crash inside the final delete of the staging folder
  _journal(staged, b'')
  caplog.set_level(logging.WARNING, logger=commit.__name__)
  caplog.clear()
  assert commit.recover_interrupted_commits(str(staged)) == []
  (warning,) = _warnings(caplog)
  assert warning == f'run {RUN}: deleting the staging folder it left after its commit'
  assert not _staging(staged).exists()
  assert len(articles_table(staged)) == SAMPLE_ARTICLES
  assert _manifests(staged) == [(RUN, 'recovered')]


def test_files_in_place_match_only_the_runs_own_names(tmp_path):
  folder = tmp_path / 'articles' / 'date=2026-12-07' / 'lang=en'
  folder.mkdir(parents=True)
  for name in ('part-nightly-0.parquet', 'part-nightly-12.parquet', 'part-nightly-1-0.parquet',
               'part-nightly.parquet', 'part-nightlyx-0.parquet'):
    (folder / name).write_bytes(b'')
  index = tmp_path / '_state' / 'story_index' / 'date=2026-12-07'
  index.mkdir(parents=True)
  (index / 'part-nightly.parquet').write_bytes(b'')
  found = [p[len(str(tmp_path)) + 1:] for p in commit.files_in_place(str(tmp_path), 'nightly')]
  assert found == ['_state/story_index/date=2026-12-07/part-nightly.parquet',
                   'articles/date=2026-12-07/lang=en/part-nightly-0.parquet',
                   'articles/date=2026-12-07/lang=en/part-nightly-12.parquet']


def test_staging_without_a_journal_waits_on_an_object_store(monkeypatch, caplog):
  monkeypatch.setattr(commit.FileSystems, 'exists', staticmethod(lambda path: False))
  caplog.set_level(logging.WARNING, logger=commit.__name__)
  young = commit.recover_staged_run('gs://bucket/out', RUN, newest=1000.0, now=2000.0)
  assert young == commit.KEPT and not _warnings(caplog)


@pytest.mark.parametrize('state', ['journal_empty_report_missing', 'report_missing_some_moved'])
def test_the_next_run_proceeds_after_a_crash(staged, state, caplog, capsys):
  """End to end: the state of the issue no longer fails every later run."""
  STATES[state][0](staged)
  caplog.set_level(logging.WARNING, logger=commit.__name__)
  assert main(['--input', str(SAMPLES), '--output', str(staged), '--ner-model', 'en=']) == 0
  assert 'Traceback' not in capsys.readouterr().err
  (warning,) = _warnings(caplog)
  assert warning.startswith(f'run {RUN}: rolled back its interrupted commit')
  rows = articles_table(staged)
  assert len(rows) == len({r['article_id'] for r in rows}) == SAMPLE_ARTICLES
  ((run_id, status),) = _manifests(staged)
  assert run_id != RUN and status == 'succeeded'
  assert [p.name for p in (staged / S.STAGING_FOLDER).iterdir()] == [S.LOCK_FILE]
