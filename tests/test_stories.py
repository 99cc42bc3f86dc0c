import datetime
import random

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import numpy as np
import pyarrow as pa
import pytest

import schemas
from schemas import article as A
from schemas import place as P
from schemas import story as S
from tests.conftest import SAMPLE_DATED
from tests.conftest import SAMPLE_UNDATED
from transforms.read.files import parse_text_file
from transforms.stories.assign import AssignStories
from transforms.stories.assign import assign_stories
from transforms.stories.assign import band_keys
from transforms.stories.assign import content_words
from transforms.stories.assign import estimated_containment
from transforms.stories.assign import expire_story_index
from transforms.stories.assign import expired_index_dates
from transforms.stories.assign import index_partition_dates
from transforms.stories.assign import index_row
from transforms.stories.assign import lead_band_keys
from transforms.stories.assign import new_story_id
from transforms.stories.assign import read_index_candidates
from transforms.stories.assign import read_index_members
from transforms.stories.assign import same_story
from transforms.stories.assign import signature_keys
from transforms.stories.assign import story_row
from transforms.stories.assign import story_rows
from transforms.stories.assign import story_signature
from transforms.stories.assign import text_shingles
from transforms.stories.assign import title_tokens
from transforms.stories.assign import _Entry
from transforms.write.datasets import WriteStoryIndex
from transforms.write.datasets import write_parquet

UTC = datetime.timezone.utc
DAY1 = datetime.datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY2 = DAY1 + datetime.timedelta(days=1)

STORY = parse_text_file(SAMPLE_DATED.read_text(encoding='utf-8'))[A.TEXT]
OTHER = parse_text_file(SAMPLE_UNDATED.read_text(encoding='utf-8'))[A.TEXT]
PARAGRAPHS = [p for p in STORY.split('\n\n') if p.strip()]
# A wire copy: 60 % of the paragraphs, words changed, another footer.
COPY = '\n\n'.join(
    [p.replace('said', 'stated').replace('military', 'armed') for p in PARAGRAPHS[:8]] +
    ['Reporting by staff; editing by the desk.'])
UPDATE = STORY + '\n\nUpdate: Belarus confirmed the dates of the drills on Wednesday.'
DRILLS_TITLE = 'Russia and Belarus to hold joint military drills as Ukraine fears grow'


def mention(text, label, start=0):
  return {'text': text, 'label': label, 'start': start, 'end': start + len(text),
          'canonical': text}


STORY_ENTITIES = ([mention('Russia', 'GPE')] * 3 + [mention('Belarus', 'GPE')] * 3 +
                  [mention('Ukraine', 'GPE')] * 2 + [mention('Alexander Lukashenko', 'PERSON'),
                                                     mention('Nato', 'ORG'),
                                                     mention('Kremlin', 'ORG'),
                                                     mention('Belarusian', 'NORP')])
OTHER_ENTITIES = ([mention('Russia', 'GPE')] * 2 + [mention('Ukraine', 'GPE')] * 2 +
                  [mention('Volodymyr Zelenskiy', 'PERSON'), mention('Moscow', 'GPE'),
                   mention('Yalta European Strategy', 'ORG')])


def article(article_id, text, title, when, source='wire.example', entities=(),
            run_id='run1'):
  return {A.ARTICLE_ID: article_id, A.SOURCE_URI: f'file:///{article_id}', A.TITLE: title,
          A.TEXT: text, A.SOURCE: source, A.PUBLISHED_AT: when, A.INGESTED_AT: when,
          A.RUN_ID: run_id, A.ENTITIES: list(entities)}


def corpus():
  """Day one: an event, its wire copy, another event on the same topic, a link-only entry."""
  return [
      article('a-story', STORY, DRILLS_TITLE, DAY1, 'globe.example', STORY_ENTITIES),
      article('b-copy', COPY, 'Russian troops arrive in Belarus for joint drills',
              DAY1 + datetime.timedelta(hours=5), 'wire.example', STORY_ENTITIES[:8]),
      article('c-other', OTHER, 'Zelenskiy warns all-out war with Russia is possible',
              DAY1 + datetime.timedelta(hours=2), 'express.example', OTHER_ENTITIES),
      article('d-link', '', 'UPDATE 1-' + DRILLS_TITLE + ' | Herald',
              DAY1 + datetime.timedelta(hours=7), 'herald.example'),
  ]


def test_content_words_and_shingles():
  assert content_words('The Fed said it raised rates.') == ['fed', 'raised', 'rates']
  assert sorted(text_shingles('The quick brown fox jumps over the lazy dog')) == [
      'brown fox jumps', 'fox jumps lazy', 'jumps lazy dog', 'quick brown fox']
  assert text_shingles('Fed rates') == {'fed rates'}
  assert text_shingles('') == set()


def test_title_tokens_drop_wire_words_and_plurals():
  assert title_tokens('UPDATE 1-Fed raises rates as prices climb') == [
      '1', 'climb', 'fed', 'price', 'raise', 'rate']
  assert title_tokens(None) == []


def test_story_signature():
  signature = story_signature(corpus()[0])
  assert signature[S.ARTICLE_ID] == 'a-story'
  assert signature[S.SEEN_AT] == DAY1
  assert signature[S.SHINGLE_COUNT] == 236
  assert len(signature[S.MINHASH]) == 128
  assert all(0 <= v < 2**32 for v in signature[S.MINHASH])
  assert signature[S.MINHASH] == story_signature(corpus()[0])[S.MINHASH]
  assert len(signature[S.LEAD_MINHASH]) == 32
  assert signature[S.TITLE_TOKENS] == ['belarus', 'drill', 'fear', 'grow', 'hold', 'joint',
                                       'military', 'russia', 'ukraine']
  assert signature[S.ENTITIES] == ['Alexander Lukashenko', 'Nato', 'Kremlin']
  assert signature[S.PLACES] == ['Russia', 'Belarus', 'Ukraine']
  assert signature[S.RUN_ID] == 'run1'


def test_story_signature_prefers_resolved_places_and_handles_link_only():
  linked = dict(corpus()[3], **{P.ARTICLE_PLACES: [
      {P.PLACE: 'Belarus', P.MENTIONED_AS: ['Belarus']},
      {P.PLACE: 'United States', P.MENTIONED_AS: ['US', 'U.S.']}]})
  signature = story_signature(linked)
  assert signature[S.MINHASH] is None
  assert signature[S.LEAD_MINHASH] is None
  assert signature[S.SHINGLE_COUNT] == 0
  assert signature[S.PLACES] == ['United States', 'Belarus']
  assert signature[S.ENTITIES] == []


def test_containment_finds_a_cut_copy_in_the_original():
  story, copy, other = (_Entry(story_signature(a), False) for a in corpus()[:3])
  assert round(estimated_containment(story, copy), 3) == 0.926
  assert estimated_containment(story, other) == 0.0


def test_a_short_excerpt_is_found_through_its_lead():
  story = story_signature(corpus()[0])
  excerpt = story_signature(article('g-excerpt', '\n\n'.join(PARAGRAPHS[:2]),
                                    'Belarus hosts Russian troops', DAY2, 'post.example'))
  assert excerpt[S.SHINGLE_COUNT] == 26
  assert same_story(story, excerpt)
  assert assign_stories([excerpt], [index_row(story, 'drills')]) == {'g-excerpt': 'drills'}


def test_same_story():
  story, copy, other, link = (story_signature(a) for a in corpus())
  assert same_story(story, copy)
  assert same_story(story, link)
  assert not same_story(story, other)  # same topic and countries, another event
  assert not same_story(other, link)
  late = dict(copy, **{S.SEEN_AT: DAY1 + datetime.timedelta(days=3, hours=6)})
  assert not same_story(story, late)
  assert same_story(story, late, window_days=4)


def test_assign_stories_groups_copies_and_keeps_other_events_apart():
  signatures = [story_signature(a) for a in corpus()]
  found = assign_stories(signatures, [])
  first = new_story_id('a-story')
  assert found == {'a-story': first, 'b-copy': first, 'd-link': first,
                   'c-other': new_story_id('c-other')}
  assert first == '1fc3de5ccc4de888'


def test_assign_stories_does_not_depend_on_input_order():
  signatures = [story_signature(a) for a in corpus()]
  index = [index_row(story_signature(article('z-old', UPDATE, DRILLS_TITLE,
                                             DAY1 - datetime.timedelta(days=1))), 'old-story')]
  expected = assign_stories(signatures, index)
  shuffler = random.Random(3)
  for _ in range(10):
    shuffler.shuffle(signatures)
    assert assign_stories(signatures, index) == expected
  assert set(expected.values()) == {'old-story', new_story_id('c-other')}


def test_templated_texts_sharing_every_band_cost_a_bounded_number_of_comparisons(monkeypatch):
  """Thousands of texts that share some bands are not compared pair by pair."""
  import transforms.stories.assign as stories
  calls = []
  real = stories.same_story
  monkeypatch.setattr(stories, 'same_story', lambda *a, **k: calls.append(1) or real(*a, **k))
  values = np.random.RandomState(5).randint(0, 2**32, size=(1500, 160), dtype=np.uint64)
  values[:, :12] = values[0, :12]  # four text bands shared by all, ~9 % of the MinHash
  base = story_signature(article('t', OTHER, '', DAY1))
  rows = [dict(base, **{S.ARTICLE_ID: f't{i:05d}', S.TITLE_TOKENS: [],
                        S.ENTITIES: [], S.PLACES: [],
                        S.MINHASH: [int(v) for v in values[i, :128]],
                        S.LEAD_MINHASH: [int(v) for v in values[i, 128:]]})
          for i in range(1500)]
  found = assign_stories(rows, [])
  assert len(set(found.values())) == 1500  # no two of them are one story
  assert len(calls) <= 1500 * 64  # each bucket offers its 64 earliest entries (1.1M uncapped)


def test_an_existing_story_keeps_its_id_and_the_earliest_wins():
  story, copy, other, _ = (story_signature(a) for a in corpus())
  index = [index_row(dict(story, **{S.SEEN_AT: DAY1 - datetime.timedelta(hours=3)}),
                     'story-b'),
           index_row(dict(copy, **{S.ARTICLE_ID: 'early-copy',
                                   S.SEEN_AT: DAY1 - datetime.timedelta(hours=9)}),
                     'story-a-later-id'),
           index_row(other, 'story-other')]
  update = story_signature(article('e-update', UPDATE, DRILLS_TITLE, DAY2))
  # The update matches both earlier stories: it takes the one seen first.
  assert assign_stories([update], index) == {'e-update': 'story-a-later-id'}
  # An article already in the index keeps its story.
  assert assign_stories([other], index) == {'c-other': 'story-other'}


def test_a_link_only_entry_joins_its_best_match_and_bridges_nothing():
  story = story_signature(corpus()[0])
  similar = story_signature(article(
      'f-similar', OTHER, 'Russia and Belarus to hold joint drills', DAY1, 'post.example'))
  link = story_signature(corpus()[3])
  found = assign_stories([link], [index_row(story, 'drills'), index_row(similar, 'similar')])
  assert found == {'d-link': 'drills'}


def test_link_only_entries_prefer_an_article_with_text():
  story = story_signature(corpus()[0])
  link = story_signature(corpus()[3])
  twin = dict(link, **{S.ARTICLE_ID: 'd-twin', S.SOURCE: 'post.example'})
  assert assign_stories([link, twin], [index_row(story, 'drills')]) == {
      'd-link': 'drills', 'd-twin': 'drills'}
  # Alone, two copies of one headline make a story of their own.
  assert assign_stories([link, twin], []) == {'d-link': new_story_id('d-link'),
                                              'd-twin': new_story_id('d-link')}


def test_story_rows_count_index_and_run():
  story, copy, _, link = (story_signature(a) for a in corpus())
  index = [index_row(story, 'drills')]
  rows = story_rows({'b-copy': 'drills', 'd-link': 'drills'}, [copy, link], index, 'run2')
  assert rows == [{
      S.STORY_ID: 'drills',
      S.FIRST_SEEN: DAY1,
      S.LAST_SEEN: DAY1 + datetime.timedelta(hours=7),
      S.ARTICLE_COUNT: 3,
      S.SOURCE_COUNT: 3,
      S.HEADLINE: DRILLS_TITLE,
      S.TOP_ENTITIES: ['Alexander Lukashenko', 'Nato', 'Kremlin'],
      S.TOP_PLACES: ['Russia', 'Belarus', 'Ukraine'],
      S.UPDATED_RUN_ID: 'run2',
      S.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION,
  }]
  pa.Table.from_pylist(rows, schema=S.STORY_SCHEMA)
  assert S.story_partition(rows[0]) == (('date', '2026-03-02'),)


def test_index_rows_match_the_schema():
  rows = [index_row(story_signature(a), 's1') for a in corpus()]
  table = pa.Table.from_pylist(rows, schema=S.STORY_INDEX_SCHEMA)
  assert table.column(S.MINHASH).to_pylist()[3] is None
  assert set(rows[0]) == set(S.STORY_INDEX_SCHEMA.names)
  assert S.index_partition(rows[0]) == (('date', '2026-03-02'),)


def test_index_partition_dates_and_expiry():
  assert index_partition_dates([datetime.date(2026, 3, 2)], 1) == [
      '2026-03-01', '2026-03-02', '2026-03-03']
  assert index_partition_dates([datetime.date(2026, 3, 2), datetime.date(2026, 3, 3)], 1) == [
      '2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']
  dates = ['2026-02-23', '2026-02-24', '2026-02-25', '2026-03-02']
  # A late article of 2026-02-28 (2 days late) still matches back to 2026-02-25.
  assert expired_index_dates(dates, datetime.date(2026, 3, 2), 3, 2) == [
      '2026-02-23', '2026-02-24']


def _write_index(root, day, run_id, rows):
  path = root / '_state' / 'story_index' / f'date={day}' / f'part-{run_id}.parquet'
  path.parent.mkdir(parents=True, exist_ok=True)
  write_parquet(str(path), rows, S.STORY_INDEX_SCHEMA)
  return path


def test_expire_story_index(tmp_path):
  row = index_row(story_signature(corpus()[0]), 's1')
  for day in ('2026-02-23', '2026-02-24', '2026-02-25'):
    _write_index(tmp_path, day, 'r1', [row])
  assert expire_story_index(str(tmp_path), datetime.date(2026, 3, 2), 3, 2) == [
      '2026-02-23', '2026-02-24']
  left = sorted(p.name for p in (tmp_path / '_state' / 'story_index').iterdir())
  assert left == ['date=2026-02-25']
  assert expire_story_index(str(tmp_path), datetime.date(2026, 3, 2), 3, 2) == []


def test_read_index_candidates_and_members(tmp_path):
  story, copy, other, link = (story_signature(a) for a in corpus())
  rows = [index_row(story, 'drills'), index_row(other, 'zelenskiy'),
          index_row(link, 'drills')]
  path = str(_write_index(tmp_path, '2026-03-02', 'r1', rows))
  keys = np.unique(band_keys([copy[S.MINHASH]]))
  assert sorted(signature_keys(copy)) == sorted(
      [int(k) for k in keys] + [int(k) for k in lead_band_keys([copy[S.LEAD_MINHASH]])[0]])
  found = read_index_candidates(path, keys, set(copy[S.TITLE_TOKENS]), set())
  assert [r[S.ARTICLE_ID] for r in found] == ['a-story', 'd-link']
  assert found[0] == rows[0]
  found = read_index_candidates(path, keys[:0], set(), set(story[S.TITLE_TOKENS]))
  assert [r[S.ARTICLE_ID] for r in found] == ['a-story', 'd-link']
  members = read_index_members(path, {'zelenskiy'})
  assert [(m[S.ARTICLE_ID], m[S.STORY_ID], m[S.SOURCE]) for m in members] == [
      ('c-other', 'zelenskiy', 'express.example')]
  assert read_index_members(path, set()) == []


def _ids(outputs):
  return outputs.outcome.records | beam.Map(lambda a: (a[A.ARTICLE_ID], a[S.STORY_ID]))


def test_assign_stories_transform(tmp_path):
  drills, zelenskiy = new_story_id('a-story'), new_story_id('c-other')
  with TestPipeline() as p:
    out = (p | beam.Create(corpus())
           | AssignStories(str(tmp_path / 'out'), DAY1.date(), run_id='run1'))
    assert_that(_ids(out), equal_to([('a-story', drills), ('b-copy', drills),
                                     ('c-other', zelenskiy), ('d-link', drills)]),
                label='StoryIds')
    assert_that(out.index_rows | beam.Map(lambda r: (r[S.ARTICLE_ID], r[S.STORY_ID])),
                equal_to([('a-story', drills), ('b-copy', drills), ('c-other', zelenskiy),
                          ('d-link', drills)]), label='IndexRows')
    assert_that(out.stories | beam.Map(lambda r: (r[S.STORY_ID], r[S.ARTICLE_COUNT],
                                                   r[S.SOURCE_COUNT], r[S.HEADLINE],
                                                   r[S.UPDATED_RUN_ID])),
                equal_to([(drills, 3, 3, DRILLS_TITLE, 'run1'),
                          (zelenskiy, 1, 1, corpus()[2][A.TITLE], 'run1')]), label='Stories')
    assert_that(out.outcome.dead_letters, equal_to([]), label='NoDeadLetters')


def test_same_input_in_another_order_gives_the_same_ids(tmp_path):
  shuffled = corpus()
  random.Random(5).shuffle(shuffled)
  expected = [('a-story', new_story_id('a-story')), ('b-copy', new_story_id('a-story')),
              ('c-other', new_story_id('c-other')), ('d-link', new_story_id('a-story'))]
  for order in (corpus(), shuffled, list(reversed(corpus()))):
    with TestPipeline() as p:
      out = p | beam.Create(order) | AssignStories(str(tmp_path / 'out'), DAY1.date())
      assert_that(_ids(out), equal_to(expected))


def test_two_runs_a_day_apart_continue_the_story(tmp_path):
  output = tmp_path / 'out'
  with TestPipeline() as p:
    out = p | beam.Create(corpus()) | AssignStories(str(output), DAY1.date())
    files = out.index_rows | WriteStoryIndex(str(output), 'run1')
    assert_that(files | beam.Map(lambda f: (f['dataset'], f['final_path'], f['rows'])),
                equal_to([('story_index', f'{output}/_state/story_index/date=2026-03-02/'
                           'part-run1.parquet', 4)]))
  # The commit's move: the staged file becomes visible to the next run.
  staged = output / '_staging' / 'run1' / '_state' / 'story_index'
  final = output / '_state' / 'story_index'
  final.mkdir(parents=True)
  (staged / 'date=2026-03-02').rename(final / 'date=2026-03-02')

  update = article('e-update', UPDATE, 'Belarus confirms dates of joint drills with Russia',
                   DAY2, 'courier.example', STORY_ENTITIES, run_id='run2')
  fresh = article('f-fresh', 'Flooding closed the coastal road again on Tuesday. ' * 30,
                  'Coastal road closed by floods', DAY2, 'courier.example', run_id='run2')
  drills = new_story_id('a-story')
  with TestPipeline() as p:
    out = p | beam.Create([update, fresh]) | AssignStories(str(output), DAY2.date())
    assert_that(_ids(out), equal_to([('e-update', drills), ('f-fresh', new_story_id('f-fresh'))]),
                label='StoryIds')
    assert_that(out.stories | beam.Map(lambda r: (r[S.STORY_ID], r[S.FIRST_SEEN],
                                                  r[S.LAST_SEEN], r[S.ARTICLE_COUNT],
                                                  r[S.SOURCE_COUNT], r[S.UPDATED_RUN_ID])),
                equal_to([(drills, DAY1, DAY2, 4, 4, 'run2'),
                          (new_story_id('f-fresh'), DAY2, DAY2, 1, 1, 'run2')]),
                label='Stories')


def test_window_days_must_be_positive():
  with pytest.raises(ValueError, match='at least 1'):
    AssignStories('/tmp/out', DAY1.date(), window_days=0)


def test_story_row_of_a_story_without_titles():
  row = story_row('s', [index_row(dict(story_signature(corpus()[2]), **{S.TITLE: None}), 's')],
                  'run1')
  assert row[S.HEADLINE] is None
  assert row[S.ARTICLE_COUNT] == 1
  assert row[S.TOP_PLACES] == ['Russia', 'Ukraine', 'Moscow']


def test_two_daily_runs_continue_one_story_end_to_end(tmp_path):
  """A wire story one day and a rewrite of it by another source the next share a story_id."""
  import datetime as dt  # pylint: disable=import-outside-toplevel
  import json  # pylint: disable=import-outside-toplevel
  from tests.conftest import articles_table  # pylint: disable=import-outside-toplevel
  from tests.conftest import run_newsbeam  # pylint: disable=import-outside-toplevel
  body = parse_text_file(SAMPLE_DATED.read_text(encoding='utf-8'))[A.TEXT]
  paragraphs = [p for p in body.split('\n') if p.strip()]
  now = dt.datetime.now(dt.timezone.utc)
  days = [(now - dt.timedelta(days=1)).isoformat(), now.isoformat()]
  unrelated = ('The city council approved a new budget for public libraries on Monday, '
               'adding funds for longer opening hours and a mobile library service.')
  other = ('Heavy snow closed the mountain pass for a second day, and engineers said the '
           'road would reopen once avalanche barriers had been checked and repaired.')
  for day, (source, title, text) in enumerate([
      ('wire.example', 'Russia and Belarus to hold joint drills', '\n\n'.join(paragraphs)),
      ('daily.example', 'Joint drills: Russia and Belarus prepare',
       '\n\n'.join(paragraphs[:max(3, len(paragraphs) * 2 // 3)]))]):
    folder = tmp_path / f'in{day}'
    folder.mkdir()
    lines = [{'url': f'https://{source}/drills', 'title': title, 'text': text,
              'source': source, 'published': days[day]},
             {'url': f'https://{source}/local-{day}', 'title': f'Local news {day}',
              'text': unrelated if day == 0 else other,
              'source': source, 'published': days[day]}]
    (folder / 'a.jsonl').write_text('\n'.join(json.dumps(l) for l in lines) + '\n')
    run_newsbeam('--input', folder, '--output', tmp_path / 'out', '--ner-model', 'en=')
  rows = {r['url']: r['story_id'] for r in articles_table(tmp_path / 'out')}
  assert rows['https://wire.example/drills'] == rows['https://daily.example/drills']
  assert rows['https://wire.example/local-0'] != rows['https://wire.example/drills']
  assert len(set(rows.values())) == 3
