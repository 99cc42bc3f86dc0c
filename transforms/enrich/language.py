"""Language detection with langdetect, seeded so results never vary, checked by script.

langdetect alone goes wrong on Chinese, Japanese and Korean text it sees
little of: its n-grams include the spaces around a word, so Chinese written
with spaces (headlines, keyword lines) reads as Korean, whose Hanja words
stand between spaces; it weighs every Latin letter like one Han character (a
whole morpheme), so a Chinese paragraph naming a few brands reads as
English; and a few n-grams give a confident answer (1.0) by chance. A text
that is mostly CJK (``script_language``) therefore gets its language from
its script when langdetect names another: Hangul is Korean, Kana is
Japanese, Han alone is Chinese (``zh``, as langdetect's ``zh-cn`` and
``zh-tw`` are reduced).

``word_count`` counts each Han and Kana character as a word (Chinese and
Japanese are written without spaces; a character is about a morpheme) and
everything else, Korean included, by spaces.
"""

import re

import apache_beam as beam

from schemas import article as A
from transforms.core import stage

__all__ = ['DetectLanguage', 'detect_language', 'load_detector_factory',
           'detect_article_language', 'shared_detector_factory', 'script_language',
           'word_count']

STAGE = 'language'

LANGDETECT_SEED = 0
MIN_LETTERS = 20  # texts with fewer letters (CJK ones weighted) are 'und'
MIN_CONFIDENCE = 0.70  # best probability below this is 'und'
CONFIDENCE_DIGITS = 4  # language_confidence is rounded to this many decimals
MAX_DETECT_CHARS = 10000  # langdetect reads at most this many characters
# One CJK character carries about as much text as this many Latin letters (a
# syllable or a morpheme, not a sound): used to weigh scripts against each other.
CJK_CHAR_LETTERS = 3
MOSTLY_CJK_SHARE = 0.5  # a text whose weighted letters are at least this share CJK is CJK
HANGUL_SHARE = 0.5  # ... and Korean when at least this share of its CJK characters is Hangul
KANA_SHARE = 0.1  # ... else Japanese when at least this share is Kana, else Chinese
# A title-only entry (no text of its own) is detected from its title when
# the title has this many letters (CJK weighted) and words (CJK characters
# count as words); a shorter one is 'und' with langdetect's confidence.
MIN_TITLE_LETTERS = 20
MIN_TITLE_WORDS = 3

# langdetect's region-tagged codes, reduced to ISO 639-1.
_CODE_FIXES = {'zh-cn': 'zh', 'zh-tw': 'zh'}

_HAN = '\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f'
_KANA = '\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9d'
_HANGUL = '\uac00-\ud7af\u1100-\u11ff\u3130-\u318f'
_HAN_CHARS = re.compile(f'[{_HAN}]')
_KANA_CHARS = re.compile(f'[{_KANA}]')
_HANGUL_CHARS = re.compile(f'[{_HANGUL}]')
# Characters counted one word each, and the CJK punctuation that separates
# them (ideographic space, brackets, full stops, full-width punctuation).
_CHARACTER_WORDS = re.compile(f'[{_HAN}{_KANA}]')
_CJK_PUNCTUATION = re.compile(
    '[\u3000-\u303f\u30fb\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]')

_SHARED_FACTORY = None  # one langdetect factory per process (profiles take ~1.4 s to load)


def load_detector_factory():
  """A langdetect DetectorFactory with every profile loaded and a fixed seed."""
  from langdetect import detector_factory  # pylint: disable=import-outside-toplevel
  factory = detector_factory.DetectorFactory()
  factory.load_profile(detector_factory.PROFILES_DIRECTORY)
  factory.seed = LANGDETECT_SEED
  return factory


def shared_detector_factory():
  """The process's one detector factory, loaded on first use (normalize and language share it)."""
  global _SHARED_FACTORY  # pylint: disable=global-statement
  if _SHARED_FACTORY is None:
    _SHARED_FACTORY = load_detector_factory()
  return _SHARED_FACTORY


def word_count(text):
  """Words of a text: each Han and Kana character one, the rest (Korean too) split by spaces."""
  if not text:
    return 0
  characters = len(_CHARACTER_WORDS.findall(text))
  if not characters:
    return len(text.split())
  rest = _CJK_PUNCTUATION.sub(' ', _CHARACTER_WORDS.sub(' ', text))
  return characters + len(rest.split())


def _weighted_letters(text):
  """``(letters with CJK characters weighted, CJK characters, Han, Kana, Hangul)``."""
  han = len(_HAN_CHARS.findall(text))
  kana = len(_KANA_CHARS.findall(text))
  hangul = len(_HANGUL_CHARS.findall(text))
  cjk = han + kana + hangul
  letters = sum(c.isalpha() for c in text)
  other = max(0, letters - cjk)
  return other + CJK_CHAR_LETTERS * cjk, cjk, han, kana, hangul


def script_language(text):
  """``(language, share)``: 'zh', 'ja' or 'ko' by script when a text is mostly CJK, else None.

  ``share`` is the CJK share of its letters, each CJK character weighted as
  CJK_CHAR_LETTERS letters.
  """
  weighted, cjk, _, kana, hangul = _weighted_letters(text or '')
  share = CJK_CHAR_LETTERS * cjk / weighted if weighted else 0.0
  if not cjk or share < MOSTLY_CJK_SHARE:
    return None, share
  if hangul >= HANGUL_SHARE * cjk:
    return 'ko', share
  if kana >= KANA_SHARE * cjk:
    return 'ja', share
  return 'zh', share  # Han alone


def _langdetect(sample, factory):
  """langdetect's best ``(language, probability)``, or None."""
  # pylint: disable-next=import-outside-toplevel
  from langdetect.lang_detect_exception import LangDetectException
  detector = factory.create()
  detector.append(sample)
  try:
    best = detector.get_probabilities()[0]
  except (LangDetectException, IndexError):
    return None
  return _CODE_FIXES.get(best.lang, best.lang), best.prob


def detect_language(text, factory, min_letters=MIN_LETTERS):
  """``(language, confidence)`` of a text; ``('und', None)`` when undetermined.

  A mostly CJK text takes its script's language when langdetect names
  another, with the CJK share of its letters as confidence (or langdetect's
  probability, when it agrees and is higher).
  """
  sample = (text or '')[:MAX_DETECT_CHARS]
  if _weighted_letters(sample)[0] < min_letters:
    return A.UNDETERMINED_LANGUAGE, None
  by_script, share = script_language(sample)
  found = _langdetect(sample, factory)
  if by_script is not None:  # langdetect's probability when it agrees and is surer
    agrees = found is not None and found[0] == by_script
    return by_script, round(max(share, found[1]) if agrees else share, CONFIDENCE_DIGITS)
  if found is None:
    return A.UNDETERMINED_LANGUAGE, None
  language, probability = found
  confidence = round(probability, CONFIDENCE_DIGITS)
  if probability < MIN_CONFIDENCE:
    return A.UNDETERMINED_LANGUAGE, confidence
  return language, confidence


def detect_article_language(article, factory):
  """``(language, confidence)`` of an article: its text, else (a title-only entry) its title.

  A title with fewer than MIN_TITLE_LETTERS letters or MIN_TITLE_WORDS words
  is 'und', with the confidence langdetect had in its best guess.
  """
  text = article.get(A.TEXT) or ''
  if _weighted_letters(text[:MAX_DETECT_CHARS])[0] >= MIN_LETTERS:
    return detect_language(text, factory)
  title = f'{article.get(A.TITLE) or ""}\n{text}'.strip()
  if (_weighted_letters(title[:MAX_DETECT_CHARS])[0] >= MIN_TITLE_LETTERS and
      word_count(title) >= MIN_TITLE_WORDS):
    return detect_language(title, factory, MIN_TITLE_LETTERS)
  if not any(c.isalpha() for c in title):
    return A.UNDETERMINED_LANGUAGE, None
  _, confidence = detect_language(title, factory, min_letters=1)
  return A.UNDETERMINED_LANGUAGE, confidence


class _DetectLanguageFn(beam.DoFn):

  def __init__(self):
    self._factory = None

  def setup(self):
    self._factory = shared_detector_factory()

  def process(self, article):
    language, confidence = detect_article_language(article, self._factory)
    yield dict(article, **{A.LANGUAGE: language,
                           A.LANGUAGE_CONFIDENCE: confidence})


class DetectLanguage(beam.PTransform):
  """Adds LANGUAGE and LANGUAGE_CONFIDENCE to every article."""

  def expand(self, pcoll):
    return pcoll | 'Detect' >> stage.ApplyStage(_DetectLanguageFn(), STAGE)
