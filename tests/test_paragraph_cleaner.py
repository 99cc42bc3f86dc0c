import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO
from tests.conftest import shared_eval
from transforms.clean import classifier as pc
from transforms.clean import features as pf

ENGLISH = [
    'The city council voted on Tuesday to expand the bus network, a decision that '
    'supporters said would cut commuting times for thousands of residents.',
    'Officials said the first new routes would open in the spring, and that the '
    'cost would be covered by a mix of state grants and fare revenue.',
    'Critics argued that the plan did little for the outer suburbs, where most of '
    'the growth in population has been over the past decade.',
]
GERMAN = [
    'Die Regierung hat am Dienstag angekündigt, dass sie die Steuern auf Kraftstoff '
    'im kommenden Jahr erhöhen wird, um den Ausbau der Bahn zu finanzieren.',
    'Die Opposition kritisierte den Plan scharf und warf der Koalition vor, die '
    'Pendler auf dem Land mit den höheren Kosten allein zu lassen.',
    'Ein Sprecher des Ministeriums sagte, die Einnahmen würden vollständig in die '
    'Sanierung von Strecken und Bahnhöfen fließen.',
]
SPANISH = [
    'El gobierno anunció el martes que subirá los impuestos sobre el combustible el '
    'próximo año para financiar la ampliación de la red ferroviaria.',
    'La oposición criticó duramente el plan y acusó a la coalición de dejar solos a '
    'los trabajadores que viven lejos de las ciudades.',
    'Un portavoz del ministerio dijo que los ingresos se destinarán por completo a '
    'la renovación de las líneas y de las estaciones.',
]
FRENCH = [
    'Le gouvernement a annoncé mardi une hausse des taxes sur le carburant l’an '
    'prochain afin de financer l’extension du réseau ferroviaire.',
    'L’opposition a vivement critiqué ce projet, accusant la majorité de laisser '
    'les habitants des zones rurales payer la facture.',
    'Un porte-parole du ministère a précisé que les recettes seraient entièrement '
    'consacrées à la rénovation des lignes et des gares.',
]
MENU = 'Home | News | Sport | Weather'
COOKIES = ('We use cookies to give you the best experience on our website. By continuing '
           'to browse you agree to our use of cookies. Accept all')
SHARE = 'Share on Facebook | Twitter'


@pytest.fixture(scope='module')
def model():
  return pc.load_cleaner_model()


# Features.


def test_features_have_declared_shape_names_and_type():
  features = pf.paragraph_features(ENGLISH + [MENU])
  assert features.shape == (4, len(pf.FEATURE_NAMES))
  assert features.dtype == np.float32
  assert len(set(pf.FEATURE_NAMES)) == len(pf.FEATURE_NAMES)
  assert pf.paragraph_features([]).shape == (0, len(pf.FEATURE_NAMES))
  assert np.isfinite(features).all()


def test_features_exact_values_on_a_small_page():
  paragraphs = ['Home | News | Sport', 'Follow @newsbeam or mail desk@example.com today',
                'Home | News | Sport']
  row = dict(zip(pf.FEATURE_NAMES, pf.paragraph_features(paragraphs)[0].tolist()))
  assert row['log_chars'] == pytest.approx(math.log1p(19))
  assert row['log_words'] == pytest.approx(math.log1p(3))
  assert row['word_chars_vs_prose'] == pytest.approx(13 / 3 - 65 / 14)
  assert row['separator_share'] == pytest.approx(2 / 3)
  assert row['ends_terminal'] == 0.0
  assert row['starts_upper'] == 1.0
  assert row['capitalised_vs_prose'] == pytest.approx(1.0 - 7 / 14)
  assert row['relative_position'] == 0.0
  assert row['log_from_start'] == 0.0
  assert row['log_from_end'] == pytest.approx(math.log1p(2))
  assert row['prev_log_chars'] == pf.MISSING
  assert row['next_log_chars'] == pytest.approx(math.log1p(len(paragraphs[1])))
  assert row['log_repeats'] == pytest.approx(math.log1p(1))
  assert row['log_paragraphs'] == pytest.approx(math.log1p(3))
  assert row['short_paragraph_share'] == 1.0
  middle = dict(zip(pf.FEATURE_NAMES, pf.paragraph_features(paragraphs)[1].tolist()))
  assert middle['handle_share'] == pytest.approx(1 / 6)
  assert middle['email_share'] == pytest.approx(1 / 6)
  assert middle['log_repeats'] == 0.0
  assert middle['relative_position'] == 0.5


def test_token_kind_shares():
  row = dict(zip(pf.FEATURE_NAMES, pf.paragraph_features(
      ['Posted March 3rd, 2024 at www.example.com #news (photo)'])[0].tolist()))
  assert row['url_share'] == pytest.approx(1 / 8)
  assert row['hashtag_share'] == pytest.approx(1 / 8)
  assert row['date_word_share'] == pytest.approx(3 / 10)
  assert row['bracketed_share'] == pytest.approx(7 / 55)


@pytest.mark.parametrize('paragraphs, name', [
    (ENGLISH, 'English'), (GERMAN, 'German'), (SPANISH, 'Spanish'), (FRENCH, 'French')])
def test_article_stoplist_fits_the_language(paragraphs, name):
  words = [w.casefold() for p in paragraphs for w in p.split()]
  assert pf.article_stoplist(words)[0] == name


def test_article_stoplist_of_text_without_stopwords():
  assert pf.article_stoplist(['qqq', 'zzz']) == (None, frozenset())


def test_stack_features_exact_values():
  rows = pf.stack_features([0.9, 0.1, 0.2]).tolist()
  assert [dict(zip(pf.STACK_FEATURE_NAMES, r))['inside_content_span'] for r in rows] == [0, 1, 1]
  first = dict(zip(pf.STACK_FEATURE_NAMES, rows[0]))
  assert first['score'] == pytest.approx(0.9)
  assert first['prev_score'] == pf.MISSING
  assert first['next_score'] == pytest.approx(0.1)
  assert first['window_mean_score'] == pytest.approx(0.4)
  assert first['page_mean_score'] == pytest.approx(0.4)
  assert first['log_to_prev_content'] == pytest.approx(math.log1p(3))
  assert first['log_to_next_content'] == pytest.approx(math.log1p(1))
  assert pf.stack_features([]).shape == (0, len(pf.STACK_FEATURE_NAMES))


# The packaged model.


def test_packaged_model_loads(model):
  assert model.version == 'paragraph_cleaner-v1'
  assert set(pc.PATHS) <= set(model.thresholds) <= set(pc.PATHS) | {pc.SHORT}
  assert all(0.5 <= t < 1.0 for t in model.thresholds.values())
  assert len(model.stages) == 2
  assert pc.DEFAULT_MODEL_PATH.stat().st_size < 5 << 20


def test_obvious_boilerplate_scores_high_and_prose_low(model):
  page = ([MENU, 'Politics', 'Sign in', 'Search'] + ENGLISH +
          [SHARE, 'Related stories', COOKIES, 'About us | Contact | Careers'])
  decisions = dict(zip(page, pc.classify_paragraphs(page, model, 'text')))
  for line in (MENU, 'Sign in', 'Search'):
    assert decisions[line][0], (line, decisions[line][1])
  # Short prompts right after the prose of a short page score well above it; the
  # rules before the classifier remove them for sure.
  for line in (SHARE, 'Related stories'):
    assert decisions[line][1] >= 0.5, (line, decisions[line][1])
  for line in ENGLISH:
    assert not decisions[line][0], (line, decisions[line][1])
    assert decisions[line][1] < 0.35, (line, decisions[line][1])
  from transforms.clean.boilerplate import clean_paragraphs  # pylint: disable=import-outside-toplevel
  from transforms.clean.rules import DEFAULT_RULES  # pylint: disable=import-outside-toplevel
  kept, _ = clean_paragraphs(page, DEFAULT_RULES, model, 'text')
  assert kept[:len(ENGLISH)] == ENGLISH
  assert not {MENU, 'Sign in', 'Search', SHARE, 'Related stories', COOKIES} & set(kept)


def test_cookie_banner_is_left_to_the_rules():
  """Consent text reads like prose to the classifier; the rules before it remove it."""
  from transforms.clean.rules import apply_rules  # pylint: disable=import-outside-toplevel
  assert apply_rules(COOKIES)[1] == [('consent', COOKIES)]


@pytest.mark.parametrize('prose', [ENGLISH, GERMAN, SPANISH, FRENCH])
@pytest.mark.parametrize('path', pc.PATHS)
def test_prose_is_kept_in_several_languages(model, prose, path):
  decisions = pc.classify_paragraphs([MENU] + prose + [SHARE], model, path)
  assert [removed for removed, _ in decisions[1:-1]] == [False] * len(prose)
  assert all(score < 0.5 for _, score in decisions[1:-1])


def test_scores_are_rounded_and_deterministic(model):
  article = [MENU] + GERMAN + [COOKIES]
  scores = model.score_paragraphs(article)
  assert scores == model.score_paragraphs(list(article))
  assert all(round(s, pc.SCORE_DECIMALS) == s and 0.0 <= s <= 1.0 for s in scores)


def test_guard_keeps_everything_when_all_would_go(model):
  everything = pc.CleanerModel(version='test', thresholds={'text': 0.0, 'html': 0.0},
                               stages=model.stages)
  decisions = pc.classify_paragraphs([MENU, SHARE], everything, 'text')
  assert [removed for removed, _ in decisions] == [False, False]
  assert [score for _, score in decisions] == model.score_paragraphs([MENU, SHARE])
  assert pc.classify_paragraphs([], model, 'text') == []


def test_short_text_inputs_have_their_own_threshold(model):
  short = pc.CleanerModel(version='test', thresholds={'text': 0.9, 'html': 0.8, 'short': 0.7},
                          stages=model.stages)
  assert short.threshold('text', pc.SHORT_ARTICLE_PARAGRAPHS) == 0.7
  assert short.threshold('text', pc.SHORT_ARTICLE_PARAGRAPHS + 1) == 0.9
  assert short.threshold('html', 3) == 0.8
  assert short.threshold('text') == 0.9


def test_unknown_path_is_an_error(model):
  with pytest.raises(ValueError, match='unknown path'):
    pc.classify_paragraphs(ENGLISH, model, 'pdf')


def test_model_file_that_does_not_fit_is_an_error(tmp_path):
  document = json.loads(pc.DEFAULT_MODEL_PATH.read_text(encoding='utf-8'))
  document['feature_names'] = document['feature_names'][:-1]
  path = tmp_path / 'model.json'
  path.write_text(json.dumps(document), encoding='utf-8')
  with pytest.raises(pc.CleanerModelError, match='other features'):
    pc.load_cleaner_model(path)
  with pytest.raises(pc.CleanerModelError, match='cannot read'):
    pc.load_cleaner_model(tmp_path / 'missing.json')


# Training.


def _train_cleaner():
  spec = importlib.util.spec_from_file_location('train_cleaner', REPO / 'scripts' / 'train_cleaner.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


GOLD = {'articleBody': 'Intro paragraph of the story with enough words in it.\n\nJava\n\n'
                       'Louisiana\t28.2\n\nThe closing paragraph of the story, also long enough.',
        'title': 'Story'}


def test_labels_of_short_lines_follow_the_content_span_and_table_cells():
  tc = _train_cleaner()
  paragraphs = ['Java', 'Menu', 'Intro paragraph of the story with enough words in it.', 'Java',
                '28.2', 'Louisiana', 'The closing paragraph of the story, also long enough.',
                'Contact us', 'Java']
  labels, _ = tc.label_paragraphs(paragraphs, tc.GoldIndex(GOLD))
  assert labels == [tc.UNLABELLED, tc.BOILERPLATE, tc.CONTENT, tc.CONTENT, tc.CONTENT,
                    tc.CONTENT, tc.CONTENT, tc.BOILERPLATE, tc.UNLABELLED]


def test_short_windows_with_leftovers_are_deterministic_and_labelled():
  tc = _train_cleaner()
  content = [f'Paragraph number {i} of the story says something long enough.' for i in range(8)]
  html = ('p1', 'site.org', 'html', content, [tc.CONTENT] * 8, [1.0] * 8)
  text = ('p1', 'site.org', 'text', ['Home', 'Sign in'] + content,
          [tc.BOILERPLATE] * 2 + [tc.CONTENT] * 8, [0.0] * 2 + [1.0] * 8)
  windows = tc.short_slices([html, text])
  assert windows == tc.short_slices([html, text])
  leftovers = windows[tc.SHORT_SLICES:]
  assert len(leftovers) == tc.LEFTOVER_SLICES
  for _, _, path, paragraphs, labels, _ in leftovers:
    assert path == tc.SHORT_PATH
    assert 1 <= labels.count(tc.BOILERPLATE) <= 2
    assert all((p in ('Home', 'Sign in')) == (label == tc.BOILERPLATE)
               for p, label in zip(paragraphs, labels))


def test_training_on_a_slice_is_reproducible(tmp_path):
  shared_eval('article-extraction-2025')
  if importlib.util.find_spec('sklearn') is None:
    pytest.skip('scikit-learn is not installed: training needs it (inference does not)')
  outputs = []
  for name in ('a', 'b'):
    out = tmp_path / name
    subprocess.run([sys.executable, str(REPO / 'scripts' / 'train_cleaner.py'),
                    '--limit', '30', '--out', str(out)],
                   cwd=REPO, check=True, capture_output=True,
                   env=dict(os.environ, PYTHONHASHSEED=str(len(name) + ord(name))))
    outputs.append(out)
  a, b = outputs
  for name in ('paragraph_cleaner-v1.json', 'PARAGRAPH_CLEANER.md'):
    assert (a / name).read_bytes() == (b / name).read_bytes(), name
  trained = pc.load_cleaner_model(a / 'paragraph_cleaner-v1.json')
  scores = trained.score_paragraphs(ENGLISH + [MENU])
  assert len(scores) == 4 and all(0.0 <= s <= 1.0 for s in scores)


def _labels_module():
  spec = importlib.util.spec_from_file_location('cleaner_labels',
                                                REPO / 'scripts' / 'cleaner_labels.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_a_page_without_url_is_placed_by_its_canonical_link_or_its_links():
  cl = _labels_module()
  canonical = ('<html><head><link rel="canonical" href="https://www.example.co.uk/a/b">'
               '</head></html>')
  assert cl.page_site('1', canonical, {'url': 'None'}) == 'example.co.uk'
  links = ('<a href="http://news.example.org/x">x</a><a href="http://example.org/y">y</a>'
           '<a href="http://other.net/">z</a>')
  assert cl.page_site('2', links, {}) == 'example.org'
  assert cl.page_site('3', '<p>no links</p>', {}) == 'page:3'
  assert cl.page_site('4', canonical, {'url': 'https://blog.other.net/p'}) == 'other.net'


def test_page_blocks_of_a_page_with_characters_xml_cannot_hold():
  cl = _labels_module()
  page = '<p>one&#0; two&#x1F;\x00 caf&#233;</p><div>three</div>'
  assert cl.page_blocks(page) == ['one two café', 'three']
