import collections
import datetime
import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import pyarrow as pa
import pytest

import schemas
from schemas import article as A
from schemas import place as P
from tests.conftest import DATA
from transforms.enrich.geo.places import PlaceContext
from transforms.enrich.geo.places import PlaceMention
from transforms.enrich.geo.places import ResolvePlaces
from transforms.enrich.geo.places import admin1_code
from transforms.enrich.geo.places import article_places
from transforms.enrich.geo.places import entity_place_fields
from transforms.enrich.geo.places import find_place_names
from transforms.enrich.geo.places import gazetteer
from transforms.enrich.geo.places import ner_place_mentions
from transforms.enrich.geo.places import place_candidates
from transforms.enrich.geo.places import place_context
from transforms.enrich.geo.places import place_key
from transforms.enrich.geo.places import place_rows
from transforms.enrich.geo.places import population_centroid
from transforms.enrich.geo.places import resolve_places
from transforms.enrich.geo.places import source_codes

UTC = datetime.timezone.utc
WHEN = datetime.datetime(2026, 3, 2, 9, tzinfo=UTC)
GOLD = DATA / 'places_gold.jsonl'
AMBIGUOUS = ('Paris', 'Springfield', 'Georgia', 'Victoria', 'Cambridge', 'Córdoba', 'Perth',
             'Birmingham')


@pytest.fixture(scope='module')
def gaz():
  return gazetteer()


def senses(names, gaz, **context):
  """``(name, country, admin1)`` of each resolved place, for mentions given as names or pairs."""
  mentions = [PlaceMention(*n) if isinstance(n, tuple) else PlaceMention(n) for n in names]
  return [(p[P.NAME], p[P.COUNTRY_CODE], p[P.ADMIN1])
          for p in resolve_places(mentions, PlaceContext(**context), gaz)]


def entity(text, label, source_text):
  start = source_text.index(text)
  return {'text': text, 'label': label, 'start': start, 'end': start + len(text),
          'canonical': text}


def article(text, entities=(), url=None, source=None, language='en', ner_model='en_sm'):
  return {A.ARTICLE_ID: 'a1', A.SOURCE_URI: 'file:///a1', A.TEXT: text, A.URL: url,
          A.SOURCE: source, A.LANGUAGE: language, A.PUBLISHED_AT: WHEN, A.INGESTED_AT: WHEN,
          A.RUN_ID: 'run1', A.NER_MODEL: ner_model,
          A.ENTITIES: [entity(t, label, text) for t, label in entities]}


def test_place_key_and_admin1_codes():
  assert place_key('the United States') == 'united states'
  assert place_key('Córdoba') == place_key('Cordoba') == 'cordoba'
  assert place_key('U.S.') == 'u s'
  assert admin1_code('US', 'TX') == 'US-TX'
  assert admin1_code('AU', '08') == 'AU-WA'
  assert admin1_code('GB', 'SCT') == 'GB-SCT'
  assert admin1_code('FR', '11') is None


def test_population_centroid():
  assert population_centroid([(0, 0, 1), (0, 90, 1)]) == (0.0, 45.0)
  assert population_centroid([(10, 170, 1), (10, -170, 1)])[1] == 180.0
  assert population_centroid([]) == (None, None)


def test_candidates(gaz):
  georgia = place_candidates('Georgia', gaz)
  assert sorted((p.kind, p.country_code, p.admin1) for p, _ in georgia) == [
      ('admin1', 'US', 'US-GA'), ('country', 'GE', None)]
  assert [(p.name, alt) for p, alt in place_candidates('southwest Missouri', gaz)] == [
      ('Missouri', False)]
  assert [(p.name, alt) for p, alt in place_candidates('Kiev', gaz)] == [('Kyiv', True)]
  assert [p.country_code for p, _ in place_candidates('Frankreich', gaz, 'de')] == ['FR']
  assert place_candidates('Atlantis Prime', gaz) == []


def test_paris_is_in_france_unless_the_article_is_about_texas(gaz):
  assert senses(['Paris'], gaz) == [('Paris', 'FR', None)]
  assert senses(['Paris', 'Berlin'], gaz) == [('Paris', 'FR', None), ('Berlin', 'DE', 'DE-BE')]
  assert senses([('Paris', 'Texas'), 'Texas'], gaz) == [('Paris', 'US', 'US-TX'),
                                                        ('Texas', 'US', 'US-TX')]
  assert senses(['Austin', 'Paris', 'Tyler'], gaz) == [
      ('Austin', 'US', 'US-TX'), ('Paris', 'US', 'US-TX'), ('Tyler', 'US', 'US-TX')]
  # A US article naming Washington keeps Paris in France: one country in common is not enough.
  assert senses(['Washington', 'Paris'], gaz) == [('Washington', 'US', 'US-DC'),
                                                  ('Paris', 'FR', None)]


def test_springfield_takes_the_state_of_the_article(gaz):
  assert senses(['Springfield', 'Illinois', 'Chicago'], gaz)[0] == ('Springfield', 'US', 'US-IL')
  assert senses([('Springfield', 'Massachusetts'), 'Massachusetts'], gaz)[0] == (
      'Springfield', 'US', 'US-MA')
  assert senses(['Springfield', 'Eugene', 'Oregon'], gaz)[0] == ('Springfield', 'US', 'US-OR')


def test_georgia_the_country_or_the_state(gaz):
  assert senses(['Georgia'], gaz) == [('Georgia', 'GE', None)]
  assert senses(['Tbilisi', 'Georgia'], gaz)[1] == ('Georgia', 'GE', None)
  assert senses(['Georgia', 'Atlanta'], gaz)[0] == ('Georgia', 'US', 'US-GA')
  assert senses(['Georgia', 'Arizona'], gaz)[0] == ('Georgia', 'US', 'US-GA')
  # Russia neighbours the country, and "Russian" counts as evidence of Russia.
  assert senses(['Georgia'], gaz, nationalities=(('RU', 0.7),)) == [('Georgia', 'GE', None)]


def test_victoria_state_city_or_capital(gaz):
  assert senses(['Victoria', 'Melbourne'], gaz)[0] == ('Victoria', 'AU', 'AU-VIC')
  assert senses(['Vancouver', 'Victoria'], gaz)[1] == ('Victoria', 'CA', 'CA-BC')
  assert senses([('Victoria', 'Texas'), 'Texas'], gaz)[0] == ('Victoria', 'US', 'US-TX')
  assert senses(['Seychelles', 'Victoria'], gaz)[1] == ('Victoria', 'SC', None)


def test_cambridge_oxford_or_boston_or_ontario(gaz):
  assert senses(['Cambridge'], gaz) == [('Cambridge', 'GB', 'GB-ENG')]
  assert senses(['Cambridge', 'Boston'], gaz) == [('Cambridge', 'US', 'US-MA'),
                                                  ('Boston', 'US', 'US-MA')]
  assert senses([('Cambridge', 'Ontario'), 'Ontario', 'Toronto'], gaz)[0] == (
      'Cambridge', 'CA', 'CA-ON')
  assert senses(['Cambridge'], gaz, source_codes=('CA',)) == [('Cambridge', 'CA', 'CA-ON')]


def test_cordoba_argentina_spain_or_mexico(gaz):
  assert senses(['Córdoba'], gaz) == [('Córdoba', 'AR', None)]
  assert senses(['Córdoba', 'Seville'], gaz)[0] == ('Córdoba', 'ES', None)
  assert senses(['Córdoba', 'Mexico'], gaz)[0] == ('Córdoba', 'MX', None)
  assert senses(['Cordoba'], gaz, source_codes=('ES',)) == [('Cordoba', 'ES', None)]


def test_perth_australia_or_scotland(gaz):
  assert senses(['Perth'], gaz) == [('Perth', 'AU', 'AU-WA')]
  assert senses(['Perth', 'Scotland'], gaz)[0] == ('Perth', 'GB', 'GB-SCT')
  assert senses(['Perth'], gaz, source_codes=('GB',)) == [('Perth', 'GB', 'GB-SCT')]
  assert senses(['Perth', 'Sydney'], gaz)[0] == ('Perth', 'AU', 'AU-WA')


def test_birmingham_england_or_alabama(gaz):
  assert senses(['Birmingham', 'Manchester'], gaz)[0] == ('Birmingham', 'GB', 'GB-ENG')
  assert senses([('Birmingham', 'Alabama'), 'Alabama'], gaz)[0] == ('Birmingham', 'US', 'US-AL')
  assert senses(['Birmingham', 'Huntsville', 'Montgomery'], gaz)[0] == (
      'Birmingham', 'US', 'US-AL')


def test_resolved_place_fields(gaz):
  (paris,) = resolve_places([PlaceMention('Paris'), PlaceMention('Paris')], PlaceContext(), gaz)
  assert paris == {
      P.NAME: 'Paris', P.PLACE: 'Paris', P.KIND: 'city', P.COUNTRY_CODE: 'FR', P.ADMIN1: None,
      P.LAT: 48.85341, P.LON: 2.3488, P.GEONAMES_ID: 2988507, P.CONFIDENCE: 0.996,
      P.METHOD: 'ner', P.MENTIONED_AS: ['Paris']}
  us = resolve_places([PlaceMention('U.S.'), PlaceMention('United States')], PlaceContext(), gaz)
  assert [(p[P.PLACE], p[P.KIND], p[P.MENTIONED_AS]) for p in us] == [
      ('United States', 'country', ['U.S.', 'United States'])]


def test_source_codes(gaz):
  assert source_codes('https://www.abc.net.au/news/1', None, gaz) == ('AU',)
  assert source_codes('https://www.thecourier.co.uk/fp/1', None, gaz) == ('GB',)
  assert source_codes('https://example.tv/a', 'example.tv', gaz) == ()
  assert source_codes('https://example.com/a', 'Texas Tribune', gaz) == ('US-TX', 'US')
  assert source_codes(None, 'www.lavoz.com.ar', gaz) == ('AR',)


def test_place_context_reads_nationalities_and_source(gaz):
  text = 'Argentine officials met in Córdoba.'
  context = place_context(article(text, [('Argentine', 'NORP'), ('Córdoba', 'GPE')],
                                  url='https://www.example.es/a'), gaz)
  assert context == PlaceContext((('AR', 0.7),), ('ES',), 'en')


def test_gazetteer_matcher_for_languages_without_ner(gaz):
  names = find_place_names('Il governo di Roma ha chiesto aiuti alla Francia e alla Germania.',
                           gaz, 'it')
  assert [(m.name, m.method) for m in names] == [
      ('Roma', 'gazetteer'), ('Francia', 'gazetteer'), ('Germania', 'gazetteer')]
  # Names that are mostly people or words are left alone; "London, Ontario" keeps its qualifier.
  names = find_place_names('Chad met Victoria in Jordan before flying to London, Ontario.', gaz)
  assert names == [PlaceMention('London', 'Ontario', 'gazetteer'),
                   PlaceMention('Ontario', None, 'gazetteer')]
  assert find_place_names("Le ministre est parti pour l'Espagne.", gaz, 'fr') == [
      PlaceMention('Espagne', None, 'gazetteer')]


def test_ner_mentions_add_big_places_the_model_mislabelled(gaz):
  text = 'Police in Lyon and Manchester United fans met in Paris, Texas. Let us know.'
  record = article(text, [('Lyon', 'PERSON'), ('Manchester United', 'ORG'), ('Paris', 'GPE'),
                          ('Texas', 'GPE'), ('us', 'GPE')])
  assert ner_place_mentions(record, gaz) == [
      PlaceMention('Lyon', None, 'gazetteer'), PlaceMention('Paris', 'Texas', 'ner'),
      PlaceMention('Texas', None, 'ner')]


def test_article_places_with_ner(gaz):
  text = 'The school board in Ohio approved a contract, Dayton officials said.'
  record = article(text, [('Ohio', 'GPE'), ('Dayton', 'ORG')])
  assert [(p[P.NAME], p[P.ADMIN1], p[P.METHOD]) for p in article_places(record, gaz)] == [
      ('Ohio', 'US-OH', 'ner'), ('Dayton', 'US-OH', 'gazetteer')]
  assert article_places(article('No places here.', []), gaz) == []


def test_towns_the_model_missed_count_in_a_state_the_article_names(gaz):
  text = 'Floods closed roads in Oregon on Monday; Eugene and Corvallis opened shelters.'
  record = article(text, [('Oregon', 'GPE')])
  assert [(p[P.NAME], p[P.ADMIN1], p[P.METHOD]) for p in article_places(record, gaz)] == [
      ('Oregon', 'US-OR', 'ner'), ('Eugene', 'US-OR', 'gazetteer'),
      ('Corvallis', 'US-OR', 'gazetteer')]
  # Without its state, a town name is not enough; nor is one inside a longer entity.
  alone = article('Floods closed roads on Monday; Eugene opened shelters.')
  assert article_places(alone, gaz) == []
  inside = 'Oregon voters met Eugene Levy, the actor, on Monday.'
  record = article(inside, [('Oregon', 'GPE'), ('Eugene Levy', 'PERSON')])
  assert [p[P.NAME] for p in article_places(record, gaz)] == ['Oregon']


def test_article_places_without_ner(gaz):
  text = 'Die Regierungen in Berlin und Paris einigten sich auf Regeln für Stahl aus China.'
  record = article(text, language='de', ner_model=None)
  assert [(p[P.NAME], p[P.COUNTRY_CODE], p[P.METHOD], p[P.CONFIDENCE])
          for p in article_places(record, gaz)] == [
              ('Berlin', 'DE', 'gazetteer', 0.8), ('Paris', 'FR', 'gazetteer', 0.799),
              ('China', 'CN', 'gazetteer', 0.8)]


def test_place_rows_and_entity_fields(gaz):
  text = 'Officials in Paris, Texas, met.'
  record = article(text, [('Paris', 'GPE'), ('Texas', 'GPE')], source='tribune.example')
  record[P.ARTICLE_PLACES] = article_places(record, gaz)
  rows = list(place_rows(record))
  assert rows[0] == ((('date', '2026-03-02'), ('lang', 'en')), {
      P.ARTICLE_ID: 'a1', P.NAME: 'Paris', P.PLACE: 'Paris', P.KIND: 'city',
      P.COUNTRY_CODE: 'US', P.ADMIN1: 'US-TX', P.LAT: 33.66094, P.LON: -95.55551,
      P.GEONAMES_ID: 4717560, P.CONFIDENCE: 1.0, P.METHOD: 'ner', P.PUBLISHED_AT: WHEN,
      P.SOURCE: 'tribune.example', P.RUN_ID: 'run1', P.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION})
  pa.Table.from_pylist([row for _, row in rows], schema=P.PLACE_SCHEMA)
  pa.array(record[P.ARTICLE_PLACES], type=P.PLACE_STRUCT)
  assert entity_place_fields(record)['Texas'] == {
      P.ENTITY_PLACE_COUNTRY_CODE: 'US', P.ENTITY_PLACE_ADMIN1: 'US-TX',
      P.ENTITY_PLACE_LAT: 31.16103, P.ENTITY_PLACE_LON: -100.10509,
      P.ENTITY_PLACE_GEONAMES_ID: 4736286}
  assert sorted(entity_place_fields(record)) == ['Paris', 'Texas']


def test_resolve_places_transform():
  texan = article('Voters in Paris, Texas, went to the polls.', [('Paris', 'GPE'),
                                                                   ('Texas', 'GPE')])
  french = dict(article('Le maire de Paris a parlé.', language='fr', ner_model=None),
                **{A.ARTICLE_ID: 'a2'})
  with TestPipeline() as p:
    out = p | beam.Create([texan, french]) | ResolvePlaces()
    assert_that(out.records | beam.Map(lambda a: (
        a[A.ARTICLE_ID], [(x[P.NAME], x[P.COUNTRY_CODE], x[P.ADMIN1], x[P.METHOD])
                          for x in a[P.ARTICLE_PLACES]])),
                equal_to([('a1', [('Paris', 'US', 'US-TX', 'ner'),
                                  ('Texas', 'US', 'US-TX', 'ner')]),
                          ('a2', [('Paris', 'FR', None, 'gazetteer')])]))
    assert_that(out.dead_letters, equal_to([]), label='NoDeadLetters')


def load_gold():
  with open(GOLD, encoding='utf-8') as f:
    return [json.loads(line) for line in f]


def test_gold_set_has_each_ambiguous_name_in_several_senses():
  gold = load_gold()
  assert len(gold) >= 60
  assert len({g['id'] for g in gold}) == len(gold)
  found = collections.defaultdict(set)
  for item in gold:
    for name, country, admin1 in item['places']:
      assert name in item['text'], item['id']
      found[place_key(name)].add((country, admin1))
  for name in AMBIGUOUS:
    assert len(found[place_key(name)]) >= 2, name


def test_gold_places_resolve_when_the_mentions_are_right(gaz):
  """The resolver alone: every gold place, given its mention (the benchmark adds spaCy)."""
  wrong = []
  for item in load_gold():
    text = item['text']
    record = article(text, [(name, 'GPE') for name, _, _ in item['places']], item.get('url'),
                     item.get('source'), item.get('lang', 'en'))
    by_name = {place_key(n): p for p in article_places(record, gaz) for n in p[P.MENTIONED_AS]}
    for name, country, admin1 in item['places']:
      place = by_name.get(place_key(name))
      if (place is None or place[P.COUNTRY_CODE] != country or
          (admin1 is not None and place[P.ADMIN1] != admin1)):
        wrong.append((item['id'], name))
  assert wrong == []
