"""Boilerplate stripping: audited rules, a learned paragraph classifier, per-source repeats.

Two steps, each removing whole paragraphs and naming what removed them in
the article's ``boilerplate`` audit column:

1. ``boilerplate/paragraphs``: the named, high-precision patterns of
   ``transforms/clean/rules.py`` (and the user's ``--boilerplate-rules``)
   and, with ``--cleaner model`` (the default), the learned paragraph
   classifier of ``transforms/clean/classifier.py``. The classifier scores
   every paragraph of the article as it came (the context it was trained
   on); a paragraph no rule removed is removed when its score reaches its
   input path's threshold (``html`` for text extracted from a page, ``text``
   for text given as such), with ``rule = "classifier"`` and the score.
2. ``boilerplate/repeated``: paragraphs a source repeats word for word across
   many of its articles in the run (``repeated_in_source``). Paragraph
   fingerprints are counted per source with a combiner, and only those over
   the thresholds reach the filter as a side input, so no worker holds a
   source's articles at once.

No step empties an article: when one would remove every paragraph left, it
removes none and flags the article ``all_boilerplate`` (``flags`` column).
Nothing is dropped here.
"""

import apache_beam as beam

from schemas import article as A
from transforms.core import stage
from transforms.clean.rules import DEFAULT_RULES
from transforms.clean.rules import PARAGRAPH_SEPARATOR
from transforms.clean.rules import WARN_CLEANING_PARTIAL
from transforms.clean.rules import WARN_RULE_TIMEOUT
from transforms.clean.rules import examined_count
from transforms.clean.rules import match_rule
from transforms.clean.rules import paragraph_fingerprint
from transforms.enrich.language import word_count
from transforms.extract.normalize import make_content_hash
from transforms.clean.classifier import classify_paragraphs
from transforms.clean.classifier import load_cleaner_model

__all__ = ['StripBoilerplate', 'CLEANERS', 'CLEANER_MODEL', 'CLEANER_RULES',
           'CLEANER_OFF', 'classifier_path', 'is_repeated', 'clean_paragraphs',
           'FLAG_ALL_BOILERPLATE', 'RULE_CLASSIFIER', 'RULE_REPEATED_IN_SOURCE']

STAGE = 'boilerplate'
RULE_REPEATED_IN_SOURCE = 'repeated_in_source'
RULE_CLASSIFIER = 'classifier'
FLAG_ALL_BOILERPLATE = A.FLAG_ALL_BOILERPLATE

CLEANER_MODEL = 'model'  # rules, classifier and repeats
CLEANER_RULES = 'rules'  # rules and repeats
CLEANER_OFF = 'off'  # nothing removed
CLEANERS = (CLEANER_MODEL, CLEANER_RULES, CLEANER_OFF)

MIN_REPEAT_ARTICLES = 3  # a repeated paragraph appears in at least this many articles
MIN_REPEAT_SHARE = 0.1  # ... and in at least this share of its source's articles

# Text origins whose paragraphs came out of trafilatura (the classifier's html path).
_EXTRACTED_ORIGINS = frozenset((A.TEXT_FROM_HTML, A.TEXT_FROM_PAGE))


def classifier_path(article):
  """``html`` for text extracted from a page, ``text`` for text given as such."""
  return 'html' if article.get(A.TEXT_ORIGIN) in _EXTRACTED_ORIGINS else 'text'


def with_removed(article, text, removed):
  """The article with new text, its audit trail extended, and derived fields redone.

  ``removed`` holds ``(rule, paragraph)`` or ``(rule, paragraph, score)``.
  """
  audit = list(article.get(A.BOILERPLATE) or [])
  audit.extend({A.BOILERPLATE_RULE: item[0], A.BOILERPLATE_TEXT: item[1],
                A.BOILERPLATE_SCORE: item[2] if len(item) > 2 else None}
               for item in removed)
  return dict(article, **{
      A.TEXT: text,
      A.BOILERPLATE: audit,
      A.WORD_COUNT: word_count(text),
      A.CONTENT_HASH: make_content_hash(text),
  })


def with_flag(article, flag):
  """The article with ``flag`` added to its flags, once."""
  flags = list(article.get(A.FLAGS) or [])
  return article if flag in flags else dict(article, **{A.FLAGS: flags + [flag]})


def strip_or_flag(article, kept, removed):
  """The article with ``removed`` taken out; flagged and untouched when nothing would be left."""
  if not removed:
    return article
  if not any(p.strip() for p in kept):
    return with_flag(article, FLAG_ALL_BOILERPLATE)
  return with_removed(article, PARAGRAPH_SEPARATOR.join(kept), removed)


def clean_paragraphs(paragraphs, rules, model=None, path='text', timeouts=None):
  """``(kept, removed)``: rules first, then the classifier's decisions on the rest.

  ``removed`` holds ``(rule, paragraph)`` for rules and ``(RULE_CLASSIFIER,
  paragraph, score)`` for the classifier, in text order. The classifier sees
  every paragraph, including those a rule removes. Paragraphs past the work
  budget (``examined_count``) are kept unexamined.
  """
  budget, count = examined_count(paragraphs), len(paragraphs)  # tail rules: the article's end
  paragraphs, unexamined = paragraphs[:budget], paragraphs[budget:]
  decisions = (classify_paragraphs(paragraphs, model, path) if model is not None
               else [(False, None)] * len(paragraphs))
  kept, removed = [], []
  for index, (paragraph, (is_boilerplate, score)) in enumerate(zip(paragraphs, decisions)):
    rule = match_rule(paragraph, index, count, rules, timeouts)
    if rule:
      removed.append((rule, paragraph))
    elif is_boilerplate:
      removed.append((RULE_CLASSIFIER, paragraph, score))
    else:
      kept.append(paragraph)
  return kept + unexamined, removed


def article_key(article):
  """What makes two articles different for repeat counting: title, else text."""
  return article.get(A.TITLE) or article[A.CONTENT_HASH]


def source_paragraph_keys(article):
  """``((source, fingerprint), article_key)`` for each distinct paragraph."""
  source = article.get(A.SOURCE) or ''
  key = article_key(article)
  fingerprints = {paragraph_fingerprint(p)
                  for p in article[A.TEXT].split(PARAGRAPH_SEPARATOR)}
  return [((source, f), key) for f in sorted(fingerprints - {None})]


def is_repeated(article_count, source_article_count):
  """Whether a paragraph seen in ``article_count`` articles is the source's boilerplate."""
  return (article_count >= MIN_REPEAT_ARTICLES and
          article_count >= MIN_REPEAT_SHARE * source_article_count)


def _paragraphs(article):
  return article[A.TEXT].split(PARAGRAPH_SEPARATOR) if article[A.TEXT] else []


class _CleanParagraphsFn(beam.DoFn):
  """Removes paragraphs matched by a rule or scored as boilerplate by the classifier."""

  def __init__(self, rules, use_classifier, model_path=None):
    self._rules = rules
    self._use_classifier = use_classifier
    self._model_path = model_path
    self._model = None

  def setup(self):
    if self._use_classifier:
      self._model = load_cleaner_model(self._model_path)

  def process(self, article):
    paragraphs = _paragraphs(article)
    if examined_count(paragraphs) < len(paragraphs):
      article = with_flag(article, A.FLAG_CLEANING_PARTIAL)
      yield stage.warn(WARN_CLEANING_PARTIAL)
    timeouts = []
    kept, removed = clean_paragraphs(paragraphs, self._rules, self._model,
                                     classifier_path(article), timeouts)
    for _ in timeouts:
      yield stage.warn(WARN_RULE_TIMEOUT)
    yield strip_or_flag(article, kept, removed)


class _StripRepeatedFn(beam.DoFn):
  """Removes the source's repeated paragraphs, never all of an article's."""

  def process(self, article, repeated):
    source = article.get(A.SOURCE) or ''
    kept, removed = [], []
    for paragraph in _paragraphs(article):
      if (source, paragraph_fingerprint(paragraph)) in repeated:
        removed.append((RULE_REPEATED_IN_SOURCE, paragraph))
      else:
        kept.append(paragraph)
    yield strip_or_flag(article, kept, removed)


def _repeated_keys(counts_and_totals):
  """Keys of (source, fingerprint) pairs over the repeat thresholds."""
  (source, fingerprint), article_count, source_total = counts_and_totals
  if is_repeated(article_count, source_total):
    yield (source, fingerprint)


class StripBoilerplate(beam.PTransform):
  """Removes boilerplate paragraphs from article text (see the module docstring).

  ``use_classifier`` turns the learned classifier on; ``model_path`` picks a
  model file other than the packaged one.
  """

  def __init__(self, rules=DEFAULT_RULES, use_classifier=True, model_path=None, label=None):
    super().__init__(label)
    self._rules = tuple(rules)
    self._use_classifier = use_classifier
    self._model_path = model_path

  def expand(self, pcoll):
    steps = [pcoll | 'CleanParagraphs' >> stage.ApplyStage(
        _CleanParagraphsFn(self._rules, self._use_classifier, self._model_path), STAGE,
        step=f'{STAGE}/paragraphs')]
    articles = steps[-1].records
    keyed = (articles
             | 'ParagraphKeys' >> beam.FlatMap(source_paragraph_keys)
             | 'DistinctArticlesPerParagraph' >> beam.Distinct())
    source_totals = (
        articles
        | 'SourceArticleKeys' >> beam.Map(
            lambda a: (a.get(A.SOURCE) or '', article_key(a)))
        | 'DistinctArticlesPerSource' >> beam.Distinct()
        | 'CountPerSource' >> beam.combiners.Count.PerKey())
    repeated = (
        keyed
        | 'CountPerParagraph' >> beam.combiners.Count.PerKey()
        | 'WithSourceTotal' >> beam.Map(
            lambda kv, totals: (kv[0], kv[1], totals.get(kv[0][0], 0)),
            beam.pvalue.AsDict(source_totals))
        | 'KeepRepeated' >> beam.FlatMap(_repeated_keys))
    steps.append(articles | 'StripRepeated' >> stage.ApplyStage(
        _StripRepeatedFn(), STAGE,
        beam.pvalue.AsDict(repeated | 'AsKeys' >> beam.Map(lambda k: (k, True))),
        step=f'{STAGE}/repeated'))
    return stage.merge_outcomes(steps, 'Outcomes')
