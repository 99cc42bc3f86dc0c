"""The portable path (Flink, Spark, Dataflow): Beam's Python job service, LOOPBACK workers."""

import json
import socket
import subprocess
import sys
import time

import duckdb
import pytest

from tests.conftest import SAMPLES
from tests.conftest import run_newsbeam
from tests.test_crash import write_corpus


def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


@pytest.fixture(scope='module')
def job_endpoint():
  port = _free_port()
  process = subprocess.Popen(
      [sys.executable, '-m', 'apache_beam.runners.portability.local_job_service_main',
       '--port', str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 60
  while time.monotonic() < deadline:
    try:
      socket.create_connection(('127.0.0.1', port), timeout=1).close()
      break
    except OSError:
      time.sleep(0.2)
  yield f'localhost:{port}'
  process.terminate()
  process.wait(timeout=30)


def dataset(output):
  rows = duckdb.sql(
      f"SELECT article_id, text, language, to_json(entities)::VARCHAR, date, lang "
      f"FROM read_parquet('{output}/articles/**/*.parquet', hive_partitioning = true) "
      "ORDER BY article_id").fetchall()
  entities = duckdb.sql(
      f"SELECT article_id, canonical_key, label, mention_count "
      f"FROM read_parquet('{output}/entities/**/*.parquet', hive_partitioning = true) "
      "ORDER BY ALL").fetchall()
  return rows, entities


def test_portable_runner_writes_the_same_dataset(job_endpoint, tmp_path):
  corpus = tmp_path / 'corpus'
  write_corpus(corpus)
  args = ['--input', SAMPLES, '--input', corpus]
  direct = run_newsbeam(*args, '--output', tmp_path / 'direct')
  portable = run_newsbeam(*args, '--output', tmp_path / 'portable',
                          '--runner=PortableRunner', f'--job_endpoint={job_endpoint}',
                          '--environment_type=LOOPBACK')
  assert portable.manifest['articles_written'] == direct.manifest['articles_written'] == 302
  assert portable.manifest['accounting_balanced']
  direct_rows, direct_entities = dataset(tmp_path / 'direct')
  portable_rows, portable_entities = dataset(tmp_path / 'portable')
  assert len(direct_rows) == 302
  assert portable_rows == direct_rows
  assert portable_entities == direct_entities
  assert any(json.loads(r[3]) for r in portable_rows)
