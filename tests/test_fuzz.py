"""Property-based: random and mutated inputs never crash a run or break its accounting."""

import gzip
import json
import pathlib

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.conftest import SAMPLE_UNDATED
from tests.conftest import run_newsbeam

EXTENSIONS = ('.txt', '.html', '.jsonl', '.json', '.xml', '.rss', '.txt.gz',
              '.jsonl.gz', '.html.gz', '.csv')
REAL = SAMPLE_UNDATED.read_bytes()


def _truncated_gzip(data):
  return gzip.compress(data)[:max(10, len(data) // 3)]


def _deep_json(depth):
  return ('{"a":' * depth + '1' + '}' * depth).encode()


def _wrong_encoding(text):
  return text.encode('utf-16-le')


CONTENTS = st.one_of(
    st.binary(max_size=2000),
    st.binary(max_size=200).map(lambda b: b'\x00' + b),
    st.just(REAL),
    st.just(REAL).map(_truncated_gzip),
    st.just(REAL).map(gzip.compress),
    st.integers(min_value=1, max_value=5000).map(_deep_json),
    st.integers(min_value=1, max_value=3).map(lambda n: b'x' * (n * 700_000)),
    st.text(max_size=300).map(_wrong_encoding),
    st.text(max_size=300).map(lambda t: t.encode('utf-8', 'replace')),
    st.text(max_size=300).map(lambda t: t.encode('cp1252', 'replace')),
    st.lists(st.dictionaries(st.sampled_from(['id', 'url', 'title', 'text', 'html',
                                              'published', 'authors', 'source']),
                             st.one_of(st.text(max_size=80), st.integers(),
                                       st.none(), st.lists(st.text(max_size=10))),
                             max_size=6), max_size=5)
    .map(lambda objs: '\n'.join(json.dumps(o) for o in objs).encode()),
    st.just(b'<?xml version="1.0"?><rss><channel><title>t</title><item><title>a</title>'
            b'<pubDate>../../etc</pubDate><description>Body text here.</description>'
            b'</item></channel></rss>'),
)
FILES = st.lists(st.tuples(st.sampled_from(EXTENSIONS), CONTENTS), min_size=1, max_size=8)


def snapshot(root, exclude):
  return {str(p) for p in pathlib.Path(root).rglob('*')
          if not str(p).startswith(str(exclude))}


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=FILES)
def test_random_inputs_keep_the_accounting(tmp_path_factory, files):
  root = tmp_path_factory.mktemp('fuzz')
  inputs = root / 'in'
  inputs.mkdir()
  for index, (extension, content) in enumerate(files):
    (inputs / f'f{index}{extension}').write_bytes(content)
  output = root / 'out'
  before = snapshot(root, output)
  result = run_newsbeam('--input', inputs, '--output', output, '--ner-model', 'en=')
  m = result.manifest
  assert m['accounting_balanced'], m
  assert m['inputs_read'] == m['articles_written'] + m['dropped'] + m['dead_lettered']
  assert m['inputs_read'] >= len(files)
  assert snapshot(root, output) == before  # nothing written outside the output
  for path in output.rglob('*'):
    assert path.resolve().is_relative_to(output.resolve())
  assert not (output / '_staging' / result.run_id).exists()


def test_ten_thousand_tiny_files(tmp_path):
  inputs = tmp_path / 'in'
  inputs.mkdir()
  for i in range(10_000):
    (inputs / f'{i:05d}.txt').write_text(f'Headline {i}\nBody of tiny article number {i}.')
  result = run_newsbeam('--input', inputs, '--output', tmp_path / 'out',
                        '--ner-model', 'en=')
  m = result.manifest
  assert m['inputs_read'] == 10_000
  assert m['accounting_balanced']
  assert m['articles_written'] + m['dropped'] == 10_000
