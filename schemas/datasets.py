"""Layout facts of an output folder, declared once.

An output holds one folder per dataset (``articles/``, ``entities/``,
``places/``, ``stories/``, ``dead_letters/``, ``drops/``, ``runs/``),
Hive-partitioned by the rules below, plus ``_staging/`` (files of runs not
yet committed, journals, the run report, the lock) and ``_state/`` (the
feeds' conditional-GET state and the story index, ``schemas.story``). Run ids
are sortable: the UTC start time, then a random suffix.
"""

import datetime
import re
import secrets
from typing import Callable
from typing import NamedTuple
from typing import Optional

import pyarrow as pa

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas.article import ARTICLE_SCHEMA
from schemas.common import DATE
from schemas.common import DATE_LANG_PARTITION_SCHEMA
from schemas.common import DATE_PARTITION_SCHEMA
from schemas.common import DATE_VALUE_PATTERN
from schemas.common import LANG
from schemas.common import LANG_VALUE_PATTERN
from schemas.dead_letter import DEAD_LETTER_SCHEMA
from schemas.drop import DROP_SCHEMA
from schemas.place import PLACE_SCHEMA
from schemas.story import STORY_SCHEMA
from schemas.story import story_partition
from schemas.entity import ENTITY_SCHEMA
from schemas.run import RUN_SCHEMA

ARTICLES = 'articles'
ENTITIES = 'entities'
DEAD_LETTERS = 'dead_letters'
DROPS = 'drops'
RUNS = 'runs'
PLACES = 'places'
STORIES = 'stories'

STAGING_FOLDER = '_staging'  # files of runs not yet committed, journals, the lock
STATE_FOLDER = '_state'  # default --state: conditional-GET state of feeds
COMPACTION_PREFIX = 'compact-'  # staging of `newsbeam compact` runs
REPORT_FILE = '_report.json'  # the pipeline's run report, in the run's staging
JOURNAL_FILE = '_COMMIT.json'  # a run's commit journal, in the run's staging
LOCK_FILE = '.lock'  # in the staging folder

RUN_ID_TIME_FORMAT = '%Y%m%dT%H%M%SZ'
RUN_ID_SUFFIX_BYTES = 3
RUN_ID_PATTERN = re.compile(r'\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z')

_VALIDATORS = {DATE: DATE_VALUE_PATTERN, LANG: LANG_VALUE_PATTERN}


class PartitionValueError(ValueError):
  """A partition value would not make a safe, valid folder name."""


def new_run_id(now):
  """Sortable and unique: UTC start time plus a random suffix."""
  return f'{now:{RUN_ID_TIME_FORMAT}}-{secrets.token_hex(RUN_ID_SUFFIX_BYTES)}'


def article_partition(article):
  """The (date, lang) partition of an article: its publication day, else ingestion day."""
  when = article[A.PUBLISHED_AT] or article[A.INGESTED_AT]
  return ((DATE, when.date().isoformat()), (LANG, article[A.LANGUAGE]))


def article_date(article):
  """The ``date`` partition value of an article."""
  return dict(article_partition(article))[DATE]


def dead_letter_partition(record):
  """The date partition of a dead letter (the day it failed)."""
  return ((DATE, record[D.FAILED_AT].date().isoformat()),)


def drop_partition(record):
  """The date partition of a drop-audit record (the day it was dropped)."""
  return ((DATE, record[X.DROPPED_AT].date().isoformat()),)


def partition_path(partition):
  """``date=2022-01-18/lang=en`` for ``(('date', ...), ('lang', ...))``, validated."""
  parts = []
  for name, value in partition:
    pattern = _VALIDATORS[name]
    if not isinstance(value, str) or not pattern.match(value):
      raise PartitionValueError(f'invalid {name} partition value {value!r}')
    if name == DATE:
      datetime.date.fromisoformat(value)
    parts.append(f'{name}={value}')
  return '/'.join(parts)


def part_file_name(run_id, index):
  """The name of a run's index-th file in one partition."""
  return f'part-{run_id}-{index}.parquet'


def manifest_file_name(run_id):
  """The name of a run's manifest file in ``runs/``."""
  return f'part-{run_id}.parquet'


class Dataset(NamedTuple):
  name: str
  schema: pa.Schema
  partition_schema: Optional[pa.Schema]  # None: not partitioned
  partition: Optional[Callable]  # record -> partition; None: set by the writer
  compacted_by_default: bool


DATASETS = {d.name: d for d in (
    Dataset(ARTICLES, ARTICLE_SCHEMA, DATE_LANG_PARTITION_SCHEMA, article_partition, True),
    # Entity rows take their article's partition (transforms.enrich.entities.entity_rows).
    Dataset(ENTITIES, ENTITY_SCHEMA, DATE_LANG_PARTITION_SCHEMA, None, True),
    Dataset(DEAD_LETTERS, DEAD_LETTER_SCHEMA, DATE_PARTITION_SCHEMA, dead_letter_partition,
            False),
    Dataset(DROPS, DROP_SCHEMA, DATE_PARTITION_SCHEMA, drop_partition, False),
    # Place rows take their article's partition (transforms.enrich.geo.places.place_rows).
    Dataset(PLACES, PLACE_SCHEMA, DATE_LANG_PARTITION_SCHEMA, None, True),
    # One row per story and run that touched it, by the story's first day.
    Dataset(STORIES, STORY_SCHEMA, DATE_PARTITION_SCHEMA, story_partition, True),
    Dataset(RUNS, RUN_SCHEMA, None, None, False),
)}


def partition_depth(dataset):
  """How many folder levels of partitions a dataset has."""
  schema = DATASETS[dataset].partition_schema
  return len(schema) if schema is not None else 0


def output_path(output, *parts):
  """A path inside an output folder (local or any Beam filesystem URI)."""
  base = output.rstrip('/')
  return '/'.join([base, *parts]) if base else '/' + '/'.join(parts)


def staging_path(output, run_id, *parts):
  """A path inside a run's staging folder."""
  return output_path(output, STAGING_FOLDER, run_id, *parts)


def manifest_path(output, run_id):
  """Where a run's manifest lives once committed."""
  return output_path(output, RUNS, manifest_file_name(run_id))
