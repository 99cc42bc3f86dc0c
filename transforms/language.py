"""Language detection with langdetect, seeded so results never vary."""

import apache_beam as beam

from schemas import article as A
from transforms import stage

__all__ = ['DetectLanguage', 'detect_language', 'load_detector_factory']

STAGE = 'language'

LANGDETECT_SEED = 0
MIN_LETTERS = 20  # texts with fewer letters are 'und'
MIN_CONFIDENCE = 0.70  # best probability below this is 'und'
CONFIDENCE_DIGITS = 4  # language_confidence is rounded to this many decimals
MAX_DETECT_CHARS = 10000  # langdetect reads at most this many characters

# langdetect's region-tagged codes, reduced to ISO 639-1.
_CODE_FIXES = {'zh-cn': 'zh', 'zh-tw': 'zh'}


def load_detector_factory():
  """A langdetect DetectorFactory with every profile loaded and a fixed seed."""
  from langdetect import detector_factory  # pylint: disable=import-outside-toplevel
  factory = detector_factory.DetectorFactory()
  factory.load_profile(detector_factory.PROFILES_DIRECTORY)
  factory.seed = LANGDETECT_SEED
  return factory


def detect_language(text, factory):
  """``(language, confidence)`` of a text; ``('und', None)`` when undetermined."""
  sample = (text or '')[:MAX_DETECT_CHARS]
  if sum(c.isalpha() for c in sample) < MIN_LETTERS:
    return A.UNDETERMINED_LANGUAGE, None
  from langdetect.lang_detect_exception import LangDetectException  # pylint: disable=import-outside-toplevel
  detector = factory.create()
  detector.append(sample)
  try:
    best = detector.get_probabilities()[0]
  except (LangDetectException, IndexError):
    return A.UNDETERMINED_LANGUAGE, None
  confidence = round(best.prob, CONFIDENCE_DIGITS)
  if best.prob < MIN_CONFIDENCE:
    return A.UNDETERMINED_LANGUAGE, confidence
  return _CODE_FIXES.get(best.lang, best.lang), confidence


class _DetectLanguageFn(beam.DoFn):

  def __init__(self):
    self._factory = None

  def setup(self):
    self._factory = load_detector_factory()

  def process(self, article):
    language, confidence = detect_language(article[A.TEXT], self._factory)
    yield dict(article, **{A.LANGUAGE: language,
                           A.LANGUAGE_CONFIDENCE: confidence})


class DetectLanguage(beam.PTransform):
  """Adds LANGUAGE and LANGUAGE_CONFIDENCE to every article."""

  def expand(self, pcoll):
    return pcoll | 'Detect' >> stage.ApplyStage(_DetectLanguageFn(), STAGE)
