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
