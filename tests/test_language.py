import collections

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import pytest

from schemas import article as A
from tests.conftest import SAMPLE_DATED
from tests.conftest import shared_eval
from transforms.language import DetectLanguage
from transforms.language import detect_language
from transforms.language import load_detector_factory


@pytest.fixture(scope='module')
def factory():
  return load_detector_factory()


def test_samples_are_english(factory):
  assert detect_language(SAMPLE_DATED.read_text(encoding='utf-8'), factory) == ('en', 1.0)


def test_short_text_is_undetermined(factory):
  assert detect_language('OK then', factory) == ('und', None)
  assert detect_language('', factory) == ('und', None)
  assert detect_language('1234 5678 !!!! ---- 99', factory) == ('und', None)


def test_region_codes_are_reduced(factory):
  language, _ = detect_language('我们今天在北京开会，讨论了很多关于经济发展的问题和未来的计划。', factory)
  assert language == 'zh'


def test_results_are_identical_across_factories():
  text = 'Dies ist ein kurzer deutscher Satz, aber nicht sehr lang.'
  results = {detect_language(text, load_detector_factory()) for _ in range(3)}
  assert len(results) == 1


def test_dev_set_accuracy_by_length(factory):
  path = shared_eval('langid', 'sentences-dev.tsv')
  rows = [line.split('\t', 1) for line in path.read_text(encoding='utf-8').splitlines()
          if '\t' in line]
  hits = collections.Counter()
  totals = collections.Counter()
  for lang, text in rows:
    got, _ = detect_language(text.strip(), factory)
    if got == 'und':
      continue
    totals['all'] += 1
    hits['all'] += got == lang
  # langdetect knows 55 of the 75 languages; on those it is right most of the time.
  assert totals['all'] > 400
  assert hits['all'] / totals['all'] > 0.6


def test_detect_language_transform():
  articles = [{A.SOURCE_URI: 'a', A.TEXT: 'Ceci est un article écrit en français, assez long.'},
              {A.SOURCE_URI: 'b', A.TEXT: 'ok'}]
  with TestPipeline() as p:
    out = p | beam.Create(articles) | DetectLanguage()
    assert_that(out.records | beam.Map(lambda a: (a[A.SOURCE_URI], a[A.LANGUAGE])),
                equal_to([('a', 'fr'), ('b', 'und')]))
