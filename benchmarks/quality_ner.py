"""Entity quality on CoNLL-2003 English dev: raw spaCy against newsbeam's entities, one run.

Gold: ``../shared/eval/ner/conll2003-dev/eng.testa.iob2`` (216 Reuters
documents, research use only: read in place, never copied). Each document's
text is its tokens joined by spaces, one sentence per paragraph. spaCy's
labels are mapped to CoNLL's (PERSON -> PER; GPE, LOC, FAC -> LOC; ORG -> ORG;
NORP, EVENT, PRODUCT, WORK_OF_ART, LAW, LANGUAGE -> MISC; the rest dropped).

- **bag-of-entities**: per document, the set of distinct (name, label), names
  folded with ``canonical_key``; precision, recall and F1 summed over the
  documents (micro), and F1 averaged over documents (macro), also with names
  compared exactly as written (no folding). newsbeam's bag
  holds the mentions it keeps, with the label of their canonical entity.
- **span**: exact (start, end, label) of every mention, micro-averaged.
- **ms/doc**: tagging time per document (spaCy's ``nlp.pipe``; newsbeam adds
  its rules, junk filter, gazetteer and canonical names), median of
  ``--runs`` runs of each, interleaved.

Documents are split in two halves by a hash of their text: newsbeam's rules
were tuned on ``tune`` only; ``held-out`` is the half they never saw.

    .venv/bin/python -m benchmarks.quality_ner [--runs 3] [--verbose]
"""

import hashlib
import pathlib
import statistics
import sys
import time

from transforms.enrich.canonical import canonical_key
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import default_ner_models
from transforms.enrich.entities import find_mentions
from transforms.enrich.entities import load_ner_pipeline
from transforms.enrich.entities import tag_texts
from transforms.enrich.entities import with_entities
from transforms.enrich.geo.gazetteer import load_gazetteer

CONLL = (pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'eval' / 'ner' /
         'conll2003-dev' / 'eng.testa.iob2')
TUNE, HELD_OUT = 'tune', 'held-out'
# spaCy's OntoNotes labels as CoNLL-2003's.
CONLL_LABELS = {'PERSON': 'PER', 'GPE': 'LOC', 'LOC': 'LOC', 'FAC': 'LOC', 'ORG': 'ORG',
                'NORP': 'MISC', 'EVENT': 'MISC', 'PRODUCT': 'MISC',
                'WORK_OF_ART': 'MISC', 'LAW': 'MISC', 'LANGUAGE': 'MISC'}
RAW_TYPES = tuple(CONLL_LABELS)


def load_documents(path=CONLL):
  """``(text, gold)`` per document; gold is a list of ``(start, end, label)`` spans."""
  documents, sentences, sentence = [], [], []

  def close_document():
    if sentence:
      sentences.append(list(sentence))
      sentence.clear()
    if sentences:
      documents.append(_document(sentences))
      sentences.clear()

  for line in path.read_text(encoding='utf-8').splitlines():
    if line.startswith('-DOCSTART-'):
      close_document()
    elif not line.strip():
      if sentence:
        sentences.append(list(sentence))
        sentence.clear()
    else:
      parts = line.split()
      sentence.append((parts[0], parts[-1]))
  close_document()
  return documents


def _document(sentences):
  """Text and gold spans of one document's IOB2-tagged sentences."""
  text, spans, entity = '', [], None
  for number, tokens in enumerate(sentences):
    if number:
      text += '\n\n'
    for index, (token, tag) in enumerate(tokens):
      if index:
        text += ' '
      start = len(text)
      text += token
      starts = tag.startswith('B-') or (
          tag.startswith('I-') and (entity is None or entity[2] != tag[2:]))
      if starts:
        if entity:
          spans.append(tuple(entity))
        entity = [start, len(text), tag[2:]]
      elif tag.startswith('I-'):
        entity[1] = len(text)
      else:
        if entity:
          spans.append(tuple(entity))
        entity = None
    if entity:
      spans.append(tuple(entity))
      entity = None
  return text, spans


def half_of(text):
  """TUNE or HELD_OUT, by a hash of the document's text."""
  return TUNE if hashlib.sha256(text.encode('utf-8')).digest()[0] % 2 == 0 else HELD_OUT


def bag(text, spans, fold=canonical_key):
  """Distinct (folded name, label) of a document's spans."""
  return {(fold(text[s:e]), label) for s, e, label in spans}


def prf(hits, found, gold):
  precision = hits / found if found else 0.0
  recall = hits / gold if gold else 0.0
  f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
  return precision, recall, f1


def score(documents, predictions):
  """Bag-of-entities P, R, F1 (micro), F1 (macro over documents; folded, then exact
  names), span P, R, F1."""
  bag_counts, span_counts, macro, macro_exact = [0, 0, 0], [0, 0, 0], [], []
  for (text, gold), predicted in zip(documents, predictions):
    found, wanted = bag(text, predicted), bag(text, gold)
    hits = len(found & wanted)
    bag_counts = [bag_counts[0] + hits, bag_counts[1] + len(found), bag_counts[2] + len(wanted)]
    if found or wanted:
      macro.append(prf(hits, len(found), len(wanted))[2])
      found, wanted = bag(text, predicted, str), bag(text, gold, str)
      macro_exact.append(prf(len(found & wanted), len(found), len(wanted))[2])
    found, wanted = set(predicted), set(gold)
    span_counts = [span_counts[0] + len(found & wanted), span_counts[1] + len(found),
                   span_counts[2] + len(wanted)]
  return (prf(*bag_counts) + (statistics.mean(macro), statistics.mean(macro_exact)) +
          prf(*span_counts))


def raw_spans(nlp, texts):
  """spaCy's own mentions, CoNLL labels."""
  return [[(m.start, m.end, CONLL_LABELS[m.label]) for m in mentions]
          for mentions in tag_texts(nlp, texts, RAW_TYPES)]


def newsbeam_spans(nlp, texts):
  """The mentions newsbeam keeps, with their canonical entity's label, CoNLL labels."""
  spans = []
  gazetteer = load_gazetteer('en')
  found = find_mentions(nlp, texts, DEFAULT_ENTITY_TYPES, gazetteer)
  for text, mentions in zip(texts, found):
    article = with_entities({'text': text, 'language': 'en'}, mentions,
                            DEFAULT_ENTITY_TYPES, 'm', gazetteer)
    spans.append([(m['start'], m['end'], CONLL_LABELS[m['label']])
                  for m in article['entities'] if m['label'] in CONLL_LABELS])
  return spans


def timed(functions, nlp, texts, runs):
  """``(results, median seconds of each)``: ``runs`` calls of each function, interleaved."""
  seconds = [[] for _ in functions]
  results = [None] * len(functions)
  for _ in range(runs):
    for index, function in enumerate(functions):
      start = time.perf_counter()
      results[index] = function(nlp, texts)
      seconds[index].append(time.perf_counter() - start)
  return results, [statistics.median(s) for s in seconds]


def main(argv=None):
  argv = sys.argv[1:] if argv is None else argv
  runs = int(argv[argv.index('--runs') + 1]) if '--runs' in argv else 3
  if not CONLL.exists():
    print(f'{CONLL} is missing: the dev sets live in ../shared/eval beside the clone')
    return
  model = default_ner_models()['en']
  nlp = load_ner_pipeline(model)
  documents = load_documents()
  texts = [text for text, _ in documents]
  list(nlp.pipe(texts[:20]))  # warm up
  load_gazetteer('en')  # loaded once per worker in setup(), as in the pipeline
  (raw, ours), (raw_seconds, our_seconds) = timed((raw_spans, newsbeam_spans), nlp, texts,
                                                   runs)
  print(f'model {model}; {len(documents)} documents, split by a hash of their text\n')
  print('| half | configuration | bag P | bag R | bag F1 | bag F1 (macro) | bag F1 (macro, '
        'exact names) | span P | span R | span F1 |')
  print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
  for half in (TUNE, HELD_OUT, 'all'):
    chosen = [i for i, (text, _) in enumerate(documents)
              if half == 'all' or half_of(text) == half]
    for name, predictions in (('raw spaCy', raw), ('newsbeam', ours)):
      figures = score([documents[i] for i in chosen], [predictions[i] for i in chosen])
      print(f'| {half} ({len(chosen)}) | {name} | ' +
            ' | '.join(f'{f:.3f}' for f in figures) + ' |')
  print(f'\n| configuration | ms/doc | ratio |\n|---|---:|---:|\n'
        f'| raw spaCy (`nlp.pipe`) | {1000 * raw_seconds / len(texts):.1f} | 1.00 |\n'
        f'| newsbeam (`find_mentions` + `with_entities`) | {1000 * our_seconds / len(texts):.1f} '
        f'| {our_seconds / raw_seconds:.2f} |')
  if '--verbose' in argv:
    _print_differences(documents, raw, ours)


def _print_differences(documents, raw, ours):
  """Bag entries newsbeam gains or loses against raw spaCy on the tune half."""
  for (text, gold), before, after in zip(documents, raw, ours):
    if half_of(text) != TUNE:
      continue
    wanted, old, new = bag(text, gold), bag(text, before), bag(text, after)
    for entry in sorted(new - old):
      print('added  ', 'RIGHT' if entry in wanted else 'WRONG', entry)
    for entry in sorted(old - new):
      print('removed', 'RIGHT' if entry in wanted else 'WRONG', entry)


if __name__ == '__main__':
  main()
