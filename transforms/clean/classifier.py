"""Learned boilerplate classifier for article paragraphs, evaluated in numpy.

The model is a two-stage stack of gradient-boosted trees trained by
``scripts/train_cleaner.py`` and exported to JSON: the first stage scores each
paragraph from its own, its neighbours' and its page's features
(``paragraph_features``); the second adds the first stage's scores of the
neighbouring paragraphs. Inference needs numpy only. Each input path (plain
``text`` from users, paragraphs extracted from ``html``) has its own threshold;
a model may also have one for short text inputs (``short``: at most
SHORT_ARTICLE_PARAGRAPHS paragraphs), chosen on short training articles.
"""

import dataclasses
import json
import math
import numbers
import pathlib

import numpy as np

from transforms.clean import features as pf

__all__ = ['CleanerModel', 'CleanerModelError', 'load_cleaner_model',
           'classify_paragraphs', 'DEFAULT_MODEL_PATH', 'PATHS']

DEFAULT_MODEL_PATH = pathlib.Path(__file__).resolve().parent / 'models' / 'paragraph_cleaner-v1.json'
FORMAT = 'newsbeam-paragraph-cleaner/1'
PATHS = ('text', 'html')
SHORT = 'short'  # optional threshold for short text inputs
SHORT_ARTICLE_PARAGRAPHS = 12  # a text input of at most this many paragraphs is short
SCORE_DECIMALS = 4  # scores are rounded to this many decimals, for deterministic output
# Bounds on a model file, checked before any of it is used (the packaged
# model: 285 KB, 2 stages of 150 trees, depth 4, about 4,250 nodes a stage).
MAX_MODEL_BYTES = 32 << 20  # bytes read of a model file at most
MAX_DEPTH = 32  # tree depth: the number of steps each score walks
MAX_STAGES = 8
MAX_NODES = 2_000_000  # nodes of one stage's trees
MAX_VERSION_CHARS = 200
NODE_ARRAYS = ('feature', 'threshold', 'left', 'right', 'value')
LEAF = -1  # ``left`` of a leaf node


class CleanerModelError(ValueError):
  """A model file is unreadable or does not fit this code's features."""


@dataclasses.dataclass(frozen=True)
class _Forest:
  """Boosted trees as flat node arrays; a leaf has ``left == -1``."""
  baseline: float
  roots: np.ndarray
  feature: np.ndarray
  threshold: np.ndarray
  left: np.ndarray
  right: np.ndarray
  value: np.ndarray
  depth: int

  @classmethod
  def from_json(cls, stage, features=None):
    """A forest from a stage of a model document, validated; ``features``: columns it may read."""
    _check_stage(stage, features)
    left = np.asarray(stage['left'], dtype=np.int64)
    return cls(
        baseline=float(stage['baseline']),
        roots=np.asarray(stage['roots'], dtype=np.int64),
        feature=np.asarray(stage['feature'], dtype=np.int64),
        threshold=np.asarray(stage['threshold'], dtype=np.float64),
        left=np.where(left < 0, np.arange(len(left)), left),
        right=np.where(left < 0, np.arange(len(left)),
                       np.asarray(stage['right'], dtype=np.int64)),
        value=np.asarray(stage['value'], dtype=np.float64),
        depth=stage['depth'])

  def raw_scores(self, features):
    """Sum of the trees' leaf values plus the baseline, one log-odds per row."""
    rows = np.arange(len(features))[:, None]
    node = np.broadcast_to(self.roots, (len(features), len(self.roots))).copy()
    for _ in range(self.depth):
      go_left = features[rows, self.feature[node]] <= self.threshold[node]
      node = np.where(go_left, self.left[node], self.right[node])
    return self.baseline + self.value[node].sum(axis=1)


def _sigmoid(raw):
  return 1.0 / (1.0 + np.exp(-raw))


@dataclasses.dataclass(frozen=True)
class CleanerModel:
  """A loaded cleaner: ``score_paragraphs`` gives each paragraph's boilerplate probability."""
  version: str
  thresholds: dict
  stages: tuple

  def threshold(self, path, paragraphs=None):
    """The path's threshold; the short one for a text input of ``paragraphs`` few enough."""
    if path not in PATHS:
      raise ValueError(f'paragraph cleaner: unknown path {path!r}; use one of {PATHS}')
    if (path == 'text' and SHORT in self.thresholds and paragraphs is not None
        and paragraphs <= SHORT_ARTICLE_PARAGRAPHS):
      return self.thresholds[SHORT]
    return self.thresholds[path]

  def score_paragraphs(self, paragraphs):
    """Boilerplate probability of each paragraph of one article, rounded."""
    if not paragraphs:
      return []
    features = np.nan_to_num(pf.paragraph_features(paragraphs).astype(np.float64))
    scores = _sigmoid(self.stages[0].raw_scores(features))
    for stage in self.stages[1:]:
      stacked = np.hstack([features, pf.stack_features(scores).astype(np.float64)])
      scores = _sigmoid(stage.raw_scores(stacked))
    return [round(float(s), SCORE_DECIMALS) for s in scores]


def _is_int(value):
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_finite(value):
  return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _check_ints(name, values, low, high):
  """A list of ints in ``[low, high)``."""
  if not isinstance(values, list) or not all(_is_int(v) and low <= v < high for v in values):
    raise CleanerModelError(f'{name} must be a list of integers from {low} to {high - 1}')


def _check_stage(stage, features):
  """Raises CleanerModelError unless a stage's trees are well formed and within the bounds."""
  if not isinstance(stage, dict):
    raise CleanerModelError('a stage must be an object')
  missing = [k for k in ('baseline', 'depth', 'roots', *NODE_ARRAYS) if k not in stage]
  if missing:
    raise CleanerModelError(f'a stage lacks {", ".join(missing)}')
  if not _is_int(stage['depth']) or not 1 <= stage['depth'] <= MAX_DEPTH:
    raise CleanerModelError(f'depth must be an integer from 1 to {MAX_DEPTH}')
  if not _is_finite(stage['baseline']):
    raise CleanerModelError('baseline must be a finite number')
  nodes = stage['left']
  if not isinstance(nodes, list) or not 1 <= len(nodes) <= MAX_NODES:
    raise CleanerModelError(f'a stage must have 1 to {MAX_NODES:,} nodes')
  if any(not isinstance(stage[k], list) or len(stage[k]) != len(nodes) for k in NODE_ARRAYS):
    raise CleanerModelError('tree node arrays have different lengths')
  _check_ints('left', nodes, LEAF, len(nodes))
  _check_ints('right', stage['right'], LEAF, len(nodes))
  _check_ints('roots', stage['roots'], 0, len(nodes))
  _check_ints('feature', stage['feature'], 0, features or np.iinfo(np.int64).max)
  if not stage['roots'] or len(stage['roots']) > len(nodes):
    raise CleanerModelError('roots must name 1 tree or more, each a node')
  for name in ('threshold', 'value'):
    if not all(_is_finite(v) for v in stage[name]):
      raise CleanerModelError(f'{name} must be a list of finite numbers')


def _read_model_document(path):
  """The JSON object of a model file, read in bounded bytes."""
  try:
    with open(path, 'rb') as file:
      data = file.read(MAX_MODEL_BYTES + 1)
  except OSError as error:
    raise CleanerModelError(f'cannot read paragraph cleaner model {str(path)!r}: '
                            f'{error.strerror or error}') from error
  if len(data) > MAX_MODEL_BYTES:
    raise CleanerModelError(f'{path}: larger than {MAX_MODEL_BYTES >> 20} MiB, too large '
                            'for a paragraph cleaner model')
  try:
    document = json.loads(data.decode('utf-8'))  # NaN is refused where a number is used
  except RecursionError as error:
    raise CleanerModelError(f'{path}: not a model: JSON nested too deeply') from error
  except ValueError as error:
    raise CleanerModelError(f'{path}: not valid JSON: {error}') from error
  if not isinstance(document, dict):
    raise CleanerModelError(f'{path}: not a model: the JSON is not an object')
  return document


def load_cleaner_model(path=None):
  """The cleaner model from a JSON file (default: the one packaged with newsbeam), validated."""
  path = pathlib.Path(path) if path else DEFAULT_MODEL_PATH
  document = _read_model_document(path)
  if document.get('format') != FORMAT:
    raise CleanerModelError(f'{path}: format {document.get("format")!r}, expected {FORMAT!r}')
  version = document.get('version')
  if not isinstance(version, str) or not 0 < len(version) <= MAX_VERSION_CHARS:
    raise CleanerModelError(f'{path}: version must be a name of 1 to {MAX_VERSION_CHARS} '
                            'characters')
  if document.get('feature_names') != list(pf.FEATURE_NAMES):
    raise CleanerModelError(f'{path}: trained on other features than paragraph_features has')
  if document.get('stack_feature_names') != list(pf.STACK_FEATURE_NAMES):
    raise CleanerModelError(f'{path}: trained on other stack features than paragraph_features has')
  thresholds = document.get('thresholds')
  if not isinstance(thresholds, dict) or not set(PATHS) <= set(thresholds) <= set(PATHS) | {SHORT}:
    raise CleanerModelError(f'{path}: needs a threshold for each of {PATHS} (and may have {SHORT!r})')
  if not all(_is_finite(t) and 0 <= t <= 1 for t in thresholds.values()):
    raise CleanerModelError(f'{path}: thresholds must be numbers from 0 to 1')
  stages = document.get('stages')
  if not isinstance(stages, list) or not 1 <= len(stages) <= MAX_STAGES:
    raise CleanerModelError(f'{path}: the model needs 1 to {MAX_STAGES} stages')
  own, stacked = len(pf.FEATURE_NAMES), len(pf.FEATURE_NAMES) + len(pf.STACK_FEATURE_NAMES)
  try:
    forests = tuple(_Forest.from_json(stage, stacked if i else own)
                    for i, stage in enumerate(stages))
  except CleanerModelError as error:
    raise CleanerModelError(f'{path}: invalid stage: {error}') from error
  return CleanerModel(version=version, thresholds={p: float(t) for p, t in thresholds.items()},
                      stages=forests)


def classify_paragraphs(paragraphs, model, path):
  """``[(is_boilerplate, score)]`` per paragraph; all kept if all would go."""
  threshold = model.threshold(path, len(paragraphs))
  scores = model.score_paragraphs(paragraphs)
  decisions = [score >= threshold for score in scores]
  if decisions and all(decisions):
    decisions = [False] * len(decisions)
  return list(zip(decisions, scores))
