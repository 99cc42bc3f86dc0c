"""Place quality: the share of gold places resolved to the right country and subdivision.

Gold: ``tests/data/places_gold.jsonl``, sentences written for this test with
their places, ambiguous names (Paris, Springfield, Georgia, Victoria,
Cambridge, Córdoba, Perth, Birmingham) each in several senses, decided by
the sentence, the source's URL or the source's name. Lines marked
``"split": "holdout"`` were written after the resolver was tuned on the
others and are reported apart. English sentences go
through the real chain: spaCy NER (the pipeline's model), canonical names,
then ``article_places``; sentences marked with another language have no NER
and go through the gazetteer matcher.

    .venv/bin/python -m benchmarks.quality_places [--show-errors]
"""

import argparse
import collections
import json
import pathlib
import time

from schemas import article as A
from schemas import place as P
from transforms.enrich.canonical import country_of
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import default_ner_models
from transforms.enrich.entities import load_ner_pipeline
from transforms.enrich.entities import tag_texts
from transforms.enrich.entities import with_entities
from transforms.enrich.geo.places import article_places
from transforms.enrich.geo.places import gazetteer
from transforms.enrich.geo.places import place_key

GOLD = pathlib.Path(__file__).resolve().parents[1] / 'tests' / 'data' / 'places_gold.jsonl'
AMBIGUOUS = ('paris', 'springfield', 'georgia', 'victoria', 'cambridge', 'cordoba',
             'perth', 'birmingham')


def load_gold(path=GOLD):
  """The gold sentences, one dict per line."""
  with open(path, encoding='utf-8') as f:
    return [json.loads(line) for line in f if line.strip()]


def gold_articles(gold, nlp, model):
  """Article dicts for the gold sentences: NER-tagged when English, untagged otherwise."""
  articles = []
  english = [g for g in gold if g.get('lang', 'en') == 'en']
  found = dict(zip((g['id'] for g in english),
                   tag_texts(nlp, [g['text'] for g in english], DEFAULT_ENTITY_TYPES)))
  for item in gold:
    article = {A.TEXT: item['text'], A.URL: item.get('url'), A.SOURCE: item.get('source'),
               A.LANGUAGE: item.get('lang', 'en'), A.ENTITIES: [], A.NER_MODEL: None}
    if item['id'] in found:
      article = with_entities(article, found[item['id']], DEFAULT_ENTITY_TYPES, model)
    articles.append(article)
  return articles


def judge(item, article, places):
  """``(name, outcome, is_ambiguous, admin1_outcome)`` per gold place of one sentence."""
  by_key = {}
  for place in places:
    for name in place[P.MENTIONED_AS]:
      by_key.setdefault(place_key(name), place)
  mentioned = {place_key(m['canonical']) for m in article[A.ENTITIES]
               if m['label'] in ('GPE', 'LOC')}
  for name, country, admin1 in item['places']:
    key = place_key(name)
    # "Britain" is kept as the canonical "United Kingdom": look for either.
    place = by_key.get(key) or by_key.get(place_key(country_of(name, 'GPE') or name))
    ambiguous = key in AMBIGUOUS
    if place is None:
      outcome = 'unresolved' if key in mentioned or article[A.NER_MODEL] is None else 'ner_missed'
      yield name, outcome, ambiguous, None if admin1 is None else 'wrong'
      continue
    outcome = 'right' if place[P.COUNTRY_CODE] == country else 'wrong'
    admin1_outcome = None
    if admin1 is not None:
      admin1_outcome = 'right' if place[P.ADMIN1] == admin1 else 'wrong'
    yield name, outcome, ambiguous, admin1_outcome


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--show-errors', action='store_true')
  args = parser.parse_args(argv)
  gold = load_gold()
  model = default_ner_models()['en']
  nlp = load_ner_pipeline(model)
  started = time.perf_counter()
  gaz = gazetteer()
  build_seconds = time.perf_counter() - started
  articles = gold_articles(gold, nlp, model)
  started = time.perf_counter()
  resolved = [article_places(a, gaz) for a in articles]
  resolve_ms = (time.perf_counter() - started) * 1000 / len(articles)

  counts = collections.Counter()
  errors = []
  for item, article, places in zip(gold, articles, resolved):
    for name, outcome, ambiguous, admin1_outcome in judge(item, article, places):
      for group in ('all', item.get('split', 'dev'), 'ambiguous' if ambiguous else 'other',
                    'ner' if item.get('lang', 'en') == 'en' else 'gazetteer'):
        counts[group, outcome] += 1
        if admin1_outcome:
          counts[group, 'admin1_' + admin1_outcome] += 1
      if outcome != 'right' or admin1_outcome == 'wrong':
        got = [(p[P.NAME], p[P.COUNTRY_CODE], p[P.ADMIN1], p[P.CONFIDENCE]) for p in places]
        errors.append((item['id'], name, outcome, admin1_outcome, got))

  print(f'{len(gold)} sentences; model {model}; gazetteer built in {build_seconds:.2f} s; '
        f'resolution {resolve_ms:.3f} ms per sentence')
  print(f'{"places":10} {"gold":>5} {"country":>8} {"share":>6} {"ner miss":>8} '
        f'{"unres.":>6} {"wrong":>5} {"admin1":>7} {"share":>6}')
  for group in ('all', 'dev', 'holdout', 'ambiguous', 'other', 'ner', 'gazetteer'):
    total = sum(counts[group, o] for o in ('right', 'wrong', 'unresolved', 'ner_missed'))
    admin1_total = counts[group, 'admin1_right'] + counts[group, 'admin1_wrong']
    if not total:
      continue
    print(f'{group:10} {total:5d} {counts[group, "right"]:8d} '
          f'{counts[group, "right"] / total:6.1%} {counts[group, "ner_missed"]:8d} '
          f'{counts[group, "unresolved"]:6d} {counts[group, "wrong"]:5d} '
          f'{counts[group, "admin1_right"]:3d}/{admin1_total:<3d} '
          f'{counts[group, "admin1_right"] / max(admin1_total, 1):6.1%}')
  if args.show_errors:
    for error in errors:
      print(*error)


if __name__ == '__main__':
  main()
