"""newsbeam on Dask: the runner's flags, Beam's Dask-runner defects and their fixes, a real cluster.

Each ``test_beam_dask_*`` test runs a pure-Beam reproduction on Beam's own
DaskRunner and asserts today's wrong result, then the same pipeline on
newsbeam's runner (pipeline/dask_runner.py) and asserts the right one. When
Beam fixes a defect its test fails with a message saying so: remove the
matching workaround from pipeline/dask_runner.py.
"""

import os
import pathlib
import random
import signal
import socket
import subprocess
import sys
import time
import uuid

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.main import check_runner
from pipeline.main import main
from pipeline.options import ConfigError
from pipeline.options import DASK_RUNNER_PATH
from pipeline.options import check_known_flags
from pipeline.options import resolve_runner
from tests.conftest import REPO
from tests.conftest import SAMPLES
from tests.conftest import articles_table

distributed = pytest.importorskip('distributed', reason='the dask extra is not installed')

BEAM_DASK = 'apache_beam.runners.dask.dask_runner.DaskRunner'
FIXED = 'the defect is fixed in Beam: remove its workaround from pipeline/dask_runner.py'
STARTUP_SECONDS = 120  # longest wait for the scheduler and workers to come up, in seconds
RUN_SECONDS = 1800  # failure guard of one newsbeam run, in seconds
POLL_SECONDS = 0.3  # between looks at the scheduler, in seconds
ARTICLES = 200  # generated articles of the cluster test
PARAGRAPHS_PER_ARTICLE = 3
BIN = pathlib.Path(sys.executable).parent


def test_dask_runner_names_resolve_to_newsbeams_runner():
  for name in ('DaskRunner', 'daskrunner', 'Dask', BEAM_DASK, DASK_RUNNER_PATH):
    assert resolve_runner(name) == DASK_RUNNER_PATH
  for name in (None, '', 'DirectRunner', 'FlinkRunner'):
    assert resolve_runner(name) == name
  check_runner(resolve_runner('DaskRunner'))  # importable: no ConfigError


def test_beams_dask_flags_are_known_and_a_typo_is_not():
  check_known_flags(['--runner=DaskRunner', '--dask_client_address=tcp://127.0.0.1:8786',
                     '--dask_npartitions=8', '--dask_connection_timeout=30'])
  with pytest.raises(ConfigError, match='--dask_client_adress'):
    check_known_flags(['--dask_client_adress=tcp://127.0.0.1:8786'])


@pytest.fixture(scope='module')
def local_cluster():
  """One in-process scheduler and worker (two threads) for the pure-Beam reproductions."""
  with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                dashboard_address=None) as cluster:
    yield cluster.scheduler_address


def _run(runner, address, build, tmp_path, *flags):
  """Runs ``build(pipeline, mark)`` on ``runner``; returns the sorted marks its DoFns left."""
  folder = tmp_path / uuid.uuid4().hex
  folder.mkdir()

  def mark(name):
    def leave(x, *side):
      (folder / f'{name}|{x!r}|{side!r}|{uuid.uuid4().hex}').touch()
      return x
    return leave

  p = beam.Pipeline(options=PipelineOptions([f'--runner={runner}',
                                             f'--dask_client_address={address}', *flags]))
  build(p, mark)
  result = p.run()
  try:
    result.wait_until_finish()
  finally:
    result.client.close()  # Beam's runner leaves its client open
  return result, sorted(f.name.rsplit('|', 1)[0] for f in folder.iterdir())


class _SplitFn(beam.DoFn):
  def process(self, x):
    if x % 2:
      yield beam.pvalue.TaggedOutput('odd', x)
    else:
      yield x


def _tagged(p, mark):
  split = p | beam.Create([1, 2, 3]) | beam.ParDo(_SplitFn()).with_outputs('odd', main='even')
  split.odd | 'Odd' >> beam.Map(mark('odd'))


def test_beam_dask_sends_every_output_of_a_pardo_to_each_consumer(local_cluster, tmp_path):
  _, marks = _run(BEAM_DASK, local_cluster, _tagged, tmp_path)
  assert marks == ['odd|1|()', 'odd|2|()', 'odd|3|()'], FIXED
  _, marks = _run(DASK_RUNNER_PATH, local_cluster, _tagged, tmp_path)
  assert marks == ['odd|1|()', 'odd|3|()']


def _two_sinks(p, mark):
  numbers = p | beam.Create([1, 2])
  numbers | 'First' >> beam.Map(mark('first'))
  numbers | 'Last' >> beam.Map(mark('last'))


def test_beam_dask_computes_only_the_last_applied_branch(local_cluster, tmp_path):
  _, marks = _run(BEAM_DASK, local_cluster, _two_sinks, tmp_path)
  assert marks == ['last|1|()', 'last|2|()'], FIXED
  _, marks = _run(DASK_RUNNER_PATH, local_cluster, _two_sinks, tmp_path)
  assert marks == ['first|1|()', 'first|2|()', 'last|1|()', 'last|2|()']


def _batches(p, mark):
  (p | beam.Create([1, 2, 3])
   | beam.BatchElements(min_batch_size=2, max_batch_size=2)
   | beam.Map(mark('batch')))


def test_beam_dask_loses_what_finish_bundle_outputs(local_cluster, tmp_path):
  one = '--dask_npartitions=1'
  _, marks = _run(BEAM_DASK, local_cluster, _batches, tmp_path, one)
  assert marks == ['batch|[1, 2]|()'], FIXED  # [3] leaves in finish_bundle
  _, marks = _run(DASK_RUNNER_PATH, local_cluster, _batches, tmp_path, one)
  assert marks == ['batch|[1, 2]|()', 'batch|[3]|()']


def _side_input(p, mark):
  numbers = p | beam.Create([1, 2]) | 'Source' >> beam.Map(mark('source'))
  total = numbers | beam.CombineGlobally(sum)
  numbers | 'Read' >> beam.Map(mark('read'), beam.pvalue.AsSingleton(total))


def test_beam_dask_computes_a_side_input_again_in_each_reader(local_cluster, tmp_path):
  _, marks = _run(BEAM_DASK, local_cluster, _side_input, tmp_path)
  assert marks.count('source|1|()') > 1, FIXED
  _, marks = _run(DASK_RUNNER_PATH, local_cluster, _side_input, tmp_path)
  assert marks == ['read|1|(3,)', 'read|2|(3,)', 'source|1|()', 'source|2|()']


class _CountFn(beam.DoFn):
  def __init__(self):
    self._seen = beam.metrics.Metrics.counter('test', 'seen')

  def process(self, x):
    self._seen.inc()
    yield x


def _counted(p, mark):
  p | beam.Create(list(range(5))) | beam.ParDo(_CountFn()) | beam.Map(mark('x'))


def test_beam_dask_reports_no_metrics(local_cluster, tmp_path):
  result, _ = _run(BEAM_DASK, local_cluster, _counted, tmp_path)
  with pytest.raises(NotImplementedError):  # when this fails: FIXED
    result.metrics()
  result, _ = _run(DASK_RUNNER_PATH, local_cluster, _counted, tmp_path)
  found = result.metrics().query(
      beam.metrics.MetricsFilter().with_namespace('test'))['counters']
  assert [(c.key.metric.name, c.committed) for c in found] == [('seen', 5)]


class _BundleFn(beam.DoFn):
  def __init__(self, mark):
    self._mark = mark

  def start_bundle(self):
    self._mark(None)

  def process(self, x):
    yield x


def _bundles(p, mark):
  p | beam.Create(list(range(300))) | beam.ParDo(_BundleFn(mark('bundle')))


def test_beam_dask_puts_a_few_hundred_inputs_in_few_partitions(local_cluster, tmp_path):
  _, marks = _run(BEAM_DASK, local_cluster, _bundles, tmp_path)
  assert len(marks) == 3, FIXED  # 128 elements a partition, whatever the cluster
  _, marks = _run(DASK_RUNNER_PATH, local_cluster, _bundles, tmp_path)
  assert len(marks) == 4  # two per worker thread


# The cluster test: `dask scheduler` and two `dask worker` processes.

def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _start(command, env):
  return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)


def _stop(process):
  if process.poll() is None:
    os.killpg(process.pid, signal.SIGKILL)
  process.wait(timeout=60)


class _Cluster:
  """A scheduler and named workers as separate processes on 127.0.0.1."""

  def __init__(self, env):
    self.env = env
    self.address = f'tcp://127.0.0.1:{_free_port()}'
    self.processes = {}

  def start_scheduler(self):
    port = self.address.rsplit(':', 1)[1]
    self.processes['scheduler'] = _start(
        [str(BIN / 'dask'), 'scheduler', '--host', '127.0.0.1', '--port', port,
         '--no-dashboard'], self.env)

  def start_worker(self, name):
    self.processes[name] = _start(
        [str(BIN / 'dask'), 'worker', self.address, '--name', name, '--nthreads', '1',
         '--host', '127.0.0.1', '--no-dashboard', '--memory-limit', '0'], self.env)

  def client(self):
    return distributed.Client(self.address, timeout=STARTUP_SECONDS)

  def wait_for_workers(self, count):
    with self.client() as client:
      client.wait_for_workers(count, timeout=STARTUP_SECONDS)

  def stop(self, name):
    _stop(self.processes.pop(name))

  def stop_all(self):
    for name in list(self.processes):
      self.stop(name)


@pytest.fixture
def cluster(tmp_path):
  env = dict(os.environ, PYTHONWARNINGS='ignore',
             # A task running on a worker that dies fails the run (Dask's
             # default retries it on another worker).
             DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES='0',
             DASK_TEMPORARY_DIRECTORY=str(tmp_path / 'dask-scratch'))
  started = _Cluster(env)
  try:
    started.start_scheduler()
    started.start_worker('w1')
    started.start_worker('w2')
    started.wait_for_workers(2)
    yield started
  finally:
    started.stop_all()


def _write_articles(folder, count):
  """``count`` small articles made of the samples' paragraphs, each with its own lead."""
  paragraphs = []
  for sample in sorted(SAMPLES.glob('*.txt')):
    lines = sample.read_text(encoding='utf-8').split('\n\n')
    paragraphs += [p.strip() for p in lines[1:] if len(p.split()) > 12]
  rng = random.Random(24)
  folder.mkdir()
  for i in range(count):
    body = rng.sample(paragraphs, PARAGRAPHS_PER_ARTICLE)
    lead = (f'Officials in district {i} said on day {i % 28 + 1} that {i * 7 % 1000} '
            f'people attended meeting number {i}.')
    text = '\n\n'.join([f'date 2022-02-{i % 28 + 1:02d} Report {i} on the regional talks',
                        lead] + body)
    (folder / f'{i:04d}.txt').write_text(text + '\n', encoding='utf-8')
  (folder / 'empty.txt').write_text('', encoding='utf-8')
  (folder / 'binary.txt').write_bytes(bytes(range(256)) * 8)
  (folder / 'copy.txt').write_text((folder / '0000.txt').read_text(encoding='utf-8'),
                                   encoding='utf-8')


def _newsbeam(args, env):
  """Runs newsbeam as a process; returns it (started)."""
  return subprocess.Popen([sys.executable, '-m', 'pipeline.main', *map(str, args)],
                          cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


# Columns that differ from run to run whatever the runner: ids, times, flags,
# paths, and the count of files (drops and dead letters get a file per bundle).
VOLATILE = ('run_id', 'ingested_at', 'dropped_at', 'failed_at', 'seen_at', 'updated_at',
            'started_at', 'finished_at', 'committed_at', 'arguments', 'output',
            'wall_seconds', 'files_written')


def _datasets(output):
  """Every dataset's rows, sorted, without run ids and times of the run."""
  import duckdb  # pylint: disable=import-outside-toplevel
  from schemas.datasets import DATASETS  # pylint: disable=import-outside-toplevel
  tables = {}
  for name in sorted(DATASETS):
    files = list(pathlib.Path(output, name).rglob('*.parquet'))
    if not files:
      tables[name] = []
      continue
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{output}/{name}/**/*.parquet', "
                     "hive_partitioning = true, union_by_name = true)")
    keep = [i for i, c in enumerate(rel.columns)
            if not any(c == v or c.endswith('_' + v) for v in VOLATILE)]
    tables[name] = sorted((tuple(repr(row[i]) for i in keep) for row in rel.fetchall()))
  return tables


def _stage_table(summary):
  """The run summary's per-stage counters, from its ``stage`` header on."""
  lines = [line.strip() for line in summary.splitlines()]
  starts = [i for i, line in enumerate(lines) if line.startswith('stage ')]
  return [line for line in lines[starts[-1]:] if line] if starts else []


def _wait(process):
  out, err = process.communicate(timeout=RUN_SECONDS)
  return process.returncode, err


@pytest.mark.slow
def test_newsbeam_on_a_dask_scheduler_and_two_workers(cluster, tmp_path):
  inputs = tmp_path / 'in'
  _write_articles(inputs, ARTICLES)
  env = cluster.env
  reference = tmp_path / 'direct'
  status, reference_err = _wait(_newsbeam(['--input', inputs, '--output', reference], env))
  assert status == 0, reference_err[-2000:]
  on_dask = tmp_path / 'dask'
  dask_flags = ['--runner=DaskRunner', f'--dask_client_address={cluster.address}']
  status, err = _wait(_newsbeam(['--input', inputs, '--output', on_dask, *dask_flags], env))
  assert status == 0, err[-2000:]
  expected = _datasets(reference)
  assert len(expected['articles']) > ARTICLES / 2 and expected['drops']
  assert _datasets(on_dask) == expected
  # The summary's stage counters (from the runner's metrics) match too.
  assert _stage_table(err) == _stage_table(reference_err) != []

  # A worker killed while it runs a task: the run fails, nothing of it is visible.
  killed = tmp_path / 'killed'
  run = _newsbeam(['--input', inputs, '--output', killed, *dask_flags], env)
  victim = _busy_worker(cluster, run)
  cluster.stop(victim)
  status, err = _wait(run)
  assert status == 1, err[-2000:]
  assert all(not rows for rows in _datasets(killed).values())
  # A worker back, the same command again: every row exactly once.
  cluster.start_worker('w3')
  cluster.wait_for_workers(2)
  status, err = _wait(_newsbeam(['--input', inputs, '--output', killed, *dask_flags], env))
  assert status == 0, err[-2000:]
  assert _datasets(killed) == expected


def _busy_worker(cluster, run):
  """The name of a worker seen running the same pipeline task twice in a row."""
  with cluster.client() as client:
    names = {}
    last = {}
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline and run.poll() is None:
      info = client.scheduler_info()['workers']
      names = {address: w['name'] for address, w in info.items()}
      processing = client.processing()
      for address, keys in processing.items():
        bundles = {str(k) for k in keys if '_run_bundle' in str(k)}
        if bundles & last.get(address, set()):
          return names[address]
        last[address] = bundles
      time.sleep(POLL_SECONDS)
  pytest.fail(f'no worker was seen running a pipeline task (run status {run.poll()})')


@pytest.mark.slow
def test_newsbeam_on_the_local_cluster_the_runner_starts(tmp_path, capsys):
  out = tmp_path / 'out'
  assert main(['--input', str(SAMPLES), '--output', str(out), '--runner=DaskRunner']) == 0
  assert len(articles_table(str(out))) == 2
  table = _stage_table(capsys.readouterr().err)
  assert len(table) > 5 and all(row.split()[1:] == ['2', '2', '0', '0'] for row in table[1:])
