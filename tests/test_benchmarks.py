"""The benchmark corpus: every copy must survive deduplication, or the benchmark measures less work."""

import json

from benchmarks import bench_pipeline
from tests.conftest import shared_eval
from transforms.extract.html import extract_main_text
from transforms.extract.normalize import make_content_hash
from transforms.extract.normalize import normalize_text


def test_copy_sentence_differs_in_words_not_only_digits():
  # Boilerplate fingerprints fold digits, so digits alone would not make copies differ.
  assert bench_pipeline.copy_sentence(12) != bench_pipeline.copy_sentence(21)
  assert not any(ch.isdigit() for ch in bench_pipeline.copy_sentence(1234567890))


def test_page_template_cuts_paragraphs_and_places_the_marker_in_the_main_text():
  paragraph = '<p>' + ' '.join(['word'] * 40) + '</p>'
  html = ('<html><body><nav><p>Menu</p></nav><article><h1>Title</h1>'
          + paragraph * 10 + '</article><footer><p>Footer text</p></footer></body></html>')
  template = bench_pipeline.page_template(html, 100)
  assert template.count(' '.join(['word'] * 40)) == 3  # 40 + 40 + 40 >= 100, the rest dropped
  page = extract_main_text(template, 'https://example.org/a')
  assert bench_pipeline.MARKER in page['text']


def test_corpus_copies_are_distinct_after_extraction(tmp_path):
  shared_eval('article-extraction', 'html')
  pages = len(list(bench_pipeline.EVAL_PAGES.glob('*.html.gz')))
  count = pages + 5  # one full pass and the start of a second, on another host
  bench_pipeline.build_corpus(tmp_path / 'corpus', count, 300, per_file=40)
  files = sorted((tmp_path / 'corpus').glob('*.jsonl'))
  assert [f.name for f in files][:2] == ['part-00000.jsonl', 'part-00001.jsonl']
  objects = [json.loads(line) for f in files for line in f.open(encoding='utf-8')]
  assert len(objects) == count
  assert len({o['url'] for o in objects}) == count
  assert objects[0]['url'].split('/')[2] != objects[-1]['url'].split('/')[2]
  hashes = set()
  checked = list(enumerate(objects))[:10] + list(enumerate(objects))[-10:]  # both hosts
  for i, obj in checked:
    page = extract_main_text(obj['html'], obj['url'])
    text = normalize_text(page['text'])
    assert bench_pipeline.copy_sentence(i) in text, obj['url']
    hashes.add(make_content_hash(text))
  assert len(hashes) == len(checked)
