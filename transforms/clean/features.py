"""Paragraph features for the boilerplate classifier, from one article's paragraphs alone.

Every feature is computed from the list of paragraphs of one article or page
(no HTML, no other articles), and is meant to carry across sites and
languages: lengths, stopword density against the jusText stoplist that fits
the article best, sentence shape, token kinds (URLs, handles, dates, capitals),
separators, position, neighbours and repetition within the page.
"""

import collections
import math
import re
import unicodedata

import numpy as np

__all__ = ['FEATURE_NAMES', 'STACK_FEATURE_NAMES', 'paragraph_features',
           'stack_features', 'article_stoplist']

# Stopwords.
MIN_STOPLIST_WORDS = 3  # an article needs this many stopword hits to pick a stoplist
LANGUAGE_SAMPLE_WORDS = 1000  # the stoplist is chosen from at most this many words

# Neighbours.
MISSING = -1.0  # value of a neighbour feature before the first / after the last paragraph
SHORT_WORDS = 10  # a paragraph with fewer words counts as short in page-level shares
PROSE_WORDS = 10  # ... one with this many words and a terminal stop counts as prose

# A word: letters and digits, with the combining marks of Indic and South-East
# Asian scripts (vowel signs are not alphanumeric to \w) and inner apostrophes.
_LETTER = r'(?:[^\W_]|[\u0300-\u036f\u0900-\u0dff\u0e00-\u0eff\u0f00-\u109f])'
_WORD = re.compile(rf"{_LETTER}+(?:['’]{_LETTER}+)*")
_TERMINAL_END = re.compile(r'[.!?…。！？؟।][\'"”’»)\]]*$')
# Possessive, and starting only where a run of stops starts, so a long run of
# stops is read once (the plain form was quadratic on 10,000 full stops).
_SENTENCE_END = re.compile(r'(?<![.!?…。！？؟।])[.!?…。！？؟।]++[\'"”’»)\]]*+(?=\s|$)')
# Token kinds, counted over a whole paragraph: a "token" is a run of non-space
# characters, and the patterns match whole tokens (edge punctuation allowed).
_TOKEN_START = r'(?<!\S)[^\w\s]*'
_URL = re.compile(r'(?<!\S)[^\w\s]*(?:https?://|www\.)\S+|(?<!\S)[\w-]+(?:\.[\w-]+)*\.(?:com|org|'
                  r'net|edu|gov|io|co|uk|de|fr|es|it|ru|in|info|ly)(?:/\S*)?(?!\S)', re.I)
_HANDLE = re.compile(_TOKEN_START + r'@\w')
_HASHTAG = re.compile(r'(?<!\S)#[^\W\d_]')
_EMAIL_LOCAL_CHARS = 64  # longest local part of an address (RFC 5321): bounds each try
_EMAIL = re.compile(r'[\w.+-]{1,%d}+@[\w-]++\.[\w.-]+' % _EMAIL_LOCAL_CHARS)
_DIGIT = re.compile(r'\d')
_PUNCTUATION = re.compile(r'[^\w\s]')
_URL_HINTS = ('://', 'www.', '.com', '.org', '.net', '.io', '.co', '.gov', '.edu', '.ly')
# Words that make a date: month names and abbreviations in English, German,
# French, Spanish, Italian, Portuguese and Dutch (folded), plus years and ordinals.
MONTH_WORDS = frozenset('''
jan january januar janvier enero gennaio janeiro januari feb february februar février fevrier
febrero febbraio fevereiro februari mar march märz mars marzo março maart apr april avril
abril aprile may mai mayo maggio maio mei jun june juni juin junio giugno junho jul july juli
juillet julio luglio julho aug august août agosto augustus sep sept september septembre
septiembre settembre setembro oct october oktober octobre octubre ottobre outubro nov november
novembre noviembre novembro dec december dezember décembre diciembre dicembre dezembro
'''.split())
_ORDINAL_SUFFIXES = ('st', 'nd', 'rd', 'th')
YEAR_PREFIXES = ('19', '20')  # a four-digit word starting so is a year
# Names of social networks and share targets, the same in every language.
SOCIAL_WORDS = frozenset('''
facebook twitter whatsapp linkedin instagram pinterest youtube tiktok telegram reddit
messenger flipboard snapchat bluesky mastodon threads tumblr vk weibo wechat line email
e-mail mail
'''.split())
# Words of site furniture (consent, sign-up, sharing, navigation, ads) in
# English, German, French, Spanish, Italian, Portuguese and Dutch, folded.
CUE_WORDS = frozenset('''
cookie cookies newsletter newsletters subscribe subscription subscribers unsubscribe login
logout signup sign register privacy policy terms copyright advertisement advertising advert
sponsored related comments comment share shares shared follow menu homepage home search skip
download app apps click tap trending popular recommended newsletter podcast
teilen anmelden abonnieren abonnement datenschutz werbung anzeige impressum kommentare
kommentar startseite suche folgen
partager abonnez abonner connexion publicité confidentialité commentaires accueil inscrivez
recherche suivez
compartir suscríbete suscribirse suscripción publicidad privacidad comentarios inicio
sesión buscar síguenos
condividi iscriviti pubblicità commenti seguici cerca
compartilhar partilhar assine publicidade comentários siga pesquisar
delen abonneren reacties advertentie zoeken volg
'''.split())
_SEPARATOR = re.compile(r'[|•»·►▸›«‹/]')
_BRACKETED = re.compile(r'\([^()]*\)|\[[^\[\]]*\]')
_COLON_LABEL = re.compile(r'^[^.!?]{1,30}:')
_BULLET_START = re.compile(r'^\s*(?:[-–—*•·►▸›»>+]|\d{1,2}[.)])\s')

FEATURE_NAMES = (
    # Length.
    'log_chars', 'log_words', 'word_chars_vs_prose', 'log_words_vs_median',
    # Stopwords.
    'stopword_density', 'stopword_density_vs_prose', 'article_stopword_density',
    # Sentence shape.
    'ends_terminal', 'log_sentences', 'mean_sentence_words', 'starts_upper',
    'starts_lower', 'starts_bullet', 'ends_colon', 'has_colon_label',
    'question_marks',
    # Characters and tokens.
    'punctuation_share', 'digit_share', 'url_share', 'handle_share',
    'hashtag_share', 'email_share', 'capitalised_vs_prose', 'digit_word_share',
    'date_word_share', 'all_caps_share', 'separator_share', 'comma_share',
    'bracketed_share', 'table_row', 'social_word_share', 'cue_word_share',
    # Position.
    'relative_position', 'log_from_start', 'log_from_end',
    # Neighbours.
    'prev_log_chars', 'next_log_chars', 'prev_stopword_density',
    'next_stopword_density', 'prev_ends_terminal', 'next_ends_terminal',
    'window_stopword_density', 'window_log_words',
    # Page.
    'log_paragraphs', 'short_paragraph_share', 'prose_share', 'log_repeats',
)

STACK_WINDOW = 2  # stage two sees the first stage's scores this many paragraphs away
STACK_WIDE_WINDOW = 5  # ... and their mean this many paragraphs away
STACK_FEATURE_NAMES = (
    'score', 'prev_score', 'next_score', 'prev2_score', 'next2_score',
    'window_mean_score', 'wide_window_mean_score', 'page_mean_score',
    'log_to_prev_content', 'log_to_next_content', 'inside_content_span',
    'content_share_before', 'content_share_after',
)
CONTENT_SCORE = 0.5  # a first-stage score below this marks a likely content paragraph

_STOPLISTS = None  # (names, {word: (stoplist indices)}, [frozenset]) built on first use


def _stoplist_index():
  """jusText's stoplists and a word -> stoplists index, built once per process."""
  global _STOPLISTS  # pylint: disable=global-statement
  if _STOPLISTS is None:
    import justext  # pylint: disable=import-outside-toplevel
    names = tuple(sorted(justext.get_stoplists()))
    index = collections.defaultdict(list)
    sets = []
    for position, name in enumerate(names):
      words = set()
      for entry in justext.get_stoplist(name):
        tokens = _WORD.findall(entry.casefold())
        if len(tokens) == 1:
          words.add(tokens[0])
      # Wikipedia-built lists carry English words into other scripts' lists
      # (Marathi, Nepali...): keep only words in the list's own script.
      scripts = collections.Counter(_script(w) for w in words)
      main_script = max(sorted(scripts), key=scripts.__getitem__) if scripts else None
      words = {w for w in words if _script(w) == main_script}
      sets.append(frozenset(words))
      for word in sorted(words):
        index[word].append(position)
    _STOPLISTS = (names, {w: np.array(p, dtype=np.int32) for w, p in index.items()}, sets)
  return _STOPLISTS


def _script(word):
  """Unicode script of a word's first letter, from its character name (LATIN, CYRILLIC...)."""
  letter = next((c for c in word if c.isalpha()), '')
  return unicodedata.name(letter, 'UNKNOWN').split(' ')[0] if letter else 'UNKNOWN'


def article_stoplist(words):
  """Name and stopword set of the jusText stoplist that covers most of ``words``."""
  names, index, sets = _stoplist_index()
  counts = collections.Counter(words[:LANGUAGE_SAMPLE_WORDS])
  hits = [(index[w], c) for w, c in counts.items() if w in index]
  if not hits:
    return None, frozenset()
  positions = np.concatenate([p for p, _ in hits])
  weights = np.repeat([float(c) for _, c in hits], [len(p) for p, _ in hits])
  coverage = np.bincount(positions, weights=weights, minlength=len(names))
  best = int(np.argmax(coverage))
  if coverage[best] < MIN_STOPLIST_WORDS:
    return None, frozenset()
  return names[best], sets[best]


def _fold(paragraph):
  """Key under which a paragraph repeated in the page is recognised."""
  return ' '.join(_WORD.findall(paragraph.casefold()))


def _share(count, total):
  return count / total if total else 0.0


def _is_date_word(word):
  """A folded word that is a month name, a year or a day ordinal."""
  if word in MONTH_WORDS:
    return True
  if word.isdigit():
    return len(word) == 4 and word.startswith(YEAR_PREFIXES)
  return word[-2:] in _ORDINAL_SUFFIXES and word[:-2].isdigit() and len(word) <= 4


def _own_features(paragraph, words, stopwords):
  """Features of one paragraph that need nothing but its text; ``words`` as typed."""
  text = paragraph.strip()
  chars = len(text)
  n_words = len(words)
  n_tokens = len(text.split())
  folded = [w.casefold() for w in words]
  lowered = text.casefold()
  sentences = len(_SENTENCE_END.findall(text)) or 1
  first_letter = next((c for c in text if c.isalpha()), '')
  nonspace = chars - text.count(' ') or 1
  digits = len(_DIGIT.findall(text))
  has_at = '@' in text
  urls = len(_URL.findall(text)) if any(h in lowered for h in _URL_HINTS) else 0
  return (
      math.log1p(chars), math.log1p(n_words),
      _share(sum(len(w) for w in words), n_words),
      _share(sum(w in stopwords for w in folded), n_words),
      1.0 if _TERMINAL_END.search(text) else 0.0,
      math.log1p(sentences), n_words / sentences,
      1.0 if first_letter.isupper() else 0.0,
      1.0 if first_letter.islower() else 0.0,
      1.0 if _BULLET_START.match(text) else 0.0,
      1.0 if text.endswith(':') else 0.0,
      1.0 if _COLON_LABEL.match(text) else 0.0,
      float(text.count('?') + text.count('？')),
      len(_PUNCTUATION.findall(text)) / nonspace, digits / nonspace,
      _share(urls, n_tokens),
      _share(len(_HANDLE.findall(text)) if has_at else 0, n_tokens),
      _share(len(_HASHTAG.findall(text)) if '#' in text else 0, n_tokens),
      _share(len(_EMAIL.findall(text)) if has_at else 0, n_tokens),
      _share(sum(w[0].isupper() for w in words), n_words),
      _share(sum(not w.isalpha() and any(c.isdigit() for c in w) for w in words)
             if digits else 0, n_words),
      _share(sum(_is_date_word(w) for w in folded), n_words),
      _share(sum(w.isupper() for w in words if len(w) > 1), n_words),
      _share(len(_SEPARATOR.findall(text)), max(n_words, 1)),
      _share(text.count(',') + text.count('、') + text.count('，'), max(n_words, 1)),
      _share(sum(len(m) for m in _BRACKETED.findall(text)) if '(' in text or '[' in text else 0,
             chars),
      1.0 if text.startswith('|') and text.endswith('|') else 0.0,
      _share(sum(w in SOCIAL_WORDS for w in folded), n_words),
      _share(sum(w in CUE_WORDS for w in folded), n_words),
  )


_OWN = 29  # number of values _own_features returns
_CAPITALISED = 19  # position of the capitalised-word share among them


def _weighted_mean(values, weights):
  total = weights.sum()
  return float((values * weights).sum() / total) if total else 0.0


def paragraph_features(paragraphs):
  """Feature matrix ``(len(paragraphs), len(FEATURE_NAMES))`` of one article, float32."""
  n = len(paragraphs)
  if not n:
    return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
  words = [_WORD.findall(p) for p in paragraphs]
  all_words = [w.casefold() for ws in words for w in ws]
  _, stopwords = article_stoplist(all_words)
  own = np.array([_own_features(p, w, stopwords) for p, w in zip(paragraphs, words)],
                 dtype=np.float64).reshape(n, _OWN)
  log_chars, log_words, mean_word_chars, density = own[:, 0], own[:, 1], own[:, 2], own[:, 3]
  ends_terminal = own[:, 4]
  n_words = np.array([len(w) for w in words], dtype=np.float64)
  total_words = n_words.sum()
  article_density = (density * n_words).sum() / total_words if total_words else 0.0
  # Language-dependent levels (capitals in German nouns, long compounds, how
  # much a stoplist covers) are taken relative to the page's own prose.
  prose = (n_words >= PROSE_WORDS) & (ends_terminal > 0)
  reference = n_words * prose if prose.any() else n_words
  own[:, _CAPITALISED] -= _weighted_mean(own[:, _CAPITALISED], reference)
  median_log_words = float(np.median(log_words))
  index = np.arange(n, dtype=np.float64)
  keys = [_fold(p) for p in paragraphs]
  key_counts = collections.Counter(keys)
  repeats = np.array([key_counts[k] - 1 if k else 0 for k in keys], dtype=np.float64)
  window_density = np.empty(n)
  window_words = np.empty(n)
  for i in range(n):
    lo, hi = max(0, i - 2), min(n, i + 3)
    span_words = n_words[lo:hi].sum()
    window_density[i] = (density[lo:hi] * n_words[lo:hi]).sum() / span_words if span_words else 0.0
    window_words[i] = math.log1p(span_words / (hi - lo))
  columns = [
      log_chars, log_words, mean_word_chars - _weighted_mean(mean_word_chars, reference),
      log_words - median_log_words,
      density, density - _weighted_mean(density, reference), np.full(n, article_density),
      *(own[:, j] for j in range(4, _OWN)),
      index / max(n - 1, 1), np.log1p(index), np.log1p(n - 1 - index),
      _shifted(log_chars, 1), _shifted(log_chars, -1),
      _shifted(density, 1), _shifted(density, -1),
      _shifted(ends_terminal, 1), _shifted(ends_terminal, -1),
      window_density, window_words,
      np.full(n, math.log1p(n)), np.full(n, float((n_words < SHORT_WORDS).mean())),
      np.full(n, float(((n_words >= PROSE_WORDS) & (ends_terminal > 0)).mean())),
      np.log1p(repeats),
  ]
  return np.stack(columns, axis=1).astype(np.float32)


def _shifted(values, offset):
  """``values`` of the paragraph ``offset`` before each (after, if negative), else MISSING."""
  out = np.full(len(values), MISSING)
  if offset > 0:
    out[offset:] = values[:-offset]
  else:
    out[:offset] = values[-offset:]
  return out


def _window_means(values, radius):
  """Mean of ``values`` over each position's window of ``radius`` either side."""
  n = len(values)
  sums = np.concatenate([[0.0], np.cumsum(values)])
  index = np.arange(n)
  lo = np.maximum(index - radius, 0)
  hi = np.minimum(index + radius + 1, n)
  return (sums[hi] - sums[lo]) / (hi - lo)


def stack_features(scores):
  """Second-stage features from first-stage scores of one article's paragraphs."""
  scores = np.asarray(scores, dtype=np.float64)
  n = len(scores)
  if not n:
    return np.zeros((0, len(STACK_FEATURE_NAMES)), dtype=np.float32)
  content = scores < CONTENT_SCORE
  index = np.arange(n)
  positions = np.flatnonzero(content)
  # Distance to the nearest likely-content paragraph before and after (n when none).
  if len(positions):
    before = np.searchsorted(positions, index, side='left') - 1
    after = np.searchsorted(positions, index, side='right')
    to_prev = np.where(before >= 0, index - positions[np.maximum(before, 0)], n)
    to_next = np.where(after < len(positions),
                       positions[np.minimum(after, len(positions) - 1)] - index, n)
    inside = ((index >= positions[0]) & (index <= positions[-1])).astype(np.float64)
  else:
    to_prev = to_next = np.full(n, n)
    inside = np.zeros(n)
  content_before = np.concatenate([[0], np.cumsum(content)[:-1]])
  content_after = len(positions) - np.cumsum(content)
  columns = [
      scores, _shifted(scores, 1), _shifted(scores, -1), _shifted(scores, 2),
      _shifted(scores, -2), _window_means(scores, STACK_WINDOW),
      _window_means(scores, STACK_WIDE_WINDOW), np.full(n, scores.mean()),
      np.log1p(to_prev), np.log1p(to_next), inside,
      content_before / np.maximum(index, 1), content_after / np.maximum(n - 1 - index, 1),
  ]
  return np.stack(columns, axis=1).astype(np.float32)
