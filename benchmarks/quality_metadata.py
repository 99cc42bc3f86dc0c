"""Page metadata: what newsbeam reads next to trafilatura's metadata, and what it costs.

Pages: ``../shared/eval/article-extraction-2025/html`` (the first PAGES).
For each field, counts the pages where both give a value (and agree), where
only one does; then times ``page_metadata`` against trafilatura's whole
extraction of the same pages (median of RUNS, the ratio in the same run).

    .venv/bin/python -m benchmarks.quality_metadata
"""

import collections
import gzip
import pathlib
import statistics
import time

from trafilatura.metadata import extract_metadata

from schemas import article as A
from transforms.extract.html import extract_main_text
from transforms.extract.metadata import page_metadata

EVAL = (pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'eval' /
        'article-extraction-2025' / 'html')
PAGES = 150  # pages compared and timed
RUNS = 3  # timing runs of page_metadata (median); trafilatura's extraction runs once
PAGE_URL = 'https://news.example/article'  # relative image URLs are joined with it


def load_pages(folder=EVAL, count=PAGES):
  pages = []
  for path in sorted(folder.iterdir())[:count]:
    data = path.read_bytes()
    if path.suffix == '.gz':
      data = gzip.decompress(data)
    pages.append(data.decode('utf-8', 'replace'))
  return pages


def _theirs(document):
  return {A.DESCRIPTION: document.description, A.SITE_NAME: document.sitename,
          A.IMAGE_URL: document.image, A.SECTION: (document.categories or [None])[0],
          A.KEYWORDS: document.tags or None}


def _same(field, ours, theirs):
  if field == A.KEYWORDS:
    return {k.casefold() for k in ours} == {k.casefold() for k in theirs}
  return ours == theirs


def compare(pages):
  """``{field: Counter(both_same, both_differ, only_newsbeam, only_trafilatura)}``."""
  counts = collections.defaultdict(collections.Counter)
  for page in pages:
    ours = page_metadata(page, PAGE_URL)
    theirs = _theirs(extract_metadata(page, default_url=PAGE_URL))
    for field, their_value in theirs.items():
      our_value = ours[field] or None
      if our_value and their_value:
        counts[field]['both_same' if _same(field, our_value, their_value)
                      else 'both_differ'] += 1
      elif our_value:
        counts[field]['only_newsbeam'] += 1
      elif their_value:
        counts[field]['only_trafilatura'] += 1
  return counts


def timed(fn, pages):
  start = time.perf_counter()
  for page in pages:
    fn(page, PAGE_URL)
  return time.perf_counter() - start


def main():
  pages = load_pages()
  print(f'{len(pages)} pages of {EVAL}')
  print(f'{"field":12} {"both same":>9} {"differ":>7} {"only newsbeam":>13} '
        f'{"only trafilatura":>16}')
  for field, count in compare(pages).items():
    print(f'{field:12} {count["both_same"]:9d} {count["both_differ"]:7d} '
          f'{count["only_newsbeam"]:13d} {count["only_trafilatura"]:16d}')
  ours = statistics.median(timed(page_metadata, pages) for _ in range(RUNS))
  extraction = timed(extract_main_text, pages)
  print(f'page_metadata {1000 * ours / len(pages):.1f} ms/page (median of {RUNS}); '
        f'trafilatura extraction {1000 * extraction / len(pages):.1f} ms/page; '
        f'ratio {ours / extraction:.3f}')


if __name__ == '__main__':
  main()
