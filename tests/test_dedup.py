import datetime
import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import numpy as np
import pyarrow as pa

from schemas import article as A
from schemas import drop as X
from schemas.article import ARTICLE_SCHEMA
from tests.conftest import SAMPLE_DATED
from tests.conftest import articles_table
from tests.conftest import run_newsbeam
from transforms.dedup.dedup import BANDS
from transforms.dedup.dedup import NEAR_DUPLICATE_THRESHOLD
from transforms.dedup.dedup import Deduplicate
from transforms.dedup.dedup import band_keys
from transforms.dedup.dedup import estimate_similarity
from transforms.dedup.dedup import minhash_signature
from transforms.dedup.dedup import near_duplicate_pairs
from transforms.dedup.dedup import read_existing_matches
from transforms.dedup.dedup import shingles
from transforms.dedup.dedup import window_dates
from transforms.extract.normalize import normalize_record
from transforms.read.files import parse_text_file
from transforms.extract.urls import legacy_article_id
from transforms.extract.urls import legacy_canonical_url
from transforms.write.datasets import write_parquet

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 22, 12, tzinfo=UTC)
STORY = ' '.join(parse_text_file(SAMPLE_DATED.read_text(encoding='utf-8'))[A.TEXT].split())
OTHER = ('The city council voted on Tuesday to close the old bridge for repairs '
         'that will take two years and cost more than the new one would have. ') * 5


def test_shingles():
  assert shingles('One two three four five six') == {'one two three four five',
                                                     'two three four five six'}
  assert shingles('Short text') == {'short text'}
  assert shingles('') == set()


def test_minhash_is_deterministic_and_estimates_similarity():
  first = minhash_signature(STORY)
  assert first == minhash_signature(STORY)
  assert len(first) == 64 and all(0 <= v < 2**32 for v in first)
  typo = STORY.replace('Lukashenko', 'Lukashenk0', 1)
  appended = STORY + ' ' + 'An extra closing paragraph was added by the editors later on.'
  assert estimate_similarity(first, minhash_signature(typo)) >= NEAR_DUPLICATE_THRESHOLD
  assert estimate_similarity(first, minhash_signature(appended)) >= NEAR_DUPLICATE_THRESHOLD
  assert estimate_similarity(first, minhash_signature(OTHER)) < 0.2


def test_minhash_estimate_tracks_true_jaccard():
  words = STORY.split()
  for cut in (20, 60, 120, 200, 300):
    first, second = ' '.join(words[:cut + 60]), ' '.join(words[cut:])
    a, b = shingles(first), shingles(second)
    true = len(a & b) / len(a | b)
    estimate = estimate_similarity(minhash_signature(first), minhash_signature(second))
    assert abs(estimate - true) < 0.15, (cut, true, estimate)


def test_band_keys_match_for_equal_bands():
  signature = minhash_signature(STORY)
  keys = band_keys([signature, signature])
  assert keys.shape == (2, BANDS)
  assert (keys[0] == keys[1]).all()
  changed = list(signature)
  changed[0] += 1
  other = band_keys([changed])[0]
  assert other[0] != keys[0][0] and (other[1:] == keys[0][1:]).all()


def test_a_crowded_band_bucket_offers_only_its_earliest_candidates(monkeypatch):
  import transforms.dedup.dedup as dedup
  calls = []
  real = dedup.estimate_similarity
  monkeypatch.setattr(dedup, 'estimate_similarity',
                      lambda a, b: calls.append(1) or real(a, b))
  values = np.random.RandomState(2).randint(0, 2**32, size=(2000, 128), dtype=np.uint64)
  new = [((i,), f'n{i}', [int(v) for v in values[i]]) for i in range(2000)]
  copy = ((5000,), 'copy', list(new[10][2]))  # a copy of an early one is still found
  found = list(near_duplicate_pairs((0, {'new': new + [copy], 'old': []})))
  assert found == [('copy', ((10,), 'n10'))]
  assert len(calls) <= 2001 * dedup.MAX_CANDIDATES_PER_BAND  # 2 million uncapped


def test_window_dates():
  assert window_dates(datetime.date(2024, 3, 1), 3) == ['2024-03-01', '2024-02-29', '2024-02-28']
  assert window_dates(datetime.date(2024, 3, 1), 0) == []


def article(uri, text, url=None, published='2022-01-18T10:00:00Z'):
  raw = {A.SOURCE_URI: uri, A.INPUT_FORMAT: 'jsonl', A.URL: url, A.TITLE: uri,
         A.TEXT: text, 'published': published}
  record, _ = normalize_record(raw, 'run2', NOW)
  record[A.LANGUAGE] = 'en'
  return record


def test_read_existing_matches(tmp_path):
  old = article('old', STORY, url='https://example.org/old')
  old[A.MINHASH] = minhash_signature(STORY)
  path = str(tmp_path / 'part.parquet')
  write_parquet(path, [old], ARTICLE_SCHEMA)
  keys = {int(k) for k in band_keys([old[A.MINHASH]])[0]}
  found, hits = read_existing_matches(path, {old[A.ARTICLE_ID], 'other'}, keys)
  assert found == [old[A.ARTICLE_ID]]
  assert len(hits) == BANDS
  assert {h[1][1] for h in hits} == {old[A.ARTICLE_ID]}
  assert read_existing_matches(path, {'nope'}, {1, 2, 3}) == ([], [])


def test_deduplicate_within_a_run(tmp_path):
  short = article('a1', STORY[:500], url='https://example.org/a')
  full = article('a2', STORY, url='https://example.org/a')
  syndicated = article('b1', STORY, url='https://mirror.example.net/b',
                       published='2022-01-19T10:00:00Z')
  edited = article('c1', STORY + ' A correction was appended to this story afterwards.',
                   url='https://example.org/c', published='2022-01-20T10:00:00Z')
  unrelated = article('d1', OTHER, url='https://example.org/d')
  with TestPipeline() as p:
    out = (p | beam.Create([short, full, syndicated, edited, unrelated])
           | Deduplicate(str(tmp_path / 'out'), NOW.date()))
    assert_that(out.records | beam.Map(lambda a: (a[A.SOURCE_URI], len(a[A.TEXT]),
                                                  a[A.NEAR_DUPLICATE_OF])),
                equal_to([('a2', len(STORY), None),
                          ('c1', len(edited[A.TEXT]), full[A.ARTICLE_ID]),
                          ('d1', len(OTHER.strip()), None)]),
                label='Records')
    assert_that(out.dropped | beam.Map(lambda d: (d[X.REASON], d[X.SOURCE_URI],
                                                  d[X.DUPLICATE_OF])),
                equal_to([('duplicate_id', 'a1', full[A.ARTICLE_ID]),
                          ('duplicate_content', 'b1', full[A.ARTICLE_ID])]),
                label='Drops')


def test_deduplicate_against_earlier_runs(tmp_path):
  output = tmp_path / 'out'
  old = article('old', STORY, url='https://example.org/old')
  old[A.MINHASH] = minhash_signature(STORY)
  folder = output / 'articles' / 'date=2022-01-18' / 'lang=en'
  folder.mkdir(parents=True)
  write_parquet(str(folder / 'part-run1-0.parquet'), [old], ARTICLE_SCHEMA)
  again = article('again', STORY, url='https://example.org/old')
  edited = article('edited', STORY + ' Updated with a new closing line from the ministry.',
                   url='https://example.org/updated', published='2022-01-18T12:00:00Z')
  with TestPipeline() as p:
    out = p | beam.Create([again, edited]) | Deduplicate(str(output), NOW.date(), 0)
    assert_that(out.records | beam.Map(lambda a: (a[A.SOURCE_URI], a[A.NEAR_DUPLICATE_OF])),
                equal_to([('edited', old[A.ARTICLE_ID])]), label='Records')
    assert_that(out.dropped | beam.Map(lambda d: (d[X.REASON], d[X.SOURCE_URI])),
                equal_to([('duplicate_cross_run', 'again')]), label='Drops')


# Migration from schema version 2's ids (a hash of the hand-written canonical URL).

# Columns the previous version did not write.
NEW_COLUMNS = (A.LEGACY_ARTICLE_ID, A.CANONICAL_URL, A.MODIFIED_AT, A.MODIFIED_SOURCE)
PREVIOUS_SCHEMA = pa.schema([f for f in ARTICLE_SCHEMA if f.name not in NEW_COLUMNS])
# Links whose id changed with the new canonical form (query order, ref=rss,
# dot segments, a newly listed tracking parameter) and one whose did not
# (upper-case host, default port and fragment: both forms drop them).
MIGRATED_URLS = ('https://example.org/a?b=2&a=1', 'https://example.org/b?ref=rss',
                 'https://example.org/x/../c', 'https://example.org/d?cmpid=7',
                 'https://Example.org:443/e#top')


def previous_version_row(record, raw_url):
  """The row the previous version wrote for a record: its id from legacy_article_id."""
  row = {k: v for k, v in record.items() if k not in NEW_COLUMNS}
  row[A.ARTICLE_ID] = legacy_article_id(raw_url, record[A.SOURCE], record[A.TITLE],
                                        record[A.TEXT])
  row[A.URL] = legacy_canonical_url(raw_url)
  row[A.MINHASH] = minhash_signature(record[A.TEXT])
  return row


def test_articles_of_the_previous_id_scheme_are_recognised(tmp_path):
  output = tmp_path / 'out'
  texts = [f'{OTHER} Story number {n} of the council.' for n in range(len(MIGRATED_URLS))]
  records = [article(f'in{n}', text, url=url) for n, (text, url)
             in enumerate(zip(texts, MIGRATED_URLS))]
  assert sum(r[A.LEGACY_ARTICLE_ID] is not None for r in records) == 4
  folder = output / 'articles' / 'date=2022-01-18' / 'lang=en'
  folder.mkdir(parents=True)
  old_rows = [previous_version_row(r, url) for r, url in zip(records, MIGRATED_URLS)]
  write_parquet(str(folder / 'part-old-0.parquet'), old_rows, PREVIOUS_SCHEMA)
  with TestPipeline() as p:
    out = p | beam.Create(records) | Deduplicate(str(output), NOW.date(), 0)
    assert_that(out.records, equal_to([]), label='Records')
    assert_that(out.dropped | beam.Map(lambda d: (d[X.REASON], d[X.DUPLICATE_OF])),
                equal_to([('duplicate_cross_run', row[A.ARTICLE_ID]) for row in old_rows]),
                label='Drops')


def test_a_run_over_an_output_of_the_previous_version_adds_no_duplicate(tmp_path):
  inputs, output = tmp_path / 'in', tmp_path / 'out'
  inputs.mkdir()
  objects = [{'url': url, 'title': f'Story {n}', 'published': '2022-01-18T10:00:00Z',
              'text': f'{OTHER} Story number {n} of the council, told in full.'}
             for n, url in enumerate(MIGRATED_URLS)]
  (inputs / 'a.jsonl').write_text('\n'.join(json.dumps(o) for o in objects) + '\n')
  old_rows = []
  for n, obj in enumerate(objects):
    raw = {A.SOURCE_URI: str(inputs / 'a.jsonl') + f'#L{n + 1}', A.INPUT_FORMAT: 'jsonl',
           A.URL: obj['url'], A.TITLE: obj['title'], A.TEXT: obj['text'],
           'published': obj['published']}
    record, _ = normalize_record(raw, 'old', NOW)
    record[A.LANGUAGE] = 'en'
    old_rows.append(previous_version_row(record, obj['url']))
  folder = output / 'articles' / 'date=2022-01-18' / 'lang=en'
  folder.mkdir(parents=True)
  write_parquet(str(folder / 'part-old-0.parquet'), old_rows, PREVIOUS_SCHEMA)

  result = run_newsbeam('--input', inputs, '--output', output)
  assert result.manifest['articles_written'] == 0
  assert dict(result.manifest['dropped_by_reason']) == {'duplicate_cross_run': 5}
  table = articles_table(output)
  assert sorted(r[A.ARTICLE_ID] for r in table) == sorted(r[A.ARTICLE_ID] for r in old_rows)


def test_an_article_via_a_redirect_wrapper_and_directly_is_written_once(tmp_path):
  target = 'https://www1.site.example/news/2022/bridge-vote.html'
  wrapped = article('feed-a', STORY, url=f'https://redir.example/rd/2/click/991*{target}')
  direct = article('feed-b', STORY[:600], url=target)
  assert wrapped[A.ARTICLE_ID] == direct[A.ARTICLE_ID]
  with TestPipeline() as p:
    out = p | beam.Create([wrapped, direct]) | Deduplicate(str(tmp_path / 'out'), NOW.date())
    assert_that(out.records | beam.Map(lambda a: (a[A.SOURCE_URI], a[A.URL])),
                equal_to([('feed-a', wrapped[A.URL])]), label='Records')
    assert_that(out.dropped | beam.Map(lambda d: (d[X.REASON], d[X.SOURCE_URI], d[X.DETAIL])),
                equal_to([('duplicate_id', 'feed-b', 'same canonical URL')]), label='Drops')


def test_every_duplicate_drop_says_what_decided_it(tmp_path):
  output = tmp_path / 'out'
  old = article('old', OTHER, url='https://example.org/old')
  old[A.MINHASH] = minhash_signature(OTHER)
  folder = output / 'articles' / 'date=2022-01-18' / 'lang=en'
  folder.mkdir(parents=True)
  write_parquet(str(folder / 'part-run1-0.parquet'), [old], ARTICLE_SCHEMA)
  first = article('a1', STORY, url='https://example.org/a')
  same_url = article('a2', STORY[:400], url='https://example.org/a')
  no_url = article('n1', 'A short note without a link.')
  no_url_again = dict(no_url, **{A.SOURCE_URI: 'n2'})
  syndicated = article('b1', STORY, url='https://mirror.example.net/b',
                       published='2022-01-19T10:00:00Z')
  again = article('again', OTHER, url='https://example.org/old')
  with TestPipeline() as p:
    out = (p | beam.Create([first, same_url, no_url, no_url_again, syndicated, again])
           | Deduplicate(str(output), NOW.date(), 0))
    assert_that(out.dropped | beam.Map(lambda d: (d[X.REASON], d[X.SOURCE_URI], d[X.DETAIL])),
                equal_to([('duplicate_id', 'a2', 'same canonical URL'),
                          ('duplicate_id', 'n2', 'same source, title and text (no usable URL)'),
                          ('duplicate_content', 'b1', 'same text (content_hash)'),
                          ('duplicate_cross_run', 'again',
                           'article_id written by an earlier run')]),
                label='Drops')


def feed_article(feed, guid, text, url):
  raw = {A.SOURCE_URI: feed, A.INPUT_FORMAT: 'feed', A.URL: url, A.TITLE: guid,
         A.EXTERNAL_ID: guid, A.TEXT: text, 'published': '2022-01-18T10:00:00Z'}
  record, _ = normalize_record(raw, 'run2', NOW)
  record[A.LANGUAGE] = 'en'
  return record


def test_a_polled_feed_entry_written_before_is_counted_seen_again_not_dropped(tmp_path):
  output = tmp_path / 'out'
  old = article('old', STORY, url='https://example.org/old')
  old_too = article('old_too', OTHER, url='https://example.org/old-too')
  folder = output / 'articles' / 'date=2022-01-18' / 'lang=en'
  folder.mkdir(parents=True)
  write_parquet(str(folder / 'part-run1-0.parquet'), [old, old_too], ARTICLE_SCHEMA)
  feed = 'http://127.0.0.1:8000/rss.xml'
  polled = feed_article(feed, 'guid-7', STORY, 'https://example.org/old')
  from_file = feed_article('saved/rss.xml', 'guid-8', OTHER, 'https://example.org/old-too')
  with TestPipeline() as p:
    out = p | beam.Create([polled, from_file]) | Deduplicate(str(output), NOW.date(), 0)
    assert_that(out.records, equal_to([]), label='Records')
    assert_that(out.reports['seen_again'], equal_to([(feed, 'id:guid-7')]), label='Seen')
    assert_that(out.dropped | beam.Map(lambda d: (d[X.REASON], d[X.SOURCE_URI])),
                equal_to([('duplicate_cross_run', 'saved/rss.xml')]), label='Drops')
