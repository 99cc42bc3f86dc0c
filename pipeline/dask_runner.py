"""Beam's Dask runner with the fixes newsbeam needs; ``--runner=DaskRunner`` picks it.

Beam 2.77's ``DaskRunner`` translates a pipeline into Dask bags, but (each
defect is reproduced, without newsbeam, in tests/test_dask.py):

1. every consumer of a multi-output ParDo receives all of its outputs (tagged
   ones still wrapped in ``WindowedValue``), so a stage's dead letters also get
   its records, drops and warnings;
2. only the branch of the last-applied transform is computed: other sinks
   (datasets, the run report) never run;
3. what a DoFn outputs in ``finish_bundle`` is lost (the outputs are taken
   before it is called), e.g. the last batch of ``BatchElements``;
4. a side input is computed inside every task that reads it, again from its
   source, instead of once as a dependency of the task (and Dask's graph
   optimisation copies a ParDo into each consumer): upstream DoFns, side
   effects included, run more than once;
5. it reports no metrics (``metrics()`` raises);
6. its default of 128 elements per partition puts a run of a few hundred
   inputs on one or two workers, and ``Reshuffle`` does not repartition.

``DaskRunner`` here keeps Beam's runner and its translation of Create,
GroupByKey and Flatten, and replaces the ParDo translation and the graph walk:
each ParDo yields ``(tag, value)`` pairs (plus its bundle's counters) and each
consumer reads its own tag; every sink is computed; side inputs are Dask
dependencies; counters come back to ``metrics()``; Create spreads its
elements over the cluster's worker threads unless ``--dask_npartitions`` or
``--dask_partition_size`` says otherwise. When Beam fixes these, drop this
module and ``pipeline.options.resolve_runner``.
"""

import functools
import itertools
import logging

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.internal import pickler
from apache_beam.metrics.execution import MetricKey
from apache_beam.metrics.execution import MetricResult
from apache_beam.metrics.execution import MetricsContainer
from apache_beam.metrics.metric import MetricResults
from apache_beam.metrics.metricbase import MetricName
from apache_beam.pipeline import PipelineVisitor
from apache_beam.runners.common import DoFnContext
from apache_beam.runners.common import DoFnInvoker
from apache_beam.runners.common import DoFnSignature
from apache_beam.runners.common import Receiver
from apache_beam.runners.common import _OutputHandler
from apache_beam.runners.dask import dask_runner as beam_dask
from apache_beam.runners.dask import overrides
from apache_beam.runners.dask import transform_evaluator as evaluator
from apache_beam.runners.worker import statesampler
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.utils import counters as beam_counters

__all__ = ['DaskRunner']

PARTITIONS_PER_THREAD = 2  # Create's partitions per worker thread: spread, and balance
LOCAL_THREADS_PER_WORKER = 1  # threads of each worker of the default LocalCluster
WORKER_WAIT_SECONDS = 60  # longest wait for a first worker to join the scheduler, in seconds
_METRICS = ('newsbeam.dask', 'metrics')  # the tag of a bundle's counters (never a user tag)

_LOG = logging.getLogger(__name__)


class _Collect(Receiver):
  """Keeps a bundle's outputs of one tag as ``(tag, value)``."""

  def __init__(self, tag, out):
    self._tag = tag
    self._out = out

  def receive(self, windowed_value):
    self._out.append((self._tag, windowed_value.value))


class _Receivers(dict):
  """One receiver per output tag, all into the same list."""

  def __init__(self, out):
    super().__init__()
    self._out = out

  def __missing__(self, tag):
    receiver = self[tag] = _Collect(tag, self._out)
    return receiver


def _run_bundle(items, pickled_fn, label, window_fn, args, kwargs, side_specs, *side_values):
  """Runs a DoFn over one partition; returns its outputs and counters as ``(tag, value)``."""
  fn = pickler.loads(pickled_fn)  # one DoFn per bundle, as on Beam's other runners
  out = []
  receivers = _Receivers(out)
  side_inputs = [
      SideInputMap(view_class, view_options,
                   [evaluator.get_windowed_value(v, mapping_fn) for v in values])
      for (view_class, view_options, mapping_fn), values in zip(side_specs, side_values)]
  invoker = DoFnInvoker.create_invoker(
      DoFnSignature(fn),
      _OutputHandler(window_fn=window_fn, main_receivers=receivers[None],
                     tagged_receivers=receivers, per_element_output_counter=None,
                     output_batch_converter=None, process_yields_batches=False,
                     process_batch_yields_elements=False),
      context=DoFnContext(label, state=None), side_inputs=side_inputs,
      input_args=args, input_kwargs=kwargs, user_state_context=None,
      bundle_finalizer_param=beam.DoFn.BundleFinalizerParam())
  container = MetricsContainer(label)
  tracker = statesampler.StateSampler('', beam_counters.CounterFactory())
  previous = statesampler.get_current_tracker()
  statesampler.set_current_tracker(tracker)
  try:
    with tracker.scoped_state(label, 'process', metrics_container=container):
      invoker.invoke_setup()
      invoker.invoke_start_bundle()
      for item in items:
        invoker.invoke_process(evaluator.get_windowed_value(item, window_fn))
      invoker.invoke_finish_bundle()
      invoker.invoke_teardown()
  finally:
    statesampler.set_current_tracker(previous)
  counts = [(key.step, key.metric.namespace, key.metric.name, value)
            for key, value in container.get_cumulative().counters.items()]
  if counts:
    out.append((_METRICS, counts))
  return out


def _has_tag(tag, pair):
  return pair[0] == tag


def _value(pair):
  return pair[1]


def _concat(parts):
  return list(itertools.chain.from_iterable(parts))


def _nothing(partition):
  """Consumes a sink's partition and keeps nothing of it."""
  for _ in partition:
    pass
  return []


class _BagVisitor(PipelineVisitor):
  """Builds one Dask bag per PCollection (Beam's visitor keeps one per transform)."""

  def __init__(self, bag_kwargs, npartitions):
    self.bags = {}  # PCollection -> bag of its raw values
    self.consumed = set()
    self.metrics = []  # bags of counter lists, one per ParDo
    self._bag_kwargs = bag_kwargs
    self._npartitions = npartitions

  def visit_transform(self, node):
    transform = node.transform
    inputs = [pc for pc in node.inputs if not isinstance(pc, pvalue.PBegin)]
    self.consumed.update(inputs)
    self.consumed.update(si.pvalue for si in node.side_inputs)
    bags = [self.bags[pc] for pc in inputs]
    kind = type(transform)
    if kind is overrides._Create:  # pylint: disable=protected-access
      bag = self._create(transform.values)
    elif kind is beam.ParDo:
      self._par_do(node, bags[0])
      return
    elif kind is overrides._GroupByKeyOnly:  # pylint: disable=protected-access
      bag = evaluator.GroupByKey(node).apply(bags[0])
    elif kind is overrides._Flatten:  # pylint: disable=protected-access
      bag = evaluator.Flatten(node).apply(bags) if bags else self._create(())
    elif len(bags) == 1:  # Reshuffle, GroupAlsoByWindow (GroupByKey did it), ...
      bag = bags[0]
    else:
      raise NotImplementedError(
          f'the Dask runner cannot run {node.full_label} ({kind.__name__})')
    for output in node.outputs.values():
      self.bags[output] = bag

  def _create(self, values):
    values = list(values)
    from dask import bag as db  # pylint: disable=import-outside-toplevel
    if self._bag_kwargs:  # --dask_npartitions or --dask_partition_size
      return db.from_sequence(values, **self._bag_kwargs)
    return db.from_sequence(values, npartitions=max(1, min(len(values), self._npartitions)))

  def _par_do(self, node, bag):
    transform = node.transform
    args, kwargs = transform.raw_side_inputs
    main_input = next(iter(node.main_inputs.values()))
    window_fn = main_input.windowing.windowfn if hasattr(main_input, 'windowing') else None
    side_specs = [(type(si), si._view_options(), si._window_mapping_fn)  # pylint: disable=protected-access
                  for si in node.side_inputs]
    # Delayed with the graph's own keys: a Dask collection passed to
    # map_partitions gets its graph copied under new keys, computed again.
    side_values = [self.bags[si.pvalue].reduction(list, _concat, split_every=False)
                   .to_delayed(optimize_graph=False) for si in node.side_inputs]
    from dask import delayed  # pylint: disable=import-outside-toplevel
    # One copy of the pickled DoFn in the graph, not one per partition.
    pickled_fn = delayed(pickler.dumps(transform.fn), pure=True)
    tagged = bag.map_partitions(
        _run_bundle, pickled_fn, node.full_label, window_fn,
        list(args), kwargs, side_specs, *side_values)
    main_tag = getattr(transform, 'main_tag', None)
    for tag, output in node.outputs.items():
      receiver_tag = None if tag is None or tag == main_tag else tag
      self.bags[output] = (tagged.filter(functools.partial(_has_tag, receiver_tag))
                           .map(_value))
    self.metrics.append(tagged.filter(functools.partial(_has_tag, _METRICS)).map(_value))

  def sink(self):
    """One bag that computes every PCollection nobody reads and yields the counters."""
    from dask import bag as db  # pylint: disable=import-outside-toplevel
    leaves = [bag.map_partitions(_nothing)
              for pc, bag in self.bags.items() if pc not in self.consumed]
    return db.concat(leaves + self.metrics)


class _DaskMetrics(MetricResults):
  """The counters of every bundle, summed (committed: a failed run reports none)."""

  def __init__(self, bundles):
    self._counters = {}
    for counts in bundles:
      for step, namespace, name, value in counts:
        key = MetricKey(step, MetricName(namespace, name))
        self._counters[key] = self._counters.get(key, 0) + value

  def query(self, filter=None):  # pylint: disable=redefined-builtin
    counters = [MetricResult(key, value, value) for key, value in self._counters.items()
                if self.matches(filter, key)]
    return {self.COUNTERS: counters, self.DISTRIBUTIONS: [], self.GAUGES: [],
            self.STRINGSETS: [], self.BOUNDED_TRIES: [], self.HISTOGRAMS: []}


class _DaskResult(beam_dask.DaskRunnerResult):
  """Waits, cancels what is left on failure, closes the client, keeps the counters."""

  def __post_init__(self):
    super().__post_init__()
    self._metrics = None

  def wait_until_finish(self, duration=None):
    try:
      state = super().wait_until_finish(duration)
      self._metrics = _DaskMetrics(self.futures[0].result())
    except BaseException:
      self.client.cancel(self.futures)
      raise
    finally:
      self.client.close()
    return state

  def metrics(self):
    if self._metrics is None:
      raise RuntimeError('the run has not finished: wait_until_finish() first')
    return self._metrics


class DaskRunner(beam_dask.DaskRunner):
  """Beam's DaskRunner with the fixes listed in the module docstring."""

  def run_pipeline(self, pipeline, options):
    import dask.distributed as ddist  # pylint: disable=import-outside-toplevel
    dask_options = options.view_as(beam_dask.DaskOptions).get_all_options(
        drop_default=True, current_only=True)
    bag_kwargs = beam_dask.DaskOptions._extract_bag_kwargs(dask_options)  # pylint: disable=protected-access
    if not dask_options.get('address') and not dask_options.get('scheduler_file'):
      # The LocalCluster started here: one thread per worker process (spaCy's
      # shared models are not safe under threads), one worker per core.
      dask_options['threads_per_worker'] = LOCAL_THREADS_PER_WORKER
    client = ddist.Client(**dask_options)
    try:
      client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
      threads = sum(client.nthreads().values()) or 1
      pipeline.replace_all(overrides.dask_overrides())
      visitor = _BagVisitor(bag_kwargs, threads * PARTITIONS_PER_THREAD)
      pipeline.visit(visitor)
      _LOG.info('Dask: %d worker threads, %d partitions per Create', threads,
                threads * PARTITIONS_PER_THREAD)
      # Not optimised: Dask's blockwise fusion copies a ParDo into each consumer
      # that maps it partition by partition, so it would run once per consumer.
      future = client.compute(visitor.sink(), optimize_graph=False)
    except BaseException:
      client.close()
      raise
    return _DaskResult(client, [future])
