"""Main-text quality on ../shared/eval/article-extraction: token P/R/F1.

Three configurations in one run, each scored against the gold articleBody:
  1. trafilatura alone (``trafilatura.extract`` with its defaults);
  2. the same text plus newsbeam's boilerplate rules;
  3. newsbeam end to end (the pipeline over the pages as .html inputs).

    .venv/bin/python -m benchmarks.quality_extraction [--show-removed]
"""

import argparse
import collections
import gzip
import json
import pathlib
import re
import sys
import tempfile

import duckdb
import trafilatura

from pipeline.main import run
from transforms.clean.rules import apply_rules
from transforms.extract.normalize import normalize_text

EVAL = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'eval' / 'article-extraction'
_TOKEN = re.compile(r'\w+')


def tokens(text):
  return collections.Counter(_TOKEN.findall((text or '').casefold()))


def score(predicted, gold):
  """(overlap, predicted tokens, gold tokens) of a multiset token match."""
  p, g = tokens(predicted), tokens(gold)
  return sum((p & g).values()), sum(p.values()), sum(g.values())


def f1(precision, recall):
  return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def summarize(scores):
  """Micro and macro precision, recall and F1 over per-page scores."""
  overlap = sum(s[0] for s in scores)
  predicted = sum(s[1] for s in scores)
  gold = sum(s[2] for s in scores)
  micro_p = overlap / predicted if predicted else 0.0
  micro_r = overlap / gold if gold else 0.0
  per_page = [(o / p if p else 0.0, o / g if g else 0.0) for o, p, g in scores]
  macro_p = sum(p for p, _ in per_page) / len(per_page)
  macro_r = sum(r for _, r in per_page) / len(per_page)
  macro_f = sum(f1(p, r) for p, r in per_page) / len(per_page)
  return micro_p, micro_r, f1(micro_p, micro_r), macro_p, macro_r, macro_f


def load_pages():
  if not EVAL.exists():
    sys.exit(f'{EVAL} is missing: this benchmark needs ../shared/eval beside the clone')
  truth = json.loads((EVAL / 'ground-truth.json').read_text(encoding='utf-8'))
  pages = {}
  for page_id, entry in sorted(truth.items()):
    raw = gzip.decompress((EVAL / 'html' / f'{page_id}.html.gz').read_bytes())
    pages[page_id] = (raw, entry['articleBody'], entry.get('url'))
  return pages


def newsbeam_texts(pages):
  """Text newsbeam writes for each page, run end to end over .html files."""
  with tempfile.TemporaryDirectory() as tmp:
    folder = pathlib.Path(tmp) / 'pages'
    folder.mkdir()
    for page_id, (raw, _, _) in pages.items():
      (folder / f'{page_id}.html').write_bytes(raw)
    output = pathlib.Path(tmp) / 'out'
    run(['--input', str(folder), '--output', str(output)])
    rows = duckdb.sql(
        f"SELECT source_uri, text FROM read_parquet('{output}/articles/**/*.parquet')").fetchall()
  return {pathlib.Path(uri).stem: text for uri, text in rows}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--show-removed', action='store_true',
                      help='list every paragraph the rules removed, with the '
                      'share of its words found in the gold text')
  args = parser.parse_args(argv)
  pages = load_pages()
  alone, ruled, removed_log = {}, {}, []
  for page_id, (raw, gold, url) in pages.items():
    html = raw.decode('utf-8', errors='replace')
    text = normalize_text(trafilatura.extract(html, url=url) or '')
    alone[page_id] = text
    ruled[page_id], removed = apply_rules(text)
    gold_tokens = tokens(gold)
    for rule, piece in removed:
      piece_tokens = tokens(piece)
      in_gold = sum((piece_tokens & gold_tokens).values()) / max(1, sum(piece_tokens.values()))
      removed_log.append((rule, round(in_gold, 2), piece[:120], page_id[:8]))
  end_to_end = newsbeam_texts(pages)
  rows = [('trafilatura alone', alone), ('trafilatura + newsbeam rules', ruled),
          ('newsbeam end to end', end_to_end)]
  print(f'{len(pages)} pages from {EVAL}')
  print(f'{"configuration":32} {"microP":>7} {"microR":>7} {"microF1":>7} '
        f'{"macroP":>7} {"macroR":>7} {"macroF1":>7}')
  for name, texts in rows:
    scores = [score(texts.get(pid, ''), gold) for pid, (_, gold, _) in pages.items()]
    values = summarize(scores)
    print(f'{name:32} ' + ' '.join(f'{v:7.4f}' for v in values))
  print(f'rules removed {len(removed_log)} paragraphs; '
        f'{sum(1 for r in removed_log if r[1] > 0.5)} of them mostly gold words')
  if args.show_removed:
    for entry in sorted(removed_log):
      print('  ', entry)


if __name__ == '__main__':
  main()
