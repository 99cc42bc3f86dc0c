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
import pathlib

import numpy as np

from transforms import paragraph_features as pf

__all__ = ['CleanerModel', 'CleanerModelError', 'load_cleaner_model',
           'classify_paragraphs', 'DEFAULT_MODEL_PATH', 'PATHS']

DEFAULT_MODEL_PATH = pathlib.Path(__file__).resolve().parent / 'models' / 'paragraph_cleaner-v1.json'
FORMAT = 'newsbeam-paragraph-cleaner/1'
PATHS = ('text', 'html')
SHORT = 'short'  # optional threshold for short text inputs
SHORT_ARTICLE_PARAGRAPHS = 12  # a text input of at most this many paragraphs is short
SCORE_DECIMALS = 4  # scores are rounded to this many decimals, for deterministic output


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
  def from_json(cls, stage):
    left = np.asarray(stage['left'], dtype=np.int64)
    forest = cls(
        baseline=float(stage['baseline']),
        roots=np.asarray(stage['roots'], dtype=np.int64),
        feature=np.asarray(stage['feature'], dtype=np.int64),
        threshold=np.asarray(stage['threshold'], dtype=np.float64),
        left=np.where(left < 0, np.arange(len(left)), left),
        right=np.where(left < 0, np.arange(len(left)),
                       np.asarray(stage['right'], dtype=np.int64)),
        value=np.asarray(stage['value'], dtype=np.float64),
        depth=int(stage['depth']))
    sizes = {len(forest.feature), len(forest.threshold), len(forest.left),
             len(forest.right), len(forest.value)}
    if len(sizes) != 1:
      raise CleanerModelError('tree node arrays have different lengths')
    return forest

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


def load_cleaner_model(path=None):
  """The cleaner model from a JSON file (default: the one packaged with newsbeam)."""
  path = pathlib.Path(path) if path else DEFAULT_MODEL_PATH
  try:
    document = json.loads(path.read_text(encoding='utf-8'))
  except (OSError, ValueError) as error:
    raise CleanerModelError(f'cannot read paragraph cleaner model {str(path)!r}: {error}') from error
  if document.get('format') != FORMAT:
    raise CleanerModelError(f'{path}: format {document.get("format")!r}, expected {FORMAT!r}')
  if tuple(document.get('feature_names', ())) != pf.FEATURE_NAMES:
    raise CleanerModelError(f'{path}: trained on other features than paragraph_features has')
  if tuple(document.get('stack_feature_names', ())) != pf.STACK_FEATURE_NAMES:
    raise CleanerModelError(f'{path}: trained on other stack features than paragraph_features has')
  thresholds = document.get('thresholds', {})
  if not set(PATHS) <= set(thresholds) <= set(PATHS) | {SHORT}:
    raise CleanerModelError(f'{path}: needs a threshold for each of {PATHS} (and may have {SHORT!r})')
  try:
    stages = tuple(_Forest.from_json(stage) for stage in document['stages'])
  except (KeyError, TypeError, ValueError) as error:
    raise CleanerModelError(f'{path}: invalid stages: {error}') from error
  if not stages:
    raise CleanerModelError(f'{path}: the model has no stage')
  return CleanerModel(version=document['version'],
                      thresholds={p: float(t) for p, t in thresholds.items()},
                      stages=stages)


def classify_paragraphs(paragraphs, model, path):
  """``[(is_boilerplate, score)]`` per paragraph; all kept if all would go."""
  threshold = model.threshold(path, len(paragraphs))
  scores = model.score_paragraphs(paragraphs)
  decisions = [score >= threshold for score in scores]
  if decisions and all(decisions):
    decisions = [False] * len(decisions)
  return list(zip(decisions, scores))
