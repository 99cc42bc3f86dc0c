"""Benchmark corpora built from real text: the eval pages and the samples."""

import gzip
import pathlib

import trafilatura

from schemas import article as A
from transforms.extract.normalize import normalize_text
from transforms.read.files import parse_text_file

ROOT = pathlib.Path(__file__).resolve().parents[1]
EVAL_PAGES = ROOT.parent / 'shared' / 'eval' / 'article-extraction' / 'html'


def real_texts():
  """Normalised article texts: the two samples plus the eval pages' main text."""
  texts = []
  for path in sorted((ROOT / 'samples').glob('*.txt')):
    texts.append(normalize_text(parse_text_file(path.read_text(encoding='utf-8'))[A.TEXT]))
  for path in sorted(EVAL_PAGES.glob('*.html.gz')):
    html = gzip.decompress(path.read_bytes()).decode('utf-8', errors='replace')
    text = normalize_text(trafilatura.extract(html) or '')
    if text:
      texts.append(text)
  return texts


def repeated(texts, count):
  """``count`` texts cycling through ``texts``."""
  return [texts[i % len(texts)] for i in range(count)]
