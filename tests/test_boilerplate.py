import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import pytest

from schemas import article as A
from tests.conftest import SAMPLE_DATED
from tests.conftest import SAMPLE_UNDATED
from transforms.clean.boilerplate import MIN_REPEAT_ARTICLES
from transforms.clean.boilerplate import StripBoilerplate
from transforms.clean.boilerplate import is_repeated
from transforms.clean.rules import DEFAULT_RULES
from transforms.clean.rules import RulesFileError
from transforms.clean.rules import apply_rules
from transforms.clean.rules import load_rules_file
from transforms.clean.rules import paragraph_fingerprint
from transforms.extract.normalize import normalize_text
from transforms.read.files import parse_text_file


def sample_body(path):
  return normalize_text(parse_text_file(path.read_text(encoding='utf-8'))[A.TEXT])


def test_sample_002_loses_exactly_its_boilerplate():
  text = sample_body(SAMPLE_UNDATED)
  kept, removed = apply_rules(text)
  assert removed == [
      ('consent', 'We use your sign-up to provide content in ways you’ve consented '
       'to and to improve our understanding of you. This may include adverts from '
       'us and 3rd parties based on our understanding. You can unsubscribe at any '
       'time. More info'),
      ('related_teaser', 'Angela Merkel slammed for handing Putin keys to EU gas crisis [INSIGHT]'),
      ('related_teaser', 'Vladimir Putin warned B-2 bombers are on Russia’s ‘doorstep’ [COMMENT]'),
      ('related_teaser', 'Putin warned not to restrict gas supplies to UK: ‘Not good idea’ [REVEAL]'),
      ('source_footer', 'Source: Read Full Article'),
  ]
  removed_pieces = {piece for _, piece in removed}
  expected = [p for p in text.split('\n\n') if p not in removed_pieces]
  assert kept.split('\n\n') == expected
  assert len(expected) == len(text.split('\n\n')) - 5


def test_sample_000_is_kept_word_for_word():
  text = sample_body(SAMPLE_DATED)
  assert apply_rules(text) == (text, [])


@pytest.mark.parametrize('rule, paragraph', [
    ('consent', 'We use cookies to improve your experience. By continuing you accept our cookie policy.'),
    ('consent', 'By signing up you agree to our Terms of Use and acknowledge our Privacy Policy.'),
    ('newsletter', 'Sign up for our daily newsletter to get the best stories in your inbox'),
    ('newsletter', 'Subscribe now'),
    ('read_more', 'Read the full article'),
    ('read_more', 'READ MORE: China plague outbreak confirmed'),
    ('read_more', 'Continue reading'),
    ('source_footer', 'Source: Reuters'),
    ('related_teaser', 'Putin warned not to restrict gas supplies [REVEAL]'),
    ('related_teaser', 'Related: Possible Water Plumes on Europa'),
    ('related_teaser', 'You may also like:'),
    ('share_prompt', 'Share this article'),
    ('share_prompt', 'Share on Facebook'),
    ('share_prompt', 'Follow us on Twitter'),
    ('advertisement', 'ADVERTISEMENT'),
    ('advertisement', 'Story continues below advertisement'),
    ('photo_credit', 'Photo: Jane Doe/AFP'),
    ('photo_credit', 'Image credit: NASA'),
    ('photo_credit', 'Protesters gather in Minsk / Getty Images'),
    ('copyright', '© 2019 Associated Press. All Rights Reserved.'),
    ('copyright', 'Copyright 2022 Example Media Ltd'),
    ('contact_line', 'Write to Al Root at allen.root@dowjones.com'),
    ('contact_line', 'reporter@example.com'),
    ('contact_line', '(Reporting by Will Dunham; Editing by Tom Brown)'),
])
def test_rule_groups_remove_their_lines(rule, paragraph):
  text = f'A real opening paragraph about the news.\n\n{paragraph}'
  assert apply_rules(text) == ('A real opening paragraph about the news.', [(rule, paragraph)])


@pytest.mark.parametrize('paragraph', [
    '“We use your sign-up data responsibly,” the company’s chief executive told reporters on Monday.',
    'Source: a senior official, who asked not to be named, said the talks had failed.',
    'The newsletter, which started in 2019, now reaches 40,000 readers in the region.',
    'Read more about the plan in the council’s own report, which was published on Tuesday and runs to 300 pages of detail.',
    'He said he would share more details on Friday.',
    'The advertisement ran in three newspapers.',
    'The photo, taken by a local resident, shows the damage.',
    'Copyright lawyers say the ruling could change the industry.',
    'Related stories have appeared in the press for years, she said.',
    '“No.”',
    'Yes.',
    'Editing by hand is slow, the researchers found, so they wrote a program to do it for them.',
    'All rights reserved? Not quite: the court ruled that the archive was public, and the publisher appealed the decision on Monday morning before a panel of three judges who had heard the case twice before.' * 2,
])
def test_real_sentences_survive(paragraph):
  text = f'Opening paragraph.\n\n{paragraph}\n\nAnother paragraph.\n\nA fourth.\n\nA fifth.'
  assert apply_rules(text) == (text, [])


def test_source_footer_only_at_the_end():
  text = 'Source: Reuters\n\n' + '\n\n'.join(f'Paragraph {i}.' for i in range(6))
  assert apply_rules(text) == (text, [])


def test_fingerprint_folds_case_and_punctuation_not_digits():
  assert paragraph_fingerprint('Follow us on X!') == paragraph_fingerprint('follow us   on x')
  # Templated paragraphs with other numbers are other paragraphs.
  assert paragraph_fingerprint('Shares rose 3.1%') != paragraph_fingerprint('Shares rose 2.4%')
  assert paragraph_fingerprint('!') is None


def test_repeat_thresholds():
  assert is_repeated(MIN_REPEAT_ARTICLES, MIN_REPEAT_ARTICLES)
  assert not is_repeated(MIN_REPEAT_ARTICLES - 1, MIN_REPEAT_ARTICLES - 1)
  assert not is_repeated(3, 1000)
  assert is_repeated(100, 1000)


def _article(uri, source, title, text):
  return {A.SOURCE_URI: uri, A.SOURCE: source, A.TITLE: title, A.TEXT: text,
          A.CONTENT_HASH: uri, A.BOILERPLATE: [], A.WORD_COUNT: 0}


def test_repeated_paragraphs_pass():
  footer = 'The Daily Example is part of Example Group. Registered in England.'
  names = ['alpha', 'beta', 'gamma', 'delta']
  articles = [_article(f'a{i}', 'example.org', f'Story {i}',
                       f'Unique body of story {names[i]}.\n\n{footer}') for i in range(4)]
  articles.append(_article('b0', 'other.org', 'Other', f'Other body.\n\n{footer}'))
  # Three copies of one story under one title are one article for counting.
  articles += [_article(f'c{i}', 'copies.org', 'Same story', 'Same body.\n\nSame end.')
               for i in range(3)]
  articles.append(_article('e0', 'example.org', 'Empty', footer))
  with TestPipeline() as p:
    out = p | beam.Create(articles) | StripBoilerplate(DEFAULT_RULES, use_classifier=False)
    assert_that(out.records | beam.Map(lambda a: (a[A.SOURCE_URI], a[A.TEXT],
                                                  [b[A.BOILERPLATE_RULE] for b in a[A.BOILERPLATE]],
                                                  a.get(A.FLAGS) or [])),
                equal_to([(f'a{i}', f'Unique body of story {names[i]}.',
                           ['repeated_in_source'], []) for i in range(4)] +
                         [('b0', f'Other body.\n\n{footer}', [], [])] +
                         [(f'c{i}', 'Same body.\n\nSame end.', [], []) for i in range(3)] +
                         # All of it repeated: kept whole and flagged, never dropped.
                         [('e0', footer, [], ['all_boilerplate'])]),
                label='Records')
    assert_that(out.dropped, equal_to([]), label='Drops')


def test_user_rules_files(tmp_path):
  toml = tmp_path / 'rules.toml'
  toml.write_text('[[rules]]\nname = "podcast_plug"\npattern = "^listen to our podcast"\n'
                  'max_chars = 120\nposition = "tail"\n')
  yaml = tmp_path / 'rules.yaml'
  yaml.write_text('rules:\n  - name: podcast_plug\n    pattern: "^listen to our podcast"\n'
                  '    max_chars: 120\n    position: tail\n')
  for path in (toml, yaml):
    rules = load_rules_file(str(path))
    text = 'Body.\n\nListen to our podcast on Spotify'
    assert apply_rules(text, DEFAULT_RULES + rules) == (
        'Body.', [('podcast_plug', 'Listen to our podcast on Spotify')])


@pytest.mark.parametrize('content, message', [
    ('[[rules]]\nname = "x"\npattern = "("\n', 'invalid pattern'),
    ('[[rules]]\nname = "Bad Name"\npattern = "x"\n', 'lower_snake_case'),
    ('[[rules]]\nname = "x"\npattern = "x"\nposition = "middle"\n', 'position'),
    ('[[rules]]\nname = "x"\npattern = "x"\ncolour = "red"\n', 'unknown key'),
    ('rules = 3\n', 'expected a list'),
    ('not toml at all [[[', 'rules file'),
])
def test_bad_rules_files_are_refused(tmp_path, content, message):
  path = tmp_path / 'rules.toml'
  path.write_text(content)
  with pytest.raises(RulesFileError, match=message):
    load_rules_file(str(path))


def _text_article(uri, text, origin='file', source='example.org', title=None):
  article = _article(uri, source, title or uri, text)
  article[A.TEXT_ORIGIN] = origin
  article[A.FLAGS] = []
  return article


MENU = 'Home | News | Sport | Weather | Contact'
PROSE = ('The council voted on Tuesday to rebuild the old bridge over the river, '
         'after two years of delays and a long public consultation that drew '
         'hundreds of comments from residents.')


def test_the_classifier_step_removes_what_it_scores_as_boilerplate_with_its_score():
  page = ['Skip to content', 'Home', 'News', 'Sport', 'Weather',
          'Bridge to be rebuilt after years of delay', PROSE,
          'Work starts in spring and should take eighteen months, the council said, with '
          'the old bridge closed to traffic from March and a temporary footbridge.',
          'Residents welcomed the decision but some shop owners on the east bank worried '
          'about losing trade while the bridge is closed, and asked for help with parking.',
          'Related articles', 'About us', 'Privacy policy', 'Terms of use',
          '© 2024 Example Gazette']
  articles = [_text_article('page.txt', '\n\n'.join(page))]
  with TestPipeline() as p:
    out = p | beam.Create(articles) | StripBoilerplate(DEFAULT_RULES)
    assert_that(out.records | beam.Map(
        lambda a: ([p for p in a[A.TEXT].split('\n\n') if len(p) > 100],
                   sorted((b[A.BOILERPLATE_RULE], b[A.BOILERPLATE_TEXT]) for b in a[A.BOILERPLATE]
                          if b[A.BOILERPLATE_TEXT] in ('Home', 'Privacy policy', 'Terms of use',
                                                       '© 2024 Example Gazette')),
                   all(b[A.BOILERPLATE_SCORE] >= 0.5 for b in a[A.BOILERPLATE]
                       if b[A.BOILERPLATE_RULE] == 'classifier'))),
                equal_to([(page[6:9], [('classifier', 'Home'), ('classifier', 'Privacy policy'),
                                       ('classifier', 'Terms of use'),
                                       ('copyright', '© 2024 Example Gazette')], True)]))


def test_templated_articles_keep_their_bodies():
  """Five market reports differing only in their numbers are five articles, whole."""
  reports = []
  for n in range(5):
    text = (f'The index closed at {4100 + n * 37} points on day {n + 1}, a change of '
            f'{n * 0.3:.1f} percent.\n\nTrading volume reached {n + 2} billion shares, '
            f'with {200 + n} gainers and {150 - n} decliners.\n\n'
            'This report is generated automatically from exchange data.')
    reports.append(_text_article(f'r{n}.txt', text, source='markets.example.org',
                                 title=f'Market close, day {n + 1}'))
  with TestPipeline() as p:
    out = p | beam.Create(reports) | StripBoilerplate(DEFAULT_RULES, use_classifier=False)
    assert_that(out.records | beam.Map(
        lambda a: (a[A.SOURCE_URI], len(a[A.TEXT].split('\n\n')),
                   [b[A.BOILERPLATE_RULE] for b in a[A.BOILERPLATE]])),
                equal_to([(f'r{n}.txt', 2, ['repeated_in_source']) for n in range(5)]))
