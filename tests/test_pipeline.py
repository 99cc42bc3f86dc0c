"""End to end: the pipeline over files, read back with DuckDB, Polars and pyarrow."""

import gzip
import json
import os
import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from pipeline.main import main
from schemas.article import ARTICLE_SCHEMA
from schemas.common import DATE_LANG_PARTITION_SCHEMA
from schemas.common import DATE_PARTITION_SCHEMA
from schemas.dead_letter import DEAD_LETTER_SCHEMA
from schemas.entity import ENTITY_SCHEMA
from schemas.run import RUN_SCHEMA
from tests.conftest import DATA
from tests.conftest import SAMPLES
from tests.conftest import articles_table
from tests.conftest import files_under
from tests.conftest import run_newsbeam

TITLE_DATED = ('As fears of a Ukrainian invasion grow, Russia and Belarus will '
               'hold joint military exercises.')


@pytest.fixture(scope='module')
def samples_run(tmp_path_factory):
  output = str(tmp_path_factory.mktemp('samples') / 'out')
  result = run_newsbeam('--input', SAMPLES, '--output', output)
  return output, result


def test_samples_land_in_their_partitions(samples_run):
  output, result = samples_run
  rows = {os.path.basename(r['source_uri']): r for r in articles_table(output)}
  dated = rows['000_fb94ac4cff3d6708.txt']
  assert str(dated['date']) == '2022-01-18' and dated['lang'] == 'en'
  assert dated['date_source'] == 'text_header'
  assert dated['title'] == TITLE_DATED
  assert dated['text'].startswith('As Russia conducts war games near its border')
  undated = rows['002_326773c5a6fc88ff.txt']
  assert str(undated['date']) == result.manifest['started_at'].date().isoformat()
  assert undated['date_source'] == 'ingested'
  assert undated['title'] == 'Russia and China: Expert says there’s ‘deep mistrust’'
  assert undated['source'] == 'samples'
  assert {r['run_id'] for r in rows.values()} == {result.run_id}


def test_samples_boilerplate_is_stripped_and_audited(samples_run):
  output, _ = samples_run
  rows = {os.path.basename(r['source_uri']): r for r in articles_table(output)}
  undated = rows['002_326773c5a6fc88ff.txt']
  assert [b['rule'] for b in undated['boilerplate']] == [
      'consent', 'related_teaser', 'related_teaser', 'related_teaser', 'source_footer']
  assert 'Read Full Article' not in undated['text']
  assert '[INSIGHT]' not in undated['text']
  assert undated['word_count'] == len(undated['text'].split())
  assert rows['000_fb94ac4cff3d6708.txt']['boilerplate'] == []


def test_keep_boilerplate_and_user_rules(tmp_path):
  kept = run_newsbeam('--input', SAMPLES, '--output', tmp_path / 'kept', '--keep-boilerplate')
  rows = {os.path.basename(r['source_uri']): r for r in articles_table(tmp_path / 'kept')}
  assert 'Source: Read Full Article' in rows['002_326773c5a6fc88ff.txt']['text']
  assert rows['002_326773c5a6fc88ff.txt']['boilerplate'] == []
  assert kept.manifest['articles_written'] == 2

  rules = tmp_path / 'rules.yaml'
  rules.write_text('rules:\n  - name: kremlin_line\n    pattern: "^Even as it appeared"\n'
                   '    max_chars: 400\n')
  run_newsbeam('--input', SAMPLES, '--output', tmp_path / 'custom', '--boilerplate-rules', rules)
  rows = {os.path.basename(r['source_uri']): r for r in articles_table(tmp_path / 'custom')}
  assert [b['rule'] for b in rows['000_fb94ac4cff3d6708.txt']['boilerplate']] == ['kremlin_line']


def test_bad_rules_file_is_a_config_error(tmp_path, capsys):
  rules = tmp_path / 'rules.toml'
  rules.write_text('[[rules]]\nname = "x"\npattern = "(unclosed"\n')
  assert main(['--input', str(SAMPLES), '--output', str(tmp_path / 'o'),
               '--boilerplate-rules', str(rules)]) == 2
  assert 'invalid pattern' in capsys.readouterr().err
  assert not (tmp_path / 'o').exists()


def test_entities_dataset(samples_run):
  output, _ = samples_run
  rows = duckdb.sql(
      f"SELECT a.source_uri, e.canonical, e.canonical_key, e.label, e.mention_count "
      f"FROM read_parquet('{output}/entities/**/*.parquet', hive_partitioning = true) e "
      f"JOIN read_parquet('{output}/articles/**/*.parquet', hive_partitioning = true) a "
      "USING (article_id)").fetchall()
  by_file = {}
  for uri, canonical, key, label, count in rows:
    by_file.setdefault(os.path.basename(uri), {})[(key, label)] = (canonical, count)
  dated, undated = by_file['000_fb94ac4cff3d6708.txt'], by_file['002_326773c5a6fc88ff.txt']
  assert ('nato', 'ORG') in dated and ('nato', 'ORG') in undated
  assert undated[('volodymyr zelenskiy', 'PERSON')] == ('Volodymyr Zelenskiy', 2)
  assert undated[('alexander lukashenko', 'PERSON')][1] == 3
  assert ('vladimir putin', 'PERSON') in dated and ('sergey lavrov', 'PERSON') in dated
  assert ('viktor gulevich', 'PERSON') in undated
  assert ('chatham house', 'ORG') in undated
  for key in ('russia', 'belarus', 'ukraine'):
    assert (key, 'GPE') in dated and (key, 'GPE') in undated
  every_key = {key for file_rows in by_file.values() for key, _ in file_rows}
  assert 'angela merkel' not in every_key and 'major general' not in every_key
  assert not any(key == 'us' for key, _ in undated)

  top = duckdb.sql(
      f"SELECT canonical, sum(mention_count) AS mentions "
      f"FROM read_parquet('{output}/entities/**/*.parquet', hive_partitioning = true) "
      "WHERE label = 'PERSON' GROUP BY canonical ORDER BY mentions DESC, canonical LIMIT 20"
  ).fetchall()
  assert top[0] == ('Alexander Lukashenko', 4)
  dataset = ds.dataset(f'{output}/entities', format='parquet',
                       partitioning=ds.partitioning(DATE_LANG_PARTITION_SCHEMA, flavor='hive'))
  assert dataset.schema.equals(pa.unify_schemas([ENTITY_SCHEMA, DATE_LANG_PARTITION_SCHEMA]),
                               check_metadata=False)


def test_layout_and_manifest(samples_run):
  output, result = samples_run
  run_id = result.run_id
  today = result.manifest['started_at'].date().isoformat()
  assert [f for f in files_under(output) if f.startswith('_staging/')] == ['_staging/.lock']
  assert [f for f in files_under(output) if not f.startswith('_staging/')] == sorted([
      f'articles/date=2022-01-18/lang=en/part-{run_id}-0.parquet',
      f'articles/date={today}/lang=en/part-{run_id}-0.parquet',
      f'entities/date=2022-01-18/lang=en/part-{run_id}-0.parquet',
      f'entities/date={today}/lang=en/part-{run_id}-0.parquet',
      f'places/date=2022-01-18/lang=en/part-{run_id}-0.parquet',
      f'places/date={today}/lang=en/part-{run_id}-0.parquet',
      f'stories/date=2022-01-18/part-{run_id}-0.parquet',
      f'stories/date={today}/part-{run_id}-0.parquet',
      # The story index keeps the days of the window: the 2022 article's row
      # is older than that and not written.
      f'_state/story_index/date={today}/part-{run_id}.parquet',
      f'runs/part-{run_id}.parquet'])
  manifest = duckdb.sql(f"SELECT * FROM read_parquet('{output}/runs/*.parquet')").fetchall()
  assert len(manifest) == 1
  m = result.manifest
  assert (m['inputs_read'], m['articles_written'], m['dropped'], m['dead_lettered']) == (2, 2, 0, 0)
  assert m['accounting_balanced'] is True


def test_readers_get_the_declared_types(samples_run):
  output, _ = samples_run
  dataset = ds.dataset(f'{output}/articles', format='parquet',
                       partitioning=ds.partitioning(DATE_LANG_PARTITION_SCHEMA,
                                                    flavor='hive'))
  expected = pa.unify_schemas([ARTICLE_SCHEMA, DATE_LANG_PARTITION_SCHEMA])
  assert dataset.schema.equals(expected, check_metadata=False)
  assert dataset.count_rows() == 2

  import polars as pl  # pylint: disable=import-outside-toplevel
  frame = pl.scan_parquet(f'{output}/articles/**/*.parquet',
                          hive_partitioning=True).collect()
  assert frame.schema['date'] == pl.Date
  assert frame.schema['published_at'] == pl.Datetime('us', 'UTC')
  assert frame.schema['authors'] == pl.List(pl.String)
  assert frame.height == 2

  types = {r[0]: r[1] for r in duckdb.sql(
      f"DESCRIBE SELECT * FROM read_parquet('{output}/articles/**/*.parquet', "
      "hive_partitioning = true)").fetchall()}
  assert types['date'] == 'DATE'
  assert types['published_at'] == 'TIMESTAMP WITH TIME ZONE'
  assert types['word_count'] == 'INTEGER'

  runs = ds.dataset(f'{output}/runs', format='parquet')
  assert runs.schema.equals(RUN_SCHEMA, check_metadata=False)


def _write_bad_inputs(folder):
  folder.mkdir()
  (folder / 'empty.txt').write_bytes(b'')
  (folder / 'binary.html').write_bytes(bytes(range(256)) * 8)
  (folder / 'undecodable.txt').write_bytes(bytes(range(128, 256)) * 4 + bytes(range(1, 32)) * 8)
  (folder / 'lines.jsonl').write_text('\n'.join([
      json.dumps({'id': 'j1', 'url': 'https://example.org/a?utm_source=x',
                  'title': 'Good', 'text': 'A fine article body with enough words to detect English text.',
                  'published': '../../x'}),
      '{"id": "j2", "title": broken json',
      json.dumps({'id': 'j3', 'title': 'No text at all'}),
      json.dumps({'id': 'j4', 'html': '<html><body><p>' + 'A paragraph of real words in an embedded page. ' * 5 + '</p></body></html>'}),
  ]), encoding='utf-8')
  (folder / 'notext.html').write_text('<html><body><script>var a=1;</script></body></html>')
  (folder / 'truncated.txt.gz').write_bytes(gzip.compress(b'Headline\nBody text ' * 50)[:40])
  (folder / 'ok.txt.gz').write_bytes(gzip.compress(b'Gzipped headline\nA gzipped body of text in English words.'))
  (folder / 'feed.rss').write_bytes((DATA / 'feed.rss').read_bytes())
  (folder / 'broken.xml').write_bytes(b'<rss><channel><title>x</title>')
  (folder / 'latin1.txt').write_bytes('Café\nLe café est très bon à Paris, dit-il à la télévision.'.encode('latin-1'))


def test_bad_inputs_are_accounted_for(tmp_path):
  inputs = tmp_path / 'in'
  _write_bad_inputs(inputs)
  output = str(tmp_path / 'out')
  result = run_newsbeam('--input', inputs, '--output', output)
  m = result.manifest
  assert m['accounting_balanced'] is True
  assert m['inputs_read'] == m['articles_written'] + m['dropped'] + m['dead_lettered']
  # 10 files; the JSON file holds 4 inputs, the feed 2.
  assert m['inputs_read'] == 9 + 3 + 2
  assert dict(m['dropped_by_reason']) == {'empty_input': 1, 'empty_text': 1,
                                          'no_main_text': 1}
  assert dict(m['dead_lettered_by_stage']) == {'read': 5}
  # The French article is tagged by the French model: no no_ner_model warning.
  assert dict(m['warnings_by_kind']) == {'date_unparseable': 1}
  [(kind, names)] = m['warning_inputs']  # each warning names its input
  assert kind == 'date_unparseable' and len(names) == 1 and names[0].startswith(str(inputs))
  assert m['articles_written'] == 6

  table = articles_table(output)
  assert sorted(r['source_uri'].rsplit('/', 1)[1] for r in table) == [
      'feed.rss', 'feed.rss', 'latin1.txt', 'lines.jsonl#L1', 'lines.jsonl#L4',
      'ok.txt.gz']
  rows = {r['source_uri'].rsplit('/', 1)[1]: r for r in table}
  good = rows['lines.jsonl#L1']
  assert good['url'] == 'https://example.org/a?utm_source=x'
  assert good['canonical_url'] == 'https://example.org/a'
  assert good['external_id'] == 'j1'
  assert good['date_source'] == 'ingested'
  assert rows['latin1.txt']['text'] == 'Le café est très bon à Paris, dit-il à la télévision.'

  dead = duckdb.sql(
      f"SELECT stage, error_type, source_uri FROM read_parquet('{output}/dead_letters/**/*.parquet', "
      "hive_partitioning = true) ORDER BY source_uri").fetchall()
  assert [(s, e, u.rsplit('/', 1)[1]) for s, e, u in dead] == [
      ('read', 'BinaryContentError', 'binary.html'),
      ('read', 'EmptyFeed', 'broken.xml'),
      ('read', 'JSONDecodeError', 'lines.jsonl#L2'),
      ('read', 'BadGzipFile', 'truncated.txt.gz'),
      ('read', 'UndecodableError', 'undecodable.txt')]
  dataset = ds.dataset(f'{output}/dead_letters', format='parquet',
                       partitioning=ds.partitioning(DATE_PARTITION_SCHEMA, flavor='hive'))
  assert dataset.schema.equals(pa.unify_schemas([DEAD_LETTER_SCHEMA, DATE_PARTITION_SCHEMA]),
                               check_metadata=False)
  for path in files_under(output):
    assert not path.startswith('..')
  assert not os.path.exists(os.path.join(output, '_staging', result.run_id))


def test_second_run_over_the_same_inputs_writes_nothing_new(tmp_path, capsys):
  output = str(tmp_path / 'out')
  first = run_newsbeam('--input', SAMPLES, '--output', output)
  before = articles_table(output)
  second = run_newsbeam('--input', SAMPLES, '--output', output)
  after = articles_table(output)
  assert len(after) == len(before) == 2
  assert {r['article_id'] for r in after} == {r['article_id'] for r in before}
  m = second.manifest
  assert (m['inputs_read'], m['articles_written'], m['dead_lettered']) == (2, 0, 0)
  assert dict(m['dropped_by_reason']) == {'duplicate_cross_run': 2}
  files = files_under(output)
  assert sum(first.run_id in f for f in files) == 10
  assert files == sorted(files) and f'runs/part-{second.run_id}.parquet' in files
  drops = duckdb.sql(
      f"SELECT reason, article_id, duplicate_of FROM read_parquet('{output}/drops/**/*.parquet', "
      "hive_partitioning = true)").fetchall()
  assert sorted(drops) == sorted(('duplicate_cross_run', r['article_id'], r['article_id'])
                                 for r in before)

  assert main(['runs', output]) == 0
  listing = capsys.readouterr().out.splitlines()
  assert listing[1].startswith(second.run_id) and 'duplicate_cross_run=2' in listing[1]
  assert listing[2].startswith(first.run_id)


@pytest.mark.parametrize('args, message', [
    (['--input', '/no/such/file.txt'], 'matches no file'),
    ([], 'no --input'),
    (['--input', str(SAMPLES), '--inptu', 'x'], 'unknown flag'),
])
def test_wrong_configuration_writes_nothing(tmp_path, args, message, capsys):
  output = tmp_path / 'out'
  assert main(args + ['--output', str(output)]) == 2
  assert message in capsys.readouterr().err
  assert not output.exists()


def test_output_under_a_file_is_refused(tmp_path, capsys):
  blocker = tmp_path / 'file'
  blocker.write_text('x')
  assert main(['--input', str(SAMPLES), '--output', str(blocker / 'out')]) == 2
  assert 'not a folder' in capsys.readouterr().err


def test_unknown_flag_value_is_refused(tmp_path):
  with pytest.raises(SystemExit) as exit_info:
    main(['--input', str(SAMPLES), '--output', str(tmp_path / 'o'), '--log-level', 'loud'])
  assert exit_info.value.code == 2
  assert not (tmp_path / 'o').exists()


def test_console_script_help_lists_every_flag():
  out = subprocess.run([sys.executable, '-m', 'pipeline.main', '--help'],
                       capture_output=True, text=True, check=True).stdout
  for flag in ('--input', '--output', '--run-id', '--log-level'):
    assert flag in out
  assert 'Default: out' in out
