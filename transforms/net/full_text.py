"""``--fetch-full-text``: replace a feed entry's text with its page's main text.

Entry links come from untrusted feeds, so every fetch is guarded: loopback,
private, link-local and metadata addresses are refused unless allowed (each
host, the first and every redirect's, is resolved once, checked, and the
connection made to the checked address), and so are links URL parsers may
read differently. When the page cannot be fetched, decoded or has no main
text, the entry keeps the feed's text and the reason is kept in
``full_text_error``; ``text_origin`` says which text the article has. A
charset label that fails in any way is passed over for the next guess.

Pages are fetched only where the host's ``robots.txt`` lets newsbeam's user
agent in (``HttpClient.robots_refusal``, unless the settings say to ignore
it); a refused page keeps the feed's text with the refusal as the reason.
"""

import email.message

import apache_beam as beam

from schemas import article as A
from transforms.core import stage
from transforms.core.decode import BinaryContentError
from transforms.core.decode import UndecodableError
from transforms.core.decode import decode_bytes
from transforms.core.decode import find_declared_charset
from transforms.extract.html import extract_main_text
from transforms.net.http import FetchError
from transforms.net.http import HttpClientFn
from transforms.net.http import map_by_host
from transforms.extract.metadata import merge_metadata
from transforms.extract.metadata import metadata_of
from transforms.extract.metadata import page_metadata

__all__ = ['FetchFullText', 'page_text', 'page_extract', 'fetch_page_html', 'decode_page']

STAGE = 'full_text'
WARN_FELL_BACK_TO_FEED_TEXT = 'full_text_failed'  # the entry kept the feed's text
ENTRIES_PER_BATCH = 256  # pages fetched side by side by one DoFn call
HTML_TYPES = ('text/html', 'application/xhtml+xml')


def _content_type(headers):
  message = email.message.Message()
  message['content-type'] = headers.get('content-type', '')
  return message.get_content_type(), message.get_param('charset')


def decode_page(body, header_charset):
  """``(html, encoding)`` of a page; raises ValueError when nothing decodes it.

  The charset of the Content-Type header, then the one the page declares,
  then detection: a label that fails in any way (unknown, or a codec that is
  not a text encoding, such as ``hex``) is passed over.
  """
  labels = dict.fromkeys((header_charset, find_declared_charset(body)))
  for label in (label for label in labels if label and isinstance(label, str)):
    try:
      return decode_bytes(body, label)
    except (BinaryContentError, UndecodableError):
      raise  # not about the label: detection was tried too
    except (LookupError, ValueError, TypeError):  # UnicodeError is a ValueError
      continue
  return decode_bytes(body)


def fetch_page_html(client, url):
  """``(html, final_url, None)`` of a page fetched as the robots and address rules allow,
  or ``(None, None, reason)``; the sitemap reader fetches its pages with it too."""
  refusal = client.robots_refusal(url)
  if refusal:
    return None, None, refusal
  try:
    response = client.get(url, guarded=True)
  except FetchError as error:
    return None, None, f'{error.kind}: {error}'
  if response.status != 200:
    return None, None, f'HTTP {response.status}'
  content_type, charset = _content_type(response.headers)
  if response.headers.get('content-type') and content_type not in HTML_TYPES:
    return None, None, f'not HTML: {content_type}'
  try:
    html, _ = decode_page(response.body, charset)
  except ValueError as error:
    return None, None, f'{type(error).__name__}: {error}'
  return html, response.url, None


def page_extract(client, url):
  """``(extracted, None)``: extract_main_text's answer plus the page's ``metadata``;
  or ``(None, reason)``."""
  html, final_url, reason = fetch_page_html(client, url)
  if html is None:
    return None, reason
  extracted = extract_main_text(html, final_url)
  if extracted is None:
    return None, 'no main text on the page'
  return dict(extracted, metadata=page_metadata(html, final_url)), None


def page_text(client, url):
  """``(text, None)`` from a page's main text, or ``(None, reason)``."""
  extracted, reason = page_extract(client, url)
  return (extracted['text'] if extracted else None), reason


def page_text_safely(client, url):
  """``page_text``, with any other failure kept as the entry's reason.

  The entry then keeps its feed text: one hostile link must not cost the
  other entries of its batch their pages.
  """
  try:
    return page_extract(client, url)
  except Exception as error:  # pylint: disable=broad-except
    return None, f'{type(error).__name__}: {error}'


def with_page_text(record, text, reason, metadata=None):
  """The raw record with the page's text (and metadata over the entry's), or with the
  reason it kept the feed's."""
  if text is None:
    return dict(record, **{A.TEXT_ORIGIN: A.TEXT_FROM_FEED, A.FULL_TEXT_ERROR: reason})
  return dict(record, **{A.TEXT: text, A.TEXT_ORIGIN: A.TEXT_FROM_PAGE,
                         A.FULL_TEXT_ERROR: None},
              **(merge_metadata(metadata, metadata_of(record)) if metadata else {}))


class _FetchFullTextFn(HttpClientFn):

  def process(self, records):
    pages = map_by_host(
        records, lambda r: r.get(A.URL),
        lambda r: page_text_safely(self._client, r[A.URL]) if r.get(A.URL)
        else (None, 'entry has no link'),
        self._settings.max_per_host)
    for record, (extracted, reason) in zip(records, pages):
      text = extracted['text'] if extracted else None
      if text is None:
        yield stage.warn(WARN_FELL_BACK_TO_FEED_TEXT, stage.describe_input(
            record.get(A.SOURCE_URI), record.get(A.URL)))
      yield with_page_text(record, text, reason, extracted and extracted['metadata'])


class FetchFullText(beam.PTransform):
  """Fetches the page of every feed entry; other records pass through untouched."""

  def __init__(self, settings, label=None):
    super().__init__(label)
    self._settings = settings

  def expand(self, pcoll):
    entries, others = pcoll | 'SplitEntries' >> beam.Partition(
        lambda r, _: 0 if r.get(A.TEXT_ORIGIN) == A.TEXT_FROM_FEED else 1, 2)
    fetched = (entries
               | 'SpreadEntries' >> beam.Reshuffle()
               | 'BatchEntries' >> beam.BatchElements(min_batch_size=ENTRIES_PER_BATCH,
                                                      max_batch_size=ENTRIES_PER_BATCH)
               | 'FetchPages' >> stage.ApplyStage(_FetchFullTextFn(self._settings), STAGE,
                                                  fan_in=True))
    return fetched._replace(
        records=(fetched.records, others) | 'MergeRecords' >> beam.Flatten())
