"""``newsbeam watch``: cycles of committed runs, conditional polls, clean stops on signals."""

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import duckdb
import pytest

from pipeline import watch as W
from schemas import run as M
from tests.conftest import REPO
from tests.conftest import SAMPLES
from tests.feed_server import FeedServer

RUN_FLAGS = ['--ner-model', 'en=', '--host-delay', '0', '--http-retries', '0']
# Seconds a stopped watch may take to exit before the test fails: the cycle
# under way polls first and then builds and runs its whole pipeline, which a
# loaded 2-core machine stretches past 90 s.
SIGNAL_TIMEOUT = 240


@pytest.fixture
def server():
  srv = FeedServer().start()
  yield srv
  srv.stop()


def test_waits_double_after_failures_up_to_the_cap():
  assert [W.next_wait(60, failures, 600) for failures in range(6)] == [
      60, 120, 240, 480, 600, 600]
  assert W.next_wait(60, 3, 30) == 60  # a cap below the interval never shortens it
  assert W.next_wait(1, 10_000, 3600) == 3600


def test_one_line_per_cycle():
  manifest = {M.INPUTS_READ: 9, M.ARTICLES_WRITTEN: 3, M.DROPPED: 2, M.DEAD_LETTERED: 0,
              M.SEEN_AGAIN: 4}
  assert W.format_cycle(2, 'r2', 'succeeded', manifest, 4.04, 10.96) == (
      'newsbeam watch: cycle 2 run r2 succeeded: inputs 9, written 3, dropped 2, dead 0, '
      'seen again 4, 4.0 s; next in 11.0 s')
  assert W.format_cycle(3, None, 'skipped_busy', None, 0.2, None, 'out is in use') == (
      'newsbeam watch: cycle 3 run - skipped_busy (out is in use): inputs -, written -, '
      'dropped -, dead -, seen again -, 0.2 s; stopping')


@pytest.mark.parametrize('flags, message', [
    (['--every', '1s', '--run-id', 'mine'], '--run-id cannot be used with watch'),
    (['--every', 'soon'], '--every: expected an age'),
    (['--every', '0'], '--every: expected an interval above 0'),
    (['--every', '1m', '--max-backoff', 'x'], '--max-backoff: expected an age'),
    (['--max-cycles', '2'], 'the following arguments are required: --every'),
])
def test_wrong_configuration_is_one_line_and_status_2(flags, message, tmp_path, capsys):
  output = tmp_path / 'out'
  assert W.watch_main(flags + ['--input', str(SAMPLES), '--output', str(output)]) == 2
  err = capsys.readouterr().err
  assert err.startswith('newsbeam: error: ') and message in err and err.count('\n') == 1
  assert not output.exists()


def _manifests(output):
  return duckdb.sql(
      f"SELECT run_id, articles_written, feeds_by_status, files_written FROM "
      f"read_parquet('{output}/runs/*.parquet') ORDER BY started_at").fetchall()


def _statuses(output):
  return [s for (s,) in duckdb.sql(
      f"SELECT status FROM read_parquet('{output}/runs/*.parquet') ORDER BY started_at"
  ).fetchall()]


def _count_pipelines(monkeypatch):
  """A list that grows by one for each Beam pipeline constructed from now on."""
  import apache_beam  # pylint: disable=import-outside-toplevel
  built = []
  real = apache_beam.Pipeline

  def counted(*args, **kwargs):
    built.append(1)
    return real(*args, **kwargs)

  monkeypatch.setattr(apache_beam, 'Pipeline', counted)
  return built


def _seen_again(output):
  return duckdb.sql(
      f"SELECT inputs_read, dropped, seen_again, seen_again_by_feed, accounting_balanced "
      f"FROM read_parquet('{output}/runs/*.parquet') ORDER BY started_at").fetchall()


def test_three_cycles_commit_three_runs_and_poll_conditionally(server, tmp_path, capsys,
                                                               monkeypatch):
  output = tmp_path / 'out'
  built = _count_pipelines(monkeypatch)
  status = W.watch_main(['--every', '1s', '--max-cycles', '3', '--feed',
                         f'{server.base}/growing.xml', '--output', str(output), *RUN_FLAGS])
  assert status == 0
  runs = _manifests(output)
  assert [(written, dict(feeds)) for _, written, feeds, _ in runs] == [
      (2, {'200': 1}), (0, {'304': 1}), (1, {'200': 1})]
  assert len({run_id for run_id, _, _, _ in runs}) == 3
  titles = duckdb.sql(
      f"SELECT title FROM read_parquet('{output}/articles/**/*.parquet', "
      "hive_partitioning = true) ORDER BY title").fetchall()
  assert titles == [('Growing story 1',), ('Growing story 2',), ('Growing story 3',)]
  # The third poll re-reads two entries the first run wrote: counted for the
  # feed, neither extracted nor dropped again, and the accounting balances.
  feed = f'{server.base}/growing.xml'
  assert _seen_again(output) == [(2, 0, 0, {}, True), (1, 1, 0, {}, True),
                                 (3, 0, 2, {feed: 2}, True)]
  drops = duckdb.sql(f"SELECT reason FROM read_parquet('{output}/drops/**/*.parquet')").fetchall()
  assert drops == [('not_modified',)]
  assert [h.get('If-None-Match') for h in server.headers_of('/growing.xml')] == [
      None, '"n2"', '"n2"']
  lines = capsys.readouterr().err.strip().splitlines()
  cycles = [line for line in lines if line.startswith('newsbeam watch: cycle')]
  assert [line.split(' run ')[1].split()[0] for line in cycles] == [r[0] for r in runs]
  assert [line.split(' run ')[1].split()[1].rstrip(':') for line in cycles] == [
      'succeeded', 'nothing_new', 'succeeded']
  # The quiet cycle (304) committed its run with no pipeline built.
  assert _statuses(output) == ['succeeded', 'nothing_new', 'succeeded']
  assert len(built) == 2
  assert cycles[-1].endswith('; stopping')
  assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_signal_while_waiting_stops_at_once(server, tmp_path):
  output = tmp_path / 'out'
  signalled = {}

  def signal_once_committed():
    while not list((output / 'runs').glob('*.parquet')):
      time.sleep(0.05)
    time.sleep(0.5)  # into the hour-long wait
    signalled['at'] = time.monotonic()
    os.kill(os.getpid(), signal.SIGTERM)

  killer = threading.Thread(target=signal_once_committed, daemon=True)
  killer.start()
  status = W.watch_main(['--every', '1h', '--feed', f'{server.base}/etag.xml',
                         '--output', str(output), *RUN_FLAGS])
  assert status == 0
  assert time.monotonic() - signalled['at'] < 2
  assert len(_manifests(output)) == 1


def _dataset_files(output):
  """Parquet files of the datasets (not the manifests), by run id."""
  found = {}
  for path in pathlib.Path(output).glob('*/**/part-*.parquet'):
    if path.parts[len(pathlib.Path(output).parts)] in ('runs', '_staging'):
      continue
    run_id = path.name[len('part-'):].rsplit('-', 1)[0]
    found.setdefault(run_id, []).append(path)
  return found


@pytest.mark.parametrize('signals, expected_status, committed', [
    (1, 0, 1),  # the cycle under way finishes and commits, then the loop stops
    (2, 128 + signal.SIGTERM, 0),  # a second signal aborts it: nothing visible
])
def test_sigterm_in_mid_cycle_leaves_the_output_consistent(server, tmp_path, signals,
                                                           expected_status, committed):
  output = tmp_path / 'out'
  command = [sys.executable, '-m', 'pipeline.watch', '--every', '1h',
             '--feed', f'{server.base}/slow.xml', '--feed', f'{server.base}/etag.xml',
             '--output', str(output), *RUN_FLAGS]
  process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.monotonic() + SIGNAL_TIMEOUT
    while '/slow.xml' not in server.hits and time.monotonic() < deadline:
      time.sleep(0.05)
    assert '/slow.xml' in server.hits, 'the cycle never fetched its feeds'
    for _ in range(signals):
      process.send_signal(signal.SIGTERM)
      time.sleep(0.3)
    _, err = process.communicate(timeout=SIGNAL_TIMEOUT)
  finally:
    if process.poll() is None:
      process.kill()
  assert process.returncode == expected_status, err
  runs = _manifests(output) if (output / 'runs').exists() else []
  assert len(runs) == committed
  files = _dataset_files(output)
  assert sorted(files) == sorted(run_id for run_id, _, _, _ in runs)
  for run_id, _, _, files_written in runs:
    assert len(files[run_id]) == files_written
  assert [p.name for p in (output / '_staging').iterdir()] == ['.lock']
  assert 'stopping after this cycle' in err


def _fetched_quietly(feed_a, feed_b):
  """A poll of two feeds: one answered 304, one listed two entries seen again."""
  from transforms.net import feeds as F  # pylint: disable=import-outside-toplevel
  from transforms.core import stage  # pylint: disable=import-outside-toplevel

  def result(url, status):
    return {F.RESULT_URL: url, F.RESULT_STATUS: status, F.RESULT_ETAG: '"e"',
            F.RESULT_LAST_MODIFIED: None, F.RESULT_ERROR_TYPE: None, F.RESULT_MESSAGE: None,
            F.RESULT_ENTRIES: 0, F.RESULT_FETCHED_AT: '2026-12-01T00:00:00+00:00'}

  return {feed_a: ([stage.drop(F.DROP_NOT_MODIFIED, F.STAGE, feed_a)], result(feed_a, 304)),
          feed_b: ([stage.seen_again(feed_b, 'id:1'), stage.seen_again(feed_b, 'id:2')],
                   result(feed_b, 200))}


def test_a_poll_with_nothing_new_is_reported_and_balances_without_a_pipeline():
  import datetime  # pylint: disable=import-outside-toplevel
  from pipeline import commit  # pylint: disable=import-outside-toplevel
  from pipeline import poll  # pylint: disable=import-outside-toplevel
  from transforms.core import stage  # pylint: disable=import-outside-toplevel
  fetched = _fetched_quietly('http://a/feed', 'http://b/feed')
  assert poll.is_nothing_new(fetched) and poll.new_entries(fetched) == 0
  report = poll.quiet_report(fetched, [])
  now = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
  manifest = commit.build_manifest('r', now, now, [], 'out', report, M.STATUS_NOTHING_NEW)
  assert (manifest[M.INPUTS_READ], manifest[M.ARTICLES_WRITTEN], manifest[M.DROPPED],
          manifest[M.SEEN_AGAIN]) == (3, 0, 1, 2)
  assert manifest[M.ACCOUNTING_BALANCED]
  assert dict(manifest[M.FEEDS_BY_STATUS]) == {'200': 1, '304': 1}
  assert dict(manifest[M.SEEN_AGAIN_BY_FEED]) == {'http://b/feed': 2}
  assert [e['key'] for e in report['seen_entries']] == ['id:1', 'id:2']
  new = dict(fetched, **{'http://c/feed': ([{'url': 'http://c/1'}], {})})
  assert not poll.is_nothing_new(new) and poll.new_entries(new) == 1
  failed = dict(fetched, **{'http://d/feed': (
      [stage.dead_letter('fetch', 'http://d/feed', 'Timeout', 'slow')], {})})
  assert not poll.is_nothing_new(failed)
