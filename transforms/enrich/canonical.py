"""Canonical entity names within one article, and keys that group them across articles.

``trim_mention`` cuts a mention to the name it tags (no paragraph break, no
leading "the", no trailing possessive or score); ``is_junk`` tells mentions
that name nothing (numbers, symbols, lower-case words). ``canonical_name``
cleans one mention (titles, possessives, quotes, spacing); ``resolve_mentions``
then fixes labels the model gets wrong where rules can tell (a country is a
GPE; a surname said "said" is a person), joins a PERSON's short mentions to
its full name ("Putin" -> "Vladimir Putin"), names every country one way
("U.S.", "USA", "America" -> "United States") and gives each canonical entity
the majority label of its mentions. ``canonical_key`` folds case, accents and
punctuation ("Nato" and "NATO" share ``nato``).
"""

import collections
import functools
import re
import unicodedata
from typing import NamedTuple

__all__ = ['canonical_name', 'canonical_key', 'resolve_mentions', 'Mention',
           'ResolvedMention', 'trim_mention', 'is_junk', 'country_names',
           'country_display_names', 'country_name_forms', 'country_of',
           'COUNTRY_ALIASES']

PERSON = 'PERSON'
GPE = 'GPE'
ORG = 'ORG'
# Labels a country's name may carry from the model; the country is then a GPE.
# (NORP is never a country: "American" is not "America".)
COUNTRY_LABELS = frozenset(('GPE', 'LOC', 'ORG', 'PERSON', 'FAC'))
# Country names that are as often people's names: never taken from PERSON.
PERSON_LIKE_COUNTRIES = frozenset(('jordan', 'chad', 'georgia', 'israel', 'kenya',
                                   'india', 'china', 'niger', 'guinea', 'lebanon',
                                   'cuba', 'peru', 'malta', 'monaco'))
# Names of countries that pycountry does not list, or lists another way,
# with the ISO 3166-1 code of the country they name. "America" counts only
# when the model tagged it GPE ("Latin America" and "South America" are
# other names).
COUNTRY_ALIASES = {
    'US': 'US', 'U.S.': 'US', 'USA': 'US', 'U.S.A.': 'US', 'America': 'US',
    'United States of America': 'US', 'UK': 'GB', 'U.K.': 'GB', 'Britain': 'GB',
    'Great Britain': 'GB', 'UAE': 'AE', 'U.A.E.': 'AE', 'Russia': 'RU',
    'Holland': 'NL', 'Burma': 'MM', 'Ivory Coast': 'CI', 'Cape Verde': 'CV',
    'Swaziland': 'SZ', 'Macedonia': 'MK', 'Czech Republic': 'CZ', 'Turkey': 'TR',
    'Turkiye': 'TR', 'DR Congo': 'CD', 'DRC': 'CD', 'Congo-Kinshasa': 'CD',
    'Democratic Republic of Congo': 'CD', 'Congo-Brazzaville': 'CG',
    'Vatican': 'VA', 'East Timor': 'TL', 'Brunei': 'BN', 'Palestine': 'PS',
    'Micronesia': 'FM', 'Vietnam': 'VN', 'Laos': 'LA', 'Syria': 'SY', 'Iran': 'IR',
    'South Korea': 'KR', 'North Korea': 'KP', 'Taiwan': 'TW', 'Bolivia': 'BO',
    'Tanzania': 'TZ', 'Venezuela': 'VE', 'Moldova': 'MD', 'the Bahamas': 'BS',
    'the Gambia': 'GM', 'the Netherlands': 'NL', 'the Philippines': 'PH',
}
ALIASES_FOR_GPE_ONLY = frozenset(('America',))
# The name newsbeam gives a country where pycountry's is not the one news uses.
COUNTRY_DISPLAY_NAMES = {
    'US': 'United States', 'GB': 'United Kingdom', 'RU': 'Russia', 'TR': 'Turkey',
    'VN': 'Vietnam', 'CD': 'Democratic Republic of the Congo',
    'CG': 'Republic of the Congo', 'VA': 'Vatican City', 'PS': 'Palestine',
    'FM': 'Micronesia', 'BN': 'Brunei', 'LA': 'Laos', 'SY': 'Syria', 'IR': 'Iran',
    'KR': 'South Korea', 'KP': 'North Korea', 'TW': 'Taiwan', 'BO': 'Bolivia',
    'TZ': 'Tanzania', 'VE': 'Venezuela', 'MD': 'Moldova', 'CZ': 'Czech Republic',
}
# Verbs of speech: "<name> said" is a person, whatever the model says.
SPEECH_VERBS = ('said', 'says', 'told', 'added', 'asked', 'replied', 'wrote',
                'tweeted', 'insisted', 'argued', 'noted', 'explained', 'warned')
# Labels whose names keep a leading "the": titles of works ("The Knot").
KEEP_THE_LABELS = frozenset((PERSON, 'WORK_OF_ART'))
# Mentions in capitals (headlines, datelines) are where the model errs most:
# their label counts this much against one written in mixed case.
SHOUTED_VOTE = 0.5
MIN_SHOUTED_LETTERS = 5  # shorter capitals are acronyms (NATO, UN)
# Names whose leading "The" is part of the name.
NAMES_WITH_THE = frozenset(('the hague', 'the gambia', 'the bahamas'))

# Honorifics that only ever precede a person's name.
PERSONAL_HONORIFICS = (
    'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'professor', 'sir', 'dame',
    'lord', 'lady', 'rev', 'reverend', 'fr', 'father', 'rabbi', 'imam',
)
# Offices and ranks written before a name. Royal and religious styles (King,
# Queen, Prince, Pope, Sheikh, ...) are left in: they are part of how such
# people are named, and without them "Prince Harry" would become "Harry".
OFFICE_TITLES = (
    'president', 'vice president', 'vice-president', 'president-elect',
    'prime minister', 'deputy prime minister', 'first minister', 'minister',
    'foreign minister', 'defence minister', 'defense minister',
    'interior minister', 'finance minister', 'health minister',
    'foreign secretary', 'home secretary', 'health secretary',
    'defence secretary', 'defense secretary', 'secretary of state',
    'secretary-general', 'secretary general', 'secretary', 'chancellor',
    'senator', 'sen', 'representative', 'rep', 'congressman', 'congresswoman',
    'governor', 'gov', 'mayor', 'ambassador', 'judge', 'justice',
    'chief justice', 'attorney general', 'attorney-general', 'general', 'gen',
    'lieutenant general', 'lieutenant-general', 'lt gen', 'lt. gen',
    'major general', 'major-general', 'maj gen', 'maj. gen',
    'brigadier general', 'brigadier-general', 'brigadier', 'colonel', 'col',
    'lieutenant colonel', 'lieutenant-colonel', 'lt col', 'lieutenant', 'lt',
    'captain', 'capt', 'major', 'sergeant', 'sgt', 'admiral', 'adm',
    'rear admiral', 'vice admiral', 'commander', 'field marshal', 'marshal',
    'chairman', 'chairwoman', 'chair', 'ceo', 'chief executive', 'director',
    'spokesman', 'spokeswoman', 'spokesperson', 'commissioner', 'premier',
    'speaker', 'opposition leader', 'leader', 'detective', 'inspector',
    'officer', 'coach', 'manager',
)
_TITLE_ALTERNATION = '|'.join(
    re.escape(t).replace(r'\ ', r'\s+').replace(r'\.', r'\.?')
    for t in sorted(PERSONAL_HONORIFICS + OFFICE_TITLES, key=len, reverse=True))
# A title at the start of a mention, optionally abbreviated with a dot.
_LEADING_TITLE = re.compile(rf'^(?:{_TITLE_ALTERNATION})\.?(?:\s+|$)', re.IGNORECASE)
_TITLE_ONLY = re.compile(rf'^(?:(?:{_TITLE_ALTERNATION})\.?[\s-]*)+$', re.IGNORECASE)
_HONORIFIC = re.compile(
    rf'^(?:{"|".join(re.escape(t) for t in PERSONAL_HONORIFICS)})\b\.?(?:\s|$)',
    re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:['’]s|(?<=s)['’])$", re.IGNORECASE)
_QUOTES = str.maketrans({'‘': "'", '’': "'", '‚': "'", '‛': "'", '“': '"',
                         '”': '"', '„': '"', '‟': '"', '«': '"', '»': '"'})
_EDGE_JUNK = re.compile(r'''^[\s"'(\[{]++(?:[\s"')\]},;:.!?]*+$)?'''  # linear
                        r'''|(?<![\s"')\]},;:.!?])[\s"')\]},;:.!?]++$''')
_SPACES = re.compile(r'\s+')
_LEADING_LOWER_THE = re.compile(r'^the\s+')
_KEY_NOISE = re.compile(r'[\W_]+')
_PARAGRAPH_BREAK = re.compile(r'(?<!\s)[^\S\n]*+\n\s*+')  # linear
_LEADING_THE = re.compile(r'^[Tt]he\s+')
# Articles before a country's name in the languages newsbeam tags: "la
# France", "die Schweiz", "el Perú" name the country without them.
_LEADING_ARTICLE = re.compile(
    r"^(?:the|la|le|les|l['’]|el|los|las|die|der|das|il|lo|o|a|os|as)\s*(?<=\s|['’])",
    re.IGNORECASE)
# What a span may carry that is not the name: a possessive split off ("Owens
# 's"), an opening bracket ("Kiksis ("), quotes and punctuation at either end.
_TRAILING_NOISE = re.compile(r"""(?:(?<!\s)\s++['’]s"""  # linear
                             r"""|(?<![\s"'(\[{,;:!?*])[\s"'(\[{,;:!?*]++)$""")
_LEADING_NOISE = re.compile(r"""^[\s"'(\[{,;:!?*-]+""")
_HAS_LETTER = re.compile(r'[^\W\d_]')
_SPEECH_AFTER = re.compile(rf'^\s*+,?\s*+(?:{"|".join(SPEECH_VERBS)})\b')


class Mention(NamedTuple):
  text: str
  label: str
  start: int
  end: int


class ResolvedMention(NamedTuple):
  text: str
  label: str  # the canonical entity's majority label
  start: int
  end: int
  canonical: str


def _clean(text):
  text = _SPACES.sub(' ', text.translate(_QUOTES)).strip()
  previous = None
  while previous != text:
    previous = text
    text = _EDGE_JUNK.sub('', text)
    text = _POSSESSIVE.sub('', text).strip()
  return text


def _trim_piece(text, start, label):
  """One piece of a mention without edge noise (and leading "the" unless a person's); or None."""
  previous = None
  while previous != text:
    previous = text
    match = _LEADING_NOISE.match(text)
    if match:
      text, start = text[match.end():], start + match.end()
    if label not in KEEP_THE_LABELS and canonical_key(text)[:4] == 'the ' and (
        canonical_key(text) not in NAMES_WITH_THE):
      match = _LEADING_THE.match(text)
      if match:
        text, start = text[match.end():], start + match.end()
    text = _TRAILING_NOISE.sub('', text)
    for opening, closing in ('()', '[]'):
      if text.endswith(closing) and text.count(opening) < text.count(closing):
        text = text[:-1]  # "(AP)" cut to "AP)": the bracket closes nothing
  return (text, start) if text else None


def trim_mention(mention):
  """The mention cut to the name(s) it tags: a list of Mentions (empty when none is left).

  A mention never crosses a paragraph break (each side is a mention of its
  own); a leading "the" (except "The Hague") and edge noise are cut off,
  offsets moved with them.
  """
  pieces, offset = [], 0
  for part in _PARAGRAPH_BREAK.split(mention.text):
    at = mention.text.index(part, offset) if part else offset
    offset = at + len(part)
    trimmed = _trim_piece(part, mention.start + at, mention.label)
    if trimmed:
      text, start = trimmed
      pieces.append(Mention(text, mention.label, start, start + len(text)))
  return pieces


def is_junk(text):
  """Whether a mention names nothing: one character, no letter, or lower-case words only.

  Lower case counts only in scripts that have case ("½", "2024", "the",
  "republics" are junk; "中国" is not).
  """
  text = text.strip()
  if len(text) < 2 or not _HAS_LETTER.search(text):
    return True
  cased = [c for c in text if c.lower() != c.upper()]
  return bool(cased) and not any(c.isupper() for c in cased)


@functools.lru_cache(maxsize=None)
def country_display_names():
  """ISO 3166-1 alpha-2 code -> the name newsbeam gives the country.

  COUNTRY_DISPLAY_NAMES', else pycountry's common name, else its name.
  """
  import pycountry  # pylint: disable=import-outside-toplevel
  return {c.alpha_2: (COUNTRY_DISPLAY_NAMES.get(c.alpha_2) or
                      getattr(c, 'common_name', None) or c.name)
          for c in pycountry.countries}


@functools.lru_cache(maxsize=None)
def country_name_forms(language='en'):
  """``(name, code)`` of every way to write a country: in English, in ``language``, aliases.

  pycountry's names, official names and common names, and their
  translations into ``language`` (pycountry's iso3166-1 catalogues; inverted
  forms such as "Korea, Republic of" left out), then COUNTRY_ALIASES.
  """
  import gettext  # pylint: disable=import-outside-toplevel
  import pycountry  # pylint: disable=import-outside-toplevel
  try:
    translate = gettext.translation('iso3166-1', pycountry.LOCALES_DIR,
                                    languages=[language]).gettext
  except OSError:
    translate = None
  display = country_display_names()
  forms = []
  for country in pycountry.countries:
    names = [n for n in (country.name, getattr(country, 'official_name', None),
                         getattr(country, 'common_name', None)) if n]
    if translate:
      names += [translate(n) for n in names]
    names.append(display[country.alpha_2])
    forms += [(n, country.alpha_2) for n in dict.fromkeys(names) if ',' not in n]
  return tuple(forms) + tuple(COUNTRY_ALIASES.items())


@functools.lru_cache(maxsize=None)
def country_names(language='en'):
  """``canonical_key`` of every name of a country (see country_name_forms) -> display name.

  A leading "the" is dropped from the keys ("the State of Palestine").
  """
  display = country_display_names()
  names = {}
  for name, code in country_name_forms(language):
    for key in {canonical_key(name), canonical_key(_LEADING_THE.sub('', name))}:
      if name in COUNTRY_ALIASES:
        names[key] = display[code]
      else:
        names.setdefault(key, display[code])
  return names


def country_of(name, label, language='en'):
  """The display name of the country a mention names (in English or ``language``), or None.

  A mention's leading article counts only when the name without it is a
  country ("la France"; "El Salvador" is one with it, "Salvador" none).
  """
  names = country_names(language or 'en')
  key = canonical_key(name)
  if key not in names:
    key = canonical_key(_LEADING_ARTICLE.sub('', name))
  found = names.get(key)
  if found is None or label not in COUNTRY_LABELS:
    return None
  if label == PERSON and key in PERSON_LIKE_COUNTRIES:
    return None
  if label != GPE and key in _GPE_ONLY_KEYS:
    return None
  return found


def strip_titles(text):
  """Removes leading titles; returns ``(name, had_title)``. ``name`` may be empty."""
  had_title = False
  while True:
    match = _LEADING_TITLE.match(text)
    if not match:
      return text, had_title
    had_title = True
    text = text[match.end():].lstrip(' -')


def canonical_name(text, label):
  """One mention's name without titles, possessives, stray quotes or extra spaces.

  Returns ``(name, untitled, title_kind)``: ``name`` is the name to use as it
  stands ('' when the mention is only a title); ``untitled`` the name with
  every leading title removed; ``title_kind`` is 'personal' (Mr, Dr ...),
  'office' (President, General ...) or None. Office titles are removed from
  PERSON mentions only: "General Motors" and "Premier League" stay whole.
  """
  text = _clean(text)
  if _TITLE_ONLY.match(text):
    return '', '', 'office'
  untitled, had_title = strip_titles(text)
  untitled = _clean(untitled)
  title_kind = None
  if had_title:
    title_kind = 'personal' if _HONORIFIC.match(text) else 'office'
  if label == PERSON or title_kind == 'personal':
    return untitled, untitled, title_kind
  return _LEADING_LOWER_THE.sub('', text), untitled, title_kind


@functools.lru_cache(maxsize=1 << 16)
def canonical_key(name):
  """Case, accents, punctuation and spacing folded, to group names across articles."""
  decomposed = unicodedata.normalize('NFKD', name)
  bare = ''.join(c for c in decomposed if not unicodedata.combining(c))
  return _KEY_NOISE.sub(' ', bare.casefold()).strip()


_GPE_ONLY_KEYS = frozenset(canonical_key(a) for a in ALIASES_FOR_GPE_ONLY)


def _full_person_names(names):
  """Key tokens of every PERSON name -> its display form."""
  full = {}
  for name, label in names:
    tokens = tuple(canonical_key(name).split())
    if label == PERSON and tokens:
      full.setdefault(tokens, name)
  return full


def _person_form(name, full, allow_same=False):
  """The one PERSON name that ends with ``name``'s words (longer, or equal if allowed).

  A single word that ends no PERSON name may also be the first word of
  exactly one ("Wang" -> "Wang Donghai", "Hillary" -> "Hillary Clinton").
  """
  tokens = tuple(canonical_key(name).split())
  if not tokens:
    return None
  for position in (slice(-len(tokens), None), slice(0, len(tokens))):
    matches = {key: display for key, display in full.items()
               if (len(key) > len(tokens) or (allow_same and key == tokens))
               and key[position] == tokens}
    longest = max((len(k) for k in matches), default=0)
    matches = {k: v for k, v in matches.items() if len(k) == longest}
    if len(matches) == 1:
      return next(iter(matches.values()))
    if matches or len(tokens) > 1:
      return None
  return None


def _is_shouted(text):
  """Whether a mention is written in capitals, as headlines and datelines are ("JOHANNESBURG")."""
  letters = [c for c in text if c.isalpha()]
  return len(letters) >= MIN_SHOUTED_LETTERS and all(c.isupper() for c in letters)


def _is_said(text, mention):
  """Whether a verb of speech follows the mention in the text ("Trump said")."""
  return bool(_SPEECH_AFTER.match(text[mention.end:mention.end + 40]))


def _fix_labels(kept, text, language, is_big_city):
  """Labels rules can tell better than the model: countries, cities, speakers.

  Returns ``(mention, cleaned)`` pairs: a country's name (any of
  COUNTRY_LABELS) becomes GPE and its display name; a mention followed by a
  verb of speech whose name is a PERSON elsewhere in the article becomes
  PERSON; an ORG or PERSON named like a big city (``is_big_city``) becomes
  GPE, unless it is part of a longer PERSON name of the article.
  """
  fixed = []
  for mention, (name, untitled, title_kind) in kept:
    country = country_of(name, mention.label, language)
    if country:
      fixed.append((mention._replace(label=GPE), (country, country, None)))
    else:
      fixed.append((mention, (name, untitled, title_kind)))
  person_keys = {canonical_key(name) for m, (name, _, _) in fixed if m.label == PERSON}
  full = _full_person_names((name, m.label) for m, (name, _, _) in fixed)
  relabeled = []
  for mention, cleaned in fixed:
    if (text is not None and mention.label not in (PERSON, GPE) and _is_said(text, mention)
        and (canonical_key(cleaned[0]) in person_keys or _person_form(cleaned[0], full))):
      mention = mention._replace(label=PERSON)
    elif (is_big_city is not None and mention.label in (PERSON, ORG) and
          not cleaned[2] and is_big_city(cleaned[0]) and not _person_form(cleaned[0], full)):
      mention = mention._replace(label=GPE)
    relabeled.append((mention, cleaned))
  return relabeled


def resolve_mentions(mentions, label_priority=(), text=None, language=None,
                     is_big_city=None):
  """Canonical names and labels for one article's mentions (in ``text``, when given).

  ``language`` (ISO 639-1) names countries written in it in English
  ("Allemagne" -> "Germany"), so they group across languages;
  ``is_big_city(name)`` tells the names of big cities.

  Mentions are trimmed (``trim_mention``) and junk dropped (``is_junk``);
  labels fixed where rules can tell (``_fix_labels``; the verb-of-speech rule
  needs ``text``). A PERSON mention, an ORG one, or one that lost a personal
  title ("Mr Zelenskiy" tagged ORG), whose words end exactly one longer
  PERSON name of the article takes that name and becomes PERSON ("Putin" ->
  "Vladimir Putin"). A non-PERSON mention that lost an office title joins a
  PERSON only when the rest is that person's name. Each canonical entity then
  takes the label most of its mentions carry; a tie goes to the label of a
  mention written exactly as the canonical name, then to ``label_priority``
  order. Mentions that are only a title are dropped.
  """
  trimmed = [piece for m in mentions for piece in trim_mention(m)
             if not is_junk(piece.text)]
  cleaned = [(m, canonical_name(m.text, m.label)) for m in trimmed]
  kept = _fix_labels([(m, c) for m, c in cleaned if c[0]], text, language, is_big_city)
  full = _full_person_names((name, m.label) for m, (name, _, _) in kept)
  resolved = []
  for mention, (name, untitled, title_kind) in kept:
    person = None
    if mention.label in (PERSON, ORG) or title_kind == 'personal':
      person = _person_form(name, full)
    if person is None and title_kind == 'office' and mention.label != PERSON:
      person = _person_form(untitled, full, allow_same=True)
    if person:
      name, mention = person, mention._replace(label=PERSON)
    resolved.append((mention, name))

  # One display form per key, the first seen not in capitals: "Nato" and
  # "NATO" agree, "JOHANNESBURG" (a dateline) shows as "Johannesburg".
  display = {}
  for _, name in sorted(resolved, key=lambda item: _is_shouted(item[1])):
    display.setdefault(canonical_key(name), name)
  votes = collections.defaultdict(collections.Counter)
  exact = collections.defaultdict(set)
  for mention, name in resolved:
    key = canonical_key(name)
    votes[key][mention.label] += SHOUTED_VOTE if _is_shouted(mention.text) else 1
    if _clean(mention.text) == display[key]:
      exact[key].add(mention.label)
  priority = {label: i for i, label in enumerate(label_priority)}

  def majority(key):
    return min(votes[key], key=lambda label: (
        -votes[key][label], label not in exact[key],
        priority.get(label, len(priority)), label))

  labels = {key: majority(key) for key in votes}
  return [ResolvedMention(m.text, labels[canonical_key(name)], m.start, m.end,
                          display[canonical_key(name)])
          for m, name in resolved]
