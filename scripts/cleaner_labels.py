"""Pages, sites and paragraph labels of the cleaner's development sets (../shared/eval).

Shared by ``scripts/train_cleaner.py`` (which trains on article-extraction-2025
only) and ``benchmarks/quality_cleaning.py`` (which measures on every source,
held-out sites only). A paragraph is labelled by how much of it is in the gold
``articleBody`` (token trigrams for long paragraphs, whole-line matches for
short ones); the ``with`` and ``without`` snippets override.
"""

import collections
import gzip
import hashlib
import json
import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
  sys.path.insert(0, str(REPO))

from transforms.extract import html as extract  # pylint: disable=wrong-import-position

DEFAULT_EVAL_DIR = REPO.parent / 'shared' / 'eval'
TRAIN_SET = 'article-extraction-2025'
VALIDATION_PERCENT = 25  # share of 2025 sites held out, by hash of the registered domain
EXTRA_HELD_OUT_PERCENT = 50  # share of the other sources' sites held out (never used to choose)

# Development sources: (name, folders under the eval dir, how they are split).
# 'sites': held-out sites by hash (2025: the training script's validation
# sites; the others: EXTRA_HELD_OUT_PERCENT), 'all': every page is held out
# (too few sites to split, never used to choose anything).
SOURCES = (
    ('2025', (TRAIN_SET,), 'sites'),
    ('dragnet', ('cleaning-extra/dragnet',), 'sites'),
    ('cleaneval', ('cleaning-extra/cleaneval-dev', 'cleaning-extra/cleaneval-final'), 'sites'),
    ('cleanportaleval', ('cleaning-extra/cleanportaleval',), 'all'),
    ('61 pages', ('article-extraction',), 'all'),
)

_SPACES = re.compile(r'\s+')
_CJK = '\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff'
_LABEL_TOKEN = re.compile(rf'[{_CJK}]|[^\W{_CJK}]+')
_CELL_SEPARATOR = re.compile(r'[\t|]')
# Characters XML (and so lxml's text nodes) cannot hold.
_NOT_XML = re.compile('[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')
_CHAR_REFERENCE = re.compile(r'&#(?:[xX]([0-9a-fA-F]{1,6}+)|(\d{1,7}+));?')
# A page without a URL in its gold file is placed by its canonical or og:url
# link, else by the registered domain most of its absolute links point to.
_CANONICAL = re.compile(r'''<link\b[^>]{0,300}?\brel=["']?canonical\b[^>]{0,300}?\bhref=["']?'''
                        r'''(https?://[^"'\s>]{1,300}+)''', re.I)
_OG_URL = re.compile(r'''\bproperty=["']og:url["'][^>]{0,100}?\bcontent=["']'''
                     r'''(https?://[^"'\s>]{1,300}+)''', re.I)
_ABSOLUTE_HREF = re.compile(r'''\bhref=["']?https?://([^/"'\s>:]{1,200}+)''', re.I)


# Labels.
CONTENT, BOILERPLATE, UNLABELLED = 0, 1, -1
SHINGLE_TOKENS = 3  # long paragraphs are matched to the gold text by token trigrams
SHORT_TOKENS = 5  # shorter paragraphs are matched as whole gold lines instead
MIN_CONTENT_OVERLAP = 0.5  # share of trigrams in the gold text: content from here
MAX_BOILERPLATE_OVERLAP = 0.2  # ... boilerplate up to here, unlabelled between
MIN_SNIPPET_CHARS = 8  # a paragraph inside a with/without snippet counts from this length
SPAN_MARGIN = 1  # short gold lines count as content this many paragraphs around the long ones
# Some gold texts stop early: when at least this many prose paragraphs (of at
# least PROSE_TOKENS tokens) labelled boilerplate follow the last content
# paragraph, the labels between the two are dropped as unreliable.
TRUNCATED_GOLD_PROSE = 3
PROSE_TOKENS = 15

def site_of(url):
  """Registered domain of a page URL (``news.bbc.co.uk`` -> ``bbc.co.uk``)."""
  import tld  # pylint: disable=import-outside-toplevel
  host = (re.sub(r'^[a-z]+://', '', (url or '').lower()).split('/')[0]
          .split(':')[0].strip('.'))
  try:
    return tld.get_fld(f'http://{host}', fail_silently=True) or host
  except Exception:  # pylint: disable=broad-except
    return host


def is_validation_site(site):
  """Deterministic site-level split: about VALIDATION_PERCENT % of sites."""
  digest = hashlib.sha256(site.encode('utf-8')).digest()
  return int.from_bytes(digest[:4], 'big') % 100 < VALIDATION_PERCENT


def load_pages(eval_dir, name, limit=None):
  """``[(page_id, html, truth)]`` of one eval set, in id order."""
  folder = pathlib.Path(eval_dir) / name
  truth = json.loads((folder / 'ground-truth.json').read_text(encoding='utf-8'))
  pages = []
  for page_id in sorted(truth)[:limit]:
    raw = gzip.decompress((folder / 'html' / f'{page_id}.html.gz').read_bytes())
    pages.append((page_id, raw.decode('utf-8', errors='replace'), truth[page_id]))
  return pages


def page_blocks(html):
  """A page's whole visible text, one block per block-level element or line break.

  ``extract.page_blocks`` raises on a page whose text holds a character XML
  cannot hold (lxml refuses to write it back): such a page is read again with
  those characters taken out (only then, so other pages' blocks stay as the
  shipped model was trained on them).
  """
  try:
    return extract.page_blocks(html)
  except ValueError:
    return extract.page_blocks(_CHAR_REFERENCE.sub(_xml_reference, _NOT_XML.sub('', html)))


def _xml_reference(match):
  """A character reference, or nothing when it names a character XML cannot hold."""
  code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
  return match.group(0) if code <= 0x10ffff and not _NOT_XML.match(chr(code)) else ''


def html_paragraphs(html, url):
  """Paragraphs newsbeam's HTML stage would keep before its rules (title line dropped)."""
  from transforms.extract.normalize import normalize_text  # pylint: disable=import-outside-toplevel
  extracted = extract.extract_main_text(html, url)
  text = normalize_text(extracted['text']) if extracted else ''
  return text.split('\n\n') if text else []


def _label_tokens(text):
  return _LABEL_TOKEN.findall(text.casefold())


def _squash(text):
  return _SPACES.sub(' ', text.casefold()).strip()


class GoldIndex:
  """What a page's gold text and snippets say about a paragraph."""

  def __init__(self, truth):
    tokens = _label_tokens(truth.get('articleBody') or '')
    self.shingles = set(_shingles(tokens))
    lines = (truth.get('articleBody') or '').split('\n')
    self.line_tokens = [tuple(_label_tokens(line)) for line in lines]
    # A table row of the gold (cells between tabs or pipes) also gives one line per cell.
    cells = [tuple(_label_tokens(cell)) for line in lines if _CELL_SEPARATOR.search(line)
             for cell in _CELL_SEPARATOR.split(line)]
    self.lines = {t for t in self.line_tokens + cells if t}
    self.text = ' '.join(' '.join(t) for t in self.line_tokens if t)
    self.title = tuple(_label_tokens(truth.get('title') or ''))
    self.with_ = [_squash(s) for s in truth.get('with') or () if s.strip()]
    self.without = [_squash(s) for s in truth.get('without') or () if s.strip()]

  def label(self, paragraph):
    """CONTENT, BOILERPLATE or UNLABELLED for one paragraph of the page."""
    return self.judge(paragraph)[0]

  def judge(self, paragraph):
    """``(label, share)``: the paragraph's label and the share of it that is gold text."""
    tokens = tuple(_label_tokens(paragraph))
    if not tokens:
      return UNLABELLED, 0.0
    squashed = _squash(paragraph)
    in_with = _matches_snippet(squashed, self.with_)
    in_without = _matches_snippet(squashed, self.without)
    if in_with and in_without:
      return UNLABELLED, 0.5
    if in_with:
      return CONTENT, 1.0
    if in_without:
      return BOILERPLATE, 0.0
    if tokens == self.title:
      return UNLABELLED, 0.0
    if len(tokens) < SHORT_TOKENS:
      if tokens in self.lines:
        return CONTENT, 1.0
      if f' {" ".join(tokens)} ' in f' {self.text} ':
        return UNLABELLED, 0.5
      return BOILERPLATE, 0.0
    shingles = _shingles(tokens)
    overlap = sum(1 for s in shingles if s in self.shingles) / len(shingles)
    if overlap >= MIN_CONTENT_OVERLAP:
      return CONTENT, overlap
    if overlap <= MAX_BOILERPLATE_OVERLAP:
      return BOILERPLATE, overlap
    return UNLABELLED, overlap


def _shingles(tokens):
  return [tuple(tokens[i:i + SHINGLE_TOKENS])
          for i in range(max(1, len(tokens) - SHINGLE_TOKENS + 1))]


def _matches_snippet(squashed, snippets):
  """A snippet inside the paragraph, or a long enough paragraph inside a snippet."""
  return any(s in squashed or (len(squashed) >= MIN_SNIPPET_CHARS and squashed in s)
             for s in snippets)


def label_paragraphs(paragraphs, gold):
  """Labels and gold shares of a page's paragraphs.

  A short paragraph that matches a gold line but lies away from the page's
  long content paragraphs (a menu item named like a heading of the article)
  and the gap a truncated gold leaves are unlabelled.
  """
  judged = [gold.judge(p) for p in paragraphs]
  labels = [label for label, _ in judged]
  shares = [share for _, share in judged]
  lengths = [len(_label_tokens(p)) for p in paragraphs]
  long_content = [i for i, label in enumerate(labels)
                  if label == CONTENT and lengths[i] >= SHORT_TOKENS]
  if long_content:
    first, last = long_content[0] - SPAN_MARGIN, long_content[-1] + SPAN_MARGIN
    for i, label in enumerate(labels):
      if label == CONTENT and lengths[i] < SHORT_TOKENS and not first <= i <= last:
        labels[i], shares[i] = UNLABELLED, 0.5
  content = [i for i, label in enumerate(labels) if label == CONTENT]
  if not content:
    return labels, shares
  after = content[-1]
  prose = [i for i in range(after + 1, len(paragraphs))
           if labels[i] == BOILERPLATE and len(_label_tokens(paragraphs[i])) >= PROSE_TOKENS
           and not _matches_snippet(_squash(paragraphs[i]), gold.without)]
  if len(prose) >= TRUNCATED_GOLD_PROSE:
    for i in range(after + 1, prose[-1] + 1):
      if not _matches_snippet(_squash(paragraphs[i]), gold.without):
        labels[i], shares[i] = UNLABELLED, 1.0
  return labels, shares




def page_site(page_id, html, truth):
  """Registered domain of a page: its gold URL, else its canonical link, else its links' domain."""
  url = truth.get('url')
  if url and url != 'None':
    return site_of(url)
  head = html[:200_000]
  match = _CANONICAL.search(head) or _OG_URL.search(head)
  if match:
    return site_of(match.group(1))
  hosts = collections.Counter(site_of(h) for h in _ABSOLUTE_HREF.findall(head))
  if hosts:
    return max(sorted(hosts), key=hosts.__getitem__)
  return f'page:{page_id}'


def is_extra_held_out(site):
  """Split of the sources not trained on: about EXTRA_HELD_OUT_PERCENT % of sites are held out."""
  digest = hashlib.sha256(f'extra:{site}'.encode('utf-8')).digest()
  return int.from_bytes(digest[:4], 'big') % 100 < EXTRA_HELD_OUT_PERCENT


def source_pages(eval_dir, source, part='held-out', limit=None):
  """``[(page_id, html, truth, site)]`` of one development source's held-out or tuning part."""
  name, folders, split = next(s for s in SOURCES if s[0] == source)
  pages = []
  for folder in folders:
    if not (pathlib.Path(eval_dir) / folder).exists():
      continue
    for page_id, html, truth in load_pages(eval_dir, folder):
      site = page_site(page_id, html, truth)
      if split == 'all':
        held = True
      elif name == '2025':
        held = is_validation_site(site)
      else:
        held = is_extra_held_out(site)
      if held == (part == 'held-out'):
        pages.append((f'{folder.rsplit("/", 1)[-1]}/{page_id}', html, truth, site))
  return pages[:limit]


def page_inputs(pages, cache_dir=None):
  """``{page_id: (whole-page blocks, trafilatura paragraphs)}``, cached under ``cache_dir``."""
  cache_file = pathlib.Path(cache_dir) / 'page_inputs.json.gz' if cache_dir else None
  cache = {}
  if cache_file and cache_file.exists():
    with gzip.open(cache_file, 'rt', encoding='utf-8') as f:
      cache = json.load(f)
  out, changed = {}, False
  for page_id, html, truth, *_ in pages:
    key = hashlib.sha256(html.encode('utf-8')).hexdigest()[:16] + ':' + str(truth.get('url'))
    if key not in cache:
      cache[key] = (page_blocks(html), html_paragraphs(html, truth.get('url')))
      changed = True
    out[page_id] = tuple(cache[key])
  if cache_file and changed:
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(cache_file, 'wt', encoding='utf-8') as f:
      json.dump(cache, f, sort_keys=True)
  return out
