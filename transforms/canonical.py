"""Canonical entity names within one article, and keys that group them across articles.

``canonical_name`` cleans one mention (titles, possessives, quotes, spacing);
``resolve_mentions`` then joins a PERSON's short mentions to its full name
("Putin" -> "Vladimir Putin") and gives each canonical entity the majority
label of its mentions. ``canonical_key`` folds case, accents and punctuation
("Nato" and "NATO" share ``nato``).
"""

import collections
import re
import unicodedata
from typing import NamedTuple

__all__ = ['canonical_name', 'canonical_key', 'resolve_mentions', 'Mention',
           'ResolvedMention']

PERSON = 'PERSON'

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
_EDGE_JUNK = re.compile(r'''^[\s"'(\[{]+|[\s"')\]},;:.!?]+$''')
_SPACES = re.compile(r'\s+')
_LEADING_LOWER_THE = re.compile(r'^the\s+')
_KEY_NOISE = re.compile(r'[\W_]+')


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


def canonical_key(name):
  """Case, accents, punctuation and spacing folded, to group names across articles."""
  decomposed = unicodedata.normalize('NFKD', name)
  bare = ''.join(c for c in decomposed if not unicodedata.combining(c))
  return _KEY_NOISE.sub(' ', bare.casefold()).strip()


def _full_person_names(names):
  """Key tokens of every PERSON name -> its display form."""
  full = {}
  for name, label in names:
    tokens = tuple(canonical_key(name).split())
    if label == PERSON and tokens:
      full.setdefault(tokens, name)
  return full


def _person_form(name, full, allow_same=False):
  """The one PERSON name that ends with ``name``'s words (longer, or equal if allowed)."""
  tokens = tuple(canonical_key(name).split())
  if not tokens:
    return None
  matches = {key: display for key, display in full.items()
             if (len(key) > len(tokens) or (allow_same and key == tokens))
             and key[-len(tokens):] == tokens}
  longest = max((len(k) for k in matches), default=0)
  matches = {k: v for k, v in matches.items() if len(k) == longest}
  if len(matches) == 1:
    return next(iter(matches.values()))
  return None


def resolve_mentions(mentions, label_priority=()):
  """Canonical names and majority labels for one article's mentions.

  A PERSON mention, or one that lost a personal title ("Mr Zelenskiy" tagged
  ORG), whose words end exactly one longer PERSON name of the article takes
  that name ("Putin" -> "Vladimir Putin"). A non-PERSON mention that lost an
  office title joins a PERSON only when the rest is that person's name. Each
  canonical entity then takes the label most of its mentions carry; a tie goes
  to the label of a mention written exactly as the canonical name, then to
  ``label_priority`` order. Mentions that are only a title are dropped.
  """
  cleaned = [(m, canonical_name(m.text, m.label)) for m in mentions]
  kept = [(m, c) for m, c in cleaned if c[0]]
  full = _full_person_names((name, m.label) for m, (name, _, _) in kept)
  resolved_names = []
  for mention, (name, untitled, title_kind) in kept:
    if mention.label == PERSON or title_kind == 'personal':
      name = _person_form(name, full) or name
    elif title_kind == 'office':
      name = _person_form(untitled, full, allow_same=True) or name
    resolved_names.append(name)

  # One display form per key, the first seen: "Nato" and "NATO" agree.
  display = {}
  for name in resolved_names:
    display.setdefault(canonical_key(name), name)
  votes = collections.defaultdict(collections.Counter)
  exact = collections.defaultdict(set)
  for (mention, _), name in zip(kept, resolved_names):
    key = canonical_key(name)
    votes[key][mention.label] += 1
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
          for (m, _), name in zip(kept, resolved_names)]
