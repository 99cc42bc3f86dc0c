import pytest

from transforms.canonical import Mention
from transforms.canonical import ResolvedMention
from transforms.canonical import canonical_key
from transforms.canonical import canonical_name
from transforms.canonical import resolve_mentions

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
