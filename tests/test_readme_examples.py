"""The README's query examples run as written, on a run with no dead letters.

Marker rule: a fenced ``sql``, ``sh`` or ``python`` block right after the line
``<!-- readme-example -->`` must run as written from the folder holding the
output ``out``; after ``<!-- readme-example: needs <module> -->`` it needs a
package newsbeam does not install, and must fail only for that module's
absence (or run when it is installed). Every fenced block of "Querying the
dataset" carries a marker, so a new example cannot be left out unseen.
"""

import importlib.util
import re
import shlex

import duckdb
import pytest

from pipeline.main import main as newsbeam_main
from pipeline.query import run_query
from schemas import run as M
from tests.conftest import REPO
from tests.conftest import SAMPLES
from tests.conftest import run_newsbeam

README = REPO / 'README.md'
OUTPUT_NAME = 'out'  # the output folder the examples name
MARKER = re.compile(r'^<!-- readme-example(?:: needs (\w+))? -->\n```(\w+)\n(.*?)^```$',
                    re.MULTILINE | re.DOTALL)
FENCE = re.compile(r'^```(\w*)\n', re.MULTILINE)
QUERY_SECTION = '## Querying the dataset'
RUNNABLE_LANGUAGES = ('sql', 'sh', 'python')


def readme_examples(text):
  """``(language, needed module or None, code, line)`` of every marked block."""
  return [(m.group(2), m.group(1), m.group(3), text.count('\n', 0, m.start()) + 2)
          for m in MARKER.finditer(text)]


EXAMPLES = readme_examples(README.read_text(encoding='utf-8'))


def sql_statements(code):
  """The statements of a SQL block, comment lines left out."""
  lines = [line for line in code.splitlines() if not line.lstrip().startswith('--')]
  return [s.strip() for s in '\n'.join(lines).split(';') if s.strip()]


def shell_commands(code):
  """The commands of a sh block: continuation lines joined, comments left out."""
  joined = code.replace('\\\n', ' ')
  return [shlex.split(line) for line in joined.splitlines()
          if line.strip() and not line.lstrip().startswith('#')]


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  """A folder holding ``out``: one run over samples/, which dead-letters nothing."""
  folder = tmp_path_factory.mktemp('readme')
  result = run_newsbeam('--input', SAMPLES, '--output', folder / OUTPUT_NAME)
  assert result.manifest[M.DEAD_LETTERED] == 0
  assert not (folder / OUTPUT_NAME / 'dead_letters').exists()
  return folder


def run_example(language, code):
  if language == 'sql':
    for statement in sql_statements(code):
      if 'read_parquet(' in statement:
        duckdb.connect().execute(statement).fetchall()
      else:  # over newsbeam query's views
        run_query(OUTPUT_NAME, statement)
  elif language == 'sh':
    for argv in shell_commands(code):
      assert argv[0] == 'newsbeam', argv
      assert newsbeam_main(argv[1:]) == 0, argv
  else:
    exec(compile(code, str(README), 'exec'), {})  # pylint: disable=exec-used


def test_the_marker_rule_finds_the_query_examples():
  text = README.read_text(encoding='utf-8')
  section = text[text.index(QUERY_SECTION):]
  section = section[:section.index('\n## ', 1)]
  fences = FENCE.findall(section)[::2]  # opening fences only
  marked = readme_examples(section)
  assert len(marked) == len(fences) >= 6
  assert {language for language, *_ in EXAMPLES} == set(RUNNABLE_LANGUAGES)
  assert any('dead_letters' in code and needs is None for _, needs, code, _ in EXAMPLES)
  assert sql_statements('-- c\nSELECT 1;\n\nSELECT 2;\n') == ['SELECT 1', 'SELECT 2']
  assert shell_commands('newsbeam a \\\n  "b c"\n# x\n') == [['newsbeam', 'a', 'b c']]


@pytest.mark.parametrize('language, needs, code, line', EXAMPLES,
                         ids=[f'README.md:{e[3]}' for e in EXAMPLES])
def test_readme_example_runs(workdir, monkeypatch, capsys, language, needs, code, line):
  monkeypatch.chdir(workdir)
  if needs and importlib.util.find_spec(needs) is None:
    with pytest.raises(ModuleNotFoundError) as missing:
      run_example(language, code)
    assert missing.value.name.split('.')[0] == needs, f'README.md:{line}'
    return
  run_example(language, code)
  capsys.readouterr()
