"""Places on real news: each case of issue 26's "Why", with the right answer.

The entities are given as the NER stage would give them (label and span),
so each case tests the places rules alone; benchmarks/quality_geoparse.py
measures the whole chain on TR-News.
"""

import datetime
import os
import pickle

import pytest

from schemas import article as A
from schemas import place as P
from transforms.enrich.geo import places
from transforms.enrich.geo.gazetteer import find_places
from transforms.enrich.geo.gazetteer import load_gazetteer
from transforms.enrich.geo.places import PlaceMention
from transforms.enrich.geo.places import abbreviation_code
from transforms.enrich.geo.places import article_places
from transforms.enrich.geo.places import demonym_code
from transforms.enrich.geo.places import gazetteer

WHEN = datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope='module')
def gaz():
  return gazetteer()


def article(text, entities=(), language='en', ner_model='en_sm', url=None):
  """An article dict whose entities are ``(text, label)`` pairs, found in order in the text."""
  found, at = [], 0
  for name, label in entities:
    start = text.index(name, at) if name in text[at:] else text.index(name)
    at = start + len(name)
    found.append({'text': name, 'label': label, 'start': start, 'end': start + len(name),
                  'canonical': name})
  return {A.ARTICLE_ID: 'a1', A.TEXT: text, A.URL: url, A.SOURCE: None, A.LANGUAGE: language,
          A.PUBLISHED_AT: WHEN, A.NER_MODEL: ner_model, A.ENTITIES: found}


def resolved(record, gaz):
  """``name -> (place, kind, country, admin1, method)`` of an article's places with a position."""
  return {p[P.NAME]: (p[P.PLACE], p[P.KIND], p[P.COUNTRY_CODE], p[P.ADMIN1], p[P.METHOD])
          for p in article_places(record, gaz) if p[P.LAT] is not None}


# Recall: what local news names that the model alone misses.

def test_counties_and_parishes_take_their_state_and_a_town_of_it(gaz):
  text = 'Deputies in Hall County, Ga., said the fire near Gainesville, Ga., spread.'
  record = article(text, [('Hall County', 'GPE'), ('Gainesville', 'GPE')])
  found = {p[P.NAME]: p for p in article_places(record, gaz)}
  county = found['Hall County']
  assert (county[P.KIND], county[P.COUNTRY_CODE], county[P.ADMIN1]) == ('county', 'US', 'US-GA')
  # placed where the article's town of that state is: GeoNames has no county points here
  assert (county[P.LAT], county[P.LON]) == (found['Gainesville'][P.LAT],
                                            found['Gainesville'][P.LON])
  assert found['Gainesville'][P.ADMIN1] == 'US-GA'
  parish = article_places(article('Flooding hit Orleans Parish again.'), gaz)
  assert [(p[P.NAME], p[P.KIND], p[P.ADMIN1]) for p in parish] == [
      ('Orleans Parish', 'county', 'US-LA')]


def test_towns_under_15000_people_with_their_state(gaz):
  record = article('EDMONTON, Ky. (WBKO) -- One man is dead after a hunting accident.',
                   [('EDMONTON', 'ORG'), ('Ky.', 'GPE')])
  assert resolved(record, gaz)['EDMONTON'][:4] == ('Edmonton', 'city', 'US', 'US-KY')
  assert resolved(record, gaz)['Ky.'] == ('Kentucky', 'admin1', 'US', 'US-KY', 'abbreviation')


def test_demonyms_stand_for_their_country_but_their_people_do_not(gaz):
  text = 'The Russian and Georgian envoys met American diplomats; Americans were told.'
  record = article(text, [('Russian', 'NORP'), ('Georgian', 'NORP'), ('American', 'NORP'),
                          ('Americans', 'NORP')])
  assert resolved(record, gaz) == {
      'Russian': ('Russia', 'country', 'RU', None, 'demonym'),
      'Georgian': ('Georgia', 'country', 'GE', None, 'demonym'),
      'American': ('United States', 'country', 'US', None, 'demonym')}
  assert [demonym_code(w, gaz) for w in ('Turkish', 'Syrian', 'Canadian', 'Iraqi', 'French',
                                         'Democrat', 'Christian', 'Muslim')] == [
      'TR', 'SY', 'CA', 'IQ', 'FR', None, None, None]


def test_state_abbreviations_in_ap_style(gaz):
  assert [abbreviation_code(a) for a in ('Ga.', 'N.Va.', 'Pa.', 'Fla.', 'Kan.', 'Ala.', 'Ont.',
                                         'KY', 'Pa', 'Mass')] == [
      'US-GA', 'US-VA', 'US-PA', 'US-FL', 'US-KS', 'US-AL', 'CA-ON', 'US-KY', None, None]
  text = 'Commuters from Reston, N.Va., and Atlanta, Ga., were delayed.'
  record = article(text, [('Reston', 'GPE'), ('N.Va.', 'GPE'), ('Atlanta', 'GPE'),
                          ('Ga.', 'GPE')])
  found = resolved(record, gaz)
  assert found['N.Va.'][3] == 'US-VA' and found['Ga.'][3] == 'US-GA'
  assert found['Reston'][3] == 'US-VA' and found['Atlanta'][3] == 'US-GA'


def test_places_inside_organisation_names(gaz):
  text = ('Gainesville Police and the Kentucky State Police searched the lake, '
          'Environment Canada said.')
  record = article(text, [('Gainesville Police', 'ORG'), ('the Kentucky State Police', 'ORG'),
                          ('Environment Canada', 'ORG')])
  found = resolved(record, gaz)
  assert found['Gainesville'][1:] == ('city', 'US', 'US-FL', 'organisation')
  assert found['Kentucky'][1:] == ('admin1', 'US', 'US-KY', 'organisation')
  assert found['Canada'][1:] == ('country', 'CA', None, 'organisation')
  # a newspaper is not the news' place
  assert resolved(article('The New York Times reported it.',
                          [('The New York Times', 'ORG')]), gaz) == {}


def test_lakes_regions_and_the_european_union(gaz):
  text = 'Boaters on Lake Lanier heard that the European Union and the Middle East talks failed.'
  record = article(text, [('Lake Lanier', 'LOC'), ('the European Union', 'ORG'),
                          ('the Middle East', 'LOC')])
  found = {p[P.NAME]: p for p in article_places(record, gaz)}
  assert found['European Union'][P.KIND] == 'region'
  assert found['European Union'][P.COUNTRY_CODE] == 'EU'
  # the gazetteer has no lakes: kept as what it is, with no position rather than a guess
  lake = found['Lake Lanier']
  assert (lake[P.KIND], lake[P.LAT], lake[P.COUNTRY_CODE]) == ('feature', None, None)


# Precision: never a place from a non-place.

def test_buildings_resolve_to_their_city_never_elsewhere(gaz):
  text = ('The White House, the Pentagon, the Kremlin, Downing Street and the Elysee '
          'answered.')
  record = article(text, [('The White House', 'ORG'), ('Pentagon', 'ORG'), ('Kremlin', 'ORG'),
                          ('Downing Street', 'FAC'), ('Elysee', 'ORG')])
  found = {p[P.NAME]: (p[P.PLACE], p[P.KIND], p[P.COUNTRY_CODE], p[P.MENTIONED_AS])
           for p in article_places(record, gaz)}
  assert found == {
      'The White House': ('Washington', 'building', 'US', ['The White House', 'Pentagon']),
      'Kremlin': ('Moscow', 'building', 'RU', ['Kremlin']),
      'Downing Street': ('London', 'building', 'GB', ['Downing Street']),
      'Elysee': ('Paris', 'building', 'FR', ['Elysee'])}


def test_lower_case_words_are_no_places(gaz):
  text = 'It was good for the soul, and part of manning the line.'
  record = article(text, [('soul', 'GPE'), ('part', 'GPE'), ('manning', 'GPE')])
  assert article_places(record, gaz) == []


def test_people_titles_and_streets_are_no_places(gaz):
  text = ('In Alabama, Judge Hoover ruled on the crash on Newmarket Road in Cambridge, '
          'England, reported by Juan Moreno.')
  record = article(text, [('Alabama', 'GPE'), ('Hoover', 'PERSON'), ('Newmarket Road', 'FAC'),
                          ('Cambridge', 'GPE'), ('England', 'GPE'), ('Juan Moreno', 'PERSON')])
  found = resolved(record, gaz)
  assert sorted(found) == ['Alabama', 'Cambridge', 'England']
  assert found['Cambridge'][2:4] == ('GB', 'GB-ENG')
  # even when the model tags the judge's name as a place
  record = article('In Alabama, Judge Hoover ruled.', [('Alabama', 'GPE'), ('Hoover', 'GPE')])
  assert sorted(resolved(record, gaz)) == ['Alabama']


def test_abbreviations_are_never_resolved_abroad(gaz):
  text = 'Pittsburgh, Pa., Miami, Fla., Wichita, Kan., and Mobile, Ala., sent crews.'
  record = article(text, [('Pittsburgh', 'GPE'), ('Pa.', 'GPE'), ('Miami', 'GPE'),
                          ('Fla.', 'GPE'), ('Kan.', 'GPE'), ('Ala.', 'GPE')])
  found = resolved(record, gaz)
  assert {name: found[name][0] for name in ('Pa.', 'Fla.', 'Kan.', 'Ala.')} == {
      'Pa.': 'Pennsylvania', 'Fla.': 'Florida', 'Kan.': 'Kansas', 'Ala.': 'Alabama'}
  assert {found[n][3] for n in ('Wichita', 'Mobile')} == {'US-KS', 'US-AL'}


def test_german_capitalised_nouns_and_a_reporter_are_no_places(gaz):
  text = ('Im Mai sagte Juan Moreno in Berlin, die Logos und Namen in Mitte seien neu. '
          'Die Regierung in Wien schwieg.')
  matcher = load_gazetteer('de')
  assert [m.text for m in find_places(text, matcher)] == ['Berlin', 'Wien']
  record = article(text, language='de', ner_model=None)
  assert {p[P.NAME]: p[P.COUNTRY_CODE] for p in article_places(record, gaz)} == {
      'Berlin': 'DE', 'Wien': 'AT'}


# Namesakes: the small one when the article is about it.

@pytest.mark.parametrize('text, entities, name, admin1', [
    ('Voters in Paris, Ky., and Lexington turned out.', [('Paris', 'GPE'), ('Ky.', 'GPE'),
                                                         ('Lexington', 'GPE')], 'Paris', 'US-KY'),
    ('Dublin, Ohio, schools and Columbus schools closed.', [('Dublin', 'GPE'), ('Ohio', 'GPE'),
                                                           ('Columbus', 'GPE')], 'Dublin', 'US-OH'),
    ('Alexandria, Va., and Arlington approved the budget.', [('Alexandria', 'GPE'),
                                                            ('Va.', 'GPE'),
                                                            ('Arlington', 'GPE')],
     'Alexandria', 'US-VA'),
    ('Richmond officials said Virginia would pay.', [('Richmond', 'GPE'), ('Virginia', 'GPE')],
     'Richmond', 'US-VA'),
    ('Athens, Ga., police said the University of Georgia was locked down.',
     [('Athens', 'GPE'), ('Ga.', 'GPE'), ('the University of Georgia', 'ORG')], 'Athens', 'US-GA'),
    ('Brandon and Winnipeg were hit hardest in Manitoba.', [('Brandon', 'GPE'), ('Winnipeg', 'GPE'),
                                                            ('Manitoba', 'GPE')],
     'Brandon', 'CA-MB'),
])
def test_namesakes_take_the_article_s_state(gaz, text, entities, name, admin1):
  assert resolved(article(text, entities), gaz)[name][3] == admin1


def test_a_place_the_resolver_is_unsure_of_keeps_no_position(gaz):
  (springfield,) = places.resolve_places([PlaceMention('Springfield')], gaz=gaz)
  assert springfield[P.CONFIDENCE] < places.MIN_RESOLVED_CONFIDENCE
  assert (springfield[P.KIND], springfield[P.COUNTRY_CODE], springfield[P.LAT],
          springfield[P.GEONAMES_ID]) == ('city', 'US', None, None)


# The one gazetteer: cached, rebuilt when the cache is missing or corrupt.

def test_gazetteer_cache_is_rebuilt_when_corrupt_and_read_back(tmp_path, monkeypatch, gaz):
  small = gaz._replace(by_name=places.PlaceIndex({'paris': gaz.by_name.get('paris')}),
                       by_alt_name=places.PlaceIndex({}))
  built = []
  monkeypatch.setattr(places, 'build_gazetteer', lambda: built.append(1) or small)
  path = tmp_path / 'cache' / 'places.pickle'
  first = places.load_or_build_gazetteer(str(path))
  assert built == [1] and first.by_name.get('paris') == gaz.by_name.get('paris')
  again = places.load_or_build_gazetteer(str(path))
  assert built == [1] and again.by_name.get('paris') == gaz.by_name.get('paris')
  assert 'paris' in again.by_name and 'lyon' not in again.by_name
  assert pickle.loads(pickle.dumps(again)).by_name.get('paris') == gaz.by_name.get('paris')
  path.write_bytes(b'not a pickle')
  places.load_or_build_gazetteer(str(path))
  assert built == [1, 1]
  assert isinstance(pickle.loads(path.read_bytes()), places.Gazetteer)
  assert os.listdir(path.parent) == ['places.pickle']  # no temporary file left


def test_cache_path_follows_xdg_and_versions(monkeypatch, tmp_path):
  monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
  path = places.cache_path()
  assert path.startswith(str(tmp_path / 'newsbeam' / 'places-'))
  assert f'-{places.GAZETTEER_VERSION}-' in path


def test_directions_and_acronyms_are_no_towns(gaz):
  text = 'The West and the Baltic states told NATO and the EU in Brussels that talks failed.'
  record = article(text, [('West', 'GPE'), ('Baltic', 'GPE'), ('NATO', 'ORG'), ('EU', 'ORG'),
                          ('Brussels', 'GPE')])
  assert {p[P.NAME]: (p[P.PLACE], p[P.KIND]) for p in article_places(record, gaz)} == {
      'EU': ('European Union', 'region'), 'Brussels': ('Brussels', 'city')}


def test_a_famous_city_is_not_a_us_hamlet_because_the_us_is_named(gaz):
  text = 'U.S. and Russian envoys met in Geneva, the White House said.'
  record = article(text, [('U.S.', 'GPE'), ('Russian', 'NORP'), ('Geneva', 'GPE'),
                          ('the White House', 'ORG')])
  geneva = {p[P.NAME]: p for p in article_places(record, gaz)}['Geneva']
  assert geneva[P.COUNTRY_CODE] == 'CH' or geneva[P.LAT] is None
