import pytest

from tests.conftest import shared_eval
from transforms.extract.html import extract_main_text
from transforms.extract.html import html_fragment_to_text
from transforms.extract.html import is_title_line
from transforms.extract.html import page_blocks
from transforms.extract.normalize import normalize_text

PAGE = """<html><head><title>Site | Big story</title>
<link rel="canonical" href="https://news.example.org/big-story"/>
<meta name="author" content="Ann Writer"/>
<meta property="article:published_time" content="2023-03-04T10:00:00Z"/></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Big story</h1>
<p>The first paragraph of the big story tells the reader what happened in the city on Friday, and why it matters to the people who live there.</p>
<p>The second paragraph adds a quote from the mayor, who said the council would meet again next week to settle the question for good.</p>
<p>A third paragraph gives background: the dispute began two years ago when the old bridge was closed for repairs that never started.</p>
</article><footer>Copyright 2023 Example News. All rights reserved.</footer></body></html>"""


def test_fragment_to_text_keeps_paragraphs_and_drops_scripts():
  html = '<p>One <b>two</b></p><script>alert(1)</script><ul><li>three</li><li>four</li></ul>five<br>six'
  assert normalize_text(html_fragment_to_text(html)) == 'One two\n\nthree\n\nfour\n\nfive\n\nsix'
  assert html_fragment_to_text('plain & simple') == 'plain & simple'
  assert html_fragment_to_text('') == ''


def test_main_text_and_metadata_of_a_page():
  extracted = extract_main_text(PAGE)
  text = normalize_text(extracted['text'])
  assert text.startswith('The first paragraph of the big story')
  assert 'mayor' in text and 'old bridge' in text
  assert 'Home' not in text and 'All rights reserved' not in text
  assert extracted['url'] == 'https://news.example.org/big-story'
  assert extracted['author'] == 'Ann Writer'
  assert extracted['date'] == '2023-03-04'


def test_page_with_no_text_gives_none():
  assert extract_main_text('<html><body><nav>Home</nav></body></html>') is None


def test_real_news_pages_extract_text():
  import gzip  # pylint: disable=import-outside-toplevel
  root = shared_eval('article-extraction', 'html')
  pages = sorted(root.glob('*.html.gz'))[:5]
  for page in pages:
    extracted = extract_main_text(gzip.decompress(page.read_bytes()).decode('utf-8', 'replace'))
    assert extracted is not None and len(extracted['text'].split()) > 50, page.name


def test_extract_main_text_transform():
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  from apache_beam.testing.test_pipeline import TestPipeline  # pylint: disable=import-outside-toplevel
  from apache_beam.testing.util import assert_that  # pylint: disable=import-outside-toplevel
  from apache_beam.testing.util import equal_to  # pylint: disable=import-outside-toplevel
  from schemas import article as A  # pylint: disable=import-outside-toplevel
  from schemas import raw as R  # pylint: disable=import-outside-toplevel
  from schemas import drop as X  # pylint: disable=import-outside-toplevel
  from transforms.extract.html import ExtractMainText  # pylint: disable=import-outside-toplevel
  records = [{A.SOURCE_URI: 'page.html', R.HTML: PAGE},
             {A.SOURCE_URI: 'empty.html', R.HTML: '<html><body></body></html>'},
             {A.SOURCE_URI: 'a.txt', A.TEXT: 'Already text.'}]
  with TestPipeline() as p:
    out = p | beam.Create(records) | ExtractMainText()
    assert_that(out.records | beam.Map(lambda r: (r[A.SOURCE_URI], r.get(A.URL), r.get(A.AUTHORS))),
                equal_to([('page.html', 'https://news.example.org/big-story', ['Ann Writer']),
                          ('a.txt', None, None)]), label='Records')
    assert_that(out.dropped | beam.Map(lambda d: (d[X.REASON], d[X.SOURCE_URI])),
                equal_to([('no_main_text', 'empty.html')]), label='Drops')


def test_page_blocks_cut_the_whole_visible_text():
  html = ('<html><head><title>T</title><script>x()</script></head><body><nav><a>Home</a> '
          '<a>World</a></nav><p>One <b>two</b><br>three</p><div>four</div></body></html>')
  assert page_blocks(html) == ['Home World', 'One two', 'three', 'four']


@pytest.mark.parametrize('line, title, expected', [
    ('Big story', 'Big story', True),
    ('BIG  STORY', 'Big story', True),
    ('Big story', 'Big story | Example News', True),
    ('Big story', 'Big story - Example News', True),
    ('Big story', 'Big story: what it means', False),
    ('Big', 'Big story', False),
    ('The first paragraph.', 'Big story', False),
    ('Big story', None, False),
])
def test_title_line(line, title, expected):
  assert is_title_line(line, title) is expected
