"""Publication dates of pages: newsbeam's HTML date logic against htmldate alone, one run.

Gold: ``publish_date`` of ``../shared/eval/article-extraction-2025/ground-truth.json``
(588 of its 711 pages have one). A page counts as right when the date newsbeam
(or htmldate) gives is the gold day. The pages are split in two halves by a
hash of their site: the rules of ``transforms/extract/dates.py`` were tuned on the
``tune`` half only; ``held-out`` is the half they never saw.

Rows:
- ``htmldate alone``: ``htmldate.find_date(html, original_date=True)``.
- ``newsbeam, day as stated``: ``find_page_dates(html)``'s day as the page
  writes it (its own time zone), with the URL the page names (canonical link
  or og:url), as for an HTML file.
- ``newsbeam, published_at (UTC)``: the day of ``published_at`` after
  normalisation (the time converted to UTC, which can move it a day).
- ``newsbeam, page URL known``: as the second row, with the page's real URL
  (what WARC records, feeds and JSON inputs provide).

    .venv/bin/python -m benchmarks.quality_dates [--verbose]
"""

import datetime
import gzip
import hashlib
import json
import pathlib
import sys
import time
import urllib.parse

from schemas import article as A
from schemas import raw as R
from transforms.extract.dates import PAGE_PUBLISHED
from transforms.extract.dates import find_page_dates
from transforms.extract.dates import resolve_dates

EVAL = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'eval' / 'article-extraction-2025'
TUNE, HELD_OUT = 'tune', 'held-out'
NOW = datetime.datetime.now(datetime.timezone.utc)


def site_of(url):
  """The page's host without ``www.``: pages of one site fall in one half."""
  host = urllib.parse.urlsplit(url or '').hostname or ''
  return host[4:] if host.startswith('www.') else host


def half_of(url):
  """TUNE or HELD_OUT, by a hash of the page's site."""
  digest = hashlib.sha256(site_of(url).encode('utf-8')).digest()
  return TUNE if digest[0] % 2 == 0 else HELD_OUT


def load_pages(folder=EVAL):
  """``(page_id, html, gold_date, url)`` of every page with a gold publish_date."""
  truth = json.loads((folder / 'ground-truth.json').read_text(encoding='utf-8'))
  pages = []
  for page_id, entry in sorted(truth.items()):
    if not entry.get('publish_date'):
      continue
    raw = gzip.decompress((folder / 'html' / f'{page_id}.html.gz').read_bytes())
    pages.append((page_id, raw.decode('utf-8', errors='replace'),
                  entry['publish_date'][:10], entry.get('url')))
  return pages


def htmldate_alone(html):
  from htmldate import find_date  # pylint: disable=import-outside-toplevel
  try:
    return find_date(html, original_date=True)
  except Exception:  # pylint: disable=broad-except
    return None


def utc_day(page_dates):
  raw = {A.INPUT_FORMAT: 'html', R.PAGE_DATES: page_dates}
  published = resolve_dates(raw, NOW).published
  return published.date().isoformat() if published else None


def evaluate(pages):
  """Per page: the half, the gold day and each configuration's day."""
  rows = []
  seconds = {'htmldate': 0.0, 'newsbeam': 0.0}
  for page_id, html, gold, url in pages:
    start = time.perf_counter()
    baseline = htmldate_alone(html)
    seconds['htmldate'] += time.perf_counter() - start
    start = time.perf_counter()
    stated = find_page_dates(html)
    seconds['newsbeam'] += time.perf_counter() - start
    known = find_page_dates(html, url)
    rows.append({
        'id': page_id, 'half': half_of(url), 'gold': gold, 'url': url,
        'htmldate alone': baseline and baseline[:10],
        'newsbeam, day as stated': stated[PAGE_PUBLISHED] and stated[PAGE_PUBLISHED][:10],
        'newsbeam, published_at (UTC)': utc_day(stated),
        'newsbeam, page URL known': known[PAGE_PUBLISHED] and known[PAGE_PUBLISHED][:10],
        'source': stated['published_source'],
    })
  return rows, seconds


CONFIGURATIONS = ('htmldate alone', 'newsbeam, day as stated',
                  'newsbeam, published_at (UTC)', 'newsbeam, page URL known')


def main(argv=None):
  argv = sys.argv[1:] if argv is None else argv
  if not EVAL.exists():
    print(f'{EVAL} is missing: the dev sets live in ../shared/eval beside the clone')
    return
  pages = load_pages()
  rows, seconds = evaluate(pages)
  halves = {half: [r for r in rows if r['half'] == half] for half in (TUNE, HELD_OUT)}
  print(f'{len(rows)} pages with a gold date: {len(halves[TUNE])} tune, '
        f'{len(halves[HELD_OUT])} held-out (split by a hash of the site)\n')
  print(f'| configuration | tune ({len(halves[TUNE])}) | held-out ({len(halves[HELD_OUT])}) '
        f'| all ({len(rows)}) |')
  print('|---|---:|---:|---:|')
  for name in CONFIGURATIONS:
    shares = [sum(r[name] == r['gold'] for r in part) / len(part)
              for part in (halves[TUNE], halves[HELD_OUT], rows)]
    print(f'| {name} | ' + ' | '.join(f'{s:.3f}' for s in shares) + ' |')
  print(f'\nms per page: htmldate alone {1000 * seconds["htmldate"] / len(rows):.1f}, '
        f'newsbeam {1000 * seconds["newsbeam"] / len(rows):.1f}')
  if '--verbose' in argv:
    for half in (TUNE,):
      for r in halves[half]:
        if r['newsbeam, day as stated'] != r['htmldate alone']:
          print(r['id'], r['gold'], 'htmldate', r['htmldate alone'], 'newsbeam',
                r['newsbeam, day as stated'], r['source'], r['url'])


if __name__ == '__main__':
  main()
