"""Hostile input files: every one is written, dropped with a reason or dead-lettered,
and one bad input never costs the others (red-team regressions)."""

import datetime
import errno
import gzip
import json
import os
import socket
import threading

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline.main import main
from pipeline.runs import load_runs
from schemas import article as A
from schemas import raw as R
from schemas.dead_letter import DEAD_LETTER_SCHEMA
from tests.conftest import SAMPLES
from tests.conftest import articles_table
from transforms.core.decode import BinaryContentError
from transforms.core.decode import decode_bytes
from transforms.core.decode import repair_strings
from transforms.extract.normalize import normalize_inline
from transforms.extract.normalize import normalize_record
from transforms.extract.normalize import normalize_text
from transforms.read.files import InputTooLargeError
from transforms.read.files import detect_format
from transforms.read.files import display_path
from transforms.read.files import expand_inputs
from transforms.read.files import parse_json_document
from transforms.read.files import parse_text_file
from transforms.read.files import read_input_bytes
from transforms.write.datasets import complete_dead_letter
from transforms.write.datasets import write_parquet

NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.timezone.utc)
BODY = 'A good body of English text about the weather in the city and the people who live there.'
MAC_BODY = 'Files saved on old Macs end their lines with a carriage return alone.'
FRENCH_CP1252 = ('« Le café coûte 3 € », a déclaré le garçon à l’hôtel. Les élèves '
                 'français ont reçu leurs résultats après la fête de Noël ; ils étaient '
                 'très contents, même si la crème brûlée était déjà froide.')
GERMAN_CP1252 = ('„Die Größe der Städte wächst schnell“, sagte der Bürgermeister. Die '
                 'Kosten betragen 5 € pro Einwohner und Jahr; außerdem müssen die Straßen '
                 'in Köln und München erneuert werden.')
SPANISH_CP1252 = ('„El niño español comió jamón en el año 2023“, dijo la señora Muñoz. '
                  'La canción costó 10 € y la información está aquí. ¿Qué pasó con la '
                  'economía después del invierno?')


def _write(folder, name, data):
  """Creates a file whose name may hold bytes that are not UTF-8."""
  fd = os.open(os.fsencode(folder) + b'/' + name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
  try:
    os.write(fd, data)
  finally:
    os.close(fd)


def _run(inputs, output):
  """Runs newsbeam as its console script; returns (exit status, the run's manifest)."""
  status = main(['--input', str(inputs), '--output', str(output), '--ner-model', 'en='])
  manifest = load_runs(str(output), last=1)[0] if status in (0, 3) else None
  if manifest is not None:
    assert manifest['accounting_balanced'] is True
    assert manifest['inputs_read'] == (manifest['articles_written'] + manifest['dropped'] +
                                       manifest['dead_lettered'])
  return status, manifest


def _outcomes(output, dataset, columns):
  """``(file name, *columns)`` rows of the drops or dead_letters dataset, sorted."""
  rows = duckdb.sql(
      f"SELECT source_uri, {columns} FROM read_parquet('{output}/{dataset}/**/*.parquet', "
      "hive_partitioning = true)").fetchall()
  return sorted((uri.rsplit('/', 1)[1],) + tuple(rest) for uri, *rest in rows)


# 1. Lone surrogates and names that are not UTF-8.

def test_lone_surrogates_are_replaced_at_normalisation():
  assert normalize_text('Text \udc80 and \ud800.') == 'Text \ufffd and \ufffd.'
  assert normalize_inline('Title \udc80') == 'Title \ufffd'
  raw = {A.SOURCE_URI: 'in/x\udcff.rss', A.INPUT_FORMAT: 'feed', A.TITLE: 'T\udc80',
         A.TEXT: 'Body \udc80.', A.URL: 'https://example.org/\udc80?q=\udc80',
         A.EXTERNAL_ID: 'id\udc80', A.SOURCE: 'S\udc80', A.AUTHORS: ['Ann\udc80'],
         A.CATEGORIES: ['c\udc80']}
  article, _ = normalize_record(raw, 'run1', NOW)
  assert {k: article[k] for k in raw if k != A.INPUT_FORMAT} == {
      A.SOURCE_URI: 'in/x\ufffd.rss', A.TITLE: 'T\ufffd', A.TEXT: 'Body \ufffd.',
      A.URL: 'https://example.org/\ufffd?q=\ufffd', A.EXTERNAL_ID: 'id\ufffd',
      A.SOURCE: 'S\ufffd', A.AUTHORS: ['Ann\ufffd'], A.CATEGORIES: ['c\ufffd']}


def test_decoded_text_never_holds_lone_surrogates():
  assert decode_bytes(b'Hello +2AA- world', declared_charset='utf-7') == (
      'Hello \ufffd world', 'utf-7')


def test_paths_with_bytes_that_are_not_utf8_are_shown_escaped():
  assert display_path(os.fsdecode(b'/in/dir\xff/name\xfe.txt')) == '/in/dir\\xff/name\\xfe.txt'
  assert display_path('/in/caf\u00e9.txt') == '/in/caf\u00e9.txt'


def test_writer_repairs_strings_it_cannot_encode(tmp_path):
  record = complete_dead_letter(
      {'stage': 'read', 'source_uri': 'in/x\udcff.txt', 'error_type': 'E',
       'message': 'bad \udc80 message', 'excerpt': 'excerpt \ud800',
       'failed_at': NOW},
      'run1')
  assert (record['source_uri'], record['message'], record['excerpt']) == (
      'in/x\ufffd.txt', 'bad \ufffd message', 'excerpt \ufffd')
  raw = dict(record, message='still \udc80 bad')
  path = str(tmp_path / 'dead.parquet')
  assert write_parquet(path, [raw], DEAD_LETTER_SCHEMA) == 1
  assert pq.read_table(path).column('message').to_pylist() == ['still \ufffd bad']
  clean = {'a': 'ascii', 'b': ['caf\u00e9'], 'c': [{'d': 'x'}], 'e': list(range(5))}
  assert repair_strings(clean) is clean


def test_surrogates_and_bad_names_do_not_stop_the_run(tmp_path):
  inputs = tmp_path / 'in'
  inputs.mkdir()
  (inputs / 'good.txt').write_text(f'Good headline\n{BODY}')
  bad_json = {'title': 'Bad \udc80 title', 'source': 'src\udc80',
              'text': f'Lone \udc80 surrogate. {BODY}', 'authors': ['Ann \udc80'],
              'url': 'https://example.org/a\udc80', 'id': 'x\udc80'}
  good_json = {'title': 'Good JSON', 'text': f'Another text. {BODY}',
               'url': 'https://example.org/b'}
  (inputs / 'lines.jsonl').write_text(json.dumps(bad_json) + '\n' + json.dumps(good_json) + '\n')
  _write(inputs, b'name\xff.txt', f'Bad file name\nThe file name is not UTF-8. {BODY}'.encode())
  os.mkdir(os.fsencode(inputs) + b'/dir\xfe')
  _write(inputs, b'dir\xfe/inner.txt',
         f'Bad folder name\nThe folder name is not UTF-8. {BODY}'.encode())
  output = tmp_path / 'out'

  status, first = _run(inputs, output)
  assert status == 0
  assert (first['inputs_read'], first['articles_written']) == (5, 5)
  rows = {r['source_uri'][len(str(inputs)) + 1:]: r for r in articles_table(output)}
  assert sorted(rows) == ['dir\\xfe/inner.txt', 'good.txt', 'lines.jsonl#L1',
                          'lines.jsonl#L2', 'name\\xff.txt']
  bad = rows['lines.jsonl#L1']
  assert (bad['title'], bad['source'], bad['authors'], bad['url'], bad['external_id']) == (
      'Bad \ufffd title', 'src\ufffd', ['Ann \ufffd'], 'https://example.org/a\ufffd', 'x\ufffd')
  assert bad['text'].startswith('Lone \ufffd surrogate.')
  assert rows['dir\\xfe/inner.txt']['source'] == 'dir\\xfe'

  status, second = _run(inputs, output)
  assert status == 0
  assert (second['inputs_read'], second['articles_written']) == (5, 0)
  assert dict(second['dropped_by_reason']) == {'duplicate_cross_run': 5}


# 2. Special files, links and unreadable paths.

class _FifoWatch:
  """Opens a FIFO's writing end as soon as something opens it to read: nothing can hang on it."""

  def __init__(self, path):
    self.path = path
    self.opened = False
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._watch, daemon=True)

  def _watch(self):
    while not self._stop.wait(0.02):
      try:
        fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
      except OSError as error:
        if error.errno == errno.ENXIO:  # no reader yet
          continue
        raise
      self.opened = True
      os.close(fd)

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()


def test_special_files_links_and_unreadable_paths_are_accounted_for(tmp_path, monkeypatch):
  inputs = tmp_path / 'in'
  inputs.mkdir()
  (inputs / 'good.txt').write_text(f'Good headline\n{BODY}')
  os.mkfifo(inputs / 'fifo.txt')
  os.mkfifo(inputs / '.hidden_fifo.txt')  # hidden: skipped, as documented
  server = socket.socket(socket.AF_UNIX)
  server.bind(str(inputs / 'sock.txt'))
  os.symlink('/dev/null', inputs / 'null.txt')
  os.symlink(inputs / 'missing.txt', inputs / 'dangling.txt')
  os.symlink(inputs / 'loop.txt', inputs / 'loop.txt')
  (tmp_path / 'elsewhere').mkdir()
  (tmp_path / 'elsewhere' / 'other.txt').write_text(f'Other\n{BODY}')
  os.symlink(tmp_path / 'elsewhere', inputs / 'linked_folder')
  (inputs / 'locked').mkdir()
  (inputs / 'locked' / 'inner.txt').write_text(f'Inner\n{BODY}')
  (inputs / 'locked.txt').write_text(f'Locked\n{BODY}')
  # Tests run as root, which reads any file: unreadable paths are simulated.
  real_scandir, real_open = os.scandir, os.open

  def scandir(path='.'):
    if isinstance(path, str) and path.endswith('/locked'):
      raise PermissionError(errno.EACCES, 'Permission denied', path)
    return real_scandir(path)

  def open_(path, flags, *args, **kwargs):
    if isinstance(path, str) and path.endswith('/locked.txt'):
      raise PermissionError(errno.EACCES, 'Permission denied', path)
    return real_open(path, flags, *args, **kwargs)

  monkeypatch.setattr(os, 'scandir', scandir)
  monkeypatch.setattr(os, 'open', open_)
  output = tmp_path / 'out'
  try:
    with _FifoWatch(str(inputs / 'fifo.txt')) as watch:
      status, manifest = _run(inputs, output)
  finally:
    server.close()
  assert not watch.opened  # on today's code the reader opened it and waited for a writer
  assert status == 0
  assert (manifest['inputs_read'], manifest['articles_written'], manifest['dropped'],
          manifest['dead_lettered']) == (9, 1, 6, 2)
  assert _outcomes(output, 'drops', 'reason, detail') == [
      ('dangling.txt', 'broken_link', f"link to '{inputs}/missing.txt': No such file or directory"),
      ('fifo.txt', 'not_a_regular_file', 'FIFO (named pipe)'),
      ('linked_folder', 'not_a_regular_file', 'link to a folder (not followed)'),
      ('loop.txt', 'broken_link',
       f"link to '{inputs}/loop.txt': Too many levels of symbolic links"),
      ('null.txt', 'not_a_regular_file', 'character device'),
      ('sock.txt', 'not_a_regular_file', 'socket')]
  assert _outcomes(output, 'dead_letters', 'stage, error_type, message') == [
      ('locked', 'read', 'PermissionError', '[Errno 13] Permission denied'),
      ('locked.txt', 'read', 'PermissionError', '[Errno 13] Permission denied')]


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads files whatever their mode: '
                    'the simulated case above covers unreadable files')
def test_unreadable_file_and_folder_are_dead_letters(tmp_path):
  inputs = tmp_path / 'in'
  (inputs / 'locked').mkdir(parents=True)
  (inputs / 'good.txt').write_text(f'Good headline\n{BODY}')
  (inputs / 'locked.txt').write_text(f'Locked\n{BODY}')
  os.chmod(inputs / 'locked.txt', 0)
  os.chmod(inputs / 'locked', 0)
  try:
    status, manifest = _run(inputs, tmp_path / 'out')
  finally:
    os.chmod(inputs / 'locked', 0o755)
  assert status == 0
  assert (manifest['articles_written'], manifest['dead_lettered']) == (1, 2)


def test_expand_inputs_lists_special_entries_and_keeps_skipping_hidden(tmp_path):
  os.mkfifo(tmp_path / 'fifo.txt')
  os.mkfifo(tmp_path / '_hidden.txt')
  os.symlink(tmp_path / 'gone.txt', tmp_path / 'dangling.txt')
  (tmp_path / 'a.txt').write_text('x')
  assert expand_inputs([str(tmp_path)]) == [
      str(tmp_path / 'a.txt'), str(tmp_path / 'dangling.txt'), str(tmp_path / 'fifo.txt')]
  assert expand_inputs([str(tmp_path / 'd*.txt')]) == [str(tmp_path / 'dangling.txt')]


# 3. Reading limits and formats.

def test_every_gzip_member_is_read_under_one_cap(tmp_path):
  path = tmp_path / 'multi.txt.gz'
  path.write_bytes(gzip.compress(b'first member\n') + gzip.compress(b'second member\n'))
  assert read_input_bytes(str(path)) == b'first member\nsecond member\n'
  path.write_bytes(gzip.compress(b'a' * 3000) + gzip.compress(b'b' * 3000))
  with pytest.raises(InputTooLargeError):
    read_input_bytes(str(path), max_bytes=5000)


def test_one_line_json_array_is_one_input_per_element():
  parsed = parse_json_document('[{"title": "a"}, {"title": "b"}]')
  assert [(n, obj) for n, obj, _ in parsed] == [(1, {'title': 'a'}), (2, {'title': 'b'})]


def test_only_a_line_suffix_is_cut_from_a_path():
  assert detect_format('in/issue#12.txt') == 'text'
  assert detect_format('in/a.jsonl#L3') == 'jsonl'
  assert detect_format('in/#L3.jsonl.gz#L12') == 'jsonl'
  assert detect_format('in/a.txt#frag') == 'unknown'


def test_nul_or_control_characters_anywhere_make_a_file_binary():
  text = ('Headline\n' + BODY * 100).encode()
  assert len(text) > 8192
  with pytest.raises(BinaryContentError):
    decode_bytes(text + b'\x00' + b'tail')
  with pytest.raises(BinaryContentError):
    decode_bytes(text + b'\x01\x02\x03\x04' * 50 + b'tail')
  assert decode_bytes(text + b'\x1b one escape')[0].endswith('\x1b one escape')


def test_headline_is_split_at_any_line_break():
  for brk in ('\n', '\r\n', '\r', '\u2028', '\u2029', '\x85'):
    parsed = parse_text_file(f'Headline{brk}Body one.{brk}Body two.')
    assert (parsed[A.TITLE], parsed[A.TEXT]) == ('Headline', f'Body one.{brk}Body two.'), repr(brk)
  assert parse_text_file(' date 2022-01-18 Headline\rBody.')[R.HEADER_DATE] == '2022-01-18'


@pytest.mark.parametrize('text', [FRENCH_CP1252, GERMAN_CP1252, SPANISH_CP1252])
def test_western_text_is_read_as_windows_1252(text):
  assert decode_bytes(text.encode('cp1252')) == (text, 'cp1252')


@pytest.mark.parametrize('codec', ['hex', 'base64', 'rot13', 'zlib', 'uu', 'bz2', 'quopri',
                                   'unicode_escape'])
def test_declared_codecs_that_are_not_charsets_are_ignored(codec):
  assert decode_bytes('Größe \\udc80'.encode('utf-8'), declared_charset=codec) == (
      'Größe \\udc80', 'utf-8')


def test_utf8_with_a_few_bad_bytes_keeps_its_utf8():
  good = ('Zelenskiy’s “war” goes on — says the café owner. ' * 40).encode('utf-8')
  data = good[:700] + b'\xff' + good[700:1500] + b'\xe2\x80' + good[1500:]
  text, encoding = decode_bytes(data)
  assert encoding == 'utf-8'
  assert text.count('\ufffd') == 2
  assert text.replace('\ufffd', '') == good.decode('utf-8')
  cp1252 = ('Le café est très bon à Paris. ' * 40).encode('cp1252')
  assert decode_bytes(cp1252) == (cp1252.decode('cp1252'), 'cp1252')


def test_hostile_formats_end_to_end(tmp_path):
  inputs = tmp_path / 'in'
  inputs.mkdir()
  (inputs / 'multi.txt.gz').write_bytes(
      gzip.compress(b'Multi member headline\nFirst part of the body. ') +
      gzip.compress(f'Second part of the body. {BODY}'.encode()))
  (inputs / 'oneline.json').write_text(json.dumps(
      [{'title': 'One', 'text': f'First. {BODY}'}, {'title': 'Two', 'text': f'Second. {BODY}'}]))
  (inputs / 'issue#12.txt').write_text(f'Issue twelve\n{BODY}')
  (inputs / 'nul_tail.txt').write_bytes(('Nul tail\n' + BODY * 100).encode() + b'\x00garbage')
  (inputs / 'mac.txt').write_bytes(f'Old Mac headline\r{MAC_BODY}\rSecond paragraph.\r'.encode())
  (inputs / 'french.txt').write_bytes(f'Titre français\n{FRENCH_CP1252}'.encode('cp1252'))
  (inputs / 'hex.html').write_bytes(
      f'<html><head><meta charset="hex"><title>Hex</title></head><body><article>'
      f'<h1>Größe</h1><p>{BODY} {BODY}</p><p>{BODY}</p></article></body></html>'.encode())
  damaged = f'Damaged headline\nZelenskiy’s “war” — {BODY} ' * 20
  damaged = damaged.encode()
  (inputs / 'damaged.txt').write_bytes(damaged[:900] + b'\xff' + damaged[900:])
  output = tmp_path / 'out'

  status, manifest = _run(inputs, output)
  assert status == 0
  assert (manifest['inputs_read'], manifest['articles_written'], manifest['dead_lettered']) == (
      9, 8, 1)
  rows = {r['source_uri'].rsplit('/', 1)[1]: r for r in articles_table(output)}
  assert sorted(rows) == ['damaged.txt', 'french.txt', 'hex.html', 'issue#12.txt', 'mac.txt',
                          'multi.txt.gz', 'oneline.json#L1', 'oneline.json#L2']
  assert rows['multi.txt.gz']['text'] == f'First part of the body. Second part of the body. {BODY}'
  assert (rows['mac.txt']['title'], rows['mac.txt']['text']) == (
      'Old Mac headline', f'{MAC_BODY}\n\nSecond paragraph.')
  assert rows['french.txt']['text'] == FRENCH_CP1252
  assert rows['damaged.txt']['text'].count('\ufffd') == 1
  assert '\u00e2\u20ac' not in rows['damaged.txt']['text']
  assert _outcomes(output, 'dead_letters', 'error_type') == [('nul_tail.txt', 'BinaryContentError')]


# 4. Option values.

@pytest.mark.parametrize('flag, value', [
    ('--http-timeout', 'nan'), ('--http-timeout', 'inf'), ('--http-timeout', '-inf'),
    ('--host-delay', 'nan'), ('--host-delay', 'inf'), ('--max-dead-letter-share', 'nan'),
    ('--dedup-window-days', '1000000'),
])
def test_non_finite_and_huge_option_values_are_config_errors(tmp_path, capsys, flag, value):
  output = tmp_path / 'out'
  try:
    status = main(['--input', str(SAMPLES), '--output', str(output), f'{flag}={value}'])
  except SystemExit as exit_info:  # argparse's way, as for any wrong flag value
    status = exit_info.code
  err = capsys.readouterr().err
  assert status == 2
  assert err.startswith(f'newsbeam: error: argument {flag}/') and err.count('\n') == 1, err
  assert value in err and 'Traceback' not in err
  assert not output.exists()


def test_a_flag_with_bytes_that_are_not_utf8_is_a_config_error(tmp_path, capsys):
  folder = os.fsencode(tmp_path) + b'/in\xff'
  os.mkdir(folder)
  _write(os.fsdecode(folder), b'a.txt', f'Headline\n{BODY}'.encode())
  output = tmp_path / 'out'
  assert main(['--input', os.fsdecode(folder), '--output', str(output)]) == 2
  err = capsys.readouterr().err
  assert err == (f"newsbeam: error: argument '{tmp_path}/in\\xff' holds bytes that are not "
                 'UTF-8, which Beam cannot pass on: name the folder above it, or a glob '
                 '(e.g. parent/in*/**)\n')
  assert not output.exists()
