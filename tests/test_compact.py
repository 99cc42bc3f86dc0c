"""Compaction: many small files per partition become one, rows exactly once, atomically."""

import datetime
import os
import subprocess
import sys
import time

import duckdb
import pytest

from pipeline.compact import compact
from pipeline.compact import parse_age
from pipeline.main import main
from schemas import article as A
from schemas.article import ARTICLE_SCHEMA
from tests.conftest import REPO
from tests.conftest import kill_after
from transforms.extract.normalize import normalize_record
from transforms.write.datasets import write_parquet

RUNS = 50
DATES = ('2022-01-18', '2022-01-19', '2022-01-20')
NOW = datetime.datetime(2026, 11, 22, tzinfo=datetime.timezone.utc)


def add_run_files(output, runs=RUNS, per_run=3):
  """What `runs` ingestion runs leave: per run and date partition, one small file."""
  for run in range(runs):
    for day in DATES:
      rows = []
      for n in range(per_run):
        raw = {A.SOURCE_URI: f'in/{run}-{day}-{n}.jsonl', A.INPUT_FORMAT: 'jsonl',
               A.URL: f'https://example.org/{run}/{day}/{n}', A.TITLE: f'Story {run} {n}',
               A.TEXT: f'Body of story {run} {day} {n}.', 'published': f'{day}T10:00:00Z'}
        article, _ = normalize_record(raw, f'run{run}', NOW)
        article[A.LANGUAGE] = 'en'
        rows.append(article)
      folder = output / 'articles' / f'date={day}' / 'lang=en'
      folder.mkdir(parents=True, exist_ok=True)
      write_parquet(str(folder / f'part-run{run}-0.parquet'), rows, ARTICLE_SCHEMA)


def rows_of(output):
  return sorted(duckdb.sql(
      f"SELECT article_id, text, date FROM read_parquet('{output}/articles/**/*.parquet', "
      "hive_partitioning = true)").fetchall())


def test_parse_age():
  assert [parse_age(a) for a in ('0', '30m', '12h', '1d', '45s')] == [0, 1800, 43200, 86400, 45]
  with pytest.raises(ValueError):
    parse_age('1 week')


def test_fifty_runs_then_compact(tmp_path, capsys):
  output = tmp_path / 'out'
  add_run_files(output)
  before = rows_of(output)
  assert len(before) == RUNS * len(DATES) * 3
  assert main(['compact', str(output), '--older-than', '0']) == 0
  assert 'partitions, 150 files -> 3' in capsys.readouterr().err
  after = rows_of(output)
  assert after == before
  for day in DATES:
    files = os.listdir(output / 'articles' / f'date={day}' / 'lang=en')
    assert len(files) == 1 and files[0].startswith('part-compact-')
  manifest = duckdb.sql(f"SELECT status, files_written, compacted_partitions "
                        f"FROM read_parquet('{output}/runs/*.parquet')").fetchall()
  assert manifest[0][0] == 'compacted' and manifest[0][1] == 3
  assert sorted((p['partition'], p['files_before'], p['rows']) for p in manifest[0][2]) == [
      (f'date={d}/lang=en', RUNS, RUNS * 3) for d in DATES]
  assert not [p for p in (output / '_staging').iterdir() if p.name.startswith('compact-')]


def test_recent_partitions_are_left_alone(tmp_path):
  output = tmp_path / 'out'
  add_run_files(output, runs=3)
  manifest = compact(str(output), older_than='1d')
  assert manifest['compacted_partitions'] == []
  assert len(os.listdir(output / 'articles' / 'date=2022-01-18' / 'lang=en')) == 3


def test_compaction_killed_midway_keeps_every_row_once(tmp_path):
  output = tmp_path / 'out'
  add_run_files(output, runs=RUNS, per_run=40)
  before = rows_of(output)
  command = [sys.executable, '-m', 'pipeline.main', 'compact', str(output), '--older-than', '0']
  started = time.monotonic()
  subprocess.run(command, cwd=REPO, check=True, capture_output=True)
  wall = time.monotonic() - started
  # Compact a fresh copy again and again, killing it at several points.
  for fraction in (0.2, 0.4, 0.6, 0.8, 0.95):
    victim = tmp_path / f'victim{fraction}'
    add_run_files(victim, runs=RUNS, per_run=40)
    kill_after([*command[:4], str(victim), '--older-than', '0'], wall * fraction)
    assert rows_of(victim) == before  # each row exactly once, whatever was swapped
    compact(str(victim), older_than='0')
    assert rows_of(victim) == before
    for day in DATES:
      assert len(os.listdir(victim / 'articles' / f'date={day}' / 'lang=en')) == 1
  assert rows_of(output) == before
