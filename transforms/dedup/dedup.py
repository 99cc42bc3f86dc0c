"""Deduplication within a run and across runs, and near-duplicate marking.

Within the run: one row per ``article_id`` (the most complete record wins),
then one row per ``content_hash`` (syndicated copies under other URLs are
dropped as ``duplicate_content`` with ``duplicate_of``).

Across runs: the dataset itself is the index. The ``article_id`` and
``minhash`` columns of existing ``articles`` files are read with column
projection, from the ``date`` partitions of the window (the last
``window_days`` days) and of every date this run writes to. Each file is
filtered with pyarrow against side inputs that hold only this run's ids and
band keys, so the work and memory grow with the run, not with the dataset.
An article already in the dataset is dropped as ``duplicate_cross_run``, except
an entry of a feed polled over HTTP, which is counted as seen again for its
feed (a watch cycle re-reads every entry still in the feed). An
article is looked up by its ``article_id`` and by its ``legacy_article_id``
(the id of schema version 2's URL scheme), so rows written before the URL
scheme changed are recognised too.

Near-duplicates (a corrected typo, an appended paragraph) are marked, never
dropped: MinHash over word shingles, LSH bands to find candidates, and the
signature estimate of Jaccard similarity against a named threshold.
``near_duplicate_of`` points to the earliest similar article: one of an
earlier run, else an earlier-published one of this run.
"""

import datetime
import hashlib
import re

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
import numpy as np

from schemas import article as A
from schemas.common import DATE
from schemas.datasets import ARTICLES
from schemas.datasets import article_date
from transforms.core import stage
from transforms.net.feeds import article_entry_key

__all__ = ['Deduplicate', 'minhash_signature', 'band_keys', 'lookup_ids',
           'estimate_similarity', 'shingles', 'window_dates',
           'read_existing_matches']

STAGE = 'dedup'
DROP_DUPLICATE_ID = 'duplicate_id'
DROP_DUPLICATE_CONTENT = 'duplicate_content'
DROP_DUPLICATE_CROSS_RUN = 'duplicate_cross_run'

DEFAULT_WINDOW_DAYS = 30  # days of date partitions searched for earlier copies
SHINGLE_WORDS = 5  # words per shingle
NUM_PERMUTATIONS = A.MINHASH_PERMUTATIONS
BANDS = 16  # LSH bands; BANDS * ROWS_PER_BAND == NUM_PERMUTATIONS
ROWS_PER_BAND = 4
NEAR_DUPLICATE_THRESHOLD = 0.8  # estimated Jaccard similarity of shingle sets
MAX_CANDIDATES_PER_BAND = 50  # earliest earlier-run and this-run candidates per band bucket
MINHASH_SEED = 1_337
_MERSENNE_61 = (1 << 61) - 1
_rng = np.random.RandomState(MINHASH_SEED)
# (a * x + b) mod p, with a and b drawn below p and the product wrapping at
# 2**64 as numpy does (the scheme of datasketch's MinHash): well mixed, fast.
_PERM_A = _rng.randint(1, _MERSENNE_61, size=NUM_PERMUTATIONS, dtype=np.uint64)
_PERM_B = _rng.randint(0, _MERSENNE_61, size=NUM_PERMUTATIONS, dtype=np.uint64)
_BAND_MIX = _rng.randint(1, 1 << 62, size=ROWS_PER_BAND + 1).astype(np.uint64) | np.uint64(1)
del _rng
_WORD = re.compile(r'\w+')

# What decided a duplicate (a drop's detail): the check, few distinct values.
DETAIL_SAME_URL = 'same canonical URL'
DETAIL_SAME_CONTENT_ID = 'same source, title and text (no usable URL)'
DETAIL_SAME_TEXT = 'same text (content_hash)'
DETAIL_EARLIER_RUN = 'article_id written by an earlier run'
DETAIL_EARLIER_RUN_LEGACY = 'legacy_article_id written by an earlier run'

EXISTING_IDS = 'existing_ids'
EXISTING_BANDS = 'existing_bands'


def shingles(text):
  """Distinct word n-grams (SHINGLE_WORDS) of a text, case-folded."""
  words = _WORD.findall(text.casefold())
  if len(words) <= SHINGLE_WORDS:
    return {' '.join(words)} if words else set()
  return {' '.join(words[i:i + SHINGLE_WORDS])
          for i in range(len(words) - SHINGLE_WORDS + 1)}


def _shingle_hashes(text):
  values = [int.from_bytes(hashlib.blake2b(s.encode('utf-8'), digest_size=4).digest(),
                           'little') for s in shingles(text)]
  return np.array(values or [0], dtype=np.uint64)


def minhash_signature(text):
  """NUM_PERMUTATIONS uint32 MinHash values of the text's shingles."""
  hashes = _shingle_hashes(text)
  with np.errstate(over='ignore'):
    products = (hashes[:, None] * _PERM_A[None, :] + _PERM_B[None, :]) % np.uint64(_MERSENNE_61)
  return [int(v) for v in (products.min(axis=0) & np.uint64(0xFFFFFFFF))]


def band_keys(signatures):
  """LSH band keys: an (n, BANDS) uint64 array for an (n, NUM_PERMUTATIONS) array."""
  rows = np.asarray(signatures, dtype=np.uint64).reshape(-1, BANDS, ROWS_PER_BAND)
  with np.errstate(over='ignore'):
    mixed = (rows * _BAND_MIX[None, None, :ROWS_PER_BAND]).sum(axis=2, dtype=np.uint64)
  bands = np.arange(BANDS, dtype=np.uint64)[None, :] * _BAND_MIX[ROWS_PER_BAND]
  return mixed ^ bands


def estimate_similarity(first, second):
  """Share of equal MinHash values: an estimate of the Jaccard similarity."""
  first, second = np.asarray(first), np.asarray(second)
  return np.count_nonzero(first == second) / len(first)


def window_dates(today, days):
  """ISO dates of the ``days`` days up to and including ``today``."""
  return [(today - datetime.timedelta(days=n)).isoformat() for n in range(days)]


def _when(article):
  return (article[A.PUBLISHED_AT] or article[A.INGESTED_AT]).timestamp()


def article_id_of(article):
  return article[A.ARTICLE_ID]


def lookup_ids(article):
  """The ids an earlier run may have written the article under: its id, then its legacy id."""
  legacy = article.get(A.LEGACY_ARTICLE_ID)
  return [article[A.ARTICLE_ID]] + ([legacy] if legacy else [])


def same_id_detail(article):
  """Why two records share an article_id: the canonical URL, or the content it was hashed from."""
  return DETAIL_SAME_URL if article.get(A.CANONICAL_URL) else DETAIL_SAME_CONTENT_ID


def same_content_detail(_article):
  return DETAIL_SAME_TEXT


def content_key(article):
  """What two copies of one text share: the content hash; an article without text has its own.

  Link-only entries of an aggregator all have empty text but are different
  articles.
  """
  return article[A.CONTENT_HASH] if article[A.TEXT] else 'id:' + article[A.ARTICLE_ID]


def completeness_key(article):
  """Sort key: most complete first (longest text, then earliest publication)."""
  published = article[A.PUBLISHED_AT]
  return (-len(article[A.TEXT]), published is None,
          published.timestamp() if published else 0.0, article[A.SOURCE_URI])


def precedence(article, existing=False):
  """Sort key for "which came first": earlier runs, then earlier dates, then id."""
  return (0 if existing else 1, _when(article), article[A.ARTICLE_ID])


def prepare_run_keys(new_ids, new_bands):
  """This run's ids and band keys as arrays, built once and used for every file."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  ids = pa.array(sorted(new_ids), type=pa.string())
  bands = np.fromiter(new_bands, dtype=np.uint64, count=len(new_bands))
  return ids, bands


def read_existing_matches(path, new_ids, new_bands, prepared=None):
  """Ids and band hits of one existing articles file, filtered to this run's keys.

  Returns ``(ids, hits)``: ids of the file that are in ``new_ids``, and
  ``(band_key, (precedence, article_id, signature))`` for rows sharing a band
  key with this run's articles. ``prepared`` is ``prepare_run_keys``'s result
  for the same keys, to save rebuilding it per file.
  """
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  import pyarrow.compute as pc  # pylint: disable=import-outside-toplevel
  import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
  id_array, wanted = prepared or prepare_run_keys(new_ids, new_bands)
  with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
    table = pq.read_table(f, columns=[A.ARTICLE_ID, A.MINHASH, A.PUBLISHED_AT,
                                      A.INGESTED_AT])
  ids = table.column(A.ARTICLE_ID)
  found = []
  if new_ids:
    found = pc.filter(ids, pc.is_in(ids, value_set=id_array)).to_pylist()
  hits = []
  signatures = table.column(A.MINHASH).combine_chunks()
  valid = pc.fill_null(
      pc.equal(pc.list_value_length(signatures), NUM_PERMUTATIONS), False)
  valid = valid.to_numpy(zero_copy_only=False)
  if new_bands and valid.any():
    matrix = np.zeros((len(table), NUM_PERMUTATIONS), dtype=np.uint64)
    flat = signatures.filter(pa.array(valid)).flatten().to_numpy(zero_copy_only=False)
    matrix[valid] = flat.reshape(-1, NUM_PERMUTATIONS)
    keys = band_keys(matrix)
    rows, cols = np.nonzero(np.isin(keys, wanted) & valid[:, None])
    if len(rows):
      id_list = ids.to_pylist()
      published = table.column(A.PUBLISHED_AT).to_pylist()
      ingested = table.column(A.INGESTED_AT).to_pylist()
      for row, col in zip(rows.tolist(), cols.tolist()):
        when = (published[row] or ingested[row]).timestamp()
        hits.append((int(keys[row, col]), ((0, when, id_list[row]), id_list[row],
                                          [int(v) for v in matrix[row]])))
  return found, hits


class _ReadExistingFn(beam.DoFn):
  """Reads one existing articles file; emits only what matches this run."""

  def __init__(self):
    self._prepared_for = None
    self._prepared = None

  def process(self, path, new_ids, new_bands):
    if self._prepared_for is not new_ids:
      self._prepared_for = new_ids
      self._prepared = prepare_run_keys(new_ids, new_bands)
    found, hits = read_existing_matches(path, new_ids, new_bands, self._prepared)
    for article_id in found:
      yield beam.pvalue.TaggedOutput(EXISTING_IDS, article_id)
    for hit in hits:
      yield beam.pvalue.TaggedOutput(EXISTING_BANDS, hit)


class _KeepFirstFn(beam.DoFn):
  """Of a group of articles, keeps the first by ``order``; the others are counted drops."""

  def __init__(self, order, reason, detail_fn):
    self._order = order
    self._reason = reason
    self._detail_fn = detail_fn

  def process(self, keyed):
    _, articles = keyed
    kept, *others = sorted(articles, key=self._order)
    yield kept
    for other in others:
      yield stage.drop(self._reason, STAGE, other[A.SOURCE_URI],
                       other[A.ARTICLE_ID], kept[A.ARTICLE_ID], title=other[A.TITLE],
                       detail=self._detail_fn(other))


class _KeepOnePer(beam.PTransform):
  """One article per key: the first by ``order``; returns StageOutputs."""

  def __init__(self, key_fn, order, reason, step, detail_fn, label=None):
    super().__init__(label)
    self._key_fn = key_fn
    self._order = order
    self._reason = reason
    self._step = step
    self._detail_fn = detail_fn

  def expand(self, pcoll):
    return (pcoll
            | 'Key' >> beam.Map(lambda a, key_fn: (key_fn(a), a), self._key_fn)
            | 'Group' >> beam.GroupByKey()
            | 'KeepFirst' >> stage.ApplyStage(_KeepFirstFn(self._order, self._reason, self._detail_fn),
                                              STAGE, step=self._step, fan_in=True))


class _DropExistingFn(beam.DoFn):
  """Drops articles already written by an earlier run, under their id or their legacy id."""

  def process(self, article, existing):
    for article_id in lookup_ids(article):
      if article_id in existing:
        entry = article_entry_key(article)
        if entry:
          yield stage.seen_again(article[A.SOURCE_URI], entry)
          return
        yield stage.drop(DROP_DUPLICATE_CROSS_RUN, STAGE, article[A.SOURCE_URI],
                         article[A.ARTICLE_ID], article_id, title=article[A.TITLE],
                         detail=(DETAIL_EARLIER_RUN if article_id == article[A.ARTICLE_ID]
                                 else DETAIL_EARLIER_RUN_LEGACY))
        return
    yield article


class _SignFn(beam.DoFn):
  """Adds the MinHash signature of the article's text (none for an article without text)."""

  def process(self, article):
    signature = minhash_signature(article[A.TEXT]) if article[A.TEXT] else None
    yield dict(article, **{A.MINHASH: signature})


def _new_band_entries(article):
  signature = article[A.MINHASH]
  if signature is None:
    return []
  keys = band_keys([signature])[0]
  entry = (precedence(article), article[A.ARTICLE_ID], signature)
  return [(int(k), entry) for k in keys]


def near_duplicate_pairs(grouped):
  """(article_id, earliest similar candidate) from one band bucket."""
  _, buckets = grouped
  new = sorted(buckets['new'])
  # Only a bucket's earliest entries are candidates: a band thousands of
  # texts share says nothing about one of them, and a near-duplicate shares
  # its other bands with its original too.
  earlier = sorted(buckets['old'])[:MAX_CANDIDATES_PER_BAND] + new[:MAX_CANDIDATES_PER_BAND]
  arrays = [np.asarray(signature) for _, _, signature in earlier]
  for prec, article_id, signature in new:
    signature = np.asarray(signature)
    for (cand_prec, cand_id, _), cand_signature in zip(earlier, arrays):
      if cand_prec >= prec:
        break
      if estimate_similarity(signature, cand_signature) >= NEAR_DUPLICATE_THRESHOLD:
        yield article_id, (cand_prec, cand_id)
        break


def _mark_near_duplicate(article, near):
  found = near.get(article[A.ARTICLE_ID])
  return dict(article, **{A.NEAR_DUPLICATE_OF: found[1] if found else None})


class Deduplicate(beam.PTransform):
  """Deduplicates articles within the run and against the dataset; marks near-duplicates.

  ``output`` is the dataset folder whose ``articles`` are the earlier runs;
  ``today`` the run's date; ``window_days`` how many days of date partitions
  are searched besides the dates this run writes to.
  """

  def __init__(self, output, today, window_days=DEFAULT_WINDOW_DAYS, label=None):
    super().__init__(label)
    self._articles_root = FileSystems.join(output, ARTICLES)
    self._window = window_dates(today, window_days)

  def expand(self, pcoll):
    by_id = pcoll | 'KeepMostCompletePerId' >> _KeepOnePer(
        article_id_of, completeness_key, DROP_DUPLICATE_ID, f'{STAGE}/id', same_id_detail)
    by_content = by_id.records | 'KeepFirstPerContent' >> _KeepOnePer(
        content_key, precedence, DROP_DUPLICATE_CONTENT, f'{STAGE}/content',
        same_content_detail)
    signed = by_content.records | 'Sign' >> stage.ApplyStage(
        _SignFn(), STAGE, step=f'{STAGE}/sign')
    unique = signed.records

    new_ids = unique | 'NewIds' >> beam.FlatMap(lookup_ids)
    new_bands = unique | 'NewBands' >> beam.FlatMap(_new_band_entries)
    run_dates = (unique
                 | 'RunDates' >> beam.Map(article_date)
                 | 'DistinctRunDates' >> beam.Distinct())
    window = unique.pipeline | 'WindowDates' >> beam.Create(self._window)
    existing = (
        (run_dates, window)
        | 'MergeDates' >> beam.Flatten()
        | 'DistinctDates' >> beam.Distinct()
        | 'FilePatterns' >> beam.Map(
            lambda d, root: FileSystems.join(root, f'{DATE}={d}', '*', '*.parquet'),
            self._articles_root)
        | 'MatchFiles' >> fileio.MatchAll(fileio.EmptyMatchTreatment.ALLOW)
        | 'FilePaths' >> beam.Map(lambda m: m.path)
        | 'SpreadFiles' >> beam.Reshuffle()
        | 'ReadExisting' >> beam.ParDo(
            _ReadExistingFn(),
            beam.pvalue.AsList(new_ids),
            beam.pvalue.AsList(new_bands | 'BandKeys' >> beam.Map(lambda kv: kv[0])),
        ).with_outputs(EXISTING_IDS, EXISTING_BANDS))

    fresh = unique | 'DropExisting' >> stage.ApplyStage(
        _DropExistingFn(), STAGE,
        beam.pvalue.AsDict(existing[EXISTING_IDS]
                           | 'AsIdKeys' >> beam.Map(lambda i: (i, True))),
        step=f'{STAGE}/cross_run')

    near = (
        {'new': new_bands, 'old': existing[EXISTING_BANDS]}
        | 'JoinBands' >> beam.CoGroupByKey()
        | 'NearDuplicatePairs' >> beam.FlatMap(near_duplicate_pairs)
        | 'EarliestCandidate' >> beam.CombinePerKey(min))
    marked = fresh.records | 'MarkNearDuplicates' >> beam.Map(
        _mark_near_duplicate, beam.pvalue.AsDict(near))
    return stage.merge_outcomes((by_id, by_content, signed, fresh), 'Outcomes',
                                records=marked)
