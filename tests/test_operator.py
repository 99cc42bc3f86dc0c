"""Operator experience: summary, exit statuses, progress, query and the HTML report."""

import gzip
import json
import re
import shutil
import subprocess

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import duckdb
import pytest

from pipeline import main as newsbeam_main
from pipeline.main import main
from pipeline.report import build_report
from tests.conftest import REPO
from tests.conftest import SAMPLES
from transforms.core.progress import ReportProgress
from transforms.core.progress import format_progress

ARTIFACTS = REPO / 'tests' / 'artifacts'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                  '--no-first-run', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync']


def _bad_and_good_inputs(folder):
  folder.mkdir()
  shutil.copy(SAMPLES / '000_fb94ac4cff3d6708.txt', folder)
  shutil.copy(SAMPLES / '002_326773c5a6fc88ff.txt', folder)
  (folder / 'empty.txt').write_bytes(b'')
  (folder / 'binary.txt').write_bytes(b'\x00\x01' * 50)
  (folder / 'cut.txt.gz').write_bytes(gzip.compress(b'Title\nBody text ' * 40)[:30])
  (folder / 'lines.jsonl').write_text('not json\n{"title": "t", "text": "Short body text."}\n')
  return folder


def _manifest(output):
  rel = duckdb.sql(f"SELECT * FROM read_parquet('{output}/runs/*.parquet')")
  return dict(zip(rel.columns, rel.fetchall()[0]))


def _number(summary, label):
  return int(re.search(rf'{label}\s+(\d+)', summary).group(1))


def test_summary_matches_the_manifest_and_exit_statuses(tmp_path, capsys):
  inputs = _bad_and_good_inputs(tmp_path / 'in')
  output = tmp_path / 'out'
  status = main(['--input', str(inputs), '--output', str(output), '--ner-model', 'en=',
                 '--max-dead-letter-share', '0.9'])
  summary = capsys.readouterr().err
  assert status == 0
  m = _manifest(output)
  assert _number(summary, 'inputs read') == m['inputs_read'] == 7
  assert _number(summary, 'articles written') == m['articles_written']
  assert _number(summary, 'dropped') == m['dropped']
  assert _number(summary, 'dead-lettered') == m['dead_lettered'] == 3
  assert 'by kind: text 5, jsonl 2' in summary
  for stage, example in m['dead_letter_examples'].items():
    assert f'e.g. {stage}: {example[:60]}' in summary
  assert 'balanced' in summary and str(output) in summary
  assert f"by stage: read {m['dead_lettered']}" in summary

  second = tmp_path / 'out2'
  status = main(['--input', str(inputs), '--output', str(second), '--ner-model', 'en=',
                 '--max-dead-letter-share', '0.2'])
  err = capsys.readouterr().err
  assert status == 3 and 'over --max-dead-letter-share 0.2' in err
  assert _manifest(second)['articles_written'] == m['articles_written']  # still committed

  assert main(['--input', str(tmp_path / 'nothing'), '--output', str(tmp_path / 'o3')]) == 2
  assert not (tmp_path / 'o3').exists()


def test_a_failing_run_exits_1(tmp_path, monkeypatch, capsys):
  def broken(p, context):
    _ = p | beam.Create([1]) | beam.Map(lambda x: 1 / 0)
  monkeypatch.setattr(newsbeam_main, 'build_pipeline', broken)
  assert main(['--input', str(SAMPLES), '--output', str(tmp_path / 'out')]) == 1
  assert 'run failed' in capsys.readouterr().err
  assert not (tmp_path / 'out' / 'runs').exists()


def test_progress_lines(capsys):
  assert format_progress('articles tagged:', 1234, 30.0) == 'newsbeam: articles tagged: 1,234 (41.1/s)'
  with TestPipeline() as p:
    out = p | beam.Create(list(range(5))) | ReportProgress('items:', interval=0.0)
    assert_that(out, equal_to(list(range(5))))
  lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith('newsbeam: items:')]
  assert len(lines) == 5 and lines[-1].startswith('newsbeam: items: 5 (')


@pytest.fixture(scope='module')
def samples_output(tmp_path_factory):
  output = tmp_path_factory.mktemp('op') / 'out'
  assert main(['--input', str(SAMPLES), '--output', str(output)]) == 0
  return output


def test_query_counts_languages_on_the_samples(samples_output, capsys):
  capsys.readouterr()
  assert main(['query', str(samples_output),
               'select lang, count(*) from articles group by lang']) == 0
  assert capsys.readouterr().out.splitlines() == [
      'lang | count_star()', '-----+-------------', 'en   |            2', '(1 row)']
  assert main(['query', str(samples_output), 'select lang, count(*) as n from articles '
               'group by lang', '--format', 'csv']) == 0
  assert capsys.readouterr().out == 'lang,n\nen,2\n'
  assert main(['query', str(samples_output), 'select count(*) as n from dead_letters',
               '--format', 'json']) == 0
  assert json.loads(capsys.readouterr().out) == [{'n': 0}]
  assert main(['query', str(samples_output), 'select nonsense from nowhere']) == 2


def test_report_is_self_contained(samples_output):
  page = build_report(str(samples_output))
  assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)
  assert '<script' not in page and 'http://' not in page
  for section in ('articles-per-day', 'top-stories', 'places-map', 'top-sources', 'top-people',
                  'top-organisations', 'top-places', 'dead-letters', 'runs'):
    assert f'id="{section}"' in page
  assert 'Alexander Lukashenko' in page


def test_report_renders_in_headless_chromium(samples_output, tmp_path):
  chromium = shutil.which('chromium') or shutil.which('chromium-browser')
  if not chromium:
    pytest.skip("Debian's chromium is not installed and run_tests.sh could not install "
                'it (apt-get needs root and the Debian registry)')
  report = tmp_path / 'report.html'
  assert main(['report', str(samples_output), '--out', str(report)]) == 0
  flags = CHROMIUM_FLAGS + [f'--user-data-dir={tmp_path / "profile"}']
  dom = subprocess.run([chromium, *flags, '--dump-dom', report.as_uri()],
                       capture_output=True, text=True, timeout=120).stdout
  for chart in ('articles-per-day', 'top-sources', 'top-people', 'top-organisations',
                'top-places'):
    svg = re.search(rf'<svg id="{chart}".*?</svg>', dom, re.DOTALL)
    assert svg and re.search(rf'<g id="{chart}-[\w-]+"><title>', svg.group(0)), chart
  ARTIFACTS.mkdir(parents=True, exist_ok=True)
  screenshot = ARTIFACTS / 'report-samples.png'  # report.png is tests/test_report.py's
  subprocess.run([chromium, *flags, '--window-size=1280,2400', f'--screenshot={screenshot}',
                  report.as_uri()], capture_output=True, timeout=120, check=True)
  data = screenshot.read_bytes()
  assert data.startswith(b'\x89PNG') and len(data) > 20_000


def test_version_comes_from_the_package_metadata(capsys):
  from importlib import metadata  # pylint: disable=import-outside-toplevel
  assert main(['--version']) == 0
  assert capsys.readouterr().out.strip() == f"newsbeam {metadata.version('newsbeam')}"


def test_user_agent_names_newsbeam_and_an_optional_contact():
  from importlib import metadata  # pylint: disable=import-outside-toplevel
  from transforms.net.http import make_user_agent  # pylint: disable=import-outside-toplevel
  version = metadata.version('newsbeam')
  assert make_user_agent() == f'newsbeam/{version}'
  assert make_user_agent('ops@example.org') == f'newsbeam/{version} (+mailto:ops@example.org)'
  assert make_user_agent('https://example.org/bot') == (
      f'newsbeam/{version} (+https://example.org/bot)')
