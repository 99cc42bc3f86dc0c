"""Whole-page texts (menus, footers, link lists) against the plain article texts of the same pages.

Issue 27: a run over whole pages as text must finish at the normal
per-article rate. The pages come from the held-out sets in ../shared/eval:
``cleaning-extra`` (dragnet, cleaneval-dev, cleaneval-final, cleanportaleval)
and ``article-extraction-2025``. Each page's visible text (trafilatura's
``html2txt``: every menu, footer and link list left in) is written as a
``.txt`` input; its gold article body, written the same way, is the plain
run. Both folders go through newsbeam (DirectRunner, one worker, in memory)
and the table gives each run's wall time and articles per second.

Then each page's own per-article work is timed stage by stage, in this
process (the pure functions behind the stages: normalisation and dates,
boilerplate rules and classifier, language, NER, places, MinHash, story
signature), and the slowest article of each held-out set is printed with
its time, with a few synthetic pages of the kind that held runs before (the
issue's menu line, a line of 10,000 ``=``, a 2 MB text).

    .venv/bin/python -m benchmarks.bench_messy [--pages 600]
"""

import argparse
import datetime
import gzip
import json
import pathlib
import random
import re
import sys
import tempfile
import time

from benchmarks.bench_patterns import ISSUE_MENU
from benchmarks.bench_pipeline import measure
from benchmarks.bench_pipeline import rows_written
from schemas import article as A
from transforms.clean.boilerplate import clean_paragraphs
from transforms.clean.rules import DEFAULT_RULES
from transforms.clean.rules import PARAGRAPH_SEPARATOR
from transforms.read.files import cap_article
from transforms.read.files import parse_text_file

EVAL = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'eval'
SETS = {
    'dragnet': EVAL / 'cleaning-extra' / 'dragnet',
    'cleaneval-dev': EVAL / 'cleaning-extra' / 'cleaneval-dev',
    'cleaneval-final': EVAL / 'cleaning-extra' / 'cleaneval-final',
    'cleanportaleval': EVAL / 'cleaning-extra' / 'cleanportaleval',
    'article-extraction-2025': EVAL / 'article-extraction-2025',
}
LONGEST_PER_SET = 20  # each set's longest pages are always taken (the likely worst)
TIMED_PER_SET = 20  # pages per set timed stage by stage: the longest and a sample
SEED = 27
NOW = datetime.datetime(2024, 5, 3, tzinfo=datetime.timezone.utc)


BLOCK_TAGS = ('p', 'div', 'li', 'tr', 'td', 'th', 'br', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
              'ul', 'ol', 'nav', 'header', 'footer', 'section', 'article', 'aside', 'form',
              'table', 'dt', 'dd', 'blockquote', 'pre', 'option', 'title')
HIDDEN_TAGS = ('script', 'style', 'noscript', 'template', 'svg', 'head')
_CONTROL_CHARS = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f]')  # lxml refuses them in text


def visible_text(html):
  """The whole visible text of a page, menus and all, one block a line (a scraper's page text)."""
  import lxml.etree  # pylint: disable=import-outside-toplevel
  import lxml.html  # pylint: disable=import-outside-toplevel
  try:
    tree = lxml.html.fromstring(_CONTROL_CHARS.sub('', html).encode('utf-8'))
  except (lxml.etree.ParserError, ValueError):
    return ''
  for element in list(tree.iter(*HIDDEN_TAGS)):
    if element.getparent() is not None:
      element.drop_tree()
  for element in tree.iter(*BLOCK_TAGS):
    try:
      element.tail = '\n' + (element.tail or '')
    except ValueError:  # a tail lxml cannot set again (U+FFFE...): the block runs on
      pass
  lines = (' '.join(line.split()) for line in tree.text_content().split('\n'))
  return '\n'.join(line for line in lines if line)


def load_set(folder):
  """``[(id, whole-page text, gold text)]`` of one held-out set."""
  gold = json.loads((folder / 'ground-truth.json').read_text(encoding='utf-8'))
  pages = []
  for page_id, truth in sorted(gold.items()):
    path = folder / 'html' / f'{page_id}.html.gz'
    if not path.exists() or not truth.get('articleBody'):
      continue
    html = gzip.decompress(path.read_bytes()).decode('utf-8', errors='replace')
    pages.append((page_id, visible_text(html), truth['articleBody']))
  return pages


def choose(pages, count):
  """The longest pages and a seeded sample of the rest, ``count`` in all."""
  by_length = sorted(pages, key=lambda p: -len(p[1]))
  chosen = by_length[:LONGEST_PER_SET]
  rest = by_length[LONGEST_PER_SET:]
  random.Random(SEED).shuffle(rest)
  return chosen + rest[:max(0, count - len(chosen))]


def synthetic_pages():
  """Pages of the kinds that held runs: a menu line, a line of one symbol, a 2 MB text."""
  prose = ('The council met on Tuesday in Berlin and agreed the budget for next year, '
           'officials said, after a long debate about schools and roads.')
  return [
      ('issue27-menu', '\n'.join([ISSUE_MENU] * 20 + [prose] * 5), prose),
      ('line-of-equals', '\n'.join([prose, '=' * 10_000, prose, '*' * 10_000, prose]), prose),
      ('underscores', '\n'.join([prose, '_' * 20_000, prose]), prose),
      ('2mb-text', '\n'.join([prose] * 14_000), prose),
      ('menus-page', '\n'.join(['Home | News | Sport | Weather | Culture'] * 3000 + [prose]), prose),
  ]


def write_inputs(folder, pages, which):
  """Writes each page's whole text (which=1) or gold text (which=2) as ``<set>-<id>.txt``."""
  folder.mkdir(parents=True)
  for set_name, page in pages:
    text = page[which].replace('\r', '')
    (folder / f'{set_name}-{page[0]}.txt').write_text(f'Page {page[0]}\n{text}\n',
                                                     encoding='utf-8')


def run_newsbeam(folder, out):
  """(wall seconds, articles written) of one newsbeam run over a folder."""
  command = [sys.executable, '-m', 'pipeline.main', '--input', str(folder), '--output', str(out),
             '--dedup-window-days', '0', '--log-level', 'warning',
             '--direct_num_workers=1', '--direct_running_mode=in_memory']
  wall, _, _ = measure(command)
  return wall, rows_written(out)


class StageTimer:
  """Times the per-article pure functions of each stage, loaded once."""

  def __init__(self):
    from transforms.enrich.entities import default_ner_models  # pylint: disable=import-outside-toplevel
    from transforms.enrich.entities import load_ner_pipeline  # pylint: disable=import-outside-toplevel
    from transforms.enrich.geo.gazetteer import load_gazetteer  # pylint: disable=import-outside-toplevel
    from transforms.enrich.language import load_detector_factory  # pylint: disable=import-outside-toplevel
    from transforms.clean.classifier import load_cleaner_model  # pylint: disable=import-outside-toplevel
    self.model = load_cleaner_model()
    self.factory = load_detector_factory()
    self.nlp = load_ner_pipeline(default_ner_models()['en'])
    self.gazetteer = load_gazetteer('en')
    self.errors = {}
    self.article('warm-up', 'Angela Merkel met Emmanuel Macron in Berlin on Tuesday.')  # lazy loads
    self.errors = {}

  def _timed(self, times, stage, fn, *args):
    began = time.process_time()
    try:
      result = fn(*args)
    except Exception as error:  # pylint: disable=broad-except
      self.errors.setdefault(stage, f'{type(error).__name__}: {error}'[:200])
      result = None
    times[stage] = time.process_time() - began
    return result

  def article(self, page_id, text):
    """``{stage: seconds}`` of one page's text through every per-article stage."""
    from transforms.enrich import entities as E  # pylint: disable=import-outside-toplevel
    from transforms.enrich.geo import places  # pylint: disable=import-outside-toplevel
    from transforms.stories import assign as stories  # pylint: disable=import-outside-toplevel
    from transforms.dedup.dedup import minhash_signature  # pylint: disable=import-outside-toplevel
    from transforms.enrich.language import detect_language  # pylint: disable=import-outside-toplevel
    from transforms.extract.normalize import normalize_record  # pylint: disable=import-outside-toplevel
    times = {}
    raw, _ = cap_article(dict(parse_text_file(f'Page {page_id}\n{text}'), **{
        A.SOURCE_URI: f'{page_id}.txt', A.INPUT_FORMAT: 'text'}))
    made = self._timed(times, 'normalize', normalize_record, raw, 'bench', NOW)
    article = made[0] if made and made[0] else None
    if article is None:
      return times
    paragraphs = article[A.TEXT].split(PARAGRAPH_SEPARATOR)
    cleaned = self._timed(times, 'boilerplate', clean_paragraphs, paragraphs, DEFAULT_RULES,
                          self.model, 'text')
    if cleaned and any(p.strip() for p in cleaned[0]):
      article = dict(article, **{A.TEXT: PARAGRAPH_SEPARATOR.join(cleaned[0])})
    self._timed(times, 'language', detect_language, article[A.TEXT], self.factory)
    article[A.LANGUAGE] = 'en'
    found = self._timed(times, 'ner', E.find_mentions, self.nlp, [E.ner_text(article[A.TEXT])[0]],
                        E.DEFAULT_ENTITY_TYPES, self.gazetteer)
    if found:
      article = E.with_entities(article, found[0], E.DEFAULT_ENTITY_TYPES, 'en', self.gazetteer)
    self._timed(times, 'places', places.with_places, article)
    self._timed(times, 'minhash', minhash_signature, article[A.TEXT])
    self._timed(times, 'story', stories.story_signature, article)
    return times


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--pages', type=int, default=600, help='whole pages in the runs')
  parser.add_argument('--no-runs', action='store_true', help='only the per-article stage times')
  parser.add_argument('--no-stages', action='store_true', help='only the two newsbeam runs')
  args = parser.parse_args(argv)
  missing = [str(f) for f in SETS.values() if not f.exists()]
  if missing:
    print(f'missing eval sets: {missing}', file=sys.stderr)
    return 2
  ordered = {name: choose(load_set(folder), 10**9) for name, folder in SETS.items()}
  taken = {name: 0 for name in ordered}
  while sum(taken.values()) < args.pages and any(taken[n] < len(o) for n, o in ordered.items()):
    for name, order in ordered.items():  # round robin: small sets whole, the rest from big ones
      if taken[name] < len(order) and sum(taken.values()) < args.pages:
        taken[name] += 1
  held_out = {name: order[:taken[name]] for name, order in ordered.items()}
  pages = [(name, p) for name, chosen in held_out.items() for p in chosen]
  whole_chars = sum(len(p[1]) for _, p in pages)
  gold_chars = sum(len(p[2]) for _, p in pages)
  print(', '.join(f'{name} {count}' for name, count in taken.items()))
  print(f'{len(pages)} pages from {len(SETS)} held-out sets: whole-page text '
        f'{whole_chars / 1e6:.1f} M characters, gold text {gold_chars / 1e6:.1f} M')
  if not args.no_runs:
    with tempfile.TemporaryDirectory(prefix='bench-messy-') as tmp:
      tmp = pathlib.Path(tmp)
      write_inputs(tmp / 'whole', pages, 1)
      write_inputs(tmp / 'plain', pages, 2)
      print(f'\n{"run":<32}{"wall s":>9}{"articles":>10}{"articles/s":>12}')
      rates = {}
      for key, label in (('plain', 'plain texts (gold bodies)'),
                         ('whole', 'whole-page texts (menus...)')):
        wall, written = run_newsbeam(tmp / key, tmp / f'out-{key}')
        rates[key] = len(pages) / wall
        print(f'{label:<32}{wall:>9.1f}{written:>10}{rates[key]:>12.2f}')
      print(f'whole-page rate / plain rate: {rates["whole"] / rates["plain"]:.2f} '
            '(input files per second, same machine, same run of this script)')
  if args.no_stages:
    return 0
  timer = StageTimer()
  stages = ('normalize', 'boilerplate', 'language', 'ner', 'places', 'minhash', 'story')
  print(f'\nslowest article of each set: per-article CPU seconds of each stage, in this process '
        f'({TIMED_PER_SET} pages per set: the {TIMED_PER_SET // 2} longest and a sample)\n'
        f'{"set":<24}{"page":<16}{"chars":>9}{"total":>7}' + ''.join(f'{s[:7]:>8}' for s in stages)
        + f'{"median":>8}')
  held_out['synthetic'] = synthetic_pages()
  worst_overall = 0.0
  for name, chosen in held_out.items():
    totals = []
    longest = sorted(chosen, key=lambda p: -len(p[1]))
    sample = [p for p in chosen[LONGEST_PER_SET:] if p not in longest[:TIMED_PER_SET // 2]]
    timed = longest[:TIMED_PER_SET // 2] + sample[:TIMED_PER_SET // 2]
    for page in timed:
      times = timer.article(page[0], page[1])
      totals.append((sum(times.values()), page, times))
    totals.sort(key=lambda t: t[0])
    median = totals[len(totals) // 2][0]
    total, page, times = totals[-1]
    worst_overall = max(worst_overall, total)
    print(f'{name:<24}{page[0][:15]:<16}{len(page[1]):>9}{total:>7.2f}'
          + ''.join(f'{times.get(s, 0.0):>8.2f}' for s in stages) + f'{median:>8.2f}')
  print(f'\nslowest article overall: {worst_overall:.2f} s')
  for stage, error in timer.errors.items():
    print(f'note: stage {stage} raised {error}')
  return 0


if __name__ == '__main__':
  raise SystemExit(main())
