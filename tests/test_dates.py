import datetime
import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import lxml.html
import pytest

from schemas import article as A
from schemas import raw as R
from transforms.extract.dates import byline_date
from transforms.extract.dates import choose_published
from transforms.extract.dates import confirmed_htmldate
from transforms.extract.dates import date_in_url
from transforms.extract.dates import find_page_dates
from transforms.extract.dates import htmldate_candidate
from transforms.extract.dates import page_date_candidates
from transforms.extract.dates import parse_date
from transforms.extract.dates import resolve_dates
from transforms.extract.html import ExtractMainText
from transforms.extract.normalize import NormalizeArticles
from transforms.extract.normalize import normalize_record

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FETCHED = datetime.datetime(2024, 5, 3, 15, 30, tzinfo=UTC)
BODY = ('<p>' + 'The council met on Tuesday to discuss the new bridge and its cost. ' * 6 +
        '</p>')


def page(head='', body_top='', url=None):
  """An article page with extra head markup and a line under its headline."""
  canonical = f'<link rel="canonical" href="{url}">' if url else ''
  return (f'<html><head><title>Bridge</title>{canonical}{head}</head><body>'
          f'<article><h1>Bridge plan</h1>{body_top}{BODY}</article></body></html>')


def json_ld(**fields):
  return ('<script type="application/ld+json">' +
          json.dumps(dict({'@context': 'https://schema.org', '@type': 'NewsArticle'},
                          **fields)) + '</script>')


@pytest.mark.parametrize('text, language, expected', [
    ('Seg, 24 Set 2018', 'pt', datetime.datetime(2018, 9, 24, tzinfo=UTC)),
    ('3. März 2024', 'de', datetime.datetime(2024, 3, 3, tzinfo=UTC)),
    ('24 septembre 2023', 'fr', datetime.datetime(2023, 9, 24, tzinfo=UTC)),
    ('hace 2 horas', 'es', datetime.datetime(2024, 5, 3, 13, 30, tzinfo=UTC)),
    ('il y a 3 jours', 'fr', datetime.datetime(2024, 4, 30, 15, 30, tzinfo=UTC)),
    ('Fri, 03 May 2024 10:00:00 +0200', None, datetime.datetime(2024, 5, 3, 8, tzinfo=UTC)),
])
def test_free_text_dates_in_their_language(text, language, expected):
  assert parse_date(text, NOW, language=language, relative_base=FETCHED) == (expected, None)
  # dateparser's own detection reads them too when the language is unknown.
  assert parse_date(text, NOW, relative_base=FETCHED) == (expected, None)


def test_language_hint_orders_numeric_dates():
  assert parse_date('03/05/2024', NOW, language='fr')[0] == datetime.datetime(
      2024, 5, 3, tzinfo=UTC)
  assert parse_date('03/05/2024', NOW, language='en')[0] == datetime.datetime(
      2024, 3, 5, tzinfo=UTC)


def test_old_dates_are_kept_only_when_explicit_and_structured():
  assert parse_date('1985-05-03', NOW) == (datetime.datetime(1985, 5, 3, tzinfo=UTC), None)
  assert parse_date('1985-05-03', NOW, structured=False) == (None, 'date_out_of_range')
  assert parse_date('3 May 1985', NOW) == (None, 'date_out_of_range')
  assert parse_date('1850-01-01', NOW) == (None, 'date_out_of_range')
  assert parse_date('in 3 days', NOW) == (None, 'date_out_of_range')
  assert parse_date('May 2024', NOW) == (None, 'date_unparseable')


def test_date_in_url():
  assert date_in_url('https://x.org/2024/05/03/story') == datetime.datetime(2024, 5, 3)
  assert date_in_url('https://x.org/news/2024-05-03-story.html') == datetime.datetime(2024, 5, 3)
  assert date_in_url('https://x.org/2024/5/3/') == datetime.datetime(2024, 5, 3)
  assert date_in_url('https://x.org/2024/13/40/story') is None
  assert date_in_url('https://x.org/story?d=2024-05-03') is None
  assert date_in_url(None) is None


def test_page_with_json_ld_gets_published_and_modified():
  html = page(json_ld(datePublished='2024-05-03T10:00:00+02:00',
                      dateModified='2024-05-04T09:15:00+02:00'))
  found = find_page_dates(html)
  assert found == {'published': '2024-05-03T10:00:00+02:00', 'published_source': 'json_ld',
                   'modified': '2024-05-04T09:15:00+02:00', 'modified_source': 'json_ld',
                   'trafilatura_date': None}
  dates = resolve_dates({A.INPUT_FORMAT: 'html', R.PAGE_DATES: found}, NOW)
  assert dates == (datetime.datetime(2024, 5, 3, 8, tzinfo=UTC), 'json_ld',
                   datetime.datetime(2024, 5, 4, 7, 15, tzinfo=UTC), 'json_ld', ())


def test_meta_tags_and_the_url_outvote_json_ld():
  html = page('<meta property="article:published_time" content="2024-05-03T06:00:00Z">'
              '<meta property="article:modified_time" content="2024-06-01T06:00:00Z">' +
              json_ld(datePublished='2019-01-01'),
              url='https://news.example.org/2024/05/03/bridge')
  candidates = page_date_candidates(html)
  assert candidates['url'].value == datetime.datetime(2024, 5, 3)
  assert candidates['json_ld'].value == datetime.datetime(2019, 1, 1)
  found = find_page_dates(html)
  assert (found['published'], found['published_source']) == ('2024-05-03T06:00:00+00:00',
                                                             'html_meta')
  assert (found['modified'], found['modified_source']) == ('2024-06-01T06:00:00+00:00',
                                                           'html_meta')


def test_the_date_under_the_headline_and_the_url():
  html = page(body_top='<p class="byline">By Ann Lee | 3 May 2024</p>',
              url='https://news.example.org/2024/05/03/bridge')
  found = find_page_dates(html)
  assert (found['published'], found['published_source']) == ('2024-05-03', 'url')
  dates = resolve_dates({A.INPUT_FORMAT: 'html', R.PAGE_DATES: found}, NOW)
  assert dates.published == datetime.datetime(2024, 5, 3, tzinfo=UTC)
  assert choose_published(page_date_candidates(page())) is None


def test_sources_in_order_and_their_warnings():
  def resolve(**raw):
    return resolve_dates(dict({A.INPUT_FORMAT: 'feed'}, **raw), NOW)
  assert resolve(**{R.PUBLISHED: 'Fri, 03 May 2024 10:00:00 GMT'})[:2] == (
      datetime.datetime(2024, 5, 3, 10, tzinfo=UTC), 'feed')
  assert resolve(**{A.INPUT_FORMAT: 'text', R.HEADER_DATE: '2024-05-03'})[:2] == (
      datetime.datetime(2024, 5, 3, tzinfo=UTC), 'text_header')
  assert resolve(**{A.INPUT_FORMAT: 'jsonl', R.PUBLISHED: '../../x'}) == (
      None, 'ingested', None, None, ('date_unparseable',))
  page_dates = {'published': '2024-05-01', 'published_source': 'url', 'modified': None,
                'modified_source': None, 'trafilatura_date': '2024-05-01'}
  # The extract stage's own date is the page's; a date the input gave wins.
  assert resolve(**{R.PUBLISHED: '2024-05-01', R.PAGE_DATES: page_dates})[1] == 'url'
  assert resolve(**{R.PUBLISHED: '2024-05-02', R.PAGE_DATES: page_dates})[1] == 'feed'
  modified = resolve(**{R.PUBLISHED: '2024-05-02', R.MODIFIED: '2024-05-04T08:00:00Z'})
  assert modified[2:4] == (datetime.datetime(2024, 5, 4, 8, tzinfo=UTC), 'feed')
  assert resolve(**{R.PUBLISHED: '2024-05-02', R.MODIFIED: '2024-05-01'})[2:4] == (None, None)


def test_relative_dates_count_from_the_fetch_time_in_the_guessed_language():
  raw = {A.SOURCE_URI: 'page.html', A.INPUT_FORMAT: 'feed', A.TITLE: 'Puente',
         A.TEXT: 'El ayuntamiento aprobó el nuevo puente ayer por la tarde.',
         R.PUBLISHED: 'hace 2 horas', R.FETCHED_AT: FETCHED}
  guessed = []

  def guess(text):
    guessed.append(text)
    return 'es'
  article, warnings = normalize_record(raw, 'run1', NOW, guess_language=guess)
  assert warnings == ()
  assert article[A.PUBLISHED_AT] == datetime.datetime(2024, 5, 3, 13, 30, tzinfo=UTC)
  assert article[A.DATE_SOURCE] == 'feed'
  assert guessed == ['Puente\nEl ayuntamiento aprobó el nuevo puente ayer por la tarde.']
  normalize_record(dict(raw, **{R.PUBLISHED: '2024-05-03T10:00:00Z'}), 'run1', NOW,
                   guess_language=guess)
  assert len(guessed) == 1  # an ISO date needs no language


def test_extract_then_normalize_fills_both_dates_and_their_sources():
  html = page(json_ld(datePublished='2024-05-03T10:00:00Z',
                      dateModified='2024-05-04T09:15:00Z'))
  raws = [
      {A.SOURCE_URI: 'a.html', A.INPUT_FORMAT: 'html', R.HTML: html},
      {A.SOURCE_URI: 'b.jsonl#L1', A.INPUT_FORMAT: 'jsonl', A.TITLE: 'T',
       A.TEXT: 'Le conseil a voté.', R.PUBLISHED: '24 septembre 2023'},
  ]
  with TestPipeline() as p:
    out = (p | beam.Create(raws) | ExtractMainText()).records
    articles = (out | NormalizeArticles('run1', NOW)).records
    assert_that(articles | beam.Map(lambda a: (
        a[A.SOURCE_URI], a[A.PUBLISHED_AT], a[A.DATE_SOURCE], a[A.MODIFIED_AT],
        a[A.MODIFIED_SOURCE])), equal_to([
            ('a.html', datetime.datetime(2024, 5, 3, 10, tzinfo=UTC), 'json_ld',
             datetime.datetime(2024, 5, 4, 9, 15, tzinfo=UTC), 'json_ld'),
            ('b.jsonl#L1', datetime.datetime(2023, 9, 24, tzinfo=UTC), 'json', None, None)]))


@pytest.mark.parametrize('line, expected', [
    ('Von Anna Schmidt, 3. März 2024, 10:12 Uhr', datetime.datetime(2024, 3, 3)),
    ('Publié le 24 septembre 2023', datetime.datetime(2023, 9, 24)),
    ('Por Ana Ruiz | 3 de mayo de 2024', datetime.datetime(2024, 5, 3)),
    ('Updated Sept. 12th, 2023 at 9:00', datetime.datetime(2023, 9, 12)),
    ('Posted 13/5/2024', datetime.datetime(2024, 5, 13)),
    ('Posted 3/5/2024', None),  # day and month cannot be told apart
])
def test_byline_date(line, expected):
  visible = lxml.html.fromstring(page(body_top=f'<p>{line}</p>'))
  found = byline_date(visible)
  assert (found.value if found else None) == expected


# Years alone, copyright lines and months are never a publication date.

FOOTERS = [
    '<footer>© 2020 Example News GmbH. All rights reserved.</footer>',
    '<footer><p>Copyright 2019 Example Media Ltd</p></footer>',
    '<footer>(c) 2021 Example | Imprint | Privacy</footer>',
    '<p>Archive: May 2024</p><footer>© 2023</footer>',
]


@pytest.mark.parametrize('footer', FOOTERS)
def test_a_copyright_year_or_a_month_alone_is_no_publication_date(footer):
  html = (f'<html><head><title>Bridge</title></head><body><article><h1>Bridge plan</h1>'
          f'{BODY}</article>{footer}</body></html>')
  found = find_page_dates(html)
  assert (found['published'], found['published_source']) == (None, None)
  records = [{A.SOURCE_URI: 'page.html', A.INPUT_FORMAT: 'html', R.HTML: html}]
  with TestPipeline() as p:
    raw = p | beam.Create(records) | ExtractMainText()
    out = raw.records | NormalizeArticles('run1', NOW)
    assert_that(out.records | beam.Map(lambda a: (a[A.PUBLISHED_AT], a[A.DATE_SOURCE])),
                equal_to([(None, 'ingested')]))


def test_the_first_of_a_month_counts_when_a_full_date_states_it():
  found = find_page_dates(page(body_top='<p>Posted on January 1, 2024</p>'))
  assert (found['published'], found['published_source']) == ('2024-01-01', 'byline')
  html = page('<meta property="article:published_time" content="2024-03-01">')
  assert find_page_dates(html)['published'] == '2024-03-01'


def test_confirmed_htmldate_keeps_a_first_only_when_something_else_says_it():
  first = htmldate_candidate('2020-01-01T00:00:00')
  assert first.source == 'htmldate' and not first.has_time
  assert confirmed_htmldate(first, [], 'Footer © 2020 Example') is None
  assert confirmed_htmldate(first, [None], 'Published 1 January 2020, by Ann') == first
  stated = page_date_candidates(
      page(url='https://news.example.org/2020/01/01/bridge'))['url']
  assert confirmed_htmldate(first, [stated], '') == first
  timed = htmldate_candidate('2020-01-01T09:30:00+0100')
  assert confirmed_htmldate(timed, [], '') == timed
  other_day = htmldate_candidate('2020-03-17T00:00:00')
  assert confirmed_htmldate(other_day, [], '') == other_day
  assert htmldate_candidate(None) is None and htmldate_candidate('2020') is None


def test_date_source_names_the_signal_that_won():
  byline = page(body_top='<p class="byline">By Ann Lee | 3 May 2024</p>')
  assert find_page_dates(byline)['published_source'] == 'byline'
  far_down = ('<html><head><title>Bridge</title></head><body><article><h1>Bridge plan</h1>' +
              BODY * 8 + '<p>The council first met on 17 April 2024.</p></article></body></html>')
  found = find_page_dates(far_down, htmldate_found=None)
  assert (found['published'], found['published_source']) == ('2024-04-17', 'page_text')
  found = find_page_dates(page(), htmldate_found='2024-05-03T10:00:00+0200')
  assert (found['published'], found['published_source']) == ('2024-05-03T10:00:00+02:00',
                                                             'htmldate')
  assert set(A.DATE_SOURCES) >= {'byline', 'page_text', 'htmldate', 'text'}


def test_extract_runs_htmldate_once_a_page(monkeypatch):
  import htmldate  # pylint: disable=import-outside-toplevel
  import trafilatura.metadata  # pylint: disable=import-outside-toplevel
  from transforms.extract import html as extract  # pylint: disable=import-outside-toplevel
  calls = []
  real = htmldate.find_date

  def counting(*args, **kwargs):
    calls.append(kwargs.get('original_date'))
    return real(*args, **kwargs)
  monkeypatch.setattr(htmldate, 'find_date', counting)
  monkeypatch.setattr(trafilatura.metadata, 'find_date', counting)
  html = page(body_top='<p class="byline">By Ann Lee | 3 May 2024</p>')
  out = list(extract._ExtractMainTextFn().process(  # pylint: disable=protected-access
      {A.SOURCE_URI: 'page.html', R.HTML: html}))
  assert calls == [True]
  assert out[0][R.PAGE_DATES]['published'] == '2024-05-03'


def test_a_year_in_a_tag_is_no_publication_date():
  html = page('<meta name="date" content="2020">' +
              json_ld(datePublished='2021', copyrightYear=2021))
  assert find_page_dates(html)['published'] is None
