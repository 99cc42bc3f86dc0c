"""Language detection against labelled sentences: accuracy by length and for CJK.

Gold: ``../shared/eval/langid/sentences-dev.tsv`` (750 sentences in 75
languages, ``lang<TAB>text``). langdetect knows 55 of them; the others can
only be wrong or ``und``. A sentence counts as right when the detected
language is the gold one; ``und`` counts as not right, and is shown apart.

    .venv/bin/python -m benchmarks.quality_language
"""

import collections
import pathlib

from transforms.enrich.language import detect_language
from transforms.enrich.language import load_detector_factory

EVAL = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'eval' / 'langid'
LENGTH_BUCKETS = ((0, 30), (30, 60), (60, 10**9))  # characters of the sentence
CJK = ('zh', 'ja', 'ko')
SPACED_EVERY = 2  # characters between the spaces of the "with spaces" variant
LATIN_WORDS = 'Apple iPhone Pro Max TSMC'  # what the "with brand names" variant adds


def cjk_variants(text):
  """A CJK sentence as headlines and keyword lines write it: with spaces, with brand names."""
  spaced = ' '.join(text[i:i + SPACED_EVERY] for i in range(0, len(text), SPACED_EVERY))
  return {'with spaces': spaced, 'with brand names': f'{LATIN_WORDS} {text}'}


def load_rows(folder=EVAL):
  """``(gold language, text)`` of every labelled sentence."""
  lines = (folder / 'sentences-dev.tsv').read_text(encoding='utf-8').splitlines()
  return [tuple(line.split('\t', 1)) for line in lines[1:] if '\t' in line]


def _bucket(text):
  for low, high in LENGTH_BUCKETS:
    if low <= len(text) < high:
      return f'{low}-{high - 1}' if high < 10**9 else f'{low}+'
  return None


def main():
  if not EVAL.exists():
    print(f'{EVAL} is missing: the dev sets live in ../shared/eval beside the clone')
    return
  factory = load_detector_factory()
  known = set(factory.get_lang_list()) | {'zh'}
  rows = load_rows()
  groups = collections.defaultdict(lambda: collections.Counter())
  for gold, text in rows:
    got, _ = detect_language(text.strip(), factory)
    keys = ['all', f'length {_bucket(text.strip())}']
    if gold in known:
      keys.append('languages langdetect knows')
    if gold in CJK:
      keys.append(f'gold {gold}')
    for key in keys:
      groups[key]['n'] += 1
      groups[key]['right'] += got == gold
      groups[key]['und'] += got == 'und'
    if got in CJK and got != gold:
      groups[f'detected {got} wrongly']['n'] += 1
    if gold in CJK:
      for name, variant in cjk_variants(text.strip()).items():
        got, _ = detect_language(variant, factory)
        groups[f'CJK {name}']['n'] += 1
        groups[f'CJK {name}']['right'] += got == gold
        groups[f'CJK {name}']['und'] += got == 'und'
  print('| sentences | n | right | und |')
  print('|---|---:|---:|---:|')
  for key in sorted(groups):
    counts = groups[key]
    if 'wrongly' in key:
      print(f'| {key} | {counts["n"]} | | |')
      continue
    print(f'| {key} | {counts["n"]} | {counts["right"] / counts["n"]:.3f} '
          f'| {counts["und"] / counts["n"]:.3f} |')


if __name__ == '__main__':
  main()
