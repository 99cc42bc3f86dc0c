"""Cost of cross-run deduplication against 1,000,000 existing articles.

Builds a synthetic articles dataset (30 date partitions, real schema, random
ids and MinHash signatures, 300-character texts), then times, median of 3:
  1. baseline: loading all 1,000,000 article_id values with pyarrow.dataset
     (column projection, every partition);
  2. newsbeam's per-file read (``read_existing_matches``) of article_id only,
     filtered against a run of 1,000 new articles (half already there);
  3. the same with the minhash column and LSH band matching (near-duplicates),
     single process.

    .venv/bin/python -m benchmarks.bench_dedup [--rows 1000000] [--keep DIR]
"""

import argparse
import datetime
import pathlib
import statistics
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from schemas import article as A
from schemas.article import ARTICLE_SCHEMA
from transforms.dedup.dedup import band_keys
from transforms.dedup.dedup import read_existing_matches

PARTITIONS = 30
NEW_ARTICLES = 1000


def build(root, rows):
  rng = np.random.default_rng(7)
  per_partition = rows // PARTITIONS
  ids = []
  day = datetime.datetime(2026, 11, 22, tzinfo=datetime.timezone.utc)
  for p in range(PARTITIONS):
    when = day - datetime.timedelta(days=p)
    folder = root / 'articles' / f'date={when.date()}' / 'lang=en'
    folder.mkdir(parents=True)
    part_ids = [f'{p:04d}{i:028x}' for i in range(per_partition)]
    ids.extend(part_ids[:20])
    signatures = rng.integers(0, 2**32, size=(per_partition, 64), dtype=np.uint64)
    columns = {name: pa.nulls(per_partition, type=ARTICLE_SCHEMA.field(name).type)
               for name in ARTICLE_SCHEMA.names}
    columns[A.ARTICLE_ID] = pa.array(part_ids)
    columns[A.SOURCE_URI] = pa.array(['https://example.org/x'] * per_partition)
    columns[A.TEXT] = pa.array([('lorem ipsum %d ' % i) * 20 for i in range(per_partition)])
    columns[A.INGESTED_AT] = pa.array([when] * per_partition, type=ARTICLE_SCHEMA.field(A.INGESTED_AT).type)
    columns[A.DATE_SOURCE] = pa.array(['ingested'] * per_partition)
    columns[A.LANGUAGE] = pa.array(['en'] * per_partition)
    columns[A.WORD_COUNT] = pa.array([60] * per_partition, type=pa.int32())
    columns[A.CONTENT_HASH] = pa.array(part_ids)
    columns[A.INPUT_FORMAT] = pa.array(['jsonl'] * per_partition)
    columns[A.RUN_ID] = pa.array(['bench'] * per_partition)
    columns[A.SCHEMA_VERSION_FIELD] = pa.array([1] * per_partition, type=pa.int32())
    columns[A.MINHASH] = pa.array(signatures.astype(np.uint32).tolist(),
                                  type=ARTICLE_SCHEMA.field(A.MINHASH).type)
    table = pa.table([columns[n] for n in ARTICLE_SCHEMA.names], schema=ARTICLE_SCHEMA)
    pq.write_table(table, folder / 'part-bench-0.parquet', compression='zstd')
  return ids


def load_ids(root):
  return ds.dataset(root / 'articles', format='parquet', partitioning='hive').to_table(
      columns=[A.ARTICLE_ID]).num_rows


def newsbeam_read(root, new_ids, new_bands):
  found = hits = 0
  for path in sorted((root / 'articles').glob('*/*/*.parquet')):
    ids, band_hits = read_existing_matches(str(path), new_ids, new_bands)
    found += len(ids)
    hits += len(band_hits)
  return found, hits


def median_time(fn, *args, runs=3):
  times, result = [], None
  for _ in range(runs):
    start = time.perf_counter()
    result = fn(*args)
    times.append(time.perf_counter() - start)
  return statistics.median(times), result


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--rows', type=int, default=1_000_000)
  parser.add_argument('--keep', help='build the dataset here and keep it')
  args = parser.parse_args(argv)
  with tempfile.TemporaryDirectory() as tmp:
    root = pathlib.Path(args.keep or tmp)
    start = time.perf_counter()
    existing = build(root, args.rows)
    built = time.perf_counter() - start
    size = sum(p.stat().st_size for p in (root / 'articles').rglob('*.parquet'))
    new_ids = set(existing[:NEW_ARTICLES // 2]) | {f'new{i}' for i in range(NEW_ARTICLES // 2)}
    rng = np.random.default_rng(11)
    new_bands = {int(k) for k in band_keys(
        rng.integers(0, 2**32, size=(NEW_ARTICLES, 64), dtype=np.uint64)).ravel()}
    base, rows = median_time(load_ids, root)
    ids_only, _ = median_time(newsbeam_read, root, new_ids, set())
    ours, (found, hits) = median_time(newsbeam_read, root, new_ids, new_bands)
  print(f'{datetime.date.today()}  {rows} existing articles in {PARTITIONS} partitions, '
        f'{size / 2**20:.0f} MiB on disk (built in {built:.0f} s); run of {NEW_ARTICLES} '
        'new articles; median of 3')
  print(f'{"step":58} {"seconds":>8} {"ratio":>6}')
  print(f'{"baseline: load all article_id values (pyarrow.dataset)":58} {base:8.2f} {1:6.2f}')
  print(f'{"newsbeam: read article_id per file, filter to the run":58} {ids_only:8.2f} '
        f'{ids_only / base:6.2f}')
  print(f'{"newsbeam: read id+minhash per file, filter to the run":58} {ours:8.2f} '
        f'{ours / base:6.2f}')
  print(f'found {found} existing ids of {len(new_ids)}; {hits} band hits')


if __name__ == '__main__':
  main()
