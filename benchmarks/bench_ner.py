"""TagEntities inside Beam against a plain ``nlp.pipe`` loop over the same texts.

Both use the same NER-only pipeline and batch size and include loading the
model; each is run 3 times and the median is reported. One worker (the
DirectRunner in-memory) against one process.

    .venv/bin/python -m benchmarks.bench_ner [--articles 300] [--runs 3]
"""

import argparse
import datetime
import statistics
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from benchmarks.corpus import real_texts
from benchmarks.corpus import repeated
from schemas import article as A
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import PIPE_BATCH_SIZE
from transforms.enrich.entities import TagEntities
from transforms.enrich.entities import default_ner_models
from transforms.enrich.entities import load_ner_pipeline


def plain_loop(texts, model):
  nlp = load_ner_pipeline(model)
  count = 0
  for doc in nlp.pipe(texts, batch_size=PIPE_BATCH_SIZE):
    count += sum(1 for e in doc.ents if e.label_ in DEFAULT_ENTITY_TYPES)
  return count


def in_beam(texts, model):
  articles = [{A.ARTICLE_ID: str(i), A.SOURCE_URI: str(i), A.TEXT: t,
               A.LANGUAGE: 'en'} for i, t in enumerate(texts)]
  options = PipelineOptions(['--runner=DirectRunner', '--direct_num_workers=1',
                             '--direct_running_mode=in_memory'])
  with beam.Pipeline(options=options) as p:
    _ = p | beam.Create(articles) | TagEntities({'en': model})


def timed(fn, *args):
  start = time.perf_counter()
  fn(*args)
  return time.perf_counter() - start


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--articles', type=int, default=300)
  parser.add_argument('--runs', type=int, default=3)
  args = parser.parse_args(argv)
  model = default_ner_models()['en']
  texts = repeated(real_texts(), args.articles)
  words = sum(len(t.split()) for t in texts)
  results = {}
  for name, fn in (('plain nlp.pipe loop', plain_loop), ('TagEntities in Beam', in_beam)):
    results[name] = statistics.median(timed(fn, texts, model) for _ in range(args.runs))
  base = results['plain nlp.pipe loop']
  print(f'{datetime.date.today()}  model {model}, {len(texts)} articles, {words} words, '
        f'batch {PIPE_BATCH_SIZE}, median of {args.runs}')
  print(f'{"configuration":24} {"wall s":>7} {"articles/s":>10} {"words/s":>9} {"ratio":>6}')
  for name, seconds in results.items():
    print(f'{name:24} {seconds:7.2f} {len(texts) / seconds:10.1f} '
          f'{words / seconds:9.0f} {base / seconds:6.2f}')


if __name__ == '__main__':
  main()
