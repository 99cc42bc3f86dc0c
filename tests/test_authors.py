import pytest

from schemas import article as A
from transforms.extract.authors import is_organisation
from transforms.extract.authors import is_place
from transforms.extract.authors import split_authors
from transforms.extract.normalize import normalize_record
from tests.test_normalize import NOW


@pytest.mark.parametrize('byline, people, organisations', [
    (['By Jane Doe in Berlin'], ['Jane Doe'], []),
    (['SPIEGEL ONLINE, Hamburg, Germany'], [], ['SPIEGEL ONLINE']),
    (['SPIEGEL ONLINE', 'Hamburg', 'Germany'], [], ['SPIEGEL ONLINE']),
    (['Süddeutsche de GmbH', 'Munich', 'Germany'], [], ['Süddeutsche de GmbH']),
    (['Staff and agencies'], [], ['Staff and agencies']),
    (['Jane Doe and John Smith'], ['Jane Doe', 'John Smith'], []),
    (['Von Max Mustermann'], ['Max Mustermann'], []),
    (['Von Max Mustermann aus München'], ['Max Mustermann'], []),
    (['Par Jean Dupont'], ['Jean Dupont'], []),
    (['Por Ana Souza e Pedro Lima'], ['Ana Souza', 'Pedro Lima'], []),
    (['Reuters'], [], ['Reuters']),
    (['Jane Doe, Reuters'], ['Jane Doe'], ['Reuters']),
    (['Associated Press'], [], ['Associated Press']),
    (['Jane Doe | dpa'], ['Jane Doe'], ['dpa']),
    (['heise online'], [], ['heise online']),
    (['tagesschau.de'], [], ['tagesschau.de']),
    (['Redaktion'], [], ['Redaktion']),
    (['Jane Doe, Senior Correspondent'], ['Jane Doe'], []),
    (['jane@example.com (Jane Doe)'], ['Jane Doe'], []),
    (['@janedoe', 'https://example.com/jane'], [], []),
    (['Jean de La Fontaine'], ['Jean de La Fontaine'], []),
    (['Ann', 'Ann'], ['Ann'], []),  # a small town's name first is a person's
    (['Paris Hilton'], ['Paris Hilton'], []),
    (['Emily Post'], ['Emily Post'], []),
    ([], [], []),
])
def test_bylines_to_people_and_organisations(byline, people, organisations):
  assert split_authors(byline) == (people, organisations)


def test_place_and_organisation_tests():
  assert is_place('Germany') and is_place('Deutschland') and is_place('Hamburg')
  assert is_place('Ludwigshafen') and not is_place('Ludwigshafen', leading=True)
  assert is_place('Berlin', leading=True)
  assert not is_place('Jane Doe') and not is_place('hamburg')
  assert is_organisation('Example Media Ltd') and is_organisation('AFP')
  assert not is_organisation('Jane Doe')


def test_long_or_odd_values_are_not_names():
  sentence = 'This article was written with the help of many people over a year'
  assert split_authors([sentence]) == ([], [])
  assert split_authors([None, 3, 'Jane Doe']) == (['Jane Doe'], [])
  assert split_authors(['x' * 100_000]) == ([], [])


def test_normalize_puts_organisations_in_their_own_column():
  raw = {A.SOURCE_URI: 'in/a.jsonl#L1', A.INPUT_FORMAT: 'jsonl', A.TEXT: 'Body text.',
         A.AUTHORS: ['SPIEGEL ONLINE', 'Hamburg', 'Germany', 'Jane Doe']}
  article, _ = normalize_record(raw, 'run1', NOW)
  assert article[A.AUTHORS] == ['Jane Doe']
  assert article[A.AUTHOR_ORGS] == ['SPIEGEL ONLINE']
  assert A.AUTHOR_ORGS in A.ARTICLE_SCHEMA.names
