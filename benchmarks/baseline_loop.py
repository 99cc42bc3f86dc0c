"""The plain script a user would write instead of newsbeam: one loop, same libraries, same work.

Reads the JSON Lines files of a folder (``{"url", "html"}`` objects) and does,
article by article, the work newsbeam's stages do, with the same functions:
trafilatura extraction and the page's dates, normalisation (canonical URL,
dates), boilerplate rules and the learned paragraph classifier, langdetect,
spaCy NER with ``nlp.pipe`` (same model and batch size, optionally
``n_process``), places from the gazetteer, story signatures and story
assignment over the run, and one Parquet file written with pyarrow. It skips
what only a pipeline needs (accounting, dead letters, staged commits, the
per-source repeat pass and cross-run deduplication).
bench_pipeline.py runs it as its baseline.

    python -m benchmarks.baseline_loop CORPUS_FOLDER OUT.parquet [N_PROCESS]
"""

import datetime
import json
import pathlib
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import article as A
from schemas import entity as E
from schemas import raw as R
from transforms.clean.boilerplate import clean_paragraphs
from transforms.clean.rules import DEFAULT_RULES
from transforms.extract.dates import find_page_dates
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import PIPE_BATCH_SIZE
from transforms.enrich.entities import default_ner_models
from transforms.enrich.entities import load_ner_pipeline
from transforms.extract.html import extract_main_text
from transforms.enrich.language import detect_language
from transforms.enrich.language import load_detector_factory
from transforms.extract.normalize import normalize_record
from transforms.clean.classifier import load_cleaner_model
from transforms.enrich.geo.places import gazetteer
from transforms.enrich.geo.places import with_places
from transforms.stories.assign import assign_stories
from transforms.stories.assign import story_signature

RUN_ID = 'baseline'
KEPT_COLUMNS = (A.URL, A.TITLE, A.TEXT, A.LANGUAGE, A.PUBLISHED_AT, A.STORY_ID)


def _article(obj, factory, model, now):
  """One page to an article record with clean text and its language, or None."""
  page = extract_main_text(obj['html'], obj['url'])
  if page is None:
    return None
  raw = {A.SOURCE_URI: obj['url'], A.INPUT_FORMAT: 'jsonl', A.URL: obj['url'],
         A.TITLE: page['title'], A.TEXT: page['text'], R.PUBLISHED: page['date'],
         A.TEXT_ORIGIN: A.TEXT_FROM_HTML,
         R.PAGE_DATES: find_page_dates(obj['html'], obj['url'], page['date'],
                                       htmldate_found=page['htmldate'])}
  return cleaned_article(raw, factory, model, now, 'html')


def cleaned_article(raw, factory, model, now, path_kind, run_id=RUN_ID):
  """A raw record normalised, cleaned (rules and classifier) and with its language, or None."""
  article, _ = normalize_record(raw, run_id, now)
  if article is None:
    return None
  kept, _ = clean_paragraphs(article[A.TEXT].split('\n\n'), DEFAULT_RULES, model, path_kind)
  language, confidence = detect_language('\n\n'.join(kept), factory)
  return dict(article, **{A.TEXT: '\n\n'.join(kept), A.LANGUAGE: language,
                          A.LANGUAGE_CONFIDENCE: confidence})


def main(corpus, out, n_process=1):
  factory = load_detector_factory()
  model = load_cleaner_model()
  nlp = load_ner_pipeline(default_ner_models()['en'])
  gaz = gazetteer()
  now = datetime.datetime.now(datetime.timezone.utc)
  articles = []
  for path in sorted(pathlib.Path(corpus).glob('*.jsonl')):
    with open(path, encoding='utf-8') as f:
      for line in f:
        article = _article(json.loads(line), factory, model, now)
        if article is not None:
          articles.append(article)
  return write_enriched(articles, nlp, gaz, out, n_process)


def write_enriched(articles, nlp, gaz, out, n_process=1):
  """NER, places and stories over cleaned articles, then one Parquet file; returns the rows."""
  docs = nlp.pipe((a[A.TEXT] for a in articles), batch_size=PIPE_BATCH_SIZE,
                  n_process=n_process)
  # docs first: zip must exhaust the nlp.pipe generator, or with n_process > 1
  # its worker processes are never told to stop and the interpreter waits on
  # them at exit for ever.
  for doc, article in zip(docs, articles):
    article[A.ENTITIES] = [
        {E.MENTION_TEXT: e.text, E.MENTION_LABEL: e.label_, E.MENTION_START: e.start_char,
         E.MENTION_END: e.end_char, E.MENTION_CANONICAL: e.text}
        for e in doc.ents if e.label_ in DEFAULT_ENTITY_TYPES]
  articles = [with_places(a, gaz) for a in articles]
  stories = assign_stories([story_signature(a) for a in articles], [])
  for article in articles:
    article[A.STORY_ID] = stories.get(article[A.ARTICLE_ID])
  rows = [{column: a[column] for column in KEPT_COLUMNS} for a in articles]
  pq.write_table(pa.Table.from_pylist(rows), out, compression='zstd')
  return len(rows)


if __name__ == '__main__':
  print(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1))
