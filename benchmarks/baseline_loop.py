"""The plain script a user would write instead of newsbeam: one loop, same libraries.

Reads the JSON Lines files of a folder (``{"url", "html"}`` objects), extracts the main text
with trafilatura, applies newsbeam's normalisation and boilerplate rules,
detects the language with langdetect, tags entities with ``nlp.pipe`` (same
model, same batch size as newsbeam, optionally ``n_process``) and writes one
Parquet file with pyarrow. bench_pipeline.py runs it as its baseline.

    python -m benchmarks.baseline_loop CORPUS_FOLDER OUT.parquet [N_PROCESS]
"""

import json
import pathlib
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.boilerplate_rules import apply_rules
from transforms.entities import DEFAULT_ENTITY_TYPES
from transforms.entities import PIPE_BATCH_SIZE
from transforms.entities import default_ner_models
from transforms.entities import load_ner_pipeline
from transforms.extract import extract_main_text
from transforms.language import detect_language
from transforms.language import load_detector_factory
from transforms.normalize import normalize_text


def main(corpus, out, n_process=1):
  factory = load_detector_factory()
  nlp = load_ner_pipeline(default_ner_models()['en'])
  rows = []
  for path in sorted(pathlib.Path(corpus).glob('*.jsonl')):
    with open(path, encoding='utf-8') as f:
      for line in f:
        obj = json.loads(line)
        page = extract_main_text(obj['html'], obj['url'])
        if page is None:
          continue
        text, _ = apply_rules(normalize_text(page['text']))
        language, confidence = detect_language(text, factory)
        rows.append({'url': obj['url'], 'title': page['title'], 'text': text,
                     'language': language, 'language_confidence': confidence})
  docs = nlp.pipe((row['text'] for row in rows), batch_size=PIPE_BATCH_SIZE,
                  n_process=n_process)
  # docs first: zip must exhaust the nlp.pipe generator, or with n_process > 1
  # its worker processes are never told to stop and the interpreter waits on
  # them at exit for ever.
  for doc, row in zip(docs, rows):
    row['entities'] = [{'text': e.text, 'label': e.label_, 'start': e.start_char,
                        'end': e.end_char}
                       for e in doc.ents if e.label_ in DEFAULT_ENTITY_TYPES]
  pq.write_table(pa.Table.from_pylist(rows), out, compression='zstd')
  return len(rows)


if __name__ == '__main__':
  print(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1))
