"""Paragraph cleaner quality on the validation sites of ../shared/eval, as Markdown tables.

    .venv/bin/python -m benchmarks.quality_cleaning [--eval-dir ../shared/eval] [--model PATH]

(A) html path, article-extraction-2025, validation sites only (sites are split
    by ``scripts/train_cleaner.py``; no validation page was used to train or
    to choose a threshold): word F1 against ``articleBody``, share of ``with``
    snippets kept (also with typographic quotes, dashes and entities folded
    on both sides, since the gold snippets often have straight quotes where
    the page has curly ones) and of ``without`` snippets left, for
    trafilatura alone (newsbeam's ``extract_main_text`` and ``normalize_text``),
    + newsbeam's rules, + rules and the classifier.
(B) the same on article-extraction (61 older news pages, none used in training).
(C) text path: the whole visible text of the validation pages, one block per
    line, and trafilatura's paragraphs of the same pages given as plain text:
    boilerplate-block precision, recall and F1 and the content lost, for the
    rules alone and rules + classifier.
(D) short articles: windows of 3 to 12 content paragraphs of each validation
    page's extraction with one or two of the page's boilerplate blocks put in
    (as ``scripts/train_cleaner.py`` builds them), given as text.
Also the median cost per article of the classifier and of extraction.
"""

import argparse
import collections
import html as html_lib
import pathlib
import re
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
  sys.path.insert(0, str(REPO))

# pylint: disable=wrong-import-position
from scripts import train_cleaner as tc
from transforms.boilerplate import RULE_CLASSIFIER
from transforms.boilerplate import clean_paragraphs
from transforms.boilerplate_rules import DEFAULT_RULES
from transforms.normalize import normalize_text
from transforms.paragraph_cleaner import load_cleaner_model

OLD_SET = 'article-extraction'
PROSE_WORDS = 10  # a content block of at least this many words counts as prose
_TOKEN = re.compile(r'\w+')
_SPACES = re.compile(r'\s+')


def tokens(text):
  return collections.Counter(_TOKEN.findall((text or '').casefold()))


def squash(text):
  return _SPACES.sub(' ', (text or '').casefold()).strip()


_TYPOGRAPHY = str.maketrans({'’': "'", '‘': "'", '“': '"', '”': '"', '–': '-', '—': '-',
                             '\u00a0': ' ', '…': '...'})


def fold(text):
  """``squash`` with entities decoded and typographic quotes and dashes made plain."""
  return squash(html_lib.unescape(text or '').translate(_TYPOGRAPHY))


def word_scores(kept, gold):
  """(overlap, kept words, gold words) of a multiset word match."""
  k, g = tokens(kept), tokens(gold)
  return sum((k & g).values()), sum(k.values()), sum(g.values())


def f1(precision, recall):
  return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def cleaned(paragraphs, model, path, timings=None):
  """``[(paragraph, removed_by_rule, removed_by_classifier)]`` of one article.

  As the pipeline does it (``transforms.boilerplate.clean_paragraphs``): the
  classifier scores every paragraph and a rule's decision comes first.
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


def html_table(pages, model, timings, extract_timings=None):
  """Rows of table A/B for a list of ``(page_id, html, truth)``."""
  configs = ('trafilatura alone', 'trafilatura + rules', 'trafilatura + rules + classifier')
  sums = {c: [0, 0, 0] for c in configs}
  macro = {c: [] for c in configs}
  kept_with = {c: [0, 0, 0] for c in configs}
  left_without = {c: [0, 0] for c in configs}
  for _, html, truth in pages:
    started = time.perf_counter()
    paragraphs = tc.html_paragraphs(html, truth.get('url'))
    if extract_timings is not None:
      extract_timings.append((time.perf_counter() - started) * 1000)
    decisions = cleaned(paragraphs, model, 'html', timings)
    texts = {
        configs[0]: '\n'.join(paragraphs),
        configs[1]: '\n'.join(p for p, r, _ in decisions if not r),
        configs[2]: '\n'.join(p for p, r, c in decisions if not (r or c)),
    }
    gold = truth.get('articleBody') or ''
    for config, text in texts.items():
      overlap, kept, gold_words = word_scores(text, gold)
      for i, v in enumerate((overlap, kept, gold_words)):
        sums[config][i] += v
      p = overlap / kept if kept else 0.0
      r = overlap / gold_words if gold_words else 0.0
      macro[config].append(f1(p, r))
      flat, folded = squash(text), fold(text)
      snippets_with = [s for s in truth.get('with') or () if s.strip()]
      snippets_without = [squash(s) for s in truth.get('without') or () if s.strip()]
      kept_with[config][0] += sum(1 for s in snippets_with if squash(s) in flat)
      kept_with[config][1] += sum(1 for s in snippets_with if fold(s) in folded)
      kept_with[config][2] += len(snippets_with)
      left_without[config][0] += sum(1 for s in snippets_without if s in flat)
      left_without[config][1] += len(snippets_without)
  rows = []
  for config in configs:
    overlap, kept, gold_words = sums[config]
    p = overlap / kept if kept else 0.0
    r = overlap / gold_words if gold_words else 0.0
    total_with = kept_with[config][2]
    with_cells = (f'{kept_with[config][0] / total_with:.4f} | {kept_with[config][1] / total_with:.4f}'
                  if total_with else 'n/a | n/a')
    without_share = left_without[config][0] / max(left_without[config][1], 1)
    without_cell = f'{without_share:.4f}' if left_without[config][1] else 'n/a'
    rows.append(f'| {config} | {p:.4f} | {r:.4f} | {f1(p, r):.4f} | '
                f'{statistics.mean(macro[config]):.4f} | {with_cells} | {without_cell} |')
  header = ('| configuration | word P | word R | word F1 (micro) | word F1 (macro) | '
            '`with` kept | `with` kept, quotes folded | `without` left |\n'
            '|---|---:|---:|---:|---:|---:|---:|---:|')
  return header + '\n' + '\n'.join(rows)


def short_table(pages, model):
  """Table D: short articles with leftovers, as text; boilerplate removed and content lost."""
  samples = tc.page_samples(pages)
  windows = [s for s in tc.short_slices(samples) if len(set(s[4])) > 1]
  counts = {'rules only': collections.Counter(), 'rules + classifier': collections.Counter()}
  for _, _, _, paragraphs, labels, _ in windows:
    decisions = cleaned(paragraphs, model, 'text')
    for (_, by_rule, by_model), label in zip(decisions, labels):
      for config, removed in (('rules only', by_rule), ('rules + classifier', by_rule or by_model)):
        c = counts[config]
        key = 'boilerplate' if label == tc.BOILERPLATE else 'content'
        c[key] += 1
        c[key + '_removed'] += removed
  lines = ['| configuration | windows | boilerplate put in | removed | content paragraphs | lost |',
           '|---|---:|---:|---:|---:|---:|']
  for config, c in counts.items():
    lines.append(f'| {config} | {len(windows)} | {c["boilerplate"]} | '
                 f'{c["boilerplate_removed"] / max(c["boilerplate"], 1):.4f} | {c["content"]} | '
                 f'{c["content_removed"] / max(c["content"], 1):.4f} |')
  return '\n'.join(lines)


def text_table(pages, model, timings):
  """Rows of table C: block metrics of both text inputs, rules vs rules + classifier."""
  lines = []
  for source in ('whole page, one block per line', 'trafilatura paragraphs as text'):
    counts = {'rules only': collections.Counter(), 'rules + classifier': collections.Counter()}
    for _, html, truth in pages:
      if source.startswith('whole'):
        paragraphs = tc.page_blocks(html)
      else:
        paragraphs = tc.html_paragraphs(html, truth.get('url'))
      if not paragraphs:
        continue
      decisions = cleaned(paragraphs, model, 'text', timings)
      gold = tc.GoldIndex(truth)
      labels, _ = tc.label_paragraphs([p for p, _, _ in decisions], gold)
      for (p, by_rule, by_model), label in zip(decisions, labels):
        if label == tc.UNLABELLED:
          continue
        words = len(p.split())
        for config, removed in (('rules only', by_rule), ('rules + classifier', by_rule or by_model)):
          c = counts[config]
          if label == tc.BOILERPLATE:
            c['boilerplate'] += 1
            c['boilerplate_removed'] += removed
          else:
            c['content'] += 1
            c['content_removed'] += removed
            c['content_words'] += words
            c['content_words_removed'] += words * removed
            if words >= PROSE_WORDS:
              c['prose'] += 1
              c['prose_removed'] += removed
    for config, c in counts.items():
      removed = c['boilerplate_removed'] + c['content_removed']
      p = c['boilerplate_removed'] / removed if removed else 0.0
      r = c['boilerplate_removed'] / max(c['boilerplate'], 1)
      lines.append(
          f'| {source} | {config} | {c["boilerplate"]} | {c["content"]} | {p:.4f} | {r:.4f} | '
          f'{f1(p, r):.4f} | {c["content_removed"] / max(c["content"], 1):.4f} | '
          f'{c["prose_removed"] / max(c["prose"], 1):.4f} | '
          f'{c["content_words_removed"] / max(c["content_words"], 1):.4f} |')
  header = ('| input | configuration | boilerplate blocks | content blocks | precision | recall | '
            f'F1 | content blocks lost | prose blocks lost (>= {PROSE_WORDS} words) | '
            'content words lost |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
  return header + '\n' + '\n'.join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--eval-dir', default=str(tc.DEFAULT_EVAL_DIR))
  parser.add_argument('--model', default=None, help='model JSON (default: the packaged one)')
  args = parser.parse_args(argv)
  eval_dir = pathlib.Path(args.eval_dir)
  if not (eval_dir / tc.TRAIN_SET).exists():
    print(f'skipped: {eval_dir / tc.TRAIN_SET} is missing; this benchmark needs '
          '../shared/eval beside the clone')
    return 0
  model = load_cleaner_model(args.model)
  pages = [page for page in tc.load_pages(eval_dir, tc.TRAIN_SET)
           if tc.is_validation_site(tc.site_of(page[2].get('url')))]
  training_sites = {tc.site_of(page[2].get('url')) for page in tc.load_pages(eval_dir, tc.TRAIN_SET)
                    if not tc.is_validation_site(tc.site_of(page[2].get('url')))}
  html_timings, text_timings = [], []
  extract_timings = []
  print(f'model {model.version}, thresholds {model.thresholds}\n')
  print(f'## A. html path, {tc.TRAIN_SET}, validation sites ({len(pages)} pages)\n')
  print(html_table(pages, model, html_timings, extract_timings))
  if (eval_dir / OLD_SET).exists():
    old = tc.load_pages(eval_dir, OLD_SET)
    unseen = [page for page in old if tc.site_of(page[2].get('url')) not in training_sites]
    print(f'\n## B. html path, {OLD_SET} ({len(old)} pages, none used in training)\n')
    print(html_table(old, model, []))
    print(f'\n### B\'. the {len(unseen)} of them whose site is not among the training sites\n')
    print(html_table(unseen, model, []))
  print(f'\n## C. text path, {tc.TRAIN_SET}, validation sites\n')
  print(text_table(pages, model, text_timings))
  print(f'\n## D. short articles with leftovers, {tc.TRAIN_SET}, validation sites, text path\n')
  print(short_table(pages, model))
  print('\n## Cost\n')
  print('| input | articles | median paragraphs | rules + classifier ms per article (median) |\n'
        '|---|---:|---:|---:|')
  print(f'| html path paragraphs | {len(html_timings)} | '
        f'{statistics.median(len(tc.html_paragraphs(h, t.get("url"))) for _, h, t in pages[:40]):.0f}* | '
        f'{statistics.median(html_timings):.2f} |')
  print(f'| text path (whole pages and extracted text) | {len(text_timings)} | - | '
        f'{statistics.median(text_timings):.2f} |')
  print('\n\\* over the first 40 validation pages\n')
  print('| extraction (html path, validation pages) | ms per page (median) | ms per page (mean) |\n'
        '|---|---:|---:|')
  print(f'| `extract_main_text` + `normalize_text` | {statistics.median(extract_timings):.1f} | '
        f'{statistics.mean(extract_timings):.1f} |')
  return 0


if __name__ == '__main__':
  sys.exit(main())
