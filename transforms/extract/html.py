"""HTML to text: trafilatura for whole pages, lxml for feed-entry fragments.

``page_blocks`` cuts a page's whole visible text into blocks, as a user's
scraped text comes: the paragraph cleaner is trained and measured on it.
"""

import re

import apache_beam as beam
import lxml.etree
import lxml.html
import trafilatura

from schemas import article as A
from schemas import raw as R
from transforms.core import stage
from transforms.extract.dates import HTMLDATE_OPTIONS
from transforms.extract.dates import find_page_dates
from transforms.extract.metadata import merge_metadata
from transforms.extract.metadata import metadata_of
from transforms.extract.metadata import page_metadata

__all__ = ['ExtractMainText', 'extract_main_text', 'html_fragment_to_text', 'page_blocks',
           'is_title_line']

STAGE = 'extract'
DROP_NO_MAIN_TEXT = 'no_main_text'

MAX_HTML_CHARS = 20 << 20  # longer pages are cut before parsing (lxml tree size)
# A page whose main text is shorter than this has none: what is left is a menu
# or a button label that trafilatura's fallback picked up.
MIN_MAIN_TEXT_CHARS = 25

_BLOCK_TAGS = frozenset((
    'address', 'article', 'aside', 'blockquote', 'dd', 'div', 'dl', 'dt',
    'figcaption', 'figure', 'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
    'header', 'hr', 'li', 'main', 'ol', 'p', 'pre', 'section', 'table', 'td',
    'th', 'tr', 'ul'))
_DROPPED_TAGS = ('script', 'style', 'noscript', 'template')

# Whole-page blocks: jusText's paragraph tags and the HTML5 sectioning
# elements a browser lays out as blocks.
_PAGE_BLOCK_TAGS = frozenset((
    'body', 'blockquote', 'caption', 'center', 'col', 'colgroup', 'dd', 'div',
    'dl', 'dt', 'fieldset', 'form', 'legend', 'optgroup', 'option', 'p', 'pre',
    'table', 'td', 'textarea', 'tfoot', 'th', 'thead', 'tr', 'ul', 'ol', 'li',
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'address', 'article', 'aside', 'details',
    'dialog', 'figcaption', 'figure', 'footer', 'header', 'hr', 'main', 'menu',
    'nav', 'section', 'summary'))
_PAGE_DROPPED_TAGS = ('script', 'style', 'noscript', 'template', 'head', 'svg')
_SPACES = re.compile(r'\s+')
# What parts a page title from the site's name: "Big story | Example News".
_TITLE_SITE_SEPARATOR = re.compile(r'(?<!\s)\s++[|\-–—:·•»]++\s++\S')  # linear


def html_fragment_to_text(fragment):
  """Plain text of an HTML fragment, one paragraph per block element."""
  if not fragment or '<' not in fragment:
    return fragment or ''
  try:
    root = lxml.html.fragment_fromstring(fragment[:MAX_HTML_CHARS],
                                         create_parent='div')
  except (lxml.etree.ParserError, ValueError):
    return fragment
  lxml.etree.strip_elements(root, *_DROPPED_TAGS, with_tail=False)
  for element in root.iter():
    if not isinstance(element.tag, str):
      continue
    if element.tag == 'br':
      element.tail = '\n' + (element.tail or '')
    elif element.tag in _BLOCK_TAGS:
      element.text = '\n\n' + (element.text or '')
      element.tail = '\n\n' + (element.tail or '')
  return root.text_content()


def page_blocks(html):
  """A page's whole visible text, one block per block-level element or line break."""
  try:
    root = lxml.html.fromstring(html[:MAX_HTML_CHARS].encode('utf-8'),
                                parser=lxml.html.HTMLParser(encoding='utf-8'))
  except (lxml.etree.ParserError, ValueError):
    return []
  lxml.etree.strip_elements(root, lxml.etree.Comment, lxml.etree.ProcessingInstruction,
                            *_PAGE_DROPPED_TAGS, with_tail=False)
  for element in root.iter():
    tag = element.tag.lower() if isinstance(element.tag, str) else ''
    if tag in _PAGE_BLOCK_TAGS:
      element.text = '\n' + (element.text or '')
      element.tail = '\n' + (element.tail or '')
    elif tag == 'br':
      element.tail = '\n' + (element.tail or '')
  blocks = (_SPACES.sub(' ', line).strip() for line in ''.join(root.itertext()).split('\n'))
  return [b for b in blocks if b]


def is_title_line(line, title):
  """Whether a text line is the page title, or the title less a site name after a separator.

  The gold texts newsbeam is measured on start after the headline, and page
  titles often carry the site's name ("Big story | Example News").
  """
  if not title:
    return False
  line, title = ' '.join(line.casefold().split()), ' '.join(title.casefold().split())
  if not line:
    return False
  return line == title or (title.startswith(line) and
                           _TITLE_SITE_SEPARATOR.match(title[len(line):]) is not None)


def extract_main_text(html, url=None):
  """Main text and metadata of a page, or None when trafilatura finds no text.

  Returns a dict with ``text``, ``title``, ``author``, ``date`` (the day),
  ``htmldate`` (htmldate's whole answer, run by trafilatura with
  ``dates.HTMLDATE_OPTIONS``: the page's dates reuse it) and ``url`` (any may
  be None except ``text``).
  """
  document = trafilatura.bare_extraction(
      html[:MAX_HTML_CHARS], url=url, with_metadata=True,
      include_comments=False, include_tables=True,
      date_extraction_params=dict(HTMLDATE_OPTIONS))
  if document is None or len((document.text or '').strip()) < MIN_MAIN_TEXT_CHARS:
    return None
  text = document.text
  title = document.title
  first, _, rest = text.partition('\n')
  if is_title_line(first, title) and rest.strip():
    text = rest
  found = document.date if isinstance(document.date, str) else None
  return {'text': text, 'title': title, 'author': document.author,
          'date': found[:10] if found else None, 'htmldate': found, 'url': document.url}


def _split_authors(author):
  if not author:
    return []
  return [name.strip() for name in author.split(';') if name.strip()]


class _ExtractMainTextFn(beam.DoFn):
  """Fills TEXT, missing metadata and the page metadata fields of raw records that carry HTML."""

  def process(self, record):
    html = record.get(R.HTML)
    if not html or (record.get(A.TEXT) or '').strip():
      yield record
      return
    extracted = extract_main_text(html, record.get(A.URL))
    if extracted is None:
      yield stage.drop(DROP_NO_MAIN_TEXT, STAGE, record[A.SOURCE_URI],
                       title=record.get(A.TITLE))
      return
    out = dict(record)
    out[A.TEXT] = extracted['text']
    out[A.TITLE] = record.get(A.TITLE) or extracted['title']
    out[A.URL] = record.get(A.URL) or extracted['url']
    out[A.AUTHORS] = record.get(A.AUTHORS) or _split_authors(extracted['author'])
    out[R.PUBLISHED] = record.get(R.PUBLISHED) or extracted['date']
    out[R.PAGE_DATES] = find_page_dates(html, out[A.URL], extracted['date'],
                                        htmldate_found=extracted['htmldate'])
    # The page's own declarations first, then what the feed entry or sitemap gave.
    out.update(merge_metadata(page_metadata(html, out[A.URL]), metadata_of(record)))
    out[R.HTML] = None
    out[A.TEXT_ORIGIN] = record.get(A.TEXT_ORIGIN) or A.TEXT_FROM_HTML
    yield out


class ExtractMainText(beam.PTransform):
  """Extracts the main text of raw records that hold HTML and no text."""

  def expand(self, pcoll):
    return pcoll | 'Extract' >> stage.ApplyStage(_ExtractMainTextFn(), STAGE)
