"""newsbeam's entry point: ``run(argv)`` builds and runs the pipeline, then commits.

    newsbeam --input samples --output out [any Beam flag]
"""

import argparse
import datetime
import logging
import secrets
import sys
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import commit
from pipeline import state as feed_state
from pipeline.compact import compact_main
from pipeline.query import query_main
from pipeline.report import report_main
from pipeline.runs import runs_main
from pipeline.summary import format_summary
from pipeline.options import ConfigError
from pipeline.options import NewsbeamOptions
from pipeline.options import check_known_flags
from pipeline.options import parse_entity_types
from pipeline.options import parse_ner_models
from pipeline.options import validate_output
from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas import run as M
from schemas.article import ARTICLE_SCHEMA
from schemas.dead_letter import DEAD_LETTER_SCHEMA
from schemas.drop import DROP_SCHEMA
from schemas.entity import ENTITY_SCHEMA
from transforms import accounting
from transforms.dedup import Deduplicate
from transforms.boilerplate import DEFAULT_RULES
from transforms.boilerplate import RulesFileError
from transforms.boilerplate import StripBoilerplate
from transforms.boilerplate import load_rules_file
from transforms.entities import DEFAULT_ENTITY_TYPES
from transforms.entities import TagEntities
from transforms.entities import default_ner_models
from transforms.entities import entity_rows
from transforms.entities import is_installed
from transforms.extract import ExtractMainText
from transforms.fetch_feeds import HTTP_FEED_FORMAT
from transforms.fetch_feeds import FeedListError
from transforms.fetch_feeds import FetchFeeds
from transforms.fetch_feeds import check_feed_url
from transforms.fetch_feeds import parse_feed_list
from transforms.full_text import FetchFullText
from transforms.http import HttpSettings
from transforms.http import parse_networks
from transforms.language import DetectLanguage
from transforms.normalize import NormalizeArticles
from transforms.progress import ReportProgress
from transforms.read_files import InputPatternError
from transforms.read_files import ReadArticleFiles
from transforms.read_files import expand_inputs
from transforms.write import WriteDataset
from transforms.write import article_partition
from transforms.write import complete_dead_letter
from transforms.write import complete_drop
from transforms.write import dead_letter_partition
from transforms.write import drop_partition

__all__ = ['run', 'build_pipeline', 'main', 'RunResult']

EXIT_OK = 0
EXIT_RUN_FAILED = 1  # the pipeline failed; nothing of this run is visible
EXIT_CONFIG_ERROR = 2  # wrong configuration; nothing written
EXIT_TOO_MANY_DEAD_LETTERS = 3  # committed, but dead letters over --max-dead-letter-share

ARTICLES_DATASET = 'articles'
ENTITIES_DATASET = 'entities'
DEAD_LETTERS_DATASET = 'dead_letters'
DROPS_DATASET = 'drops'

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
  ner_models: dict  # language -> spaCy pipeline package
  entity_types: tuple
  dedup_window_days: int
  feed_urls: list
  feed_states: dict  # feed URL -> conditional-GET state
  http_settings: HttpSettings
  fetch_full_text: bool
  state_dir: str


def new_run_id(now):
  """Sortable and unique: UTC start time plus a random suffix."""
  return f'{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}'


def _input_formats(kind, reader, format_of):
  """The input format of each of a reader's outcomes (records, drops, dead letters).

  Formats are taken before the Flatten: the DirectRunner materialises a
  Flatten of several stages' outputs, and raw records carry whole pages.
  """
  return ([outcome | f'{kind}InputFormats{name}' >> beam.Map(format_of)
           for name, outcome in (('Records', reader.records), ('Drops', reader.dropped),
                                 ('DeadLetters', reader.dead_letters))]
          | f'Merge{kind}Inputs' >> beam.Flatten())


def build_pipeline(p, context):
  """Wires every stage of newsbeam onto pipeline ``p``."""
  stages, raw_records, input_formats = [], [], []
  feeds = None
  if context.paths:
    read = p | 'ReadArticleFiles' >> ReadArticleFiles(context.paths)
    stages.append(read)
    raw_records.append(read.records)
    input_formats.append(_input_formats('File', read, accounting.input_format_of))
  if context.feed_urls:
    feeds = p | 'FetchFeeds' >> FetchFeeds(context.feed_urls, context.http_settings,
                                          context.feed_states)
    stages.append(feeds)
    raw_records.append(feeds.records)
    input_formats.append(_input_formats('Feed', feeds, lambda _: HTTP_FEED_FORMAT))
  # No shuffle between reading and extraction: on the DirectRunner every
  # shuffle keeps its whole PCollection in the runner's memory, and raw pages
  # are the largest data newsbeam handles. Work is spread by file instead
  # (ReadArticleFiles/SpreadFiles), so a corpus split into several files uses
  # every worker; one huge JSON Lines file is read and extracted by one.
  raw = (raw_records
         | 'MergeRawRecords' >> beam.Flatten()
         | 'InputProgress' >> ReportProgress('inputs read:'))
  if context.fetch_full_text:
    full_text = raw | 'FetchFullText' >> FetchFullText(context.http_settings)
    stages.append(full_text)
    raw = full_text.records
  extracted = raw | 'ExtractMainText' >> ExtractMainText()
  normalized = extracted.records | 'NormalizeArticles' >> NormalizeArticles(
      context.run_id, context.started_at)
  stages += [extracted, normalized]
  cleaned = normalized.records
  if context.boilerplate_rules:
    stripped = cleaned | 'StripBoilerplate' >> StripBoilerplate(
        context.boilerplate_rules)
    stages.append(stripped)
    cleaned = stripped.records
  deduplicated = cleaned | 'Deduplicate' >> Deduplicate(
      context.output, context.started_at.date(), context.dedup_window_days)
  stages.append(deduplicated)
  tagged = deduplicated.records | 'DetectLanguage' >> DetectLanguage()
  entities = tagged.records | 'TagEntities' >> TagEntities(
      context.ner_models, context.entity_types)
  stages += [tagged, entities]
  articles = entities.records | 'ArticleProgress' >> ReportProgress('articles tagged:')

  dead_letters = (
      [s.dead_letters for s in stages]
      | 'MergeDeadLetters' >> beam.Flatten()
      | 'CompleteDeadLetters' >> beam.Map(complete_dead_letter, context.run_id))
  article_files = articles | 'WriteArticles' >> WriteDataset(
      ARTICLES_DATASET, ARTICLE_SCHEMA, article_partition, context.output,
      context.run_id)
  entity_files = (
      articles
      | 'EntityRows' >> beam.FlatMap(entity_rows)
      | 'WriteEntities' >> WriteDataset(ENTITIES_DATASET, ENTITY_SCHEMA, None,
                                        context.output, context.run_id))
  dead_letter_files = dead_letters | 'WriteDeadLetters' >> WriteDataset(
      DEAD_LETTERS_DATASET, DEAD_LETTER_SCHEMA, dead_letter_partition,
      context.output, context.run_id)
  drops = ([s.dropped for s in stages]
           | 'MergeDrops' >> beam.Flatten()
           | 'CompleteDrops' >> beam.Map(complete_drop, context.run_id))
  drop_files = drops | 'WriteDrops' >> WriteDataset(
      DROPS_DATASET, DROP_SCHEMA, drop_partition, context.output, context.run_id)

  inputs = input_formats | 'MergeInputs' >> beam.Flatten()
  listed = {}
  if feeds is not None:
    listed[accounting.FEEDS] = feeds.feed_results
  _ = dict(listed, **{
      accounting.INPUTS: inputs,
      accounting.WRITTEN: articles | 'WrittenLanguages' >> beam.Map(
          lambda a: a[A.LANGUAGE]),
      accounting.SOURCES: articles | 'WrittenSources' >> beam.Map(
          lambda a: a[A.SOURCE] or '(none)'),
      accounting.EXAMPLES: dead_letters | 'DeadLetterExamples' >> beam.Map(
          lambda d: (d[D.STAGE], f'{d[D.SOURCE_URI]}: {d[D.ERROR_TYPE]}: {d[D.MESSAGE]}')),
      accounting.DROPPED: drops | 'DropReasons' >> beam.Map(
          lambda d: d[X.REASON]),
      accounting.DEAD_LETTERED: dead_letters | 'DeadLetterStages' >> beam.Map(
          lambda d: d[D.STAGE]),
      accounting.WARNINGS: [s.warnings for s in stages]
                           | 'MergeWarnings' >> beam.Flatten(),
      accounting.FILES: ((article_files, entity_files, dead_letter_files,
                          drop_files)
                         | 'MergeFiles' >> beam.Flatten()),
  }) | 'WriteRunReport' >> accounting.WriteRunReport(context.output,
                                                    context.run_id)


def _configure_logging(level):
  """newsbeam logs at ``level``; Beam and libraries stay quiet unless debugging."""
  chosen = getattr(logging, level.upper())
  logging.basicConfig(format='%(levelname)s %(name)s: %(message)s')
  logging.getLogger().setLevel(chosen if level == 'debug' else max(chosen, logging.ERROR))
  for name in ('newsbeam', 'pipeline', 'transforms'):
    logging.getLogger(name).setLevel(chosen)


def _quiet_workers(argv, level):
  """Beam flags that keep SDK worker processes as quiet as the driver."""
  if level == 'debug' or any(a.startswith('--default_sdk_harness_log_level')
                             for a in argv):
    return argv
  return argv + ['--default_sdk_harness_log_level=ERROR']


def _feed_urls(nb):
  """Feed URLs of --feeds and --feed, in order, once each; ConfigError if unusable."""
  urls = []
  try:
    if nb.feeds:
      try:
        with FileSystems.open(nb.feeds) as f:
          text = f.read().decode('utf-8-sig')
      except (OSError, IOError, UnicodeDecodeError) as error:
        raise ConfigError(f'--feeds {nb.feeds!r}: cannot read it: {error}') from error
      urls += parse_feed_list(text)
      if not urls:
        raise ConfigError(f'--feeds {nb.feeds!r} lists no feed URL')
    urls += [check_feed_url(u) for u in nb.feed or ()]
  except FeedListError as error:
    raise ConfigError(str(error)) from error
  return list(dict.fromkeys(urls))


def prepare(argv):
  """Parses and validates flags; returns ``(options, context)`` or raises ConfigError."""
  check_known_flags(argv)
  nb = PipelineOptions(argv).view_as(NewsbeamOptions)
  _configure_logging(nb.log_level)
  options = PipelineOptions(_quiet_workers(argv, nb.log_level))
  feed_urls = _feed_urls(nb)
  if not nb.input and not feed_urls:
    raise ConfigError('no --input, --feeds or --feed given: name what to read')
  validate_output(nb.output)
  paths = []
  if nb.input:
    try:
      paths = expand_inputs(nb.input)
    except InputPatternError as error:
      raise ConfigError(str(error)) from error
  output = nb.output.rstrip('/') or '/'
  state_dir = nb.state or FileSystems.join(output, '_state')
  validate_output(state_dir)
  try:
    allowed = parse_networks([nb.allow_private_hosts] if nb.allow_private_hosts else [])
  except ValueError as error:
    raise ConfigError(f'--allow-private-hosts: {error}') from error
  settings = HttpSettings(
      deadline=nb.http_timeout, max_bytes=nb.http_max_bytes,
      retries=nb.http_retries, host_delay=nb.host_delay,
      max_per_host=nb.max_per_host, user_agent=nb.http_user_agent,
      allowed_private=allowed)
  states = feed_state.load_feed_state(state_dir) if feed_urls else {}
  rules = ()
  if not nb.keep_boilerplate:
    rules = DEFAULT_RULES
    if nb.boilerplate_rules:
      try:
        rules += load_rules_file(nb.boilerplate_rules)
      except RulesFileError as error:
        raise ConfigError(str(error)) from error
  ner_models = parse_ner_models(nb.ner_model, default_ner_models(), is_installed)
  entity_types = parse_entity_types(nb.entity_types, DEFAULT_ENTITY_TYPES)
  started_at = datetime.datetime.now(datetime.timezone.utc)
  run_id = nb.run_id or new_run_id(started_at)
  return options, RunContext(run_id, started_at, output, paths, rules,
                             ner_models, entity_types, nb.dedup_window_days,
                             feed_urls, states, settings, nb.fetch_full_text,
                             state_dir)


def run(argv=None):
  """Runs newsbeam with command-line flags; returns a RunResult.

  Raises ConfigError (before anything is written) on wrong configuration.
  """
  argv = list(sys.argv[1:] if argv is None else argv)
  options, context = prepare(argv)
  commit.recover_interrupted_commits(context.output, context.run_id)
  _LOG.info('run %s: %d input files -> %s', context.run_id,
            len(context.paths), context.output)
  try:
    with beam.Pipeline(options=options) as p:
      build_pipeline(p, context)
  except BaseException:
    commit.remove_staging(context.output, context.run_id)
    raise
  # From here on a failure leaves a journal: the next run finishes the commit.
  manifest, report = commit.commit_run(context.output, context.run_id,
                                       context.started_at, argv,
                                       context.state_dir)
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
      '"newsbeam compact OUTPUT" '
      '(each with --help). Exit status: 0 success; '
      f'{EXIT_RUN_FAILED} the run failed (nothing of it visible); '
      f'{EXIT_CONFIG_ERROR} wrong configuration (nothing written); '
      f'{EXIT_TOO_MANY_DEAD_LETTERS} committed, but the dead-letter share '
      'exceeded --max-dead-letter-share.')
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
  try:
    result = run(argv)
  except ConfigError as error:
    print(f'newsbeam: error: {error}', file=sys.stderr)
    return EXIT_CONFIG_ERROR
  except Exception as error:  # pylint: disable=broad-except
    _LOG.exception('run failed')
    print(f'newsbeam: run failed: {type(error).__name__}: {error}', file=sys.stderr)
    return EXIT_RUN_FAILED
  manifest = result.manifest
  print(format_summary(manifest, result.output), file=sys.stderr)
  limit = PipelineOptions(argv).view_as(NewsbeamOptions).max_dead_letter_share
  if manifest[M.DEAD_LETTER_SHARE] > limit:
    print(f'newsbeam: {manifest[M.DEAD_LETTER_SHARE]:.1%} of inputs were dead-lettered, '
          f'over --max-dead-letter-share {limit}; the data written is committed',
          file=sys.stderr)
    return EXIT_TOO_MANY_DEAD_LETTERS
  return EXIT_OK


SUBCOMMANDS = {'runs': runs_main, 'query': query_main, 'report': report_main,
               'compact': compact_main}


if __name__ == '__main__':
  sys.exit(main())
