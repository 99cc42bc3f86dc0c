"""Per-core throughput of each newsbeam stage's own work, on real text.

Times the pure function behind each stage, in one process on one core,
median of 3, over the eval pages (../shared/eval/article-extraction) and the
samples: decoding, main-text extraction (trafilatura), normalisation,
boilerplate rules, language detection, MinHash, NER (spaCy, nlp.pipe) and the
Parquet write. docs/SCALING.md builds its worker counts on these figures.

    .venv/bin/python -m benchmarks.bench_stages [--articles 200]
"""

import argparse
import datetime
import gzip
import os
import statistics
import tempfile
import time

from benchmarks.corpus import EVAL_PAGES
from schemas import article as A
from schemas.article import ARTICLE_SCHEMA
from transforms.clean.rules import apply_rules
from transforms.core.decode import decode_bytes
from transforms.core.decode import find_declared_charset
from transforms.dedup.dedup import minhash_signature
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import default_ner_models
from transforms.enrich.entities import load_ner_pipeline
from transforms.enrich.entities import tag_texts
from transforms.extract.html import extract_main_text
from transforms.enrich.language import detect_language
from transforms.enrich.language import load_detector_factory
from transforms.extract.normalize import normalize_record
from transforms.write.datasets import write_parquet

NOW = datetime.datetime.now(datetime.timezone.utc)


def median_seconds(fn, runs=3):
  times = []
  for _ in range(runs):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--articles', type=int, default=200)
  args = parser.parse_args(argv)
  pages = [gzip.decompress(p.read_bytes()) for p in sorted(EVAL_PAGES.glob('*.html.gz'))]
  pages = [pages[i % len(pages)] for i in range(args.articles)]
  htmls = [decode_bytes(p, find_declared_charset(p))[0] for p in pages]
  extracted = [extract_main_text(h) for h in htmls]
  raws = [{A.SOURCE_URI: f'p{i}.html', A.INPUT_FORMAT: 'html', A.TEXT: e['text'],
           A.TITLE: e['title'], A.URL: f'https://example.org/{i}'}
          for i, e in enumerate(extracted) if e]
  articles = [normalize_record(r, 'bench', NOW)[0] for r in raws]
  texts = [a[A.TEXT] for a in articles]
  for a in articles:
    a[A.LANGUAGE] = 'en'
  words = sum(len(t.split()) for t in texts) / len(texts)
  factory = load_detector_factory()
  nlp = load_ner_pipeline(default_ner_models()['en'])
  folder = tempfile.mkdtemp()
  stages = [
      ('decode bytes', lambda: [decode_bytes(p, find_declared_charset(p)) for p in pages]),
      ('extract main text (trafilatura)', lambda: [extract_main_text(h) for h in htmls]),
      ('normalize', lambda: [normalize_record(r, 'bench', NOW) for r in raws]),
      ('boilerplate rules', lambda: [apply_rules(t) for t in texts]),
      ('language (langdetect)', lambda: [detect_language(t, factory) for t in texts]),
      ('minhash', lambda: [minhash_signature(t) for t in texts]),
      ('entities (spaCy NER)', lambda: tag_texts(nlp, texts, DEFAULT_ENTITY_TYPES)),
      ('parquet write', lambda: write_parquet(os.path.join(folder, 'x.parquet'),
                                              articles, ARTICLE_SCHEMA)),
  ]
  results = [(name, median_seconds(fn) / len(texts)) for name, fn in stages]
  total = sum(s for _, s in results)
  print(f'{datetime.date.today()}  {len(texts)} articles ({words:.0f} words on average, '
        f'{len(pages)} HTML pages), one core, median of 3')
  print(f'{"stage":34} {"ms/article":>10} {"articles/s":>10} {"share":>6}')
  for name, seconds in results:
    print(f'{name:34} {seconds * 1000:10.2f} {1 / seconds:10.1f} {seconds / total:6.1%}')
  print(f'{"all stages":34} {total * 1000:10.2f} {1 / total:10.1f} {1:6.0%}')


if __name__ == '__main__':
  main()
