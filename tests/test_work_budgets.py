"""Per-article work budgets: inputs are cut and flagged at the reader, cleaners and NER stop at theirs."""

import datetime
import gzip
import json

import pytest
from apache_beam import pvalue

from schemas import article as A
from transforms.clean import rules as BR
from transforms.read import feeds as RF
from transforms.clean.boilerplate import _CleanParagraphsFn
from transforms.clean.boilerplate import clean_paragraphs
from transforms.clean.rules import DEFAULT_RULES
from transforms.enrich.entities import DEFAULT_ENTITY_TYPES
from transforms.enrich.entities import MAX_NER_TOKENS
from transforms.enrich.entities import default_ner_models
from transforms.enrich.entities import load_ner_pipeline
from transforms.enrich.entities import ner_text
from transforms.enrich.entities import tag_texts
from transforms.extract.normalize import normalize_record
from transforms.read.files import MAX_ARTICLE_HTML_CHARS
from transforms.read.files import MAX_ARTICLE_TEXT_CHARS
from transforms.read.files import _ReadFileFn
from transforms.read.files import cap_article
from transforms.read.files import file_element

NOW = datetime.datetime(2024, 5, 3, tzinfo=datetime.timezone.utc)
PROSE = ('The council met on Tuesday in Berlin and agreed the budget for next year, '
         'officials said, after a long debate about schools and roads.')
MENU = 'Home | News | Sport | Weather | Culture | Travel'
FOOTER = 'Privacy • Terms • Cookies • Contact • Advertise'


def _read(path):
  """Records and warnings the file reader gives for one file."""
  outputs = list(_ReadFileFn().process(file_element(str(path))))
  records = [o for o in outputs if not isinstance(o, pvalue.TaggedOutput)]
  warnings = [o.value for o in outputs if isinstance(o, pvalue.TaggedOutput)]
  return records, warnings


def test_a_2_mb_text_file_is_cut_and_flagged_not_dropped(tmp_path):
  path = tmp_path / 'huge.txt'
  body = '\n\n'.join([PROSE] * 15_000)  # about 2 MB of one long article
  path.write_text('A very long report\n' + body, encoding='utf-8')
  assert path.stat().st_size > 2_000_000
  (record,), warnings = _read(path)
  assert record[A.TITLE] == 'A very long report'
  assert len(record[A.TEXT]) == MAX_ARTICLE_TEXT_CHARS
  assert body.startswith(record[A.TEXT])
  assert record[A.FLAGS] == [A.FLAG_TEXT_CUT]
  assert warnings == [(A.FLAG_TEXT_CUT, str(path))]
  article, _ = normalize_record(dict(record), 'run', NOW)
  assert article[A.FLAGS] == [A.FLAG_TEXT_CUT]  # the flag reaches the dataset


def test_a_small_text_file_is_not_flagged(tmp_path):
  path = tmp_path / 'small.txt'
  path.write_text('Title\n' + PROSE, encoding='utf-8')
  (record,), warnings = _read(path)
  assert record.get(A.FLAGS) is None and warnings == []


def test_a_json_line_with_huge_html_and_a_gzipped_text_are_cut(tmp_path):
  html = '<html><body>' + '<p>' + PROSE + '</p>' * 1 + '<div>x</div>' * 400_000 + '</body></html>'
  path = tmp_path / 'pages.jsonl'
  path.write_text(json.dumps({'url': 'https://example.org/a', 'html': html}) + '\n'
                  + json.dumps({'url': 'https://example.org/b', 'text': PROSE}) + '\n',
                  encoding='utf-8')
  (cut, kept), warnings = _read(path)
  assert len(cut['html']) == MAX_ARTICLE_HTML_CHARS and cut[A.FLAGS] == [A.FLAG_TEXT_CUT]
  assert kept.get(A.FLAGS) is None
  assert warnings == [(A.FLAG_TEXT_CUT, f'{path}#L1 https://example.org/a')]
  gz = tmp_path / 'long.txt.gz'
  gz.write_bytes(gzip.compress(('Title\n' + 'word ' * 300_000).encode('utf-8')))
  (record,), _ = _read(gz)
  assert record[A.FLAGS] == [A.FLAG_TEXT_CUT]


def test_cap_article_flags_once():
  record = {A.TEXT: 'x' * (MAX_ARTICLE_TEXT_CHARS + 5), A.FLAGS: [A.FLAG_TEXT_CUT]}
  capped, cut = cap_article(record)
  assert cut and capped[A.FLAGS] == [A.FLAG_TEXT_CUT]
  assert cap_article({A.TEXT: 'short'}) == ({A.TEXT: 'short'}, False)


def test_a_feed_entry_over_the_cap_is_flagged():
  long_entry = '<p>' + 'word ' * (RF.MAX_ENTRY_TEXT_CHARS // 4) + '</p>'
  feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
          f'<item><title>Long</title><description><![CDATA[{long_entry}]]></description></item>'
          '<item><title>Short</title><description>Short text.</description></item>'
          '</channel></rss>').encode('utf-8')
  long_record, short_record = RF.entries_to_raw_records(RF.parse_feed(feed), 'x.xml')
  assert len(long_record[A.TEXT]) == RF.MAX_ENTRY_TEXT_CHARS
  assert long_record[A.FLAGS] == [A.FLAG_TEXT_CUT]
  assert short_record[A.FLAGS] == []


def test_cleaners_examine_a_page_of_menus_up_to_their_budget():
  page = [MENU, PROSE, FOOTER] * 1000  # 3,000 paragraphs
  budget = BR.examined_count(page)
  assert budget == BR.MAX_EXAMINED_PARAGRAPHS
  kept, removed = clean_paragraphs(page, DEFAULT_RULES)
  assert len(removed) == sum(p != PROSE for p in page[:budget])  # menus and footers
  assert kept[-len(page) + budget:] == page[budget:]  # the rest kept, unexamined
  text, removed_by_rules = BR.apply_rules('\n\n'.join(page))
  assert len(removed_by_rules) == len(removed) and text.endswith(FOOTER)


def test_cleaners_budget_counts_characters_too():
  page = [PROSE] * 10 + ['x' * BR.MAX_EXAMINED_CHARS] + [MENU] * 3
  assert BR.examined_count(page) == 10
  kept, removed = clean_paragraphs(page, DEFAULT_RULES)
  assert removed == [] and kept == page


def test_an_article_past_the_cleaning_budget_is_flagged_and_keeps_its_text():
  text = '\n\n'.join([MENU, PROSE] * 1500)
  article = {A.TEXT: text, A.FLAGS: [], A.BOILERPLATE: [], A.TEXT_ORIGIN: A.TEXT_FROM_FILE,
             A.SOURCE_URI: 'menus.txt'}
  outputs = list(_CleanParagraphsFn(DEFAULT_RULES, use_classifier=False).process(article))
  warnings = [o.value[0] for o in outputs if isinstance(o, pvalue.TaggedOutput)]
  (cleaned,) = [o for o in outputs if not isinstance(o, pvalue.TaggedOutput)]
  assert warnings == [BR.WARN_CLEANING_PARTIAL]
  assert cleaned[A.FLAGS] == [A.FLAG_CLEANING_PARTIAL]
  assert len(cleaned[A.BOILERPLATE]) == BR.MAX_EXAMINED_PARAGRAPHS // 2
  assert cleaned[A.TEXT].count(MENU) == 1500 - BR.MAX_EXAMINED_PARAGRAPHS // 2


def test_ner_text_blanks_a_line_of_10000_equals_and_keeps_offsets():
  text = PROSE + '\n\n' + '=' * 10_000 + '\n\n' + 'Angela Merkel spoke in Paris.' + '*' * 5000
  read, partial = ner_text(text)
  assert not partial and len(read) == len(text)
  assert '=' * 4 not in read and '*' * 4 not in read
  assert read.startswith(PROSE) and 'Angela Merkel spoke in Paris.' in read
  assert ner_text('a ==== b ' + '-' * 20)[0] == 'a ==== b ' + '-' * 20  # short runs stay


def test_ner_text_reads_at_most_the_token_budget():
  text = 'Word, ' * MAX_NER_TOKENS
  read, partial = ner_text(text)
  assert partial and read == text[:len(read)] and read.endswith('Word,')
  assert read.count('Word') == MAX_NER_TOKENS // 2  # a word and a comma: two tokens
  assert ner_text('Word, ' * 10) == ('Word, ' * 10, False)


@pytest.fixture(scope='module')
def nlp():
  models = default_ner_models()
  if 'en' not in models:
    pytest.skip('no English spaCy model installed')
  return load_ner_pipeline(models['en'])


def test_an_article_with_a_line_of_10000_equals_is_tagged(nlp):
  text = ('Angela Merkel met Emmanuel Macron in Berlin.\n\n' + '=' * 10_000 + '\n\n'
          + 'Later she flew to Paris.')
  (mentions,) = tag_texts(nlp, [text], DEFAULT_ENTITY_TYPES)
  assert all(text[m.start:m.end] == m.text for m in mentions)
  assert {'Angela Merkel', 'Paris'} <= {m.text for m in mentions}


def test_tail_rules_past_the_budget_do_not_fire_in_the_middle():
  footer = 'Source: Example News Agency'  # a tail rule: removed only among the last paragraphs
  page = [PROSE] * (BR.MAX_EXAMINED_PARAGRAPHS - 1) + [footer] + [PROSE] * 10
  kept, removed = clean_paragraphs(page, DEFAULT_RULES)
  assert removed == [] and kept == page
  assert clean_paragraphs([PROSE, PROSE, footer], DEFAULT_RULES)[1] == [('source_footer', footer)]


def test_places_read_only_their_budget_of_a_long_article_and_flag_it():
  from schemas import entity as E  # pylint: disable=import-outside-toplevel
  from transforms.enrich.geo.places import MAX_PLACE_TEXT_CHARS  # pylint: disable=import-outside-toplevel
  from transforms.enrich.geo.places import within_place_budget  # pylint: disable=import-outside-toplevel
  text = PROSE + '\n\n' + ('Lorem ipsum dolor sit amet, Springfield and Shelbyville. ' * 4000)
  far = text.rindex('Springfield')
  article = {A.TEXT: text, A.FLAGS: [A.FLAG_TEXT_CUT], A.ENTITIES: [
      {E.MENTION_START: 37, E.MENTION_END: 43, E.MENTION_LABEL: 'GPE'},
      {E.MENTION_START: far, E.MENTION_END: far + 11, E.MENTION_LABEL: 'GPE'}]}
  read, cut = within_place_budget(article)
  assert cut and len(read[A.TEXT]) == MAX_PLACE_TEXT_CHARS
  assert [m[E.MENTION_START] for m in read[A.ENTITIES]] == [37]
  assert within_place_budget({A.TEXT: PROSE}) == ({A.TEXT: PROSE}, False)


def test_a_long_article_gets_places_partial_and_keeps_its_text():
  from transforms.enrich.geo.places import with_places  # pylint: disable=import-outside-toplevel
  text = PROSE + ' ' + ('Word after word in a very long scraped text. ' * 3000)
  placed = with_places({A.TEXT: text, A.FLAGS: [], A.ENTITIES: [], A.NER_MODEL: None,
                        A.LANGUAGE: 'en'})
  assert placed[A.TEXT] == text
  assert placed[A.FLAGS] == [A.FLAG_PLACES_PARTIAL]
  assert any(p['name'] == 'Berlin' for p in placed['places'])
