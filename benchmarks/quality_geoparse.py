"""Places on real news: recognition and resolution on TR-News, this tree against HEAD.

TR-News (``../shared/eval/geoparse/trnews``: 118 news articles, 1,319 gold
toponyms with GeoNames ids and coordinates) is split by a hash of the
article id into a tuning half and a held-out half; tune on the first, report
the second. Each article goes through the pipeline's own functions: spaCy
NER (the pipeline's English model; its raw mentions cached under the user's
cache folder, keyed by model and texts, so re-runs skip it), canonical names
(``with_entities``), then ``article_places``. Both versions read the same
cached NER mentions: HEAD's ``transforms``/``schemas`` are unpacked with
``git archive`` into a temporary folder and run in a subprocess, the working
tree's in another, so their set-up times are both cold.

Recognition: precision, recall and F1 of (article, folded surface) pairs; a
place's surfaces are the texts of the entity mentions whose canonical name it
was resolved from, and its names found verbatim in the text. Resolution:
of the recognised pairs whose gold has a referent, the share placed within
161 km of the gold point or given the gold GeoNames id (a place left without
coordinates counts as wrong).

    .venv/bin/python -m benchmarks.quality_geoparse [--show-errors] [--no-baseline]
"""

import argparse
import collections
import hashlib
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parents[1]
TRNEWS = ROOT.parent / 'shared' / 'eval' / 'geoparse' / 'trnews'
HALVES = ('tune', 'heldout')
MAX_KM = 161.0  # accuracy radius, km (100 miles, the field's usual)
EARTH_RADIUS_KM = 6371.0
BASELINE_REF = 'HEAD'
NER_CACHE_VERSION = 1  # bump when the cached mention format changes


def half_of(article_id):
  """'tune' or 'heldout', fixed by a hash of the id."""
  return HALVES[hashlib.sha1(article_id.encode('utf-8')).digest()[0] % 2]


def fold(text):
  """A surface folded for matching: case, accents, punctuation, leading 'the', possessive."""
  text = unicodedata.normalize('NFKD', text)
  text = ''.join(c for c in text if not unicodedata.combining(c)).casefold()
  text = text.replace('’', "'")
  if text.endswith("'s"):
    text = text[:-2]
  words = ''.join(c if c.isalnum() else ' ' for c in text).split()
  if words[:1] == ['the']:
    words = words[1:]
  return ' '.join(words)


def load_corpus(folder=TRNEWS):
  """``(articles, gold)``: id -> text, and gold toponym dicts."""
  with open(folder / 'articles.jsonl', encoding='utf-8') as f:
    articles = {a['id']: a['text'] for a in map(json.loads, f)}
  with open(folder / 'gold.jsonl', encoding='utf-8') as f:
    gold = [json.loads(line) for line in f]
  return articles, gold


def _cache_dir():
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return pathlib.Path(base) / 'newsbeam' / 'bench'


def ner_mentions(articles):
  """id -> raw spaCy mentions ``[text, label, start, end]``, and the model label (cached)."""
  from transforms.enrich.entities import DEFAULT_ENTITY_TYPES  # pylint: disable=import-outside-toplevel
  from transforms.enrich.entities import default_ner_models  # pylint: disable=import-outside-toplevel
  from transforms.enrich.entities import load_ner_pipeline  # pylint: disable=import-outside-toplevel
  from transforms.enrich.entities import model_label  # pylint: disable=import-outside-toplevel
  from transforms.enrich.entities import tag_texts  # pylint: disable=import-outside-toplevel
  model = default_ner_models()['en']
  ids = sorted(articles)
  digest = hashlib.sha1(json.dumps([NER_CACHE_VERSION, model, DEFAULT_ENTITY_TYPES,
                                    [articles[i] for i in ids]]).encode()).hexdigest()[:16]
  path = _cache_dir() / f'trnews-ner-{digest}.json'
  try:
    with open(path, encoding='utf-8') as f:
      return json.load(f)
  except (OSError, ValueError):
    pass
  nlp = load_ner_pipeline(model)
  found = tag_texts(nlp, [articles[i] for i in ids], DEFAULT_ENTITY_TYPES)
  cached = {'model': model_label(nlp),
            'mentions': {i: [list(m) for m in ms] for i, ms in zip(ids, found)}}
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_suffix('.tmp')
  tmp.write_text(json.dumps(cached), encoding='utf-8')
  os.replace(tmp, path)
  return cached


def time_ner(articles):
  """spaCy NER's time per article on these texts (the pipeline's model, one run), in ms."""
  # pylint: disable=import-outside-toplevel
  from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
  from transforms.enrich.entities import default_ner_models
  from transforms.enrich.entities import load_ner_pipeline
  from transforms.enrich.entities import tag_texts
  nlp = load_ner_pipeline(default_ner_models()['en'])
  texts = [articles[i] for i in sorted(articles)]
  tag_texts(nlp, texts[:4], DEFAULT_ENTITY_TYPES)  # warm
  started = time.perf_counter()
  tag_texts(nlp, texts, DEFAULT_ENTITY_TYPES)
  return (time.perf_counter() - started) * 1000 / len(texts)


def predict(articles, cached):
  """Runs the importable ``transforms`` on every article: predictions and timings (a dict)."""
  # pylint: disable=import-outside-toplevel
  from schemas import article as A
  from schemas import entity as E
  from schemas import place as P
  from transforms.enrich.canonical import Mention
  from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
  from transforms.enrich.entities import with_entities
  from transforms.enrich.geo import places as places_module
  started = time.perf_counter()
  gaz = places_module.gazetteer()
  setup_s = time.perf_counter() - started
  out = {}
  resolve_s = 0.0
  for article_id in sorted(articles):
    text = articles[article_id]
    article = {A.TEXT: text, A.URL: None, A.SOURCE: None, A.LANGUAGE: 'en',
               A.ENTITIES: [], A.NER_MODEL: None}
    mentions = [Mention(*m) for m in cached['mentions'][article_id]]
    article = with_entities(article, mentions, DEFAULT_ENTITY_TYPES, cached['model'])
    started = time.perf_counter()
    places = places_module.article_places(article, gaz)
    resolve_s += time.perf_counter() - started
    by_canonical = collections.defaultdict(set)
    for m in article[A.ENTITIES]:
      by_canonical[m[E.MENTION_CANONICAL]].add(m[E.MENTION_TEXT])
    rows = []
    for place in places:
      surfaces = set()
      for name in place[P.MENTIONED_AS]:
        surfaces |= by_canonical.get(name, set())
        if name in text:
          surfaces.add(name)
      rows.append({'surfaces': sorted(surfaces), 'place': place[P.PLACE],
                   'kind': place[P.KIND], 'country': place[P.COUNTRY_CODE],
                   'lat': place[P.LAT], 'lon': place[P.LON],
                   'geonames_id': place[P.GEONAMES_ID], 'confidence': place[P.CONFIDENCE],
                   'method': place[P.METHOD]})
    out[article_id] = rows
  return {'places': out, 'setup_s': setup_s,
          'resolve_ms': resolve_s * 1000 / max(len(articles), 1)}


def km(lat1, lon1, lat2, lon2):
  """Great-circle distance in km."""
  p1, p2 = math.radians(lat1), math.radians(lat2)
  dp, dl = p2 - p1, math.radians(lon2 - lon1)
  h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
  return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def is_right(gold, row):
  """Whether a predicted place is the gold's referent (its id, or within MAX_KM)."""
  if gold['geonames_id'] and row['geonames_id'] == gold['geonames_id']:
    return True
  return row['lat'] is not None and km(gold['lat'], gold['lon'], row['lat'], row['lon']) <= MAX_KM


def score(gold, predictions, ids):
  """Counts of one half: tp, fp, fn, resolved right, resolvable; and the errors."""
  gold_pairs = {}
  for g in gold:
    if g['id'] in ids:
      key = (g['id'], fold(g['toponym']))
      if key not in gold_pairs or (gold_pairs[key]['lat'] is None and g['lat'] is not None):
        gold_pairs[key] = g
  predicted = {}
  for article_id in ids:
    for row in predictions[article_id]:
      for surface in row['surfaces']:
        predicted.setdefault((article_id, fold(surface)), row)
  counts = collections.Counter()
  errors = []
  for key, row in predicted.items():
    if key not in gold_pairs:
      counts['fp'] += 1
      errors.append(('fp', key, row['place'], row['country'], row.get('method')))
      continue
    counts['tp'] += 1
    g = gold_pairs[key]
    if g['lat'] is None:
      continue
    counts['resolvable'] += 1
    if is_right(g, row):
      counts['right'] += 1
    else:
      errors.append(('wrong', key, row.get('method'), f"{row['place']} ({row['country']})",
                     f"gold {g.get('gaz_name')} ({g['country_code']})"))
  for key in gold_pairs:
    if key not in predicted:
      counts['fn'] += 1
      errors.append(('fn', key))
  return counts, errors


def figures(counts):
  """P, R, F1, accuracy within MAX_KM."""
  p = counts['tp'] / max(counts['tp'] + counts['fp'], 1)
  r = counts['tp'] / max(counts['tp'] + counts['fn'], 1)
  f1 = 2 * p * r / max(p + r, 1e-9)
  return p, r, f1, counts['right'] / max(counts['resolvable'], 1)


def run_version(source_root, mentions_path, articles_path, cache_home=None):
  """The predictions of the ``transforms`` under ``source_root``, in a fresh process."""
  env = dict(os.environ, PYTHONPATH=str(source_root))
  if cache_home:
    env['XDG_CACHE_HOME'] = str(cache_home)
  done = subprocess.run(
      [sys.executable, str(pathlib.Path(__file__).resolve()), '--predict',
       str(mentions_path), str(articles_path)],
      cwd=str(source_root), env=env, capture_output=True, text=True, check=False)
  if done.returncode:
    raise SystemExit(f'{source_root}: {done.stderr.strip()[-2000:]}')
  return json.loads(done.stdout)


def unpack_ref(ref, folder):
  """``transforms`` and ``schemas`` of a git ref, unpacked into ``folder`` (no change to the repo)."""
  archive = subprocess.run(['git', 'archive', ref, 'transforms', 'schemas'], cwd=str(ROOT),
                           capture_output=True, check=True).stdout
  subprocess.run(['tar', '-x', '-C', str(folder)], input=archive, check=True)
  return folder


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--show-errors', choices=HALVES, help='list the errors of one half')
  parser.add_argument('--no-baseline', action='store_true', help=f'skip {BASELINE_REF}')
  parser.add_argument('--baseline-ref', default=BASELINE_REF)
  parser.add_argument('--ner-timing', action='store_true',
                      help='also time spaCy NER on the articles, for the share of places')
  parser.add_argument('--cold-cache', action='store_true',
                      help="run this tree's version with an empty cache folder (its first run)")
  parser.add_argument('--predict', nargs=2, help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.predict:
    with open(args.predict[0], encoding='utf-8') as f:
      cached = json.load(f)
    with open(args.predict[1], encoding='utf-8') as f:
      articles = json.load(f)
    json.dump(predict(articles, cached), sys.stdout)
    return

  sys.path.insert(0, str(ROOT))
  if not (TRNEWS / 'gold.jsonl').exists():
    sys.stderr.write(f'{TRNEWS} is missing: the dev sets live in ../shared/eval beside the clone\n')
    raise SystemExit(2)
  articles, gold = load_corpus()
  started = time.perf_counter()
  cached = ner_mentions(articles)
  ner_s = time.perf_counter() - started
  halves = {h: {i for i in articles if half_of(i) == h} for h in HALVES}
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    (tmp / 'mentions.json').write_text(json.dumps(cached), encoding='utf-8')
    (tmp / 'articles.json').write_text(json.dumps(articles), encoding='utf-8')
    versions = {}
    if not args.no_baseline:
      (tmp / 'base').mkdir()
      base = unpack_ref(args.baseline_ref, tmp / 'base')
      versions[args.baseline_ref] = run_version(base, tmp / 'mentions.json', tmp / 'articles.json')
    versions['tree'] = run_version(ROOT, tmp / 'mentions.json', tmp / 'articles.json')
    if args.cold_cache:
      cold = run_version(ROOT, tmp / 'mentions.json', tmp / 'articles.json', tmp / 'cache')
      print(f"tree with an empty cache: set-up {cold['setup_s']:.1f} s (built and written once "
            f"per machine), then {versions['tree']['setup_s']:.2f} s per worker")

  gold_counts = {h: sum(1 for g in gold if g['id'] in ids) for h, ids in halves.items()}
  print(f'TR-News: {len(articles)} articles, {len(gold)} gold toponyms '
        f'({", ".join(f"{h} {len(halves[h])} articles / {gold_counts[h]} toponyms" for h in HALVES)}); '
        f'NER {cached["model"]} ({ner_s:.1f} s, cached under {_cache_dir()})')
  print(f'{"version":9} {"half":8} {"P":>6} {"R":>6} {"F1":>6} {"acc161":>7} '
        f'{"tp":>4} {"fp":>4} {"fn":>4} {"right/resolvable":>17} {"setup s":>8} {"ms/art":>7}')
  all_errors = {}
  for name, result in versions.items():
    for half in HALVES:
      counts, errors = score(gold, result['places'], halves[half])
      all_errors[name, half] = errors
      p, r, f1, acc = figures(counts)
      print(f'{name:9} {half:8} {p:6.3f} {r:6.3f} {f1:6.3f} {acc:7.3f} {counts["tp"]:4d} '
            f'{counts["fp"]:4d} {counts["fn"]:4d} {counts["right"]:8d}/{counts["resolvable"]:<8d} '
            f'{result["setup_s"]:8.2f} {result["resolve_ms"]:7.2f}')
  if args.ner_timing:
    ner_ms = time_ner(articles)
    places_ms = versions['tree']['resolve_ms']
    print(f'spaCy NER {ner_ms:.1f} ms per article, places {places_ms:.1f} ms '
          f'({places_ms / (ner_ms + places_ms):.1%} of the two)')
  if args.show_errors:
    for error in sorted(all_errors['tree', args.show_errors], key=str):
      print(*error)


if __name__ == '__main__':
  main()
