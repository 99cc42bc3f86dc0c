import collections

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import pytest

from schemas import article as A
from tests.conftest import SAMPLE_DATED
from tests.conftest import shared_eval
from transforms.enrich.language import DetectLanguage
from transforms.enrich.language import detect_article_language
from transforms.enrich.language import detect_language
from transforms.enrich.language import load_detector_factory
from transforms.enrich.language import script_language
from transforms.enrich.language import shared_detector_factory
from transforms.enrich.language import word_count


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


# Chinese, Japanese and Korean, and scripts without spaces.

@pytest.mark.parametrize('text, expected', [
    # Chinese written with spaces reads as Korean to langdetect alone ...
    ('习近平 李强 王毅 北京 上海', 'zh'),
    ('國務院 總理 今天 主持 召開 常務 會議', 'zh'),
    ('財經 新聞 台積電 TSMC 營收 創新高', 'zh'),
    # ... and Chinese naming a few brands as English.
    ('苹果公司 Apple 发布 iPhone 16 Pro Max，售价 9999 元起。', 'zh'),
    ('现在它还赖在我的腿上睡大觉呢！', 'zh'),  # 15 characters: was 'und'
    ('新华社北京3月3日电 国务院总理今天主持召开国务院常务会议，研究部署进一步做好稳就业工作。', 'zh'),
    ('観客席には巨大な人文字が披露された。', 'ja'),
    ('東京都は3日、新型コロナウイルスの感染者が新たに確認されたと発表した。', 'ja'),
    ('타자들은 방망이를 장검처럼 휘둘렀다.', 'ko'),
    ('서울 시내 한 아파트 단지에서 화재가 발생했다. 소방당국은 진화 작업을 벌이고 있다.', 'ko'),
])
def test_chinese_japanese_and_korean(factory, text, expected):
  language, confidence = detect_language(text, factory)
  assert language == expected
  assert 0 < confidence <= 1


def test_script_language():
  assert script_language('习近平在北京会见美国总统') == ('zh', 1.0)
  assert script_language('東京都は3日に発表した')[0] == 'ja'
  assert script_language('서울 시내 한 아파트')[0] == 'ko'
  # A few CJK characters in a Latin text do not make it CJK.
  assert script_language('Breaking: Tokyo 東京 news today for everyone reading')[0] is None
  assert script_language('') == (None, 0.0)
  assert detect_language('Breaking: Tokyo 東京 news today for everyone reading',
                         load_detector_factory())[0] == 'en'


def test_word_count_counts_han_and_kana_characters_and_korean_words():
  assert word_count('北京时间3月3日，中国国家统计局发布了最新的经济数据。') == 25
  assert word_count('東京都は、発表した。') == 8
  assert word_count('서울 시내 한 아파트 단지에서') == 5
  assert word_count('The mayor — once again — spoke.') == 7  # as str.split
  assert word_count('苹果 Apple 发布 iPhone 16') == 7
  assert word_count('') == 0 and word_count(None) == 0


@pytest.mark.parametrize('title, expected', [
    ('Governo anuncia novo pacote de medidas para a economia', 'pt'),
    ('Bolsonaro e Lula disputam votos no Nordeste do país', 'pt'),
    ('Regierung beschließt neues Gesetz zur Rente', 'de'),
    ('国务院常务会议研究部署稳就业工作', 'zh'),
])
def test_title_only_entries_get_the_language_of_their_title(factory, title, expected):
  article = {A.TEXT: '', A.TITLE: title, A.TEXT_ORIGIN: A.TEXT_FROM_LINK}
  assert detect_article_language(article, factory)[0] == expected


def test_a_short_title_is_undetermined_with_a_confidence(factory):
  language, confidence = detect_article_language({A.TEXT: '', A.TITLE: 'Futebol hoje'}, factory)
  assert language == 'und' and 0 < confidence <= 1
  assert detect_article_language({A.TEXT: '', A.TITLE: '2024'}, factory) == ('und', None)
  assert detect_article_language({A.TEXT: '', A.TITLE: None}, factory) == ('und', None)
  # A text long enough is read rather than the title.
  article = {A.TEXT: 'Ceci est un article écrit en français, assez long.',
             A.TITLE: 'Governo anuncia novo pacote de medidas para a economia'}
  assert detect_article_language(article, factory)[0] == 'fr'


def test_one_detector_per_process():
  assert shared_detector_factory() is shared_detector_factory()


def test_dev_set_chinese_japanese_korean(factory):
  path = shared_eval('langid', 'sentences-dev.tsv')
  rows = [line.split('\t', 1) for line in path.read_text(encoding='utf-8').splitlines()
          if line[:3] in ('zh\t', 'ja\t', 'ko\t')]
  assert len(rows) == 30
  right = sum(detect_language(text.strip(), factory)[0] == lang for lang, text in rows)
  assert right >= 28  # langdetect alone: 24 (short ones 'und')


def test_title_only_entry_in_the_transform():
  articles = [{A.SOURCE_URI: 'a', A.TEXT: '',
               A.TITLE: 'Governo anuncia novo pacote de medidas para a economia'},
              {A.SOURCE_URI: 'b', A.TEXT: '', A.TITLE: 'Ok'}]
  with TestPipeline() as p:
    out = p | beam.Create(articles) | DetectLanguage()
    assert_that(out.records | beam.Map(lambda a: (a[A.SOURCE_URI], a[A.LANGUAGE])),
                equal_to([('a', 'pt'), ('b', 'und')]))


def test_a_title_of_few_long_words_is_undetermined(factory):
  title = 'Bundesverfassungsgerichtsentscheidung Rentenversicherungsbeiträge'  # 2 words
  language, confidence = detect_article_language({A.TEXT: '', A.TITLE: title}, factory)
  assert language == 'und' and confidence is not None
