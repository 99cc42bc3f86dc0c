"""Red-team regressions, round 3: robots.txt, report labels, query, model files, flags (loopback only)."""

import datetime
import json
import random
import re
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import compact
from pipeline import options as O
from pipeline import query as Q
from pipeline import report as R
from pipeline import runs
from pipeline.options import ConfigError
from schemas.article import ARTICLE_SCHEMA
from schemas.run import RUN_SCHEMA
from schemas.run import make_manifest
from tests.conftest import REPO
from tests.feed_server import FeedServer
from transforms.net import full_text as T
from transforms.net import http as H
from transforms.clean import classifier as pc
from transforms.clean.rules import RulesFileError
from transforms.clean.rules import load_rules_file

UTC = datetime.timezone.utc
LOOPBACK = H.parse_networks(['127.0.0.0/8'])
QUICK = H.HttpSettings(deadline=5.0, max_bytes=1 << 20, retries=0, host_delay=0.0,
                       max_per_host=4, allowed_private=LOOPBACK)
RUN = '20260301T060000Z-abc123'
COMPACTION = '20260302T060000Z-def456'


# robots.txt

def _as_regex(pattern):
  """The old matcher (each '*' as '.*' under re): the oracle on small inputs."""
  anchored = pattern.endswith('$')
  body = pattern[:-1] if anchored else pattern
  return re.compile('.*'.join(re.escape(p) for p in body.split('*')) + (r'\Z' if anchored else ''))


def test_robots_wildcards_match_as_the_rfc_says():
  rng = random.Random(9309)
  for _ in range(3000):
    pattern = '/' + ''.join(rng.choice('ab*') for _ in range(rng.randint(0, 6)))
    pattern += '$' if rng.random() < 0.3 else ''
    path = '/' + ''.join(rng.choice('ab') for _ in range(rng.randint(0, 8)))
    body = pattern[:-1] if pattern.endswith('$') else pattern
    expected = _as_regex(pattern).match(path) is not None
    assert H.robots_rule_matches(body.split('*'), pattern.endswith('$'), path) == expected, (
        pattern, path)


def test_a_robots_rule_built_to_backtrack_is_matched_at_once():
  # 2.6 s per URL at 6 wildcards under re, 91 s at 8: at 30 over 20,000
  # characters the old matcher would not finish in a lifetime.
  rule = '/*' + 'a*' * 30 + 'b'
  rules = H.parse_robots(f'User-agent: *\nDisallow: {rule}\nDisallow: /tmp/*.php$\n')
  policy = H.RobotsPolicy(rules=rules)
  near_miss = 'http://x.example/' + 'a' * 20_000
  assert policy.refusal(near_miss, 'newsbeam/1') is None
  assert policy.refusal(near_miss + 'b', 'newsbeam/1').startswith('robots.txt disallows /aaa')
  assert policy.refusal('http://x.example/tmp/x/y.php', 'newsbeam/1') is not None
  assert policy.refusal('http://x.example/tmp/x/y.php?s=1', 'newsbeam/1') is None


def test_robots_text_cut_at_the_cap_loses_its_partial_last_line():
  body = b'User-agent: *\nDisallow: /private/\nDisallow: /priv'
  assert H.robots_text(body, truncated=True) == 'User-agent: *\nDisallow: /private/\n'
  assert H.robots_text(body, truncated=False).endswith('/priv')


def test_a_robots_txt_over_the_body_cap_is_parsed_up_to_500_kib():
  filler = ''.join(f'# crawl-delay note {n:07d} for old bots\n' for n in range(80_000))
  head = 'User-agent: *\nDisallow: /private/\n'
  tail = 'Disallow: /page/\n'  # past 500 KiB: not read
  server = FeedServer().start()
  try:
    server.robots = head + filler + tail  # about 3 MB, over QUICK's 1 MiB body cap
    assert len(server.robots) > 2 * QUICK.max_bytes
    client = H.HttpClient(QUICK)
    text, reason = T.page_text(client, f'{server.base}/page/1')
    assert reason is None and text
    assert T.page_text(client, f'{server.base}/private/1')[1] == (
        'robots.txt disallows /private/1')
    assert server.hits['/robots.txt'] == 1
  finally:
    server.stop()


# report labels

def test_report_labels_are_drawn_as_written():
  names = ['Money $\\foo{$ Daily', 'Cost $5 to $6', 'x^2 $_{a}$ \\frac{1}{2}']
  svg = R.bar_chart('top-sources', [(name, 10 - i) for i, name in enumerate(names)])
  for name in names:
    assert R._esc(name) in svg  # pylint: disable=protected-access


# query

def _write(path, schema, rows):
  path.parent.mkdir(parents=True, exist_ok=True)
  pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def _article(article_id, run_id):
  row = {f.name: None for f in ARTICLE_SCHEMA}
  row.update({'article_id': article_id, 'title': f'Title {article_id}', 'text': 'Text.',
              'language': 'en', 'run_id': run_id, 'schema_version': 2})
  for field in ARTICLE_SCHEMA:
    if not field.nullable and row[field.name] is None:
      row[field.name] = [] if pa.types.is_list(field.type) else (
          datetime.datetime(2026, 3, 1, tzinfo=UTC) if pa.types.is_timestamp(field.type)
          else 0 if pa.types.is_integer(field.type) else '')
  return row


def _manifest(run_id, day, status='succeeded'):
  at = datetime.datetime(2026, 3, day, 6, tzinfo=UTC)
  return make_manifest(run_id, status, at, at, [], 'out', inputs_read=2, articles_written=2)


@pytest.fixture
def output(tmp_path):
  """An output as runs leave it, plus files no run committed."""
  out = tmp_path / 'out'
  part = out / 'articles' / 'date=2026-03-01' / 'lang=en'
  _write(part / f'part-{RUN}-0.parquet', ARTICLE_SCHEMA, [_article('a1', RUN), _article('a2', RUN)])
  _write(out / 'runs' / f'part-{RUN}.parquet', RUN_SCHEMA, [_manifest(RUN, 1)])
  # What a query's COPY, a half-moved run or a stray copy would leave: not the dataset.
  _write(part / 'injected.parquet', ARTICLE_SCHEMA, [_article('evil', 'x')])
  _write(part / 'part-20260301T070000Z-999999-0.parquet', ARTICLE_SCHEMA,
         [_article('uncommitted', '20260301T070000Z-999999')])
  return out


def test_query_reads_only_files_of_committed_runs(output, capsys):
  assert Q.query_main([str(output), 'select article_id from articles order by 1',
                       '--format', 'csv']) == 0
  assert capsys.readouterr().out.splitlines() == ['article_id', 'a1', 'a2']


def test_a_compaction_s_files_are_read_while_it_runs_and_once_committed(output, capsys):
  part = output / 'articles' / 'date=2026-03-01' / 'lang=en'
  (part / f'part-{RUN}-0.parquet').rename(part / f'part-compact-{COMPACTION}-0.parquet')
  staging = output / '_staging' / f'compact-{COMPACTION}'
  staging.mkdir(parents=True)
  sql = 'select count(*) as n from articles'
  assert Q.run_query(str(output), sql) == (['n'], [(2,)])
  staging.rmdir()
  assert Q.run_query(str(output), sql) == (['n'], [(0,)])
  _write(output / 'runs' / f'part-{COMPACTION}.parquet', RUN_SCHEMA,
         [_manifest(COMPACTION, 2, 'compacted')])
  assert Q.run_query(str(output), sql) == (['n'], [(2,)])
  assert Q.query_main([str(output), 'select run_id, status from runs order by 1']) == 0
  assert 'compacted' in capsys.readouterr().out


@pytest.mark.parametrize('sql', [
    "COPY (SELECT 1 AS x) TO '{tmp}/written.csv'",
    "COPY (SELECT * FROM articles) TO '{out}/articles/date=2026-03-01/lang=en/x.parquet'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('{out}/articles/**/*.parquet')",
    "SELECT * FROM glob('{tmp}/*')",
    "ATTACH '{tmp}/db.duckdb' AS other",
    'INSTALL httpfs',
    'LOAD httpfs',
    'SET enable_external_access = true',
    "SET allowed_directories = ['/']",
])
def test_query_reads_and_writes_no_other_file(output, tmp_path, capsys, sql):
  before = sorted(p for p in tmp_path.rglob('*'))
  assert Q.query_main([str(output), sql.format(tmp=tmp_path, out=output)]) == 2
  error = capsys.readouterr().err
  assert error.startswith('newsbeam: query failed:') and error.count('\n') == 1
  assert sorted(p for p in tmp_path.rglob('*')) == before


def test_unsafe_sql_may_read_other_files(output, tmp_path, capsys):
  (tmp_path / 'sources.csv').write_text('source,weight\nexample.org,2\n', encoding='utf-8')
  sql = f"SELECT weight FROM read_csv('{tmp_path}/sources.csv')"
  assert Q.query_main([str(output), sql, '--format', 'csv']) == 2
  capsys.readouterr()
  assert Q.query_main([str(output), sql, '--format', 'csv', '--unsafe-sql']) == 0
  assert capsys.readouterr().out.splitlines() == ['weight', '2']


def _closed_reader(command):
  """Runs a command whose reader closes its end of the pipe before reading a byte."""
  process = subprocess.Popen([sys.executable, '-c', command[0], *command[1:]], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  process.stdout.close()
  _, error = process.communicate(timeout=120)
  return process.returncode, error.decode()


QUERY_MAIN = 'import sys; from pipeline.query import query_main; sys.exit(query_main(sys.argv[1:]))'
RUNS_MAIN = 'import sys; from pipeline.runs import runs_main; sys.exit(runs_main(sys.argv[1:]))'


def test_query_and_runs_end_quietly_when_the_reader_goes_away(output):
  for day in range(2, 9):
    run_id = f'202603{day:02d}T060000Z-00000{day}'
    _write(output / 'runs' / f'part-{run_id}.parquet', RUN_SCHEMA, [_manifest(run_id, day)])
  for command in ([QUERY_MAIN, str(output), 'select * from range(200000)'],
                  [RUNS_MAIN, str(output)]):
    status, error = _closed_reader(command)
    assert status == runs.EXIT_CLOSED_PIPE, error
    assert error == ''


def test_runs_last_is_bounded(output, capsys):
  assert runs.runs_main([str(output), '--last', '0']) == 2
  assert runs.runs_main([str(output), '--last', str(10 ** 30)]) == 2
  error = capsys.readouterr().err
  assert error.count('\n') == 2 and '--last must be between 1 and' in error


# --cleaner-model files

def _model():
  return json.loads(pc.DEFAULT_MODEL_PATH.read_text(encoding='utf-8'))


def _set(path, value):
  def change(document):
    target = document
    for key in path[:-1]:
      target = target[key]
    if value is _DELETE:
      del target[path[-1]]
    else:
      target[path[-1]] = value
    return document
  return change


_DELETE = object()


@pytest.mark.parametrize('change, message', [
    (_set(('version',), _DELETE), 'version must be'),
    (_set(('version',), 7), 'version must be'),
    (_set(('stages', 0, 'depth'), -3), 'depth must be an integer from 1 to 32'),
    (_set(('stages', 0, 'depth'), 1e9), 'depth must be an integer'),
    (_set(('stages', 1, 'depth'), 10 ** 9), 'depth must be an integer'),
    (_set(('stages', 0, 'depth'), True), 'depth must be an integer'),
    (_set(('thresholds', 'text'), 1.5), 'thresholds must be numbers from 0 to 1'),
    (_set(('thresholds', 'html'), '0.5'), 'thresholds must be numbers'),
    (_set(('stages', 0, 'baseline'), None), 'baseline must be a finite number'),
    (_set(('stages', 0, 'left', 0), 10 ** 7), 'left must be a list of integers'),
    (_set(('stages', 1, 'feature', 0), 60), 'feature must be a list of integers from 0 to 59'),
    (_set(('stages', 0, 'feature', 0), 47), 'feature must be a list of integers from 0 to 46'),
    (_set(('stages', 0, 'roots'), []), 'roots must name 1 tree'),
    (_set(('stages', 0, 'value'), [0.1]), 'different lengths'),
    (_set(('stages', 0, 'threshold', 3), 'x'), 'threshold must be a list of finite numbers'),
    (_set(('stages', 0), []), 'a stage must be an object'),
    (_set(('stages',), [{}] * 9), 'needs 1 to 8 stages'),
    (_set(('stages', 0, 'right'), _DELETE), 'a stage lacks right'),
    (_set(('thresholds',), [0.5, 0.5]), 'needs a threshold for each'),
])
def test_a_model_file_out_of_bounds_is_one_line(tmp_path, change, message):
  path = tmp_path / 'model.json'
  path.write_text(json.dumps(change(_model())), encoding='utf-8')
  with pytest.raises(pc.CleanerModelError, match=re.escape(message)) as caught:
    pc.load_cleaner_model(path)
  assert '\n' not in str(caught.value)


@pytest.mark.parametrize('text, message', [
    ('[' * 200_000 + ']' * 200_000, 'nested too deeply'),
    ('{"format": "newsbeam-paragraph-cleaner/1", "training": ' + '{"a": ' * 100_000 + '1'
     + '}' * 100_001, 'nested too deeply'),
    ('[1, 2, 3]', 'the JSON is not an object'),
    ('{"format": "newsbeam-paragraph-cleaner/1",', 'not valid JSON'),
])
def test_a_model_file_that_is_no_model_is_one_line(tmp_path, text, message):
  path = tmp_path / 'model.json'
  path.write_text(text, encoding='utf-8')
  with pytest.raises(pc.CleanerModelError, match=message) as caught:
    pc.load_cleaner_model(path)
  assert '\n' not in str(caught.value)


def test_non_finite_numbers_written_by_python_are_refused(tmp_path):
  document = _model()
  document['thresholds']['text'] = float('nan')
  path = tmp_path / 'model.json'
  path.write_text(json.dumps(document), encoding='utf-8')  # json writes a bare NaN
  with pytest.raises(pc.CleanerModelError, match='thresholds must be numbers from 0 to 1'):
    pc.load_cleaner_model(path)
  document = _model()
  document['stages'][1]['value'][7] = float('inf')
  document['stages'][0]['baseline'] = float('-inf')
  path.write_text(json.dumps(document), encoding='utf-8')
  with pytest.raises(pc.CleanerModelError, match='baseline must be a finite number'):
    pc.load_cleaner_model(path)
  document['stages'][0]['baseline'] = -0.9
  path.write_text(json.dumps(document), encoding='utf-8')
  with pytest.raises(pc.CleanerModelError, match='value must be a list of finite numbers'):
    pc.load_cleaner_model(path)


def test_an_endless_or_huge_model_file_is_read_in_bounded_bytes(tmp_path):
  with pytest.raises(pc.CleanerModelError, match='too large for a paragraph cleaner model'):
    pc.load_cleaner_model('/dev/zero')
  huge = tmp_path / 'huge.json'
  with open(huge, 'wb') as file:
    file.truncate(1 << 40)  # sparse: a terabyte on paper
  with pytest.raises(pc.CleanerModelError, match='too large'):
    pc.load_cleaner_model(huge)


def test_the_packaged_model_passes_its_own_checks():
  model = pc.load_cleaner_model()
  assert model.version == 'paragraph_cleaner-v1'
  assert [s.depth for s in model.stages] == [4, 4]


# numeric flags and config errors

@pytest.mark.parametrize('argv', [
    ['--host-delay', '1e308'], ['--host-delay', '3601'], ['--http-timeout', '1e308'],
    ['--http-max-bytes', str(10 ** 30)], ['--http-retries', str(10 ** 9)],
    ['--max-per-host', '100000'], ['--dedup-window-days', str(10 ** 20)],
    ['--story-window-days', '91'], ['--max-dead-letter-share', '2'],
])
def test_every_numeric_flag_has_an_upper_bound(argv, capsys):
  with pytest.raises(SystemExit) as exited:
    O.check_known_flags(argv)
  assert exited.value.code == O.EXIT_CONFIG_ERROR
  error = capsys.readouterr().err
  assert error.count('\n') == 1 and 'expected' in error and argv[0] in error


def test_numeric_flags_keep_their_sensible_range(capsys):
  O.check_known_flags(['--host-delay', '3600', '--http-timeout', '0.5', '--http-retries', '100',
                       '--http-max-bytes', str(1 << 30), '--max-per-host', '1000'])
  assert capsys.readouterr().err == ''


@pytest.mark.parametrize('every', ['99999999999999999999d', f'{3661 * 86400}s', '9' * 5000 + 's'])
def test_an_interval_past_ten_years_is_a_config_error(every):
  from pipeline.watch import parse_interval  # pylint: disable=import-outside-toplevel
  with pytest.raises(ConfigError, match='--every: expected') as caught:
    parse_interval(every, '--every')
  assert '\n' not in str(caught.value)
  assert compact.parse_age('3660d') == compact.MAX_AGE_SECONDS


def test_an_invalid_yaml_rules_file_is_one_line(tmp_path):
  path = tmp_path / 'rules.yaml'
  path.write_text('rules:\n  - name: newsletter\n    pattern: "Sign up for\n    position: tail\n'
                  '  - name: [unclosed\n', encoding='utf-8')
  with pytest.raises(RulesFileError) as caught:
    load_rules_file(str(path))
  message = str(caught.value)
  assert '\n' not in message
  assert message.startswith(f"rules file '{path}': invalid YAML: ") and 'at line' in message


def test_config_errors_reach_the_command_line_as_one_line(tmp_path, capsys):
  from pipeline.main import main  # pylint: disable=import-outside-toplevel
  article = tmp_path / 'in' / 'council.txt'
  article.parent.mkdir()
  article.write_text('Council approves the new budget\n\nThe council voted on Tuesday.\n',
                     encoding='utf-8')
  run = ['--input', str(article), '--output', str(tmp_path / 'out'), '--ner-model', 'en=']
  assert main(run + ['--cleaner-model', '/dev/zero']) == O.EXIT_CONFIG_ERROR
  assert main(['watch', '--every', '99999999999999999999d'] + run) == O.EXIT_CONFIG_ERROR
  rules = tmp_path / 'rules.yaml'
  rules.write_text('rules:\n  - name: "unclosed\n', encoding='utf-8')
  assert main(run + ['--cleaner', 'rules', '--boilerplate-rules', str(rules)]) == (
      O.EXIT_CONFIG_ERROR)
  lines = capsys.readouterr().err.splitlines()
  assert [line.split(':')[0:2] for line in lines] == [['newsbeam', ' error']] * 3, lines
  assert '--cleaner-model' in lines[0] and 'too large' in lines[0]
  assert '--every' in lines[1] and 'invalid YAML' in lines[2]
  assert not (tmp_path / 'out').exists()
