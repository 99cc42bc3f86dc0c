"""Stories: articles about one event share a ``story_id``, across sources, days and runs.

A story signature keeps, per article, a MinHash of its text's word shingles
(datasketch, seeded), the content words of its title, its most mentioned
entities and places, and its time. ``same_story`` decides a pair: the share
of the shorter text found in the longer one (estimated from the MinHash and
the shingle counts, so a wire copy cut to 40 % still matches), helped by
shared entities or title words when the texts overlap less; an article
without text (a feed's link-only entry) is matched on its title alone, and
strictly. Articles more than the window apart never match.

``assign_stories`` finds candidates with LSH band buckets over the texts of
the run's signatures and the index's, others over their leads (a copy cut to
a fifth still has the original's lead), and shared title words for link-only
entries; it
joins the run's articles connected by ``same_story``, and names each group:
the id of the earliest existing story it joins, else a hash of its smallest
article id. Everything is sorted first, so the ids do not depend on the
order of the input, and existing stories keep their ids.

Across runs the story index (``schemas.story``) is the state: the run reads
the index partitions of the window around its dates, filtered file by file
against the run's LSH band keys and title words (as ``dedup`` reads the
articles), and writes one index row per new article to its staging folder;
the commit moves them into place and expires old partitions
(``expire_story_index``).
"""

import collections
import datetime
import hashlib
import re
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
import numpy as np

import schemas
from schemas import article as A
from schemas import entity as E
from schemas import place as P
from schemas import story as S
from schemas.common import DATE
from schemas.datasets import STATE_FOLDER
from schemas.datasets import output_path
from transforms.core import stage
from transforms.enrich.canonical import canonical_key

__all__ = ['AssignStories', 'StoryOutputs', 'story_signature',
           'same_story', 'assign_stories', 'story_rows', 'story_row', 'index_row',
           'story_index_root', 'index_partition_dates', 'expired_index_dates',
           'expire_story_index', 'read_index_candidates', 'read_index_members',
           'new_story_id', 'band_keys', 'lead_band_keys']

STAGE = 'stories'

DEFAULT_WINDOW_DAYS = 3  # articles further apart never share a story
LATE_DAYS = 2  # index partitions are kept this much beyond the window, for late articles
NUM_PERMUTATIONS = S.STORY_MINHASH_PERMUTATIONS
MINHASH_SEED = 20_261_122
MINHASH_SCHEME = 'affine32'
SHINGLE_WORDS = 3  # words per shingle, stop words removed
MAX_TEXT_WORDS = 2_000  # longer texts are signed on their first words
LSH_BANDS = 42  # LSH_BANDS * LSH_ROWS <= NUM_PERMUTATIONS; candidates from Jaccard ~0.25
LSH_ROWS = 3
LEAD_WORDS = 80  # content words of the lead, whose sketch finds copies cut short
LEAD_PERMUTATIONS = S.LEAD_MINHASH_PERMUTATIONS
LEAD_BANDS = 8  # LEAD_BANDS * LEAD_ROWS <= LEAD_PERMUTATIONS; candidates from lead Jaccard ~0.6
LEAD_ROWS = 4
TOP_ENTITIES = 8  # entities kept per article signature
TOP_PLACES = 5  # places kept per article signature
STORY_TOP_ENTITIES = 5  # entities listed per story
STORY_TOP_PLACES = 3  # places listed per story

# The decision, on estimated shares (0-1) of shared text, title words and entities.
STRONG_CONTAINMENT = 0.5  # of the shorter text's shingles in the longer: same story alone
WEAK_CONTAINMENT = 0.15  # same story when entities or the title agree too
ENTITY_SUPPORT = 0.5  # share of the smaller entity set found in the other
TITLE_SUPPORT = 0.5  # share of the shorter title's words found in the other
MIN_ENTITIES = 2  # fewer entities than this on a side cannot support a match
TITLE_ONLY_OVERLAP = 0.75  # a link-only article: share of title words shared
TITLE_ONLY_MIN_SHARED = 3  # ... and at least this many shared title words
MIN_SHARED_TITLE_WORDS = 2  # title candidates share at least this many words
MAX_TITLE_POSTINGS = 500  # more common title words find no candidates
MAX_BUCKET_CANDIDATES = 64  # earliest entries an LSH band bucket offers as candidates
STORY_ID_HEX_CHARS = 16
KEY_FILTER_BITS = 24  # bits of the bitmap that rules out index rows before exact lookups

# Words that say nothing about the event.
STOP_WORDS = frozenset('''
a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing down during each
few for from further had has have having he her here hers herself him himself his how
i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too
under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves said says say new news update updated
breaking exclusive live video watch photos analysis opinion report reports latest
'''.split())
NOT_PLURAL_ENDINGS = ('ss', 'us', 'is', 'as', 'os', 'ys')  # words ending so keep their 's'
PLACE_LABELS = P.ENTITY_PLACE_LABELS
ENTITY_LABELS_IGNORED = ('GPE', 'LOC', 'NORP')  # places are kept apart; nationalities say little

_WORD = re.compile(r'\w+')
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_rng = np.random.RandomState(MINHASH_SEED)
# Odd multipliers that mix one band's rows into one key (uint64 wrap-around).
_BAND_MIX = (_rng.randint(1, 1 << 62, size=max(LSH_ROWS, LEAD_ROWS) + 1).astype(np.uint64)
             | np.uint64(1))
del _rng
_BAND_KEY_MASK = np.uint64((1 << 63) - 1)  # band keys fit Beam's signed 64-bit integer coder
_PERMUTATIONS = {}  # datasketch's seeded permutations by size, made once per process


def _permutations(num_perm):
  if num_perm not in _PERMUTATIONS:
    from datasketch import MinHash  # pylint: disable=import-outside-toplevel
    _PERMUTATIONS[num_perm] = MinHash(num_perm=num_perm, seed=MINHASH_SEED,
                                      scheme=MINHASH_SCHEME).permutations
  return _PERMUTATIONS[num_perm]


def content_words(text, limit=None):
  """Case-folded words of a text without stop words (the first ``limit`` words)."""
  words = _WORD.findall((text or '').casefold())
  if limit is not None:
    words = words[:limit]
  return [w for w in words if w not in STOP_WORDS]


def text_shingles(text):
  """Distinct SHINGLE_WORDS-word shingles of a text's content words."""
  return word_shingles(content_words(text, MAX_TEXT_WORDS))


def word_shingles(words):
  """Distinct SHINGLE_WORDS-word shingles of a list of words."""
  if len(words) <= SHINGLE_WORDS:
    return {' '.join(words)} if words else set()
  return {' '.join(words[i:i + SHINGLE_WORDS])
          for i in range(len(words) - SHINGLE_WORDS + 1)}


def text_minhash(shingles, num_perm=NUM_PERMUTATIONS):
  """``num_perm`` uint32 MinHash values of a set of shingles (datasketch, seeded)."""
  from datasketch import MinHash  # pylint: disable=import-outside-toplevel
  minhash = MinHash(num_perm=num_perm, seed=MINHASH_SEED, scheme=MINHASH_SCHEME,
                    permutations=_permutations(num_perm))
  minhash.update_batch([s.encode('utf-8') for s in sorted(shingles)])
  return [int(v) for v in minhash.hashvalues]


def title_tokens(title):
  """The title's content words, folded, plural 's' removed ('rates', not 'Belarus'), sorted."""
  tokens = set()
  for word in content_words(title):
    if len(word) > 3 and word.endswith('s') and not word.endswith(NOT_PLURAL_ENDINGS):
      word = word[:-1]
    tokens.add(word)
  return sorted(tokens)


def _ranked(names):
  """Names by how often they occur, then by first occurrence."""
  counts = collections.Counter(names)
  first = {}
  for index, name in enumerate(names):
    first.setdefault(name, index)
  return sorted(counts, key=lambda n: (-counts[n], first[n]))


def _seen_at(article):
  return article[A.PUBLISHED_AT] or article[A.INGESTED_AT]


def article_places(article):
  """The article's place names: resolved places when there are, else its GPE/LOC entities."""
  places = article.get(P.ARTICLE_PLACES)
  if places:
    return _ranked([p[P.PLACE] for p in places for _ in p[P.MENTIONED_AS]])
  return _ranked([m[E.MENTION_CANONICAL] for m in article.get(A.ENTITIES) or []
                  if m[E.MENTION_LABEL] in PLACE_LABELS])


def story_signature(article):
  """What the story index keeps of an article (its row without story and run)."""
  words = content_words(article[A.TEXT], MAX_TEXT_WORDS)
  shingles = word_shingles(words)
  lead = word_shingles(words[:LEAD_WORDS])
  return {
      S.ARTICLE_ID: article[A.ARTICLE_ID],
      S.SEEN_AT: _seen_at(article),
      S.SOURCE: article.get(A.SOURCE),
      S.TITLE: article.get(A.TITLE),
      S.MINHASH: text_minhash(shingles) if shingles else None,
      S.LEAD_MINHASH: text_minhash(lead, LEAD_PERMUTATIONS) if lead else None,
      S.SHINGLE_COUNT: len(shingles),
      S.TITLE_TOKENS: title_tokens(article.get(A.TITLE)),
      S.ENTITIES: _ranked([m[E.MENTION_CANONICAL] for m in article.get(A.ENTITIES) or []
                           if m[E.MENTION_LABEL] not in ENTITY_LABELS_IGNORED])[:TOP_ENTITIES],
      S.PLACES: article_places(article)[:TOP_PLACES],
      S.RUN_ID: article.get(A.RUN_ID),
  }


def index_row(signature, story_id):
  """The story-index row of a signed article and its story."""
  return dict(signature, **{S.STORY_ID: story_id,
                            S.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION})


class _Entry:
  """A signature prepared for comparisons: arrays and sets built once."""

  __slots__ = ('article_id', 'story_id', 'when', 'minhash', 'lead', 'size', 'title', 'keys',
               'fresh')

  def __init__(self, row, fresh):
    self.article_id = row[S.ARTICLE_ID]
    self.story_id = row.get(S.STORY_ID)
    self.when = (row[S.SEEN_AT] - _EPOCH).total_seconds()
    values = row[S.MINHASH]
    self.minhash = None if values is None else np.asarray(values, dtype=np.uint32)
    lead = row.get(S.LEAD_MINHASH)
    self.lead = None if lead is None or values is None else np.asarray(lead, dtype=np.uint32)
    self.size = row[S.SHINGLE_COUNT]
    self.title = frozenset(row[S.TITLE_TOKENS] or ())
    self.keys = frozenset(canonical_key(n) for n in
                          list(row[S.ENTITIES] or ()) + list(row[S.PLACES] or ()))
    self.fresh = fresh


def _prepared(row, fresh=False):
  return row if isinstance(row, _Entry) else _Entry(row, fresh)


def estimated_containment(first, second):
  """Estimated share of the smaller shingle set found in the other, from MinHash and sizes."""
  jaccard = np.count_nonzero(first.minhash == second.minhash) / len(first.minhash)
  smaller = min(first.size, second.size)
  if not smaller:
    return 0.0
  shared = jaccard / (1.0 + jaccard) * (first.size + second.size)
  return min(1.0, shared / smaller)


def _overlap(first, second, minimum=1):
  """Share of the smaller set found in the other; None when either is smaller than ``minimum``."""
  if min(len(first), len(second)) < minimum:
    return None
  return len(first & second) / min(len(first), len(second))


def same_story(first, second, window_days=DEFAULT_WINDOW_DAYS):
  """Whether two signatures are about the same event (see the module docstring)."""
  a, b = _prepared(first), _prepared(second)
  if abs(a.when - b.when) > window_days * 86_400:
    return False
  entities = _overlap(a.keys, b.keys, MIN_ENTITIES)
  title = _overlap(a.title, b.title)
  if a.minhash is not None and b.minhash is not None:
    containment = estimated_containment(a, b)
    if containment >= STRONG_CONTAINMENT:
      return True
    return containment >= WEAK_CONTAINMENT and (
        (entities or 0.0) >= ENTITY_SUPPORT or (title or 0.0) >= TITLE_SUPPORT)
  shared = len(a.title & b.title)
  return (shared >= TITLE_ONLY_MIN_SHARED and title >= TITLE_ONLY_OVERLAP and
          (entities is None or entities >= ENTITY_SUPPORT))


def new_story_id(article_id):
  """The id of a story first seen in this run: a hash of its smallest article id."""
  return hashlib.sha256(f'story\x1f{article_id}'.encode('utf-8')).hexdigest()[:STORY_ID_HEX_CHARS]


def _order(row):
  return (row[S.SEEN_AT], row[S.ARTICLE_ID])


class _Candidates:
  """LSH band buckets over the entries with text, of their whole texts and of their leads.

  A copy cut to a fifth of the original shares little of its shingle set,
  but all of its lead. The band keys are those the index files are filtered
  by (``band_keys``). Each bucket offers its ``MAX_BUCKET_CANDIDATES``
  earliest entries only: a bucket that holds thousands of entries (a band
  every templated text shares) says nothing about any one of them, and a
  story's copies still meet its earliest members there and in their other
  bands. Without the cap, ten thousand such texts cost 50 million comparisons.
  """

  def __init__(self, entries):
    self.keys = {}
    self.buckets = collections.defaultdict(list)
    signed = [p for p, entry in enumerate(entries) if entry.minhash is not None]
    if not signed:
      return
    texts = band_keys(np.stack([entries[p].minhash for p in signed]))
    for position, keys in zip(signed, texts):
      entry = entries[position]
      keys = keys.tolist()
      if entry.lead is not None:
        keys += lead_band_keys(entry.lead[None, :])[0].tolist()
      self.keys[position] = keys
      for key in keys:
        bucket = self.buckets[key]
        if len(bucket) < MAX_BUCKET_CANDIDATES:
          bucket.append(position)

  def query(self, position):
    """Positions sharing a band with the entry (each bucket's earliest ones)."""
    found = set()
    for key in self.keys.get(position, ()):
      found.update(self.buckets[key])
    return found


def _title_postings(entries):
  postings = collections.defaultdict(list)
  for position, entry in enumerate(entries):
    for token in entry.title:
      postings[token].append(position)
  return postings


def _title_candidates(position, entries, postings):
  """Entries sharing enough title words with a link-only entry, or link-only ones with it."""
  entry = entries[position]
  shared = collections.Counter()
  for token in entry.title:
    found = postings.get(token, ())
    if len(found) <= MAX_TITLE_POSTINGS:
      shared.update(found)
  return {other for other, count in shared.items()
          if count >= MIN_SHARED_TITLE_WORDS and
          (entry.minhash is None or entries[other].minhash is None)}


def _title_rank(entry, other):
  """Sort key of a link-only entry's matches: with text, most similar title, earliest."""
  union = len(entry.title | other.title)
  return (other.minhash is None, -len(entry.title & other.title) / union if union else 0.0,
          other.when, other.article_id)


def assign_stories(new_entries, index_entries, window_days=DEFAULT_WINDOW_DAYS):
  """``{article_id: story_id}`` for the run's signatures, given the index rows of the window.

  Articles with text are joined to every article with text they match (each
  pair of the run looked at once, from its later member). An article without
  text joins only its best match (the most similar title): a headline alone
  never bridges two stories.
  """
  index = sorted(index_entries, key=_order)
  known = {}
  for row in index:
    known.setdefault(row[S.ARTICLE_ID], row[S.STORY_ID])
  fresh_rows = {}
  for row in sorted(new_entries, key=_order):
    if row[S.ARTICLE_ID] not in known:
      fresh_rows.setdefault(row[S.ARTICLE_ID], row)
  entries = ([_prepared(r) for r in index] +
             [_prepared(r, fresh=True) for r in fresh_rows.values()])
  story_start = {}
  for entry in entries:
    if not entry.fresh:
      story_start[entry.story_id] = min(story_start.get(entry.story_id, entry.when), entry.when)

  lsh = _Candidates(entries)
  postings = _title_postings(entries)
  parent = {}

  def root(position):
    top = position
    while parent.get(top, top) != top:
      top = parent[top]
    while position != top:  # path compression
      parent[position], position = top, parent[position]
    return top

  def join(first, second):
    low, high = sorted((root(first), root(second)))
    parent[high] = low

  links = collections.defaultdict(set)
  for position, entry in enumerate(entries):
    if not entry.fresh:
      continue
    candidates = _title_candidates(position, entries, postings)
    candidates.update(lsh.query(position))
    if entry.minhash is None:
      matches = [o for o in sorted(candidates) if o != position and
                 same_story(entry, entries[o], window_days)]
      matches = [min(matches, key=lambda o: _title_rank(entry, entries[o]))] if matches else []
    else:
      matches = []
      for other in sorted(candidates):
        candidate = entries[other]
        if other == position or candidate.minhash is None:
          continue
        if candidate.fresh and (other > position or root(other) == root(position)):
          continue  # looked at from the later one, or already joined: no comparison
        if same_story(entry, candidate, window_days):
          matches.append(other)
          if candidate.fresh:
            join(position, other)
    for other in matches:
      if not entries[other].fresh:
        links[position].add(entries[other].story_id)
      elif entry.minhash is None:  # (articles with text joined theirs as they went)
        join(position, other)

  groups = collections.defaultdict(list)
  for position, entry in enumerate(entries):
    if entry.fresh:
      groups[root(position)].append(position)
  assignment = {r[S.ARTICLE_ID]: known[r[S.ARTICLE_ID]] for r in new_entries
                if r[S.ARTICLE_ID] in known}
  for members in groups.values():
    joined = set().union(*(links[m] for m in members))
    if joined:
      story_id = min(joined, key=lambda s: (story_start[s], s))
    else:
      story_id = new_story_id(min(entries[m].article_id for m in members))
    for member in members:
      assignment[entries[member].article_id] = story_id
  return assignment


def story_row(story_id, members, run_id):
  """The stories row of one story from its index rows (the window's and the run's)."""
  members = sorted(members, key=_order)
  titled = [m for m in members if m[S.TITLE]]
  entity_votes = collections.Counter()
  place_votes = collections.Counter()
  display = {}
  rank = {}
  for member in members:
    for counter, names in ((entity_votes, member[S.ENTITIES]), (place_votes, member[S.PLACES])):
      for position, name in enumerate(dict.fromkeys(names or ())):
        key = canonical_key(name)
        display.setdefault(key, name)
        rank[key] = min(rank.get(key, position), position)
        counter[key] += 1

  def top(votes, count):
    """Names in most articles first, then those ranked higher in an article."""
    return [display[k] for k in sorted(votes, key=lambda k: (-votes[k], rank[k], k))[:count]]

  return {
      S.STORY_ID: story_id,
      S.FIRST_SEEN: members[0][S.SEEN_AT],
      S.LAST_SEEN: max(m[S.SEEN_AT] for m in members),
      S.ARTICLE_COUNT: len({m[S.ARTICLE_ID] for m in members}),
      S.SOURCE_COUNT: len({m[S.SOURCE] for m in members if m[S.SOURCE]}),
      S.HEADLINE: titled[0][S.TITLE] if titled else None,
      S.TOP_ENTITIES: top(entity_votes, STORY_TOP_ENTITIES),
      S.TOP_PLACES: top(place_votes, STORY_TOP_PLACES),
      S.UPDATED_RUN_ID: run_id,
      S.SCHEMA_VERSION_FIELD: schemas.SCHEMA_VERSION,
  }


def story_rows(assignment, new_entries, index_entries, run_id):
  """One stories row per story the run's articles joined, counted over index and run.

  An article in both (seen again) counts once, as the run sees it.
  """
  touched = set(assignment.values())
  members = collections.defaultdict(dict)
  for row in new_entries:
    story_id = assignment[row[S.ARTICLE_ID]]
    members[story_id].setdefault(row[S.ARTICLE_ID], dict(row, **{S.STORY_ID: story_id}))
  for row in index_entries:
    if row[S.STORY_ID] in touched:
      members[row[S.STORY_ID]].setdefault(row[S.ARTICLE_ID], row)
  return [story_row(s, list(members[s].values()), run_id) for s in sorted(members)]


def story_index_root(output):
  """The story index's folder in an output's state."""
  return output_path(output, STATE_FOLDER, S.STORY_INDEX_FOLDER)


def index_partition_dates(run_dates, window_days=DEFAULT_WINDOW_DAYS):
  """ISO dates of the index partitions an article of any of ``run_dates`` can match."""
  dates = set()
  for day in run_dates:
    for offset in range(-window_days, window_days + 1):
      dates.add((day + datetime.timedelta(days=offset)).isoformat())
  return sorted(dates)


def expired_index_dates(dates, today, window_days=DEFAULT_WINDOW_DAYS, late_days=LATE_DAYS):
  """The partition dates (ISO) older than the window and the grace for late articles."""
  oldest = (today - datetime.timedelta(days=window_days + late_days)).isoformat()
  return sorted(d for d in dates if d < oldest)


def _index_partitions(output):
  """ISO date -> the files of each story-index partition."""
  root = story_index_root(output)
  pattern = FileSystems.join(root, f'{DATE}=*', '*.parquet')
  found = collections.defaultdict(list)
  for metadata in FileSystems.match([pattern])[0].metadata_list:
    folder = metadata.path[len(root):].strip('/').split('/')[0]
    found[folder.split('=', 1)[1]].append(metadata.path)
  return found


def expire_story_index(output, today, window_days=DEFAULT_WINDOW_DAYS, late_days=LATE_DAYS):
  """Deletes the story-index partitions no run will read again; returns their dates.

  For the commit to call (under the output's lock); safe to repeat. A run
  writes no row that this would expire (AssignStories keeps them out).
  """
  partitions = _index_partitions(output)
  expired = expired_index_dates(partitions, today, window_days, late_days)
  for day in expired:
    FileSystems.delete(partitions[day])
    folder = FileSystems.join(story_index_root(output), f'{DATE}={day}')
    if FileSystems.exists(folder):
      FileSystems.delete([folder])
  return expired


def band_keys(signatures, bands=LSH_BANDS, rows=LSH_ROWS, first_band=0):
  """LSH band keys, an (n, bands) array of 63-bit integers, of an (n, permutations) array.

  The bands of ``assign_stories``'s candidate buckets, mixed into one
  integer each (with the band's number, counted from ``first_band``), so
  index files can be filtered with numpy.
  """
  values = np.asarray(signatures, dtype=np.uint64)[:, :bands * rows].reshape(-1, bands, rows)
  with np.errstate(over='ignore'):
    mixed = (values * _BAND_MIX[None, None, :rows]).sum(axis=2, dtype=np.uint64)
    numbers = np.arange(first_band, first_band + bands, dtype=np.uint64)[None, :]
    return (mixed ^ (numbers * _BAND_MIX[-1])) & _BAND_KEY_MASK


def lead_band_keys(leads):
  """Band keys of lead MinHashes, numbered after the text bands."""
  return band_keys(leads, LEAD_BANDS, LEAD_ROWS, first_band=LSH_BANDS)


def signature_keys(signature):
  """The band keys of one signature's text and lead (none without text)."""
  if signature[S.MINHASH] is None:
    return []
  keys = [int(k) for k in band_keys([signature[S.MINHASH]])[0]]
  if signature.get(S.LEAD_MINHASH) is not None:
    keys += [int(k) for k in lead_band_keys([signature[S.LEAD_MINHASH]])[0]]
  return keys


def _read_index_table(path, columns):
  import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
  with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
    return pq.read_table(f, columns=columns, schema=S.STORY_INDEX_SCHEMA)


def _shared_token_counts(table, tokens):
  """Per row, how many of its title tokens are in ``tokens``."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  import pyarrow.compute as pc  # pylint: disable=import-outside-toplevel
  column = table.column(S.TITLE_TOKENS).combine_chunks()
  lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False)
  if not len(tokens) or not lengths.sum():
    return np.zeros(len(table), dtype=np.int64)
  flat = pc.is_in(column.flatten(), value_set=pa.array(sorted(tokens), type=pa.string()))
  owners = np.repeat(np.arange(len(table)), lengths)
  return np.bincount(owners[flat.to_numpy(zero_copy_only=False)], minlength=len(table))


def _shares_a_key(keys, sorted_keys):
  """Per row of ``keys``, whether any of its keys is in ``sorted_keys``.

  A bitmap of the keys' top bits rules out most rows at once; the rest are
  looked up exactly.
  """
  shift = np.uint64(63 - KEY_FILTER_BITS)
  bitmap = np.zeros(1 << KEY_FILTER_BITS, dtype=bool)
  bitmap[sorted_keys >> shift] = True
  maybe = bitmap[keys >> shift].any(axis=1)
  shares = np.zeros(len(keys), dtype=bool)
  if maybe.any():
    rows = keys[maybe]
    found = np.minimum(np.searchsorted(sorted_keys, rows), len(sorted_keys) - 1)
    shares[maybe] = (sorted_keys[found] == rows).any(axis=1)
  return shares


def read_index_candidates(path, run_band_keys, title_words, link_only_title_words):
  """The index rows of one file that ``assign_stories`` could match with the run's signatures.

  Rows sharing an LSH band key (of the text or the lead) with the run; rows without text sharing
  MIN_SHARED_TITLE_WORDS title words with the run's articles; rows sharing
  that many with the run's articles without text. ``run_band_keys`` is a
  sorted array of band keys; the word arguments are sets.
  """
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  import pyarrow.compute as pc  # pylint: disable=import-outside-toplevel
  table = _read_index_table(path, S.STORY_INDEX_SCHEMA.names)
  if not len(table):
    return []
  signatures = table.column(S.MINHASH).combine_chunks()
  has_text = pc.fill_null(pc.equal(pc.list_value_length(signatures), NUM_PERMUTATIONS),
                          False).to_numpy(zero_copy_only=False)
  keep = np.zeros(len(table), dtype=bool)
  if len(run_band_keys) and has_text.any():
    flat = signatures.filter(pa.array(has_text)).flatten().to_numpy(zero_copy_only=False)
    keep[has_text] = _shares_a_key(band_keys(flat.reshape(-1, NUM_PERMUTATIONS)),
                                   run_band_keys)
    leads = table.column(S.LEAD_MINHASH).combine_chunks()
    has_lead = pc.fill_null(pc.equal(pc.list_value_length(leads), LEAD_PERMUTATIONS),
                            False).to_numpy(zero_copy_only=False) & has_text
    if has_lead.any():
      flat = leads.filter(pa.array(has_lead)).flatten().to_numpy(zero_copy_only=False)
      keep[has_lead] |= _shares_a_key(lead_band_keys(flat.reshape(-1, LEAD_PERMUTATIONS)),
                                      run_band_keys)
  keep |= ~has_text & (_shared_token_counts(table, title_words) >= MIN_SHARED_TITLE_WORDS)
  keep |= _shared_token_counts(table, link_only_title_words) >= MIN_SHARED_TITLE_WORDS
  return table.filter(pa.array(keep)).to_pylist() if keep.any() else []


MEMBER_COLUMNS = (S.ARTICLE_ID, S.STORY_ID, S.SEEN_AT, S.SOURCE, S.TITLE, S.ENTITIES,
                  S.PLACES, S.RUN_ID)


def read_index_members(path, story_ids):
  """The rows of one index file that belong to ``story_ids`` (without MinHash), for story rows."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  import pyarrow.compute as pc  # pylint: disable=import-outside-toplevel
  if not story_ids:
    return []
  table = _read_index_table(path, list(MEMBER_COLUMNS))
  wanted = pa.array(sorted(story_ids), type=pa.string())
  return table.filter(pc.is_in(table.column(S.STORY_ID), value_set=wanted)).to_pylist()


class _RunKeysFn(beam.CombineFn):
  """What index rows must share with the run to be candidates: band keys and title words."""

  def create_accumulator(self):
    return set(), set(), set()

  def add_input(self, accumulator, signature):
    keys, words, link_words = accumulator
    keys.update(signature_keys(signature))
    words.update(signature[S.TITLE_TOKENS])
    if signature[S.MINHASH] is None:
      link_words.update(signature[S.TITLE_TOKENS])
    return accumulator

  def merge_accumulators(self, accumulators):
    merged = self.create_accumulator()
    for accumulator in accumulators:
      for target, part in zip(merged, accumulator):
        target.update(part)
    return merged

  def extract_output(self, accumulator):
    keys, words, link_words = accumulator
    return (np.array(sorted(keys), dtype=np.uint64), frozenset(words), frozenset(link_words))


class _ReadCandidatesFn(beam.DoFn):
  """Reads one index file; emits the rows that could match the run."""

  def process(self, path, run_keys):
    yield from read_index_candidates(path, *run_keys)


class _ReadMembersFn(beam.DoFn):
  """Reads one index file; emits the rows of the stories the run touched."""

  def process(self, path, story_ids):
    yield from read_index_members(path, story_ids)


def _assign(signatures, candidates, window_days):
  found = assign_stories(signatures, candidates, window_days)
  return sorted(found.items())


class _AddStoryFn(beam.DoFn):
  """Adds the story id the run's assignment gave the article."""

  def process(self, article, assignment):
    story_id = assignment.get(article[A.ARTICLE_ID])
    if story_id is None:
      yield stage.dead_letter(STAGE, article[A.SOURCE_URI], 'MissingStory',
                              f'no story was assigned to article {article[A.ARTICLE_ID]}',
                              article)
      return
    yield dict(article, **{S.STORY_ID: story_id})


def _story_row_of(keyed, run_id=None):
  story_id, tagged = keyed
  tagged = list(tagged)
  new_runs = sorted({row[S.RUN_ID] for is_new, row in tagged if is_new})
  members = {}
  for is_new, row in sorted(tagged, key=lambda t: not t[0]):
    members.setdefault(row[S.ARTICLE_ID], row)
  return story_row(story_id, list(members.values()), run_id or new_runs[-1])


class StoryOutputs(NamedTuple):
  """What AssignStories returns."""
  outcome: stage.StageOutputs  # articles with STORY_ID, and the step's dead letters
  index_rows: beam.PCollection  # the run's story-index rows (for WriteStoryIndex)
  stories: beam.PCollection  # one stories row per story the run touched


class AssignStories(beam.PTransform):
  """Adds STORY_ID to articles (step ``stories``); also returns index rows and stories rows.

  ``output`` holds the story index of earlier runs; ``today`` is the run's
  date; articles more than ``window_days`` apart never share a story. Only
  small records are gathered in one place: the run's signatures (about 1 KB
  an article) and the index rows that could match them.
  """

  def __init__(self, output, today, window_days=DEFAULT_WINDOW_DAYS, run_id=None,
               label=None):
    super().__init__(label)
    if window_days < 1:
      raise ValueError(f'story window_days must be at least 1, not {window_days}')
    self._root = story_index_root(output)
    self._today = today
    self._window = window_days
    self._run_id = run_id

  def expand(self, articles):
    signatures = articles | 'Sign' >> beam.Map(story_signature)
    run_dates = (signatures
                 | 'RunDates' >> beam.Map(lambda s: s[S.SEEN_AT].date().isoformat())
                 | 'DistinctRunDates' >> beam.Distinct())
    today = articles.pipeline | 'Today' >> beam.Create([self._today.isoformat()])
    index_files = (
        (run_dates, today)
        | 'MergeDates' >> beam.Flatten()
        | 'DistinctDates' >> beam.Distinct()
        | 'WindowDates' >> beam.FlatMap(
            lambda d, w: index_partition_dates([datetime.date.fromisoformat(d)], w),
            self._window)
        | 'DistinctWindowDates' >> beam.Distinct()
        | 'FilePatterns' >> beam.Map(
            lambda d, root: FileSystems.join(root, f'{DATE}={d}', '*.parquet'), self._root)
        | 'MatchFiles' >> fileio.MatchAll(fileio.EmptyMatchTreatment.ALLOW)
        | 'FilePaths' >> beam.Map(lambda m: m.path)
        | 'SpreadFiles' >> beam.Reshuffle())
    run_keys = signatures | 'RunKeys' >> beam.CombineGlobally(_RunKeysFn())
    candidates = index_files | 'ReadCandidates' >> beam.ParDo(
        _ReadCandidatesFn(), beam.pvalue.AsSingleton(run_keys))
    assignment = (signatures
                  | 'GatherSignatures' >> beam.combiners.ToList()
                  | 'Assign' >> beam.FlatMap(_assign, beam.pvalue.AsList(candidates),
                                             self._window))
    outcome = articles | 'AddStoryIds' >> stage.ApplyStage(
        _AddStoryFn(), STAGE, beam.pvalue.AsDict(assignment))
    index_rows = signatures | 'IndexRows' >> beam.Map(
        lambda s, found: index_row(s, found[s[S.ARTICLE_ID]]), beam.pvalue.AsDict(assignment))
    touched = (assignment
               | 'StoryIds' >> beam.Map(lambda kv: kv[1])
               | 'TouchedStories' >> beam.combiners.ToSet())
    earlier = index_files | 'ReadMembers' >> beam.ParDo(
        _ReadMembersFn(), beam.pvalue.AsSingleton(touched))
    stories = (
        (earlier | 'TagEarlier' >> beam.Map(lambda r: (r[S.STORY_ID], (False, r))),
         index_rows | 'TagNew' >> beam.Map(
             lambda r: (r[S.STORY_ID], (True, {c: r[c] for c in MEMBER_COLUMNS}))))
        | 'MergeMembers' >> beam.Flatten()
        | 'GroupMembers' >> beam.GroupByKey()
        | 'StoryRows' >> beam.Map(_story_row_of, self._run_id))
    # Rows of articles older than the index keeps would be expired by this
    # very commit: they are not written (their stories are still counted).
    kept_rows = index_rows | 'KeepRecentRows' >> beam.Filter(
        lambda r, today, window: not expired_index_dates(
            [r[S.SEEN_AT].date().isoformat()], today, window), self._today, self._window)
    return StoryOutputs(outcome, kept_rows, stories)
