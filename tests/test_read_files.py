import gzip
import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to
import pytest

from schemas import article as A
from schemas import dead_letter as D
from schemas import drop as X
from schemas import raw as R
from tests.conftest import SAMPLE_DATED
from tests.conftest import SAMPLES
from transforms.read.files import InputPatternError
from transforms.read.files import InputTooLargeError
from transforms.read.files import ReadArticleFiles
from transforms.read.files import detect_format
from transforms.read.files import expand_inputs
from transforms.read.files import json_object_to_raw
from transforms.read.files import parse_json_document
from transforms.read.files import parse_text_file
from transforms.read.files import read_input_bytes


def test_detect_format_by_extension_through_gz():
  assert detect_format('a/b.TXT') == 'text'
  assert detect_format('a/b.jsonl.gz') == 'jsonl'
  assert detect_format('x.htm') == 'html'
  assert detect_format('feed.atom') == 'feed'
  assert detect_format('data.csv') == 'unknown'
  assert detect_format('a.jsonl#L3') == 'jsonl'


def test_text_header_date_and_headline():
  parsed = parse_text_file(SAMPLE_DATED.read_text(encoding='utf-8'))
  assert parsed[R.HEADER_DATE] == '2022-01-18'
  assert parsed[A.TITLE] == ('As fears of a Ukrainian invasion grow, Russia and '
                             'Belarus will hold joint military exercises.')
  assert parsed[A.TEXT].lstrip().startswith('As Russia conducts war games')


def test_text_without_header_keeps_first_line_as_title():
  parsed = parse_text_file('Headline here\n\nBody one.\nBody two.')
  assert parsed == {A.TITLE: 'Headline here', A.TEXT: '\nBody one.\nBody two.',
                    R.HEADER_DATE: None}


def test_the_word_date_in_a_headline_is_not_a_header():
  parsed = parse_text_file('date night ideas for 2022\nBody.')
  assert parsed[R.HEADER_DATE] is None
  assert parsed[A.TITLE] == 'date night ideas for 2022'


def test_json_lines_and_errors_are_numbered():
  doc = '{"id": 1, "title": "a"}\n\nnot json\n[1, 2]\n'
  parsed = parse_json_document(doc)
  assert [n for n, _, _ in parsed] == [1, 3, 4]
  assert parsed[0][1] == {'id': 1, 'title': 'a'}
  assert isinstance(parsed[1][1], ValueError)
  assert parsed[2][1] == [1, 2]


def test_json_whole_document_array_is_accepted():
  doc = json.dumps([{'title': 'a'}, {'title': 'b'}], indent=2)
  assert [obj for _, obj, _ in parse_json_document(doc)] == [
      {'title': 'a'}, {'title': 'b'}]


def test_deep_json_is_an_error_not_a_crash():
  parsed = parse_json_document('[' * 100000 + ']' * 100000)
  assert isinstance(parsed[0][1], ValueError)


def test_json_object_fields_are_mapped_and_id_kept_as_external_id():
  raw = json_object_to_raw({'id': 42, 'url': 'https://x.org/a', 'title': 'T',
                            'text': 'Body', 'published': '2024-05-01',
                            'modified': '2024-05-02T10:00:00Z',
                            'authors': ['Ann', {'name': 'Bob'}], 'source': 'X'})
  assert raw == {A.EXTERNAL_ID: '42', A.URL: 'https://x.org/a', A.TITLE: 'T',
                 A.TEXT: 'Body', R.HTML: None, R.PUBLISHED: '2024-05-01',
                 R.MODIFIED: '2024-05-02T10:00:00Z', A.AUTHORS: ['Ann', 'Bob'],
                 A.SOURCE: 'X'}
  with pytest.raises(ValueError):
    json_object_to_raw(['not', 'an', 'object'])
  with pytest.raises(ValueError):
    json_object_to_raw({'title': {'nested': 'object'}})


def test_expand_inputs_folders_globs_and_files(tmp_path):
  (tmp_path / 'sub').mkdir()
  (tmp_path / 'a.txt').write_text('x')
  (tmp_path / 'sub' / 'b.jsonl').write_text('{}')
  (tmp_path / '.hidden.txt').write_text('x')
  assert expand_inputs([str(tmp_path)]) == [str(tmp_path / 'a.txt'),
                                            str(tmp_path / 'sub' / 'b.jsonl')]
  assert expand_inputs([str(tmp_path / '*.txt')]) == [str(tmp_path / 'a.txt')]
  assert expand_inputs([str(tmp_path / 'a.txt'), str(tmp_path / 'a.txt')]) == [
      str(tmp_path / 'a.txt')]
  with pytest.raises(InputPatternError, match='nothing.txt'):
    expand_inputs([str(tmp_path / 'nothing.txt')])


def test_gzip_is_capped_and_truncation_detected(tmp_path):
  path = tmp_path / 'big.txt.gz'
  path.write_bytes(gzip.compress(b'a' * 10000))
  assert read_input_bytes(str(path)) == b'a' * 10000
  with pytest.raises(InputTooLargeError):
    read_input_bytes(str(path), max_bytes=5000)
  truncated = tmp_path / 'cut.txt.gz'
  truncated.write_bytes(gzip.compress(b'hello world' * 100)[:30])
  with pytest.raises((EOFError, OSError)):
    read_input_bytes(str(truncated))


def test_read_article_files_transform(tmp_path):
  (tmp_path / 'ok.jsonl').write_text(
      '{"id": "a1", "title": "One", "text": "Body one."}\nbroken\n')
  (tmp_path / 'empty.txt').write_text('  \n')
  (tmp_path / 'binary.txt').write_bytes(b'\x00\x01\x02\x03' * 10)
  (tmp_path / 'notes.csv').write_text('a,b')
  paths = expand_inputs([str(tmp_path)])
  with TestPipeline() as p:
    out = p | ReadArticleFiles(paths)
    assert_that(out.records | beam.Map(lambda r: (r[A.SOURCE_URI], r[A.TITLE],
                                                  r[A.EXTERNAL_ID])),
                equal_to([(f'{tmp_path}/ok.jsonl#L1', 'One', 'a1')]),
                label='Records')
    assert_that(out.dropped | beam.Map(lambda d: (d[X.REASON],
                                                  d[X.SOURCE_URI])),
                equal_to([('empty_input', f'{tmp_path}/empty.txt'),
                          ('unsupported_format', f'{tmp_path}/notes.csv')]),
                label='Drops')
    assert_that(out.dead_letters | beam.Map(lambda d: (d[D.STAGE],
                                                       d[D.SOURCE_URI],
                                                       d[D.ERROR_TYPE])),
                equal_to([('read', f'{tmp_path}/ok.jsonl#L2', 'JSONDecodeError'),
                          ('read', f'{tmp_path}/binary.txt',
                           'BinaryContentError')]),
                label='DeadLetters')


def test_samples_folder_expands_to_both_samples():
  assert [p.rsplit('/', 1)[1] for p in expand_inputs([str(SAMPLES)])] == [
      '000_fb94ac4cff3d6708.txt', '002_326773c5a6fc88ff.txt']
