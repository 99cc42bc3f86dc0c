"""Entity quality: raw spaCy against newsbeam's canonical entities, one run.

Gold: ``benchmarks/data/entities_gold.json``, the hand-labelled distinct
entities of the two bundled samples (after boilerplate stripping). An entity
counts as found when its case- and punctuation-folded name and its label
match a gold entity of the same article. A gold country is named as newsbeam
names countries ("US" -> "United States"): the gold lists entities, not
spellings.

    .venv/bin/python -m benchmarks.quality_entities
"""

import json
import pathlib

from schemas import article as A
from transforms.clean.rules import apply_rules
from transforms.enrich.canonical import canonical_key
from transforms.enrich.canonical import country_of
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import default_ner_models
from transforms.enrich.entities import find_mentions
from transforms.enrich.entities import load_ner_pipeline
from transforms.enrich.entities import tag_texts
from transforms.enrich.entities import with_entities
from transforms.enrich.geo.gazetteer import load_gazetteer
from transforms.extract.normalize import normalize_text
from transforms.read.files import parse_text_file

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOLD = pathlib.Path(__file__).resolve().parent / 'data' / 'entities_gold.json'


def prf(found, gold):
  hits = len(found & gold)
  precision = hits / len(found) if found else 0.0
  recall = hits / len(gold) if gold else 0.0
  f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
  return hits, len(found), len(gold), precision, recall, f1


def main():
  gold_doc = json.loads(GOLD.read_text(encoding='utf-8'))
  model = default_ner_models()['en']
  nlp = load_ner_pipeline(model)
  gazetteer = load_gazetteer('en')
  raw_found, canonical_found, gold = set(), set(), set()
  for name, entities in gold_doc.items():
    if name.startswith('_'):
      continue
    parsed = parse_text_file((ROOT / 'samples' / name).read_text(encoding='utf-8'))
    text, _ = apply_rules(normalize_text(parsed[A.TEXT]))
    gold |= {(name, canonical_key(country_of(n, label) or n), label) for n, label in entities}
    (mentions,) = tag_texts(nlp, [text], DEFAULT_ENTITY_TYPES)
    raw_found |= {(name, canonical_key(m.text), m.label) for m in mentions}
    (mentions,) = find_mentions(nlp, [text], DEFAULT_ENTITY_TYPES, gazetteer)
    article = with_entities({A.TEXT: text, A.LANGUAGE: 'en'}, mentions, DEFAULT_ENTITY_TYPES,
                            model, gazetteer)
    canonical_found |= {(name, canonical_key(m['canonical']), m['label'])
                        for m in article[A.ENTITIES]}
  print(f'model {model}; {len(gold)} gold entities in {len(gold_doc) - 1} articles')
  print(f'{"configuration":28} {"hits":>5} {"found":>5} {"gold":>5} {"P":>6} {"R":>6} {"F1":>6}')
  for label, found in (('raw spaCy mentions', raw_found),
                       ('newsbeam canonical entities', canonical_found)):
    hits, n_found, n_gold, p, r, f = prf(found, gold)
    print(f'{label:28} {hits:5d} {n_found:5d} {n_gold:5d} {p:6.3f} {r:6.3f} {f:6.3f}')
  print('missed by newsbeam:', sorted((k, l) for _, k, l in gold - canonical_found))
  print('wrong in newsbeam: ', sorted((k, l) for _, k, l in canonical_found - gold))


if __name__ == '__main__':
  main()
