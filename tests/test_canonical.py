import pytest

from transforms.enrich.canonical import Mention
from transforms.enrich.canonical import ResolvedMention
from transforms.enrich.canonical import canonical_key
from transforms.enrich.canonical import canonical_name
from transforms.enrich.canonical import country_of
from transforms.enrich.canonical import is_junk
from transforms.enrich.canonical import resolve_mentions
from transforms.enrich.canonical import trim_mention

PRIORITY = ('PERSON', 'ORG', 'GPE')


@pytest.mark.parametrize('text, label, expected', [
    ('Mr Zelenskiy', 'PERSON', 'Zelenskiy'),
    ('Mr. Zelenskiy', 'ORG', 'Zelenskiy'),
    ('President Vladimir Putin', 'PERSON', 'Vladimir Putin'),
    ('Prime Minister Boris Johnson', 'PERSON', 'Boris Johnson'),
    ('Major-General Viktor Gulevich', 'PERSON', 'Viktor Gulevich'),
    ('Lt. Gen. John Smith', 'PERSON', 'John Smith'),
    ('Dr. Anthony Fauci', 'PERSON', 'Anthony Fauci'),
    ('Russia’s', 'GPE', 'Russia'),
    ("Belarus'", 'GPE', 'Belarus'),
    ('“Nato”', 'ORG', 'Nato'),
    ('  Chatham   House ', 'ORG', 'Chatham House'),
    ('the Yalta European Strategy', 'ORG', 'Yalta European Strategy'),
    ('The Hague', 'GPE', 'The Hague'),
    ('General Motors', 'ORG', 'General Motors'),
    ('Premier League', 'ORG', 'Premier League'),
    ('Prince Harry', 'PERSON', 'Prince Harry'),
    ('Major-General', 'ORG', ''),
    ('President', 'PERSON', ''),
])
def test_canonical_name(text, label, expected):
  assert canonical_name(text, label)[0] == expected


def test_canonical_key_folds_case_accents_and_punctuation():
  assert canonical_key('Nato') == canonical_key('NATO') == 'nato'
  assert canonical_key('Zelenskyy’s Office') == "zelenskyy s office"
  assert canonical_key('Société Générale') == 'societe generale'
  assert canonical_key('U.S.') == 'u s'


def test_resolve_joins_surnames_and_takes_the_majority_label():
  mentions = [
      Mention('Volodymyr Zelenskiy', 'PERSON', 0, 19),
      Mention('Mr Zelenskiy', 'ORG', 30, 42),
      Mention('Putin', 'PERSON', 50, 55),
      Mention('Vladimir Putin', 'PERSON', 60, 74),
      Mention('Nato', 'ORG', 80, 84),
      Mention('NATO', 'ORG', 90, 94),
      Mention('Major-General', 'ORG', 100, 113),
      Mention('Belarus', 'GPE', 120, 127),
      Mention('Belarus', 'ORG', 130, 137),
      Mention('Belarus', 'GPE', 140, 147),
  ]
  assert resolve_mentions(mentions, PRIORITY) == [
      ResolvedMention('Volodymyr Zelenskiy', 'PERSON', 0, 19, 'Volodymyr Zelenskiy'),
      ResolvedMention('Mr Zelenskiy', 'PERSON', 30, 42, 'Volodymyr Zelenskiy'),
      ResolvedMention('Putin', 'PERSON', 50, 55, 'Vladimir Putin'),
      ResolvedMention('Vladimir Putin', 'PERSON', 60, 74, 'Vladimir Putin'),
      ResolvedMention('Nato', 'ORG', 80, 84, 'Nato'),
      ResolvedMention('NATO', 'ORG', 90, 94, 'Nato'),
      ResolvedMention('Belarus', 'GPE', 120, 127, 'Belarus'),
      ResolvedMention('Belarus', 'GPE', 130, 137, 'Belarus'),
      ResolvedMention('Belarus', 'GPE', 140, 147, 'Belarus'),
  ]


def test_ambiguous_surname_is_left_alone():
  mentions = [Mention('Hillary Clinton', 'PERSON', 0, 15),
              Mention('Bill Clinton', 'PERSON', 20, 32),
              Mention('Clinton', 'PERSON', 40, 47)]
  assert [m.canonical for m in resolve_mentions(mentions, PRIORITY)] == [
      'Hillary Clinton', 'Bill Clinton', 'Clinton']


def test_place_named_like_a_person_is_not_merged():
  mentions = [Mention('George Washington', 'PERSON', 0, 17),
              Mention('Washington', 'GPE', 20, 30)]
  assert [(m.canonical, m.label) for m in resolve_mentions(mentions, PRIORITY)] == [
      ('George Washington', 'PERSON'), ('Washington', 'GPE')]


def test_office_title_on_a_non_person_joins_a_known_person():
  mentions = [Mention('Joe Biden', 'PERSON', 0, 9),
              Mention('President Biden', 'ORG', 20, 35),
              Mention('General Motors', 'ORG', 40, 54)]
  assert [(m.canonical, m.label) for m in resolve_mentions(mentions, PRIORITY)] == [
      ('Joe Biden', 'PERSON'), ('Joe Biden', 'PERSON'), ('General Motors', 'ORG')]


@pytest.mark.parametrize('mention, expected', [
    (Mention('the New York Yankees', 'ORG', 10, 30), [Mention('New York Yankees', 'ORG', 14, 30)]),
    (Mention('The Commerce Department', 'ORG', 0, 23),
     [Mention('Commerce Department', 'ORG', 4, 23)]),
    (Mention('The Hague', 'GPE', 0, 9), [Mention('The Hague', 'GPE', 0, 9)]),
    (Mention('The Knot', 'WORK_OF_ART', 0, 8), [Mention('The Knot', 'WORK_OF_ART', 0, 8)]),
    (Mention("Jesse Owens 's", 'PERSON', 5, 19), [Mention('Jesse Owens', 'PERSON', 5, 16)]),
    (Mention('Ainars Kiksis (', 'PERSON', 0, 15), [Mention('Ainars Kiksis', 'PERSON', 0, 13)]),
    (Mention('Rasa\n\nMazeikyte', 'ORG', 3, 18),
     [Mention('Rasa', 'ORG', 3, 7), Mention('Mazeikyte', 'ORG', 9, 18)]),
    (Mention('Euro 96', 'EVENT', 0, 7), [Mention('Euro 96', 'EVENT', 0, 7)]),
    (Mention('"', 'ORG', 0, 1), []),
])
def test_trim_mention(mention, expected):
  assert trim_mention(mention) == expected


@pytest.mark.parametrize('text, junk', [
    ('½', True), ('2024', True), ('x', True), ('the', True), ('republics', True),
    ('--', True), ('Kyiv', False), ('NATO', False), ('eBay', False), ('中国', False),
])
def test_is_junk(text, junk):
  assert is_junk(text) is junk


def test_junk_mentions_are_dropped():
  mentions = [Mention('½', 'CARDINAL', 0, 1), Mention('republics', 'GPE', 5, 14),
              Mention('Kyiv', 'GPE', 20, 24)]
  assert [m.canonical for m in resolve_mentions(mentions, PRIORITY)] == ['Kyiv']


def test_country_names_and_aliases_merge():
  names = ['US', 'U.S.', 'USA', 'United States', 'the United States', 'America']
  mentions = [Mention(n, 'GPE', 10 * i, 10 * i + len(n)) for i, n in enumerate(names)]
  resolved = resolve_mentions(mentions + [Mention('America', 'ORG', 90, 97)], PRIORITY)
  assert {(m.canonical, m.label) for m in resolved[:6]} == {('United States', 'GPE')}
  assert (resolved[6].canonical, resolved[6].label) == ('America', 'ORG')
  for name, expected in (('UK', 'United Kingdom'), ('Britain', 'United Kingdom'),
                         ('Great Britain', 'United Kingdom'), ('Russian Federation', 'Russia'),
                         ('Viet Nam', 'Vietnam'), ('Holland', 'Netherlands'),
                         ('Czechia', 'Czech Republic'), ('El Salvador', 'El Salvador')):
    assert country_of(name, 'GPE') == expected, name
  assert country_of('Allemagne', 'LOC', 'fr') == 'Germany'
  assert country_of('La France', 'LOC', 'fr') == 'France'
  assert country_of('Jordan', 'PERSON') is None  # a person as often as a country
  assert country_of('Japan', 'PERSON') == 'Japan'
  assert country_of('American', 'NORP') is None


def test_label_fixes_for_systematic_model_errors():
  text = ('Donald Trump met Xi Jinping. Trump said the talks went well, and Trump '
          'said so again. JAPAN beat Chile in Osaka.')
  mentions = [Mention('Donald Trump', 'PERSON', 0, 12), Mention('Xi Jinping', 'PERSON', 17, 27),
              Mention('Trump', 'ORG', 29, 34), Mention('Trump', 'ORG', 65, 70),
              Mention('JAPAN', 'PERSON', 90, 95), Mention('Chile', 'GPE', 101, 106)]
  assert [(m.canonical, m.label) for m in resolve_mentions(mentions, PRIORITY, text)] == [
      ('Donald Trump', 'PERSON'), ('Xi Jinping', 'PERSON'), ('Donald Trump', 'PERSON'),
      ('Donald Trump', 'PERSON'), ('Japan', 'GPE'), ('Chile', 'GPE')]


def test_a_speaker_tagged_org_becomes_the_person_of_the_same_name():
  text = 'Wang met the press. Wang said no. The Wang group, Wang told us.'
  mentions = [Mention('Wang', 'PERSON', 0, 4), Mention('Wang', 'ORG', 20, 24),
              Mention('Wang', 'ORG', 38, 42), Mention('Wang', 'ORG', 50, 54)]
  assert [m.label for m in resolve_mentions(mentions, PRIORITY, text)] == ['PERSON'] * 4


def test_a_first_word_joins_its_full_name_and_capitals_count_less():
  mentions = [Mention('Wang Donghai', 'PERSON', 0, 12), Mention('Wang', 'ORG', 20, 24),
              Mention('JOHANNESBURG', 'PERSON', 30, 42), Mention('Johannesburg', 'GPE', 50, 62)]
  assert [(m.canonical, m.label) for m in resolve_mentions(mentions, PRIORITY)] == [
      ('Wang Donghai', 'PERSON'), ('Wang Donghai', 'PERSON'),
      ('Johannesburg', 'GPE'), ('Johannesburg', 'GPE')]
