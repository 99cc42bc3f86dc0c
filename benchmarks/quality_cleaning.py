"""Paragraph cleaning quality on held-out sites of every development source, as one table.

    .venv/bin/python -m benchmarks.quality_cleaning [--eval-dir ../shared/eval]
        [--model PATH] [--limit N] [--part held-out|tuning] [--sources A,B] [--dom T,..]
        [--cache-dir DIR]

Sources (``scripts/cleaner_labels.SOURCES``): article-extraction-2025 (its
validation sites, as the model card defines them: never used to train or to
choose a threshold), dragnet (2012 news and blogs), cleaneval (2007 web pages,
dev + final), cleanportaleval (2012-13 news portals) and the 61 older news
pages. The sources other than 2025 are never trained on; dragnet's and
cleaneval's sites are split by hash, half held out (reported here) and half
for tuning (``--part tuning``: where features and thresholds are chosen);
cleanportaleval (4 sites) and the 61 pages are held out whole.

For each source x {trafilatura alone, + rules, + rules + classifier}:
- html path (trafilatura's paragraphs as newsbeam's HTML stage gives them):
  word precision, recall and F1 (micro, multiset of words) against
  ``articleBody``; ``with`` snippets kept and ``without`` snippets left where
  the source has them (2025);
- text path (the page's whole visible text, one block per block-level element
  or line break, as a user's scraped text): blocks labelled from the gold as
  the training script labels them; boilerplate-block precision, recall, F1,
  content blocks lost and prose blocks (>= 10 words) lost. "trafilatura alone"
  keeps a block when it is in trafilatura's text.
Rules and classifier run through the pipeline's own ``clean_paragraphs``.
Trafilatura's paragraphs and the page blocks are cached in ``--cache-dir``
(a temporary folder, never the repository). Also the median cost per article.
``--dom 0.02,0.05`` adds html-path rows for the item 3 trial (``dom_blocks_text``:
whole-page blocks decided with trafilatura's choice as one input); it lost to
trafilatura alone on Dragnet's tuning half, so the pipeline does not do it.
"""

import argparse
import collections
import html as html_lib
import pathlib
import re
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
  sys.path.insert(0, str(REPO))

# pylint: disable=wrong-import-position
from scripts import cleaner_labels as cl
from transforms.clean.boilerplate import RULE_CLASSIFIER
from transforms.clean.boilerplate import clean_paragraphs
from transforms.clean.rules import DEFAULT_RULES
from transforms.clean.rules import match_rule
from transforms.extract.normalize import normalize_text
from transforms.clean.classifier import load_cleaner_model

PROSE_WORDS = 10  # a content block of at least this many words counts as prose
DEFAULT_CACHE_DIR = pathlib.Path(tempfile.gettempdir()) / 'newsbeam-quality-cleaning'
CONFIGS = ('trafilatura alone', 'rules', 'rules + classifier')
COST_PAGES = 40  # pages per source whose extraction is timed (it is cached otherwise)
_TOKEN = re.compile(r'\w+')
_SPACES = re.compile(r'\s+')
_TYPOGRAPHY = str.maketrans({'’': "'", '‘': "'", '“': '"', '”': '"', '–': '-', '—': '-',
                             '\u00a0': ' ', '…': '...'})


def tokens(text):
  return collections.Counter(_TOKEN.findall((text or '').casefold()))


def squash(text):
  return _SPACES.sub(' ', (text or '').casefold()).strip()


def fold(text):
  """``squash`` with entities decoded and typographic quotes and dashes made plain."""
  return squash(html_lib.unescape(text or '').translate(_TYPOGRAPHY))


def f1(precision, recall):
  return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def cleaned(paragraphs, model, path, timings=None):
  """``[(paragraph, removed_by_rule, removed_by_classifier)]`` of one article.

  As the pipeline does it (``transforms.clean.boilerplate.clean_paragraphs``): the
  text is normalised, the classifier scores every paragraph and a rule's
  decision comes first.
  """
  text = normalize_text('\n'.join(paragraphs))
  items = text.split('\n\n') if text else []
  started = time.perf_counter()
  _, removed = clean_paragraphs(items, DEFAULT_RULES, model, path)
  if timings is not None and items:
    timings.append((time.perf_counter() - started) * 1000)
  queue = collections.deque(removed)
  out = []
  for item in items:
    if queue and queue[0][1] == item:
      rule = queue.popleft()[0]
      out.append((item, rule != RULE_CLASSIFIER, rule == RULE_CLASSIFIER))
    else:
      out.append((item, False, False))
  return out


class HtmlScore:
  """Word overlap and snippet counts of one configuration on the html path."""

  def __init__(self):
    self.overlap = self.kept = self.gold = 0
    self.with_kept = self.with_total = self.without_left = self.without_total = 0

  def add(self, text, truth):
    k, g = tokens(text), tokens(truth.get('articleBody'))
    self.overlap += sum((k & g).values())
    self.kept += sum(k.values())
    self.gold += sum(g.values())
    folded = fold(text)
    snippets = [s for s in truth.get('with') or () if s.strip()]
    self.with_kept += sum(1 for s in snippets if fold(s) in folded)
    self.with_total += len(snippets)
    snippets = [s for s in truth.get('without') or () if s.strip()]
    self.without_left += sum(1 for s in snippets if fold(s) in folded)
    self.without_total += len(snippets)

  def cells(self):
    p = self.overlap / self.kept if self.kept else 0.0
    r = self.overlap / self.gold if self.gold else 0.0
    with_cell = f'{self.with_kept / self.with_total:.4f}' if self.with_total else '-'
    without_cell = f'{self.without_left / self.without_total:.4f}' if self.without_total else '-'
    return [f'{p:.4f}', f'{r:.4f}', f'{f1(p, r):.4f}', with_cell, without_cell]


class BlockScore:
  """Boilerplate-block precision and recall, and content lost, of one configuration."""

  def __init__(self):
    self.c = collections.Counter()

  def add(self, label, removed, words):
    c = self.c
    if label == cl.BOILERPLATE:
      c['boilerplate'] += 1
      c['boilerplate_removed'] += removed
    elif label == cl.CONTENT:
      c['content'] += 1
      c['content_removed'] += removed
      if words >= PROSE_WORDS:
        c['prose'] += 1
        c['prose_removed'] += removed

  def values(self):
    c = self.c
    removed = c['boilerplate_removed'] + c['content_removed']
    p = c['boilerplate_removed'] / removed if removed else 0.0
    r = c['boilerplate_removed'] / max(c['boilerplate'], 1)
    return {'precision': p, 'recall': r, 'f1': f1(p, r),
            'content_lost': c['content_removed'] / max(c['content'], 1),
            'prose_lost': c['prose_removed'] / max(c['prose'], 1)}

  def cells(self):
    v = self.values()
    return [f'{v["precision"]:.4f}', f'{v["recall"]:.4f}', f'{v["f1"]:.4f}',
            f'{100 * v["content_lost"]:.2f} %', f'{100 * v["prose_lost"]:.2f} %']


def in_text(block, text):
  """Whether a block's words appear, in order and whole, in ``text`` (squashed)."""
  words = ' '.join(_TOKEN.findall(block.casefold()))
  return bool(words) and f' {words} ' in text


def dom_blocks_text(blocks, extracted, model, add_below):
  """Item 3 trial: whole-page blocks decided by the classifier with trafilatura's choice.

  A block trafilatura kept stays unless a rule or the classifier (html
  threshold) removes it; a block it left out comes back when no rule matches
  and the classifier scores it below ``add_below``.
  """
  text = normalize_text('\n'.join(blocks))
  items = text.split('\n\n') if text else []
  scores = model.score_paragraphs(items)
  kept = []
  for index, (item, score) in enumerate(zip(items, scores)):
    if match_rule(item, index, len(items), DEFAULT_RULES):
      continue
    chosen = in_text(item, extracted)
    if (chosen and score < model.thresholds['html']) or (not chosen and score < add_below):
      kept.append(item)
  return '\n'.join(kept)


def score_source(pages, inputs, model, timings, dom=None):
  """``({config: HtmlScore}, {config: BlockScore})`` of one source's pages.

  ``dom``: thresholds of the item 3 trial (``dom_blocks_text``), each an extra
  html-path configuration.
  """
  html = {c: HtmlScore() for c in CONFIGS + tuple(f'DOM blocks, add below {t}' for t in dom or ())}
  text = {c: BlockScore() for c in CONFIGS}
  for page_id, _, truth, *_ in pages:
    blocks, paragraphs = inputs[page_id]
    decisions = cleaned(paragraphs, model, 'html', timings['html'])
    html[CONFIGS[0]].add('\n'.join(paragraphs), truth)
    html[CONFIGS[1]].add('\n'.join(p for p, r, _ in decisions if not r), truth)
    html[CONFIGS[2]].add('\n'.join(p for p, r, c in decisions if not (r or c)), truth)
    if not blocks:
      continue
    extracted = ' ' + ' '.join(_TOKEN.findall('\n'.join(paragraphs).casefold())) + ' '
    for add_below in dom or ():
      html[f'DOM blocks, add below {add_below}'].add(
          dom_blocks_text(blocks, extracted, model, add_below), truth)
    decisions = cleaned(blocks, model, 'text', timings['text'])
    labels, _ = cl.label_paragraphs([p for p, _, _ in decisions], cl.GoldIndex(truth))
    for (block, by_rule, by_model), label in zip(decisions, labels):
      if label == cl.UNLABELLED:
        continue
      words = len(block.split())
      text[CONFIGS[0]].add(label, not in_text(block, extracted), words)
      text[CONFIGS[1]].add(label, by_rule, words)
      text[CONFIGS[2]].add(label, by_rule or by_model, words)
  return html, text


def quality_table(results):
  """The issue's table: one row per source and configuration."""
  lines = ['| source (held-out pages) | configuration | word P | word R | word F1 | `with` kept '
           '| `without` left | text: boilerplate P | R | F1 | content blocks lost | '
           f'prose blocks lost (>= {PROSE_WORDS} words) |',
           '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
  for source, count, (html, text) in results:
    for config in html:
      blocks = text[config].cells() if config in text else ['-'] * 5
      cells = [f'{source} ({count})', config, *html[config].cells(), *blocks]
      lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def extraction_cost(pages):
  """Median ms of newsbeam's extraction (trafilatura + normalisation) on up to COST_PAGES pages."""
  timings = []
  for _, html, truth, *_ in pages[:COST_PAGES]:
    started = time.perf_counter()
    cl.html_paragraphs(html, truth.get('url'))
    timings.append((time.perf_counter() - started) * 1000)
  return statistics.median(timings) if timings else 0.0


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--eval-dir', default=str(cl.DEFAULT_EVAL_DIR))
  parser.add_argument('--model', default=None, help='model JSON (default: the packaged one)')
  parser.add_argument('--limit', type=int, default=None, help='at most N pages per source')
  parser.add_argument('--part', default='held-out', choices=('held-out', 'tuning'),
                      help='held-out sites (default) or the tuning sites of the untrained sources')
  parser.add_argument('--sources', default=None,
                      help='comma-separated source names (default: all)')
  parser.add_argument('--dom', default=None,
                      help='item 3 trial: comma-separated scores below which whole-page blocks '
                           'trafilatura left out come back (extra html-path rows)')
  parser.add_argument('--cache-dir', default=str(DEFAULT_CACHE_DIR),
                      help='where extracted paragraphs and page blocks are cached')
  args = parser.parse_args(argv)
  eval_dir = pathlib.Path(args.eval_dir)
  if not (eval_dir / cl.TRAIN_SET).exists():
    print(f'skipped: {eval_dir / cl.TRAIN_SET} is missing; this benchmark needs '
          '../shared/eval beside the clone')
    return 0
  model = load_cleaner_model(args.model)
  wanted = args.sources.split(',') if args.sources else [s[0] for s in cl.SOURCES]
  timings = {'html': [], 'text': []}
  results, extract_ms = [], []
  for source, _, split in cl.SOURCES:
    if source not in wanted or (args.part == 'tuning' and split == 'all'):
      continue
    pages = cl.source_pages(eval_dir, source, args.part, args.limit)
    if not pages:
      continue
    cache = pathlib.Path(args.cache_dir) / f'{source.replace(" ", "_")}-{args.part}'
    inputs = cl.page_inputs(pages, cache)
    dom = [float(t) for t in args.dom.split(',')] if args.dom else None
    results.append((source, len(pages), score_source(pages, inputs, model, timings, dom)))
    extract_ms.append(extraction_cost(pages))
  print(f'model {model.version}, thresholds {model.thresholds}, {args.part} sites\n')
  print(quality_table(results))
  print('\n| cost per article (median ms) | html path | text path (whole page) | extraction |\n'
        '|---|---:|---:|---:|')
  print(f'| rules + classifier | {statistics.median(timings["html"] or [0]):.2f} | '
        f'{statistics.median(timings["text"] or [0]):.2f} | '
        f'{statistics.median(extract_ms or [0]):.1f} |')
  return 0


if __name__ == '__main__':
  sys.exit(main())
