"""Shared fixtures: repository paths, the eval sets in ../shared, a run helper."""

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = REPO / 'samples'
DATA = pathlib.Path(__file__).resolve().parent / 'data'
SHARED_EVAL = REPO.parent / 'shared' / 'eval'

SAMPLE_DATED = SAMPLES / '000_fb94ac4cff3d6708.txt'
SAMPLE_UNDATED = SAMPLES / '002_326773c5a6fc88ff.txt'


def shared_eval(*parts):
  """A path under ../shared/eval, or a skip when this clone has no ../shared."""
  path = SHARED_EVAL.joinpath(*parts)
  if not path.exists():
    pytest.skip(f'{path} is missing: the dev sets live in ../shared/eval '
                'beside the clone (CI always has them)')
  return path


@pytest.fixture
def output(tmp_path):
  return str(tmp_path / 'out')


@pytest.fixture(autouse=True)
def _quiet_beam(monkeypatch):
  monkeypatch.setenv('PYTHONWARNINGS', 'ignore')
  yield


def run_newsbeam(*args):
  """Runs the pipeline in-process with flags; returns the RunResult."""
  from pipeline.main import run  # pylint: disable=import-outside-toplevel
  return run([str(a) for a in args])


def articles_table(output):
  """The articles dataset read back with DuckDB, as a list of dicts."""
  import duckdb  # pylint: disable=import-outside-toplevel
  rel = duckdb.sql(
      f"SELECT * FROM read_parquet('{output}/articles/**/*.parquet', "
      "hive_partitioning = true) ORDER BY article_id")
  return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def kill_after(command, seconds):
  """Starts ``command`` from the repository, SIGKILLs its process group after ``seconds``."""
  import signal  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel
  process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
  time.sleep(seconds)
  if process.poll() is None:
    os.killpg(process.pid, signal.SIGKILL)
  process.wait(timeout=60)


def files_under(path):
  return sorted(str(p.relative_to(path)) for p in pathlib.Path(path).rglob('*')
                if p.is_file())


os.environ.setdefault('PYTHONHASHSEED', '0')
