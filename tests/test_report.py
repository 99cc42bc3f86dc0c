"""The HTML report: matplotlib charts as inline SVG, stories, the places map, offline."""

import datetime
import re
import shutil
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import query
from pipeline.report import busiest_window
from pipeline.report import daily_series
from pipeline.report import is_entity_name
from pipeline.report import load_world_outline
from pipeline.report import read_report_data
from pipeline.report import render_report
from pipeline.report import report_main
from schemas.article import ARTICLE_SCHEMA
from schemas.common import DATE_LANG_PARTITION_SCHEMA
from schemas.common import DATE_PARTITION_SCHEMA
from schemas.dead_letter import DEAD_LETTER_SCHEMA
from schemas.entity import ENTITY_SCHEMA
from schemas.place import PLACE_SCHEMA
from schemas.run import RUN_SCHEMA
from schemas.run import make_manifest
from schemas.story import STORY_SCHEMA
from tests.conftest import REPO

ARTIFACTS = REPO / 'tests' / 'artifacts'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                  '--no-first-run', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync']
SECTIONS = ('articles-per-day', 'top-stories', 'places-map', 'top-people', 'top-organisations',
            'top-places', 'top-sources', 'dead-letters', 'runs')
UTC = datetime.timezone.utc
RUN_1 = '20240303T060000Z-aaaaaa'
RUN_2 = '20240310T060000Z-bbbbbb'
# (date, lang, articles): three days, a gap of five days, two days.
ARTICLE_DAYS = [('2024-03-01', 'en', 6), ('2024-03-01', 'fr', 2), ('2024-03-02', 'en', 4),
                ('2024-03-02', 'de', 1), ('2024-03-03', 'en', 3), ('2024-03-09', 'en', 5),
                ('2024-03-09', 'fr', 3), ('2024-03-10', 'de', 2)]
SOURCES = ('example.com', 'news.example.org', 'wire.example.net')
# (canonical, label, mentions): names, and junk the filter must keep out.
ENTITIES = [('Ada Lovelace', 'PERSON', 12), ('Grace Hopper', 'PERSON', 8),
            ('2024', 'PERSON', 50), ('•', 'PERSON', 40), ('A', 'PERSON', 30),
            ('Acme Corp', 'ORG', 5), ('10%', 'ORG', 9), ('Paris', 'GPE', 9),
            ('Berlin', 'GPE', 4), ('Alps', 'LOC', 2)]
# (story, headline, articles, sources, first seen day, last seen day, run).
STORIES = [('s1', 'Old headline', 3, 2, 1, 2, RUN_1),
           ('s1', 'Storm hits the coast', 9, 3, 1, 9, RUN_2),
           ('s2', 'Election results are in', 5, 2, 2, 3, RUN_1),
           ('s3', None, 2, 1, 9, 10, RUN_2)]
# (place, country, kind, lat, lon, geonames id, confidence, articles).
PLACES = [('Paris', 'FR', 'city', 48.8534, 2.3488, 2988507, 0.9, 6),
          ('Berlin', 'DE', 'city', 52.5244, 13.4105, 2950159, 0.8, 3),
          ('Japan', 'JP', 'country', 35.69, 139.69, 1861060, 1.0, 2),
          ('Springfield', 'US', 'city', 39.80, -89.64, 4250542, 0.2, 4),  # too unsure
          ('Atlantis', 'XX', 'city', None, None, None, 1.0, 3)]  # no coordinates


def _default(field):
  """A value for a non-nullable field the test does not care about."""
  kind = field.type
  if pa.types.is_list(kind) or pa.types.is_map(kind):
    return []
  if pa.types.is_string(kind):
    return ''
  if pa.types.is_timestamp(kind):
    return datetime.datetime(2024, 3, 1, tzinfo=UTC)
  if pa.types.is_boolean(kind):
    return False
  return 0


def _write(path, schema, rows, drop=()):
  """Rows (dicts) as one Parquet file of ``schema`` less the ``drop`` columns."""
  for name in drop:
    schema = schema.remove(schema.get_field_index(name))
  full = [{f.name: row.get(f.name, None if f.nullable else _default(f)) for f in schema}
          for row in rows]
  path.parent.mkdir(parents=True, exist_ok=True)
  pq.write_table(pa.Table.from_pylist(full, schema=schema), path)


def _at(day, hour=8):
  return datetime.datetime(2024, 3, day, hour, tzinfo=UTC)


def _make_output(root, drop_articles=(), drop_stories=(), drop_runs=(), stories=True,
                 places=True):
  """An output folder written as the pipeline lays it out, with the data above."""
  output = root / 'out'
  number = 0
  for date, lang, count in ARTICLE_DAYS:
    rows = []
    for _ in range(count):
      rows.append({'article_id': f'a{number}', 'source': SOURCES[number % len(SOURCES)],
                   'title': f'Title {number}', 'text': 'Text.', 'language': lang,
                   'run_id': RUN_1, 'schema_version': 2})
      number += 1
    _write(output / 'articles' / f'date={date}' / f'lang={lang}' / f'part-{RUN_1}-0.parquet',
           ARTICLE_SCHEMA, rows, drop_articles)
  entities = [{'article_id': f'a{i}', 'canonical': name, 'canonical_key': name.lower(),
               'label': label, 'mention_count': mentions, 'run_id': RUN_1}
              for i, (name, label, mentions) in enumerate(ENTITIES)]
  _write(output / 'entities' / 'date=2024-03-01' / 'lang=en' / f'part-{RUN_1}-0.parquet',
         ENTITY_SCHEMA, entities)
  if stories:
    rows = [{'story_id': story, 'headline': headline, 'article_count': articles,
             'source_count': sources, 'first_seen': _at(first), 'last_seen': _at(last),
             'updated_run_id': run, 'schema_version': 2}
            for story, headline, articles, sources, first, last, run in STORIES]
    for run in (RUN_1, RUN_2):
      _write(output / 'stories' / 'date=2024-03-01' / f'part-{run}-0.parquet', STORY_SCHEMA,
             [r for r in rows if r['updated_run_id'] == run], drop_stories)
  if places:
    rows = [{'article_id': f'{place}-{i}', 'name': place, 'place': place, 'kind': kind,
             'country_code': country, 'lat': lat, 'lon': lon, 'geonames_id': geonames_id,
             'confidence': confidence, 'method': 'ner', 'run_id': RUN_1}
            for place, country, kind, lat, lon, geonames_id, confidence, articles in PLACES
            for i in range(articles)]
    _write(output / 'places' / 'date=2024-03-01' / 'lang=en' / f'part-{RUN_1}-0.parquet',
           PLACE_SCHEMA, rows)
  dead = [{'stage': stage, 'error_type': 'ValueError', 'message': 'bad input',
           'failed_at': _at(3), 'run_id': RUN_1} for stage in ('read', 'read', 'extract')]
  _write(output / 'dead_letters' / 'date=2024-03-03' / f'part-{RUN_1}-0.parquet',
         DEAD_LETTER_SCHEMA, dead)
  for run, day in ((RUN_1, 3), (RUN_2, 10)):
    manifest = make_manifest(run, 'succeeded', _at(day, 6), _at(day, 7), [], str(output),
                             inputs_read=30, articles_written=26, dead_lettered=3,
                             dropped=1)
    _write(output / 'runs' / f'part-{run}.parquet', RUN_SCHEMA, [manifest], drop_runs)
  return output


@pytest.fixture(autouse=True)
def _story_and_place_views(monkeypatch):
  """The views query.connect makes once stories and places are declared datasets."""
  monkeypatch.setitem(query.VIEWS, 'stories', (STORY_SCHEMA, DATE_PARTITION_SCHEMA))
  monkeypatch.setitem(query.VIEWS, 'places', (PLACE_SCHEMA, DATE_LANG_PARTITION_SCHEMA))


def _chart(page, chart_id):
  found = re.search(rf'<svg id="{chart_id}".*?</svg>', page, re.DOTALL)
  assert found, f'no chart {chart_id}'
  return found.group(0)


def _texts(svg):
  return [t.strip() for t in re.findall(r'<text\b[^>]*>([^<]*)</text>', svg)]


def _assert_self_contained(page):
  ids = re.findall(r'\sid="([^"]*)"', page)
  assert len(ids) == len(set(ids)), 'ids repeat'
  assert '<script' not in page and '@import' not in page
  assert 'http://' not in page and 'https://' not in page
  assert all(link.startswith('#') for link in re.findall(r'href="([^"]*)"', page))
  assert all(ref.startswith('#') for ref in re.findall(r'url\(([^)]*)\)', page))
  assert not re.search(r'\ssrc\s*=', page)


def test_entity_names_keep_names_and_drop_junk():
  for name in ('Ada Lovelace', 'EU', 'COVID-19', 'Île-de-France', 'Владимир Путин', '東京'):
    assert is_entity_name(name), name
  for junk in ('A', '2024', '1,000', '10%', '•', '--', '€5', "’s", '#1', '  '):
    assert not is_entity_name(junk), junk


def test_busiest_window_ignores_far_outliers():
  day = datetime.date
  counts = {day(1999, 1, 1): 1, day(2024, 3, 1): 5, day(2024, 3, 9): 4, day(2099, 1, 1): 2}
  assert busiest_window(counts, 30) == (day(2024, 3, 1), day(2024, 3, 9))
  assert busiest_window({day(2024, 3, 1): 1}, 30) == (day(2024, 3, 1), day(2024, 3, 1))


def test_daily_series_fills_the_gap_with_zeros_and_groups_other_languages():
  day = datetime.date
  rows = [(day(2024, 3, 1), 'en', 5), (day(2024, 3, 1), 'fr', 2), (day(2024, 3, 4), 'de', 1),
          (day(2024, 3, 4), 'it', 1), (day(2024, 3, 4), 'es', 1)]
  days, series, left_out = daily_series(rows, top_languages=2)
  assert days == [day(2024, 3, d) for d in (1, 2, 3, 4)] and left_out == 0
  assert series == {'en': [5, 0, 0, 0], 'fr': [2, 0, 0, 0], 'other': [0, 0, 0, 3]}
  _, series, _ = daily_series(rows[:3], top_languages=2)
  assert list(series) == ['en', 'fr', 'de']  # one language alone is not "other"


def test_world_outline_ships_with_the_package():
  rings = load_world_outline()
  assert len(rings) > 20 and sum(len(r) for r in rings) > 1000
  assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for r in rings for lon, lat in r)


def test_report_shows_every_section(tmp_path, capsys):
  output = _make_output(tmp_path)
  report = tmp_path / 'report.html'
  assert report_main([str(output), '--out', str(report)]) == 0
  assert 'report written to' in capsys.readouterr().err
  page = report.read_text(encoding='utf-8')
  _assert_self_contained(page)
  for section in SECTIONS:
    assert f'id="{section}"' in page, section
  assert '26 articles from 3 sources, 2024-03-01 to 2024-03-10' in page

  daily = _texts(_chart(page, 'articles-per-day'))
  assert '2024-Mar' in daily and 'Mar' in daily  # ConciseDateFormatter's offset and month
  assert len([t for t in daily if re.fullmatch(r'(0[2-9]|1[01])', t)]) >= 3  # day ticks
  assert {'English (en)', 'French (fr)', 'German (de)'} <= set(daily)
  days = dict(re.findall(r'<g id="articles-per-day-([\d-]+)"><title>([^<]*)</title>', page))
  assert sorted(days) == ['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-09', '2024-03-10']
  assert days['2024-03-09'] == 'Sat 09 Mar 2024: 8 articles (English (en) 5, French (fr) 3)'

  stories = re.search(r'<table id="top-stories">.*?</table>', page, re.DOTALL).group(0)
  rows = re.findall(r'<tr>(.*?)</tr>', stories)[1:]
  assert 'Storm hits the coast' in rows[0] and '>9<' in rows[0]
  assert '2024-03-01 08:00' in rows[0] and '2024-03-09 08:00' in rows[0]
  assert 'Election results are in' in rows[1] and '(no headline)' in rows[2]
  assert 'Old headline' not in page

  world = _chart(page, 'places-map')
  assert sorted(re.findall(r'<g id="(place-\d+)">', world)) == ['place-0', 'place-1', 'place-2']
  assert '<title>Paris (FR): 6 articles</title>' in world
  assert '<title>Japan (JP): 2 articles</title>' in world
  assert 'Springfield' not in world and 'Atlantis' not in world
  assert {'Paris', 'Berlin', 'Japan'} <= set(_texts(world))

  people = _chart(page, 'top-people')
  assert re.findall(r'<title>([^<]*)</title>', people) == [
      'Ada Lovelace: 12', 'Grace Hopper: 8']
  assert re.findall(r'<title>([^<]*)</title>', _chart(page, 'top-organisations')) == [
      'Acme Corp: 5']
  assert re.findall(r'<title>([^<]*)</title>', _chart(page, 'top-places')) == [
      'Paris: 9', 'Berlin: 4', 'Alps: 2']
  assert re.findall(r'<title>([^<]*)</title>', _chart(page, 'dead-letters')) == [
      'read: 2', 'extract: 1']
  runs = re.search(r'<table id="runs">.*?</table>', page, re.DOTALL).group(0)
  assert runs.index(RUN_2) < runs.index(RUN_1) and '>yes<' in runs


def test_times_are_utc_whatever_the_local_time_zone(tmp_path, monkeypatch):
  monkeypatch.setenv('TZ', 'America/New_York')
  page = render_report('out', read_report_data(str(_make_output(tmp_path))), 'now')
  assert '<td class="t">2024-03-01 08:00</td>' in page  # a story's first seen
  assert '<td class="t">2024-03-10 06:00</td>' in page  # a run's start


def test_charts_are_deterministic(tmp_path):
  data = read_report_data(str(_make_output(tmp_path)))
  first = render_report('out', data, 'now')
  assert render_report('out', data, 'now') == first
  assert 'Date' not in first and 'matplotlib.org' not in first


def test_report_of_an_output_without_articles_stories_or_places(tmp_path):
  output = tmp_path / 'out'
  manifest = make_manifest(RUN_1, 'succeeded', _at(3, 6), _at(3, 7), [], str(output))
  _write(output / 'runs' / f'part-{RUN_1}.parquet', RUN_SCHEMA, [manifest])
  report = tmp_path / 'report.html'
  assert report_main([str(output), '--out', str(report)]) == 0
  page = report.read_text(encoding='utf-8')
  _assert_self_contained(page)
  for section in SECTIONS:
    assert f'id="{section}"' in page, section
  assert '0 articles from 0 sources, no articles yet' in page
  assert 'No stories yet' in page and 'No places yet' in page
  assert '<svg' not in page


def test_report_of_an_older_output_with_missing_columns(tmp_path):
  output = _make_output(tmp_path, drop_articles=('source',), drop_runs=('accounting_balanced',),
                        drop_stories=('source_count', 'headline', 'last_seen'), places=False)
  page = render_report('old', read_report_data(str(output)), 'now')
  _assert_self_contained(page)
  assert '26 articles from 0 sources' in page
  assert '<title>(none): 26</title>' in _chart(page, 'top-sources')
  assert 'No places yet' in page
  stories = re.search(r'<table id="top-stories">.*?</table>', page, re.DOTALL).group(0)
  assert stories.count('<td>(no headline)</td>') == 3
  runs = re.search(r'<table id="runs">.*?</table>', page, re.DOTALL).group(0)
  assert runs.count('>NO<') == 2


def test_report_renders_in_headless_chromium(tmp_path):
  chromium = shutil.which('chromium') or shutil.which('chromium-browser')
  if not chromium:
    pytest.skip("Debian's chromium is not installed and run_tests.sh could not install "
                'it (apt-get needs root and the Debian registry)')
  report = tmp_path / 'report.html'
  assert report_main([str(_make_output(tmp_path)), '--out', str(report)]) == 0
  flags = CHROMIUM_FLAGS + [f'--user-data-dir={tmp_path / "profile"}']
  dom = subprocess.run([chromium, *flags, '--dump-dom', report.as_uri()],
                       capture_output=True, text=True, timeout=120, check=True).stdout
  for section in SECTIONS:
    assert f'id="{section}"' in dom, section
  ARTIFACTS.mkdir(parents=True, exist_ok=True)
  screenshot = ARTIFACTS / 'report.png'
  subprocess.run([chromium, *flags, '--window-size=1280,2400', f'--screenshot={screenshot}',
                  report.as_uri()], capture_output=True, timeout=120, check=True)
  data = screenshot.read_bytes()
  assert data.startswith(b'\x89PNG') and len(data) > 50_000
