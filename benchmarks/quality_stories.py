"""Story quality: pairwise precision and recall of "same story", and its cost per article.

The corpus is built from the gold article bodies of ``../shared/eval``
(``article-extraction`` and ``article-extraction-2025``; read in place,
never copied). Each of the story originals is republished 1-3 times "by other
sources on other days": a leading 40-100 % of its paragraphs, sentences
swapped and words substituted, the source's footer lines instead of the
original's, an update paragraph sometimes, another headline (a wire prefix,
words dropped or swapped, the first sentence, the source's name), 0-2 days
later, and sometimes as a link-only feed entry (a headline and no text). The
other texts are unrelated articles, spread over the same days and sources
(so they share the sources' boilerplate). Texts are split by hash into a
tuning half and a validation half, each run as its own corpus. Entities come
from spaCy (the pipeline's model), cached under ``--cache``.

Every day of the corpus is one run: ``assign_stories`` gets that day's
signatures and the index rows of the earlier runs inside the window, as the
pipeline does. A pair counts as "same story" when both articles got one
story id; gold pairs are copies of one original.

    .venv/bin/python -m benchmarks.quality_stories [--stories 200] [--lsh-entries 20000]
"""

import argparse
import collections
import datetime
import gc
import hashlib
import json
import pathlib
import pickle
import random
import re
import tempfile
import time
import tracemalloc

import numpy as np

from schemas import article as A
from schemas import story as S
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import default_ner_models
from transforms.enrich.entities import load_ner_pipeline
from transforms.enrich.entities import tag_texts
from transforms.enrich.entities import with_entities
from transforms.stories.assign import DEFAULT_WINDOW_DAYS
from transforms.stories.assign import LATE_DAYS
from transforms.stories.assign import _Candidates
from transforms.stories.assign import _Entry
from transforms.stories.assign import assign_stories
from transforms.stories.assign import signature_keys
from transforms.stories.assign import index_row
from transforms.stories.assign import read_index_candidates
from transforms.stories.assign import story_signature
from transforms.write.datasets import write_parquet

EVAL = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'eval'
GROUND_TRUTHS = (EVAL / 'article-extraction' / 'ground-truth.json',
                 EVAL / 'article-extraction-2025' / 'ground-truth.json')
MIN_WORDS = 150  # shorter bodies are not used
MAX_WORDS = 2_500  # nor longer ones (manuals, not news)
CORPUS_DAYS = 20  # originals and unrelated articles are spread over these days
MAX_COPY_DELAY_DAYS = 2
SEED = 7
LINK_ONLY_SHARE = 0.1  # copies published as a headline without text
UPDATE_SHARE = 0.3  # copies with an update paragraph appended
SWAP_SHARE = 0.3  # paragraphs with two sentences swapped
SUBSTITUTION_SHARE = 0.5  # substitutable words replaced
START = datetime.datetime(2026, 3, 1, 6, tzinfo=datetime.timezone.utc)

SOURCES = {
    'wire.example': ['Reporting by staff; editing by the desk.',
                     '© 2026 Wire Service. All rights reserved.'],
    'dailynews.example': ['Sign up for our morning newsletter to get the top stories.',
                          'Follow us on social media for the latest updates.'],
    'metro.example': ['Have a story tip? Email the newsroom.',
                      'This article first appeared in the print edition.'],
    'globe.example': ['Subscribe for unlimited access to award-winning journalism.',
                      'Comments are closed for this article.'],
    'herald.example': ['Read more: our coverage of the week in review.',
                       'Copyright Herald Media Group. Do not redistribute.'],
    'courier.example': ['Download our app for breaking news alerts.',
                        'Corrections: write to the readers editor.'],
    'post.example': ['Support independent journalism: become a member today.',
                     'The Post is part of the Post Media network.'],
    'times.example': ['Additional reporting by our correspondents.',
                      'Share this article with your friends and family.'],
}
SUBSTITUTIONS = {
    'said': 'stated', 'says': 'states', 'people': 'residents', 'big': 'large',
    'also': 'additionally', 'but': 'however', 'about': 'around', 'because': 'since',
    'many': 'numerous', 'new': 'fresh', 'show': 'indicate', 'shows': 'indicates',
    'help': 'assist', 'start': 'begin', 'buy': 'purchase', 'get': 'obtain',
    'important': 'significant', 'often': 'frequently', 'now': 'currently',
    'company': 'firm', 'use': 'utilise', 'used': 'employed', 'make': 'create',
}
UPDATES = (
    'This story has been updated with additional reporting and reaction.',
    'Officials were expected to give more details later in the day.',
    'Update: more information has been added since this article was first published.',
    'The situation is developing and this report will be updated.',
)
WIRE_PREFIXES = ('UPDATE 1-', 'UPDATE 2-', 'EXCLUSIVE: ', 'Breaking: ', 'Analysis: ')
_SENTENCE_END = re.compile(r'(?<=[.!?])\s+')
_SLUG_NOISE = re.compile(r'^\d+$|^[0-9a-f]{8,}$|^\d+[a-z]?$')


def slug_title(url):
  """A headline from a URL's last path segment (the 2019 set has no titles)."""
  parts = [p for p in url.rstrip('/').split('/') if p]
  for part in reversed(parts):
    words = [w for w in re.split(r'[-_]+', part.split('.')[0]) if w and not _SLUG_NOISE.match(w)]
    if len(words) >= 3:
      return ' '.join(words).capitalize()
  return None


def load_originals():
  """``(id, title, paragraphs)`` of the usable gold bodies, in a stable order."""
  originals = []
  for path in GROUND_TRUTHS:
    for key, item in sorted(json.loads(path.read_text(encoding='utf-8')).items()):
      body = item.get('articleBody') or ''
      if not MIN_WORDS <= len(body.split()) <= MAX_WORDS:
        continue
      paragraphs = [p.strip() for p in body.split('\n') if p.strip()]
      title = item.get('title') or slug_title(item.get('url') or '')
      originals.append((f'{path.parent.name}/{key}', title, paragraphs))
  return originals


def substitute(text, rng):
  """Some substitutable words replaced by a synonym."""
  def swap(match):
    word = match.group(0)
    other = SUBSTITUTIONS.get(word.lower())
    if other and rng.random() < SUBSTITUTION_SHARE:
      return other.capitalize() if word[0].isupper() else other
    return word
  return re.sub(r'\b\w+\b', swap, text)


def swap_sentences(paragraph, rng):
  """The paragraph with two neighbouring sentences swapped, sometimes."""
  sentences = _SENTENCE_END.split(paragraph)
  if len(sentences) < 2 or rng.random() >= SWAP_SHARE:
    return paragraph
  i = rng.randrange(len(sentences) - 1)
  sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
  return ' '.join(sentences)


def other_headline(title, paragraphs, source, rng, link_only):
  """A headline another source could give the story."""
  words = (title or '').split()
  kinds = ['prefix', 'drop', 'synonyms', 'source']
  if not link_only:
    kinds.append('first_sentence')
  kind = rng.choice(kinds) if words else 'first_sentence'
  if kind == 'prefix':
    return rng.choice(WIRE_PREFIXES) + title
  if kind == 'drop' and len(words) > 4:
    for _ in range(rng.randint(1, min(3, len(words) - 4))):
      del words[rng.randrange(len(words))]
    return ' '.join(words)
  if kind == 'synonyms':
    return substitute(title, random.Random(rng.random()))
  if kind == 'source':
    return f'{title} | {source.split(".")[0].title()}'
  first = _SENTENCE_END.split(paragraphs[0])[0].split() if paragraphs else []
  return ' '.join(first[:12]) or title


def make_copy(original, source, when, rng, min_keep=0.4):
  """Another source's version of an original (see the module docstring)."""
  _, title, paragraphs = original
  link_only = rng.random() < LINK_ONLY_SHARE
  keep = max(1, round(len(paragraphs) * rng.uniform(min_keep, 1.0)))
  body = [substitute(swap_sentences(p, rng), rng) for p in paragraphs[:keep]]
  if rng.random() < UPDATE_SHARE:
    body.append(rng.choice(UPDATES))
  body += SOURCES[source][:rng.randint(1, 2)]
  return {'title': other_headline(title, paragraphs, source, rng, link_only),
          'text': '' if link_only else '\n\n'.join(body), 'source': source,
          'when': when, 'link_only': link_only}


def build_corpus(originals, story_count, rng, min_keep=0.4):
  """Articles with their gold story: copies of ``story_count`` originals, the rest alone."""
  sources = sorted(SOURCES)
  order = list(originals)
  rng.shuffle(order)
  articles = []
  for index, original in enumerate(order):
    source = rng.choice(sources)
    when = START + datetime.timedelta(days=rng.uniform(0, CORPUS_DAYS))
    _, title, paragraphs = original
    articles.append({'title': title, 'text': '\n\n'.join(paragraphs + SOURCES[source][:1]),
                     'source': source, 'when': when, 'link_only': False,
                     'gold': original[0]})
    if index < story_count:
      others = [s for s in sources if s != source]
      rng.shuffle(others)
      for copy_source in others[:rng.randint(1, 3)]:
        delay = datetime.timedelta(days=rng.uniform(0, MAX_COPY_DELAY_DAYS))
        copy = make_copy(original, copy_source, when + delay, rng, min_keep)
        articles.append(dict(copy, gold=original[0]))
  for number, article in enumerate(articles):
    article['id'] = f'a{number:05d}'
  return articles


def tag_corpus(articles, cache_path):
  """Article records with spaCy entities; the NER results are cached by text hash."""
  cache = {}
  if cache_path.exists():
    cache = pickle.loads(cache_path.read_bytes())
  model = default_ner_models()['en']
  missing = sorted({a['text'] for a in articles
                    if hashlib.sha256(a['text'].encode()).hexdigest() not in cache})
  ner_seconds = None
  if missing:
    nlp = load_ner_pipeline(model)
    started = time.perf_counter()
    for text, mentions in zip(missing, tag_texts(nlp, missing, DEFAULT_ENTITY_TYPES)):
      cache[hashlib.sha256(text.encode()).hexdigest()] = mentions
    ner_seconds = (time.perf_counter() - started) / len(missing)
    cache_path.write_bytes(pickle.dumps(cache))
  records = []
  for article in articles:
    mentions = cache[hashlib.sha256(article['text'].encode()).hexdigest()]
    record = {A.ARTICLE_ID: article['id'], A.TITLE: article['title'], A.TEXT: article['text'],
              A.SOURCE: article['source'], A.PUBLISHED_AT: article['when'],
              A.INGESTED_AT: article['when'], A.RUN_ID: 'bench', A.ENTITIES: []}
    records.append(with_entities(record, mentions, DEFAULT_ENTITY_TYPES, model))
  return records, ner_seconds


def run_days(records, window_days):
  """Assigns stories day by day, each day a run with the earlier runs' index rows."""
  by_day = collections.defaultdict(list)
  for record in records:
    by_day[record[A.PUBLISHED_AT].date()].append(record)
  index = []
  assignment = {}
  sign_seconds = assign_seconds = 0.0
  for day in sorted(by_day):
    started = time.perf_counter()
    signatures = [story_signature(r) for r in by_day[day]]
    sign_seconds += time.perf_counter() - started
    oldest = day - datetime.timedelta(days=window_days + LATE_DAYS)
    window = [row for row in index if row[S.SEEN_AT].date() >= oldest]
    started = time.perf_counter()
    found = assign_stories(signatures, window, window_days)
    assign_seconds += time.perf_counter() - started
    assignment.update(found)
    index += [index_row(s, found[s[S.ARTICLE_ID]]) for s in signatures]
  return assignment, sign_seconds / len(records), assign_seconds / len(records)


def pairs(clusters):
  return sum(n * (n - 1) // 2 for n in clusters.values())


def pairwise(articles, assignment, subset=None):
  """``(precision, recall, true pairs, predicted pairs, gold pairs)`` over the articles' pairs."""
  chosen = [a for a in articles if subset is None or subset(a)]
  gold = collections.Counter(a['gold'] for a in chosen)
  predicted = collections.Counter(assignment[a['id']] for a in chosen)
  both = collections.Counter((a['gold'], assignment[a['id']]) for a in chosen)
  true, found, wanted = pairs(both), pairs(predicted), pairs(gold)
  return (true / found if found else 1.0, true / wanted if wanted else 1.0, true, found, wanted)


def same_topic_pairs(articles, records, window_days):
  """Pairs of different originals sharing 2+ entities within the window: the hard negatives."""
  keys = {r[A.ARTICLE_ID]: {m['canonical'].casefold() for m in r[A.ENTITIES]
                            if m['label'] in ('PERSON', 'ORG', 'GPE', 'EVENT', 'PRODUCT')}
          for r in records}
  firsts = {}
  for article in articles:
    firsts.setdefault(article['gold'], article)
  originals = sorted(firsts.values(), key=lambda a: a['id'])
  found = []
  for i, first in enumerate(originals):
    for second in originals[i + 1:]:
      if (abs((first['when'] - second['when']).total_seconds()) <= window_days * 86_400 and
          len(keys[first['id']] & keys[second['id']]) >= 2):
        found.append((first['id'], second['id']))
  return found


def measure_lsh(signatures, count):
  """Bytes per entry of the prepared entries and of the LSH buckets, for ``count`` entries.

  Entries take their words and entities from the corpus in turn and random
  MinHash values, so that, as for distinct articles, few LSH buckets are shared.
  """
  values = np.random.RandomState(SEED).randint(0, 2**32, size=(count, 160), dtype=np.uint64)
  rows = [dict(signatures[i % len(signatures)],
               **{S.ARTICLE_ID: f'x{i:08d}', S.STORY_ID: f's{i:08d}',
                  S.MINHASH: [int(v) for v in values[i, :128]],
                  S.LEAD_MINHASH: [int(v) for v in values[i, 128:]]})
          for i in range(count)]
  entries = [_Entry(r, False) for r in rows]
  started = time.perf_counter()
  lsh = _Candidates(entries)
  build_seconds = time.perf_counter() - started
  started = time.perf_counter()
  for position in range(min(1000, count)):
    lsh.query(position)
  query_ms = (time.perf_counter() - started) * 1000 / min(1000, count)
  del lsh, entries
  gc.collect()
  tracemalloc.start()
  before = tracemalloc.get_traced_memory()[0]
  entries = [_Entry(r, False) for r in rows]
  middle = tracemalloc.get_traced_memory()[0]
  lsh = _Candidates(entries)
  after = tracemalloc.get_traced_memory()[0]
  tracemalloc.stop()
  del lsh, entries
  return (middle - before) / count, (after - middle) / count, build_seconds, query_ms


def measure_index_read(signatures, rows_count, run_count, folder):
  """Seconds per million index rows to filter a file against a run of ``run_count`` signatures."""
  values = np.random.RandomState(SEED + 1).randint(0, 2**32, size=(rows_count, 160),
                                                   dtype=np.uint64)
  rows = [index_row(dict(signatures[i % len(signatures)],
                         **{S.ARTICLE_ID: f'x{i:08d}', S.MINHASH: [int(v) for v in values[i, :128]],
                            S.LEAD_MINHASH: [int(v) for v in values[i, 128:]]}),
                    f's{i:08d}') for i in range(rows_count)]
  path = pathlib.Path(folder) / 'index.parquet'
  write_parquet(str(path), rows, S.STORY_INDEX_SCHEMA)
  run = [signatures[i % len(signatures)] for i in range(run_count)]
  keys = np.unique(np.array([k for s in run for k in signature_keys(s)], dtype=np.uint64))
  words = {w for s in run for w in s[S.TITLE_TOKENS]}
  link_words = {w for s in run if s[S.MINHASH] is None for w in s[S.TITLE_TOKENS]}
  started = time.perf_counter()
  kept = read_index_candidates(str(path), keys, words, link_words)
  seconds = time.perf_counter() - started
  return seconds * 1_000_000 / rows_count, len(kept) / rows_count, path.stat().st_size / rows_count


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--stories', type=int, default=100,
                      help='originals republished per half (the rest stay alone)')
  parser.add_argument('--window-days', type=int, default=DEFAULT_WINDOW_DAYS)
  parser.add_argument('--lsh-entries', type=int, default=20_000)
  parser.add_argument('--index-rows', type=int, default=100_000,
                      help='rows of the index file whose filtering is timed')
  parser.add_argument('--cache', default='/tmp/newsbeam-stories-ner.pickle')
  parser.add_argument('--halves', default='tune,validation')
  parser.add_argument('--seed', type=int, default=SEED, help='of the copies, dates and sources')
  parser.add_argument('--min-keep', type=float, default=0.4,
                      help='smallest share of the paragraphs a copy keeps')
  args = parser.parse_args(argv)
  originals = load_originals()
  halves = {'tune': [], 'validation': []}
  for original in originals:
    digest = hashlib.sha256(original[0].encode()).digest()[0]
    halves['tune' if digest % 2 == 0 else 'validation'].append(original)
  print(f'{len(originals)} gold bodies of {MIN_WORDS}-{MAX_WORDS} words; window '
        f'{args.window_days} days')
  print(f'{"half":10} {"articles":>8} {"link-only":>9} {"gold pairs":>10} {"found":>6} '
        f'{"P":>6} {"R":>6} {"R text":>6} {"R link":>6} {"topic neg":>9} {"merged":>6}')
  all_signatures = []
  for name in args.halves.split(','):
    rng = random.Random(f'{args.seed}-{name}')
    articles = build_corpus(halves[name], args.stories, rng, args.min_keep)
    records, ner_seconds = tag_corpus(articles, pathlib.Path(args.cache))
    assignment, sign_s, assign_s = run_days(records, args.window_days)
    precision, recall, _, found, wanted = pairwise(articles, assignment)
    _, recall_text, *_ = pairwise(articles, assignment, lambda a: not a['link_only'])
    link_gold = {a['gold'] for a in articles if a['link_only']}
    _, recall_link, *_ = pairwise(articles, assignment, lambda a: a['gold'] in link_gold)
    negatives = same_topic_pairs(articles, records, args.window_days)
    merged = sum(assignment[a] == assignment[b] for a, b in negatives)
    print(f'{name:10} {len(articles):8d} {sum(a["link_only"] for a in articles):9d} '
          f'{wanted:10d} {found:6d} {precision:6.3f} {recall:6.3f} {recall_text:6.3f} '
          f'{recall_link:6.3f} {len(negatives):9d} {merged:6d}')
    print(f'{"":10} signature {sign_s * 1000:.2f} ms/article, assignment '
          f'{assign_s * 1000:.2f} ms/article'
          + (f', spaCy NER {ner_seconds * 1000:.1f} ms/article' if ner_seconds else ''))
    all_signatures += [story_signature(r) for r in records if r[A.TEXT]]
  entry_bytes, lsh_bytes, build_seconds, query_ms = measure_lsh(all_signatures,
                                                                args.lsh_entries)
  per_million = (entry_bytes + lsh_bytes) * 1_000_000 / 2**30
  print(f'LSH state at {args.lsh_entries} entries: prepared entries {entry_bytes:.0f} B, '
        f'LSH buckets {lsh_bytes:.0f} B per entry; built in {build_seconds:.2f} s, '
        f'{query_ms:.3f} ms per query; 1M entries ~ {per_million:.2f} GiB')
  with tempfile.TemporaryDirectory() as folder:
    seconds, kept, file_bytes = measure_index_read(all_signatures, args.index_rows,
                                                   len(all_signatures), folder)
  print(f'index read: {seconds:.1f} s per million rows filtered against a run of '
        f'{len(all_signatures)} articles; {kept:.2%} of rows kept; {file_bytes:.0f} B per '
        f'row in Parquet')


if __name__ == '__main__':
  main()
