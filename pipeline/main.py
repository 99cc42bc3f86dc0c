"""newsbeam's entry point: ``run(argv)`` builds and runs the pipeline, then commits.

    newsbeam --input samples --output out [any Beam flag]
"""

import argparse
import datetime
import logging
import os
import sys
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.options.pipeline_options import StandardOptions

import schemas
from pipeline import commit
from pipeline import poll
from pipeline import state as feed_state
from pipeline.compact import compact_main
from pipeline.discover import discover_main
from pipeline.execution import estimate_articles
from pipeline.execution import right_size
from pipeline.execution import RunOptions
from pipeline.lock import OutputBusyError
from pipeline.lock import output_lock
from pipeline.options import ConfigError
from pipeline.options import NewsbeamOptions
from pipeline.options import check_known_flags
from pipeline.options import parse_entity_types
from pipeline.options import parse_ner_models
from pipeline.options import resolve_runner
from pipeline.options import validate_output
from pipeline.query import query_main
from pipeline.report import report_main
from pipeline.runs import runs_main
from pipeline.summary import format_summary
from pipeline.watch import watch_main
from schemas import datasets as S
from schemas import run as M
from transforms.core.accounting import AccountRun
from transforms.clean.boilerplate import CLEANER_MODEL
from transforms.clean.boilerplate import CLEANER_OFF
from transforms.clean.boilerplate import StripBoilerplate
from transforms.clean.rules import DEFAULT_RULES
from transforms.clean.rules import RulesFileError
from transforms.clean.rules import load_rules_file
from transforms.dedup.dedup import Deduplicate
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import TagEntities
from transforms.enrich.entities import default_ner_models
from transforms.enrich.entities import is_installed
from transforms.extract.html import ExtractMainText
from transforms.net.feeds import FeedListError
from transforms.net.feeds import check_feed_url
from transforms.net.feeds import parse_feed_list
from transforms.net.full_text import FetchFullText
from transforms.net.http import HttpSettings
from transforms.net.http import make_user_agent
from transforms.net.http import parse_networks
from transforms.read.inputs import ReadInputs
from transforms.enrich.language import DetectLanguage
from transforms.extract.normalize import NormalizeArticles
from transforms.enrich.geo.places import ResolvePlaces
from transforms.stories.assign import AssignStories
from transforms.clean.classifier import CleanerModelError
from transforms.clean.classifier import load_cleaner_model
from transforms.read.files import InputPatternError
from transforms.read.files import expand_inputs
from transforms.core.stage import COUNTER_NAMESPACE
from transforms.extract.urls import parse_tracking_params
from transforms.core.stage import Stages
from transforms.core.stage import merge_outcomes
from transforms.write.datasets import WriteDatasets

__all__ = ['run', 'build_pipeline', 'main', 'RunResult']

EXIT_OK = 0
EXIT_RUN_FAILED = 1  # the pipeline failed; nothing of this run is visible
EXIT_CONFIG_ERROR = 2  # wrong configuration; nothing written
EXIT_TOO_MANY_DEAD_LETTERS = 3  # committed, but dead letters over --max-dead-letter-share
EXIT_COMMIT_INCOMPLETE = 4  # the commit stopped half-way; the next run completes it
EXIT_OUTPUT_BUSY = 5  # another run or compaction holds the output; nothing done

_LOG = logging.getLogger('newsbeam')


class RunResult(NamedTuple):
  run_id: str
  output: str
  manifest: dict
  files: list


class RunContext(NamedTuple):
  """What every worker must agree on, fixed on the driver before the run."""
  run_id: str
  started_at: datetime.datetime
  output: str
  paths: list
  boilerplate_rules: tuple  # empty when stripping is off
  use_classifier: bool  # --cleaner model
  cleaner_model: str  # a model file, or None for the packaged one
  ner_models: dict  # language -> spaCy pipeline package
  entity_types: tuple
  dedup_window_days: int
  feed_urls: list
  feed_states: dict  # feed URL (or sitemap URL) -> conditional-GET state
  http_settings: HttpSettings
  fetch_full_text: bool
  state_dir: str
  max_dead_letter_share: float
  tracking_params: tuple  # --tracking-params
  story_window_days: int
  sitemap_urls: list = []  # --sitemap, --sitemaps
  prefetched_feeds: dict = None  # feed URL -> what pipeline/poll.py fetched; None: fetch here


def build_pipeline(p, context):
  """Wires newsbeam onto pipeline ``p``: the article's path, then the run's accounting."""
  stages = Stages()
  raw = stages.add(p | 'ReadInputs' >> ReadInputs(
      context.paths, context.feed_urls, context.http_settings, context.feed_states,
      sitemap_urls=context.sitemap_urls, prefetched=context.prefetched_feeds))
  if context.fetch_full_text:
    raw = stages.add(raw | 'FetchFullText' >> FetchFullText(context.http_settings))
  articles = stages.add(raw | 'ExtractMainText' >> ExtractMainText())
  articles = stages.add(articles | 'NormalizeArticles' >> NormalizeArticles(
      context.run_id, context.started_at, context.tracking_params))
  if context.boilerplate_rules:
    articles = stages.add(articles | 'StripBoilerplate' >> StripBoilerplate(
        context.boilerplate_rules, context.use_classifier, context.cleaner_model))
  articles = stages.add(articles | 'Deduplicate' >> Deduplicate(
      context.output, context.started_at.date(), context.dedup_window_days))
  articles = stages.add(articles | 'DetectLanguage' >> DetectLanguage())
  articles = stages.add(articles | 'TagEntities' >> TagEntities(
      context.ner_models, context.entity_types))
  articles = stages.add(articles | 'ResolvePlaces' >> ResolvePlaces())
  stories = articles | 'AssignStories' >> AssignStories(
      context.output, context.started_at.date(), context.story_window_days, context.run_id)
  articles = stages.add(stories.outcome)
  outcomes = merge_outcomes(stages.outcomes, 'Stages')
  files = (articles, outcomes, stories) | 'WriteDatasets' >> WriteDatasets(
      context.output, context.run_id)
  _ = (articles, outcomes, files) | 'AccountRun' >> AccountRun(
      context.output, context.run_id)


def stage_counters(result):
  """``{'<step>.<kind>': count}`` from a finished pipeline; {} when the runner reports none."""
  try:
    found = result.metrics().query(
        MetricsFilter().with_namespace(COUNTER_NAMESPACE))['counters']
  except Exception:  # pylint: disable=broad-except
    _LOG.warning('this runner reports no metrics: stage counters are left out')
    return {}
  counts = {}
  for counter in found:
    value = counter.committed if counter.committed is not None else counter.attempted
    counts[counter.key.metric.name] = counts.get(counter.key.metric.name, 0) + (value or 0)
  return counts


def _configure_logging(level):
  """newsbeam logs at ``level``; Beam and libraries stay quiet unless debugging."""
  chosen = getattr(logging, level.upper())
  logging.basicConfig(format='%(levelname)s %(name)s: %(message)s')
  logging.getLogger().setLevel(chosen if level == 'debug' else max(chosen, logging.ERROR))
  for name in ('newsbeam', 'pipeline', 'transforms'):
    logging.getLogger(name).setLevel(chosen)


WORKER_SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'worker_site')


def _quiet_workers(argv, level):
  """Beam flags, and the environment of local worker processes, that keep workers quiet.

  Local workers also read ``pipeline/worker_site/sitecustomize.py`` at
  start-up (see there).
  """
  if level == 'debug':
    return argv
  os.environ['NEWSBEAM_WORKER_LOG_LEVEL'] = 'error'
  paths = os.environ.get('PYTHONPATH', '').split(os.pathsep)
  if WORKER_SITE not in paths:
    os.environ['PYTHONPATH'] = os.pathsep.join([WORKER_SITE] + [p for p in paths if p])
  if any(a.startswith('--default_sdk_harness_log_level') for a in argv):
    return argv
  return argv + ['--default_sdk_harness_log_level=ERROR']


def _listed_urls(list_flag, list_file, urls_given, kind):
  """URLs of a list file (``--feeds``) and of a repeatable flag (``--feed``), in order, once
  each; ConfigError if unusable. ``kind`` names them in messages ('feed', 'sitemap')."""
  urls = []
  try:
    if list_file:
      try:
        with FileSystems.open(list_file) as f:
          text = f.read().decode('utf-8-sig')
      except (OSError, IOError, UnicodeDecodeError) as error:
        raise ConfigError(f'{list_flag} {list_file!r}: cannot read it: {error}') from error
      urls += parse_feed_list(text)
      if not urls:
        raise ConfigError(f'{list_flag} {list_file!r} lists no {kind} URL')
    urls += [check_feed_url(u) for u in urls_given or ()]
  except FeedListError as error:
    raise ConfigError(str(error).replace('feed URL', f'{kind} URL')) from error
  return list(dict.fromkeys(urls))


def _feed_urls(nb):
  """Feed URLs of --feeds and --feed."""
  return _listed_urls('--feeds', nb.feeds, nb.feed, 'feed')


def _sitemap_urls(nb):
  """Sitemap URLs of --sitemaps and --sitemap."""
  return _listed_urls('--sitemaps', nb.sitemaps, nb.sitemap, 'sitemap')


def check_runner(name):
  """ConfigError unless Beam knows the ``--runner`` named (None: the default)."""
  if not name:
    return
  from apache_beam.runners.runner import create_runner  # pylint: disable=import-outside-toplevel
  try:
    create_runner(name)
  except (ValueError, ImportError) as error:
    raise ConfigError(f'--runner {name!r}: {str(error).split(". Valid values")[0]} '
                      '(e.g. DirectRunner, DaskRunner, DataflowRunner, FlinkRunner, SparkRunner, '
                      'PortableRunner)') from error


def prepare(argv):
  """Parses and validates flags; returns ``(options, context)`` or raises ConfigError."""
  check_known_flags(argv)
  nb = PipelineOptions(argv).view_as(NewsbeamOptions)
  _configure_logging(nb.log_level)
  options = RunOptions(_quiet_workers(argv, nb.log_level))
  standard = options.view_as(StandardOptions)
  standard.runner = resolve_runner(standard.runner)  # Dask: Beam's runner with newsbeam's fixes
  check_runner(standard.runner)
  feed_urls = _feed_urls(nb)
  sitemap_urls = _sitemap_urls(nb)
  if not nb.input and not feed_urls and not sitemap_urls:
    raise ConfigError('no --input, --feeds, --feed, --sitemap or --sitemaps given: '
                      'name what to read')
  validate_output(nb.output)
  paths = []
  if nb.input:
    try:
      paths = expand_inputs(nb.input)
    except InputPatternError as error:
      raise ConfigError(str(error)) from error
  output = nb.output.rstrip('/') or '/'
  state_dir = nb.state or S.output_path(output, S.STATE_FOLDER)
  validate_output(state_dir)
  try:
    allowed = parse_networks([nb.allow_private_hosts] if nb.allow_private_hosts else [])
  except ValueError as error:
    raise ConfigError(f'--allow-private-hosts: {error}') from error
  settings = HttpSettings(
      deadline=nb.http_timeout, max_bytes=nb.http_max_bytes,
      retries=nb.http_retries, host_delay=nb.host_delay,
      max_per_host=nb.max_per_host,
      user_agent=nb.http_user_agent or make_user_agent(nb.http_contact),
      allowed_private=allowed, respect_robots=not nb.ignore_robots)
  states = {}  # read in execute(), under the output's lock
  rules = ()
  cleaner = CLEANER_OFF if nb.keep_boilerplate else nb.cleaner
  if cleaner != CLEANER_OFF:
    rules = DEFAULT_RULES
    if nb.boilerplate_rules:
      try:
        rules += load_rules_file(nb.boilerplate_rules)
      except RulesFileError as error:
        raise ConfigError(str(error)) from error
  if cleaner == CLEANER_MODEL:
    try:
      load_cleaner_model(nb.cleaner_model)  # fails here, not on a worker
    except CleanerModelError as error:
      raise ConfigError(f'--cleaner-model: {error}') from error
  try:
    tracking = parse_tracking_params(nb.tracking_params)
  except ValueError as error:
    raise ConfigError(f'--tracking-params {nb.tracking_params!r}: {error}') from error
  ner_models = parse_ner_models(nb.ner_model, default_ner_models(), is_installed)
  entity_types = parse_entity_types(nb.entity_types, DEFAULT_ENTITY_TYPES)
  started_at = datetime.datetime.now(datetime.timezone.utc)
  run_id = nb.run_id or S.new_run_id(started_at)
  return options, RunContext(run_id, started_at, output, paths, rules,
                             cleaner == CLEANER_MODEL, nb.cleaner_model,
                             ner_models, entity_types, nb.dedup_window_days,
                             feed_urls, states, settings, nb.fetch_full_text,
                             state_dir, nb.max_dead_letter_share, tracking,
                             nb.story_window_days, sitemap_urls)


def run(argv=None):
  """Runs newsbeam with command-line flags; returns a RunResult.

  Raises ConfigError (before anything is written) on wrong configuration.
  """
  argv = list(sys.argv[1:] if argv is None else argv)
  options, context = prepare(argv)
  return execute(options, context, argv)


class CommitIncompleteError(RuntimeError):
  """The pipeline finished but its commit did not: part of the run may be visible."""


def check_run_id_unused(output, run_id):
  """ConfigError when an earlier run of this output used ``run_id``."""
  if (FileSystems.exists(S.manifest_path(output, run_id)) or
      FileSystems.exists(S.staging_path(output, run_id))):
    raise ConfigError(f'--run-id {run_id!r} was already used in {output}: '
                      'pick another (or leave it out for a fresh one)')


def execute(options, context, argv, poll_first=False):
  """Runs a prepared pipeline and commits it, holding the output's lock; returns a RunResult.

  ``poll_first`` (watch) fetches the feeds before building anything: a poll
  with nothing new is committed without a pipeline (pipeline/poll.py).

  Raises OutputBusyError when another run or compaction holds the output,
  ConfigError for a reused run id, CommitIncompleteError when the commit
  failed after its journal was written.
  """
  with output_lock(context.output, 'run'):
    check_run_id_unused(context.output, context.run_id)
    # Read under the lock: a run that just ended may have saved it.
    if context.feed_urls or context.sitemap_urls:
      context = context._replace(feed_states=feed_state.load_feed_state(context.state_dir))
    commit.recover_interrupted_commits(context.output, context.run_id)
    _LOG.info('run %s: %d input files -> %s', context.run_id,
              len(context.paths), context.output)
    entries = None
    if poll_first and context.feed_urls:
      fetched = poll.poll_feeds(context.feed_urls, context.http_settings, context.feed_states)
      if not context.paths and not context.sitemap_urls and poll.is_nothing_new(fetched):
        manifest, report = poll.commit_nothing_new(context, argv, fetched)
        return RunResult(context.run_id, context.output, manifest, report['files'])
      entries = poll.new_entries(fetched)
      context = context._replace(prefetched_feeds=fetched)
    unfetched = len(context.sitemap_urls) + (len(context.feed_urls) if entries is None else 0)
    right_size(options, argv, estimate_articles(context.paths, unfetched, entries))
    try:
      p = beam.Pipeline(options=options)
      build_pipeline(p, context)
      result = p.run()
      result.wait_until_finish()
    except BaseException:
      commit.remove_staging(context.output, context.run_id)
      raise
    counters = stage_counters(result)
    # From here on a failure leaves a journal: the next run finishes the commit.
    try:
      manifest, report = commit.commit_run(context.output, context.run_id,
                                           context.started_at, argv,
                                           context.state_dir, counters,
                                           context.story_window_days)
    except Exception as error:
      if not commit.has_journal(context.output, context.run_id):
        commit.remove_staging(context.output, context.run_id)
        raise
      raise CommitIncompleteError(
          f'run {context.run_id} finished but its commit stopped ({type(error).__name__}: '
          f'{error}); part of its files may be visible, and the next run on '
          f'{context.output} completes the commit') from error
  return RunResult(context.run_id, context.output, manifest, report['files'])


def _help_parser():
  parser = argparse.ArgumentParser(
      prog='newsbeam',
      description='Turns news articles from files and feeds into a '
      'Hive-partitioned Parquet dataset, with Apache Beam.',
      epilog='Every standard Apache Beam flag is accepted too, e.g. '
      '--runner=DirectRunner|DataflowRunner|FlinkRunner|SparkRunner, '
      '--direct_num_workers=N, --direct_running_mode=multi_processing, '
      '--setup_file=./setup.py. Other commands: "newsbeam runs OUTPUT", '
      '"newsbeam query OUTPUT SQL", "newsbeam report OUTPUT --out FILE", '
      '"newsbeam compact OUTPUT", "newsbeam watch --every 15m [run flags]", '
      '"newsbeam discover SITE_URL [--opml FILE]" '
      '(each with --help). Exit status: 0 success; '
      f'{EXIT_RUN_FAILED} the run failed (nothing of it visible); '
      f'{EXIT_CONFIG_ERROR} wrong configuration (nothing written); '
      f'{EXIT_TOO_MANY_DEAD_LETTERS} committed, but the dead-letter share '
      f'exceeded --max-dead-letter-share; {EXIT_COMMIT_INCOMPLETE} the commit stopped '
      'half-way (part visible; the next run completes it); '
      f'{EXIT_OUTPUT_BUSY} another run or compaction holds the output (nothing done).')
  NewsbeamOptions._add_argparse_args(parser)  # pylint: disable=protected-access
  return parser


def main(argv=None):
  """Console entry point; returns the exit status."""
  argv = list(sys.argv[1:] if argv is None else argv)
  if argv and argv[0] in SUBCOMMANDS:
    return SUBCOMMANDS[argv[0]](argv[1:])
  if '-h' in argv or '--help' in argv:
    _help_parser().print_help()
    return EXIT_OK
  if '--version' in argv:
    print(f'newsbeam {schemas.PACKAGE_VERSION}')
    return EXIT_OK
  try:
    options, context = prepare(argv)
    result = execute(options, context, argv)
  except ConfigError as error:  # one line, whatever the message held
    print(f'newsbeam: error: {" ".join(str(error).split())}', file=sys.stderr)
    return EXIT_CONFIG_ERROR
  except OutputBusyError as error:
    print(f'newsbeam: {error}', file=sys.stderr)
    return EXIT_OUTPUT_BUSY
  except CommitIncompleteError as error:
    _LOG.debug('commit stopped', exc_info=True)
    print(f'newsbeam: {error}', file=sys.stderr)
    return EXIT_COMMIT_INCOMPLETE
  except Exception as error:  # pylint: disable=broad-except
    _LOG.exception('run failed')
    print(f'newsbeam: run failed: {type(error).__name__}: {error}', file=sys.stderr)
    return EXIT_RUN_FAILED
  manifest = result.manifest
  print(format_summary(manifest, result.output), file=sys.stderr)
  limit = context.max_dead_letter_share
  if manifest[M.DEAD_LETTER_SHARE] > limit:
    print(f'newsbeam: {manifest[M.DEAD_LETTER_SHARE]:.1%} of inputs were dead-lettered, '
          f'over --max-dead-letter-share {limit}; the data written is committed',
          file=sys.stderr)
    return EXIT_TOO_MANY_DEAD_LETTERS
  return EXIT_OK


SUBCOMMANDS = {'runs': runs_main, 'query': query_main, 'report': report_main,
               'compact': compact_main, 'watch': watch_main, 'discover': discover_main}


if __name__ == '__main__':
  sys.exit(main())
