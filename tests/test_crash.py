"""Crash safety: SIGKILL at several points, and a commit interrupted midway."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import duckdb
from apache_beam.io.filesystems import FileSystems
import pytest

from pipeline.main import CommitIncompleteError
from tests.conftest import REPO
from tests.conftest import kill_after
from tests.conftest import SAMPLE_DATED
from tests.conftest import run_newsbeam
from transforms.read.files import parse_text_file

ARTICLES = 300
KILL_FRACTIONS = (0.2, 0.45, 0.7)  # of an uninterrupted run's wall time
SLOW_RENAME_SECONDS = 0.5  # each commit rename, in the run killed during its commit
POLL_SECONDS = 0.01  # how often the killer looks for the commit journal
COMMIT_GUARD_SECONDS = 600  # failure guard: the run never reached its commit
# The run killed during its commit: newsbeam with every rename slowed, so that
# the commit (journal written, files moving) lasts long enough to be hit.
SLOW_COMMIT_RUN = f"""
import sys, time
from apache_beam.io.filesystems import FileSystems
real_rename = FileSystems.rename
def slow_rename(sources, destinations):
  time.sleep({SLOW_RENAME_SECONDS})
  return real_rename(sources, destinations)
FileSystems.rename = staticmethod(slow_rename)
from pipeline.main import main
sys.exit(main(sys.argv[1:]))
"""


def write_corpus(folder):
  """ARTICLES short real-text articles with distinct URLs, in three JSONL files (one day each)."""
  folder.mkdir()
  paragraphs = parse_text_file(SAMPLE_DATED.read_text(encoding='utf-8'))['text'].split('\n\n')
  paragraphs = [p for p in paragraphs if p.strip()]
  for part in range(3):
    with open(folder / f'part{part}.jsonl', 'w', encoding='utf-8') as f:
      for i in range(part, ARTICLES, 3):
        chosen = [paragraphs[(i + k) % len(paragraphs)].strip() for k in range(3)]
        # The number sits inside prose: a bare "Item 7." line is boilerplate the
        # cleaner rightly removes, and the copies would then be duplicates.
        chosen[0] = f'{chosen[0]} This was report number {i} of the series.'
        text = '\n\n'.join(chosen)
        f.write(json.dumps({'id': str(i), 'url': f'https://news.example.org/story/{i}',
                            'title': f'Story {i}', 'text': text,
                            'published': f'2022-01-{18 + part}T10:00:00Z'}) + '\n')


def article_ids(output):
  if not list(pathlib.Path(output).glob('articles/**/*.parquet')):
    return []
  return [r[0] for r in duckdb.sql(
      f"SELECT article_id FROM read_parquet('{output}/articles/**/*.parquet', "
      "hive_partitioning = true)").fetchall()]


def newsbeam_command(inputs, output):
  return [sys.executable, '-m', 'pipeline.main', '--input', str(inputs),
          '--output', str(output)]


def kill_during_commit(inputs, output):
  """Runs newsbeam with slow renames and SIGKILLs it once its commit journal exists.

  Returns the paths of its journal present at the moment of the kill.
  """
  before = set(pathlib.Path(output).glob('_staging/*/_COMMIT.json'))
  process = subprocess.Popen([sys.executable, '-c', SLOW_COMMIT_RUN, '--input', str(inputs),
                              '--output', str(output)], cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
  deadline = time.monotonic() + COMMIT_GUARD_SECONDS
  journals = []
  while not journals and process.poll() is None and time.monotonic() < deadline:
    time.sleep(POLL_SECONDS)
    journals = sorted(set(pathlib.Path(output).glob('_staging/*/_COMMIT.json')) - before)
  if process.poll() is None:
    os.killpg(process.pid, signal.SIGKILL)
  process.wait(timeout=60)
  return journals


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
  folder = tmp_path_factory.mktemp('crash') / 'in'
  write_corpus(folder)
  return folder


def test_sigkill_at_several_points_then_complete(corpus, tmp_path):
  reference = tmp_path / 'reference'
  started = time.monotonic()
  subprocess.run(newsbeam_command(corpus, reference), check=True, cwd=REPO,
                 capture_output=True)
  wall = time.monotonic() - started
  expected = sorted(article_ids(reference))
  assert len(expected) == ARTICLES

  output = tmp_path / 'out'
  for fraction in KILL_FRACTIONS:
    kill_after(newsbeam_command(corpus, output), wall * fraction)
    ids = article_ids(output)  # DuckDB reads whatever is there, cleanly
    assert len(ids) == len(set(ids))
    assert not list(output.glob('articles/**/*.tmp'))

  run_newsbeam('--input', corpus, '--output', output)
  ids = article_ids(output)
  assert sorted(ids) == expected  # after kills at several points, every article once
  assert len(ids) == len(set(ids))

  # A kill inside the commit, on an output of its own: a kill above may itself
  # have landed in a commit, which the next run would roll forward in full.
  committing = tmp_path / 'out-commit'
  journals = kill_during_commit(corpus, committing)
  assert journals, 'the run ended before its commit journal was seen: no kill hit the commit'
  assert all(j.exists() for j in journals)  # killed mid-commit: the journal is still there
  killed_run = journals[0].parent.name
  ids = article_ids(committing)
  assert len(ids) == len(set(ids)) < ARTICLES  # part of the commit is visible, whole files

  result = run_newsbeam('--input', corpus, '--output', committing)
  ids = article_ids(committing)
  assert sorted(ids) == expected
  assert len(ids) == len(set(ids))
  statuses = dict(duckdb.sql(
      f"SELECT run_id, status FROM read_parquet('{committing}/runs/*.parquet')").fetchall())
  assert (statuses[killed_run], statuses[result.run_id]) == ('recovered', 'succeeded')


def test_commit_interrupted_midway_is_rolled_forward(corpus, tmp_path, monkeypatch):
  output = tmp_path / 'out'
  real_rename = FileSystems.rename
  calls = []

  def failing_rename(sources, destinations):
    # The corpus spans three days, so three article files: crash on the second.
    if '/articles/' in sources[0]:
      calls.append(sources)
    if len(calls) == 2:
      raise IOError('simulated crash in the middle of the commit')
    return real_rename(sources, destinations)

  monkeypatch.setattr(FileSystems, 'rename', staticmethod(failing_rename))
  with pytest.raises(CommitIncompleteError, match='simulated crash'):
    run_newsbeam('--input', corpus, '--output', output, '--ner-model', 'en=')
  monkeypatch.setattr(FileSystems, 'rename', staticmethod(real_rename))
  partial = article_ids(output)
  assert len(partial) < ARTICLES  # readers see whole files of a partial commit
  staged = list((output / '_staging').glob('*/_COMMIT.json'))
  assert len(staged) == 1

  result = run_newsbeam('--input', corpus, '--output', output, '--ner-model', 'en=')
  ids = article_ids(output)
  assert len(ids) == len(set(ids)) == ARTICLES
  assert result.manifest['articles_written'] == 0
  assert dict(result.manifest['dropped_by_reason']) == {'duplicate_cross_run': ARTICLES}
  statuses = dict(duckdb.sql(
      f"SELECT run_id, status FROM read_parquet('{output}/runs/*.parquet')").fetchall())
  assert sorted(statuses.values()) == ['recovered', 'succeeded']
  assert not list((output / '_staging').glob('*/_COMMIT.json'))
