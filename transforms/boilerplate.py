"""Boilerplate stripping: rule-based paragraph filter and per-source repeats.

Precision first: a rule removes a whole paragraph (a line of the normalised
text) only when the paragraph is short, matches a pattern that article prose
does not, and, for footers, sits at the end of the article. Everything removed
is listed in the article's ``boilerplate`` column with the rule that removed it.

The second pass removes paragraphs that a source repeats across many of its
articles in the run (``repeated_in_source``): paragraph fingerprints are
counted per source with a combiner, and only those over the thresholds reach
the filter as a side input, so no worker holds a source's articles at once.
"""

import dataclasses
import hashlib
import re
import tomllib

import apache_beam as beam

from schemas import article as A
from transforms import stage
from transforms.normalize import make_content_hash

__all__ = ['StripBoilerplate', 'Rule', 'DEFAULT_RULES', 'apply_rules',
           'load_rules_file', 'paragraph_fingerprint', 'RulesFileError']

STAGE = 'boilerplate'
DROP_EMPTY_AFTER_BOILERPLATE = 'empty_after_boilerplate'
RULE_REPEATED_IN_SOURCE = 'repeated_in_source'

PARAGRAPH_SEPARATOR = '\n\n'
DEFAULT_MAX_CHARS = 300  # a rule never removes a longer paragraph
TAIL_PARAGRAPHS = 3  # "tail" rules look only at this many last paragraphs
HEAD_PARAGRAPHS = 3  # "head" rules look only at this many first paragraphs

MIN_REPEAT_ARTICLES = 3  # a repeated paragraph appears in at least this many articles
MIN_REPEAT_SHARE = 0.1  # ... and in at least this share of its source's articles
MIN_REPEAT_CHARS = 2  # shorter paragraphs (a lone digit or symbol) are not counted
FINGERPRINT_HEX_CHARS = 16

POSITIONS = ('any', 'head', 'tail')


@dataclasses.dataclass(frozen=True)
class Rule:
  """One named pattern; it removes a paragraph it matches (re.search)."""
  name: str
  pattern: re.Pattern
  max_chars: int = DEFAULT_MAX_CHARS
  position: str = 'any'


def _rule(name, pattern, max_chars=DEFAULT_MAX_CHARS, position='any'):
  return Rule(name, re.compile(pattern, re.IGNORECASE), max_chars, position)


# Paragraph-level rules, by group. Each pattern is anchored or tied to words
# that article prose does not use together.
DEFAULT_RULES = (
    # Consent and sign-up blurbs ("We use your sign-up to provide content ...").
    _rule('consent', r'^we use your sign-?up to provide content', 600),
    _rule('consent', r'\bwe use cookies\b|\bthis (?:web)?site uses cookies\b'
          r'|\baccept (?:all )?cookies\b|\bcookie (?:policy|settings|preferences)\b', 400),
    _rule('consent', r'\b(?:by (?:clicking|signing up|subscribing|continuing|registering)'
          r'|when you subscribe)\b.{0,120}\b(?:agree|consent|accept)\b.{0,80}'
          r'\b(?:privacy|terms|policy|notice)\b', 500),
    _rule('consent', r'\byou can unsubscribe at any time\b', 500),
    # Newsletter plugs.
    _rule('newsletter', r'^(?:sign up|subscribe|register|get|join)\b.{0,80}\bnewsletters?\b', 250),
    _rule('newsletter', r'\bnewsletters?\b.{0,80}\b(?:inbox|sign up|subscribe now|delivered)\b', 200),
    _rule('newsletter', r'^(?:sign up|subscribe)(?: now| today| here)?[.!:]?$', 40),
    # "Read more" and "Read full article" prompts.
    _rule('read_more', r'^(?:\W{0,3})(?:read|see|view|click here (?:to read|for)) (?:the )?'
          r'(?:full|whole|original|complete) (?:article|story|report|post)\b', 120),
    _rule('read_more', r'^(?:continue|keep) reading\b', 80),
    _rule('read_more', r'^read more(?: here| at| on| about)?\s*(?:[:.»>…-]|$)', 200),
    # "Source: ..." footers, at the end only.
    _rule('source_footer', r'^source\s*:\s*read full article\s*$', 60),
    _rule('source_footer', r'^source\s*:\s*[^.!?]{1,60}$', 80, 'tail'),
    # Related-story teasers: a headline ending in a bracketed all-caps tag,
    # or a line introduced as related reading.
    Rule('related_teaser', re.compile(r'\[[A-Z][A-Z /&-]{2,20}\]\s*$'), 200),
    _rule('related_teaser', r'^(?:related|related (?:stories|articles|content|coverage)'
          r'|also read|read also|see also|more on this(?: story)?|recommended'
          r'|you (?:may|might) also like|most read)\s*(?:[:|»>-]|$)', 200),
    # Share prompts.
    _rule('share_prompt', r'^(?:share|share this(?: article| story| page)?|share on \w+'
          r'|click to share|tweet(?: this)?|email this|print this(?: article| page)?'
          r'|follow us on \w+(?: and \w+)?|copy link)\s*[.!:]?$', 80),
    _rule('share_prompt', r'^(?:share|follow)(?: this)?(?: article| story)?'
          r'(?:\s*(?:on|via|:)?\s*(?:facebook|twitter|x|whatsapp|linkedin|email|reddit|pinterest)'
          r'\s*[,|/]?)+$', 150),
    # Advertisement markers.
    _rule('advertisement', r'^(?:advertisement|advert|adverti[sz]ing|sponsored(?: content)?'
          r'|paid (?:content|post)|ad|story continues below(?: advertisement)?'
          r'|article continues below(?: advertisement)?|continue reading below)\s*[.:]?$', 60),
    # Photo credits.
    _rule('photo_credit', r'^(?:photo|image|picture|photograph|video|graphic|illustration)s?'
          r'(?: credit)?\s*[:|]\s*.{0,100}$', 140),
    _rule('photo_credit', r'^\(?(?:photo|image|picture)s?\s*(?:by|courtesy of)\s+[^.!?]{1,80}\)?\.?$', 120),
    _rule('photo_credit', r'^[^.!?]{0,100}\((?:photo|image|picture|credit)\s*:[^)]{1,80}\)\s*$', 200),
    _rule('photo_credit', r'^[^.!?]{0,80}(?:/|\|)\s*(?:getty images|afp|reuters|ap photo|'
          r'shutterstock|alamy|pa images|pa wire|epa|bloomberg)(?: via getty images)?\s*$', 160),
    # Copyright lines.
    _rule('copyright', r'^(?:©|\(c\))\s*.{0,120}$', 160),
    _rule('copyright', r'^copyright\b\s*(?:©|\(c\))?[^.!?]{0,100}\b(?:19|20)\d\d\b'
          r'[^.!?]{0,80}\.?$', 200),
    _rule('copyright', r'\ball rights reserved\b', 200),
    # Reporter and contact lines.
    _rule('contact_line', r'^(?:contact|email|e-mail|write to|follow|reach)\b[^.!?]{0,80}'
          r'[\w.+-]+@[\w-]+(?:\.[\w-]+)+\.?$', 160),
    _rule('contact_line', r'^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$', 100),
    _rule('contact_line', r'^\(?(?:additional )?(?:reporting|writing|editing|compiled) by\b'
          r'[^.!?]{1,150}\)?\.?$', 220, 'tail'),
)


class RulesFileError(ValueError):
  """A user rules file is unreadable or holds an invalid rule."""


def _load_yaml(data):
  import yaml  # pylint: disable=import-outside-toplevel
  return yaml.safe_load(data)


def parse_rules(document, where='rules file'):
  """Rules from a parsed rules document: ``{'rules': [{name, pattern, ...}]}``."""
  if not isinstance(document, dict) or not isinstance(document.get('rules'), list):
    raise RulesFileError(f'{where}: expected a list named "rules"')
  rules = []
  for index, item in enumerate(document['rules'], start=1):
    label = f'{where}: rule {index}'
    if not isinstance(item, dict):
      raise RulesFileError(f'{label}: expected a table with name and pattern')
    unknown = set(item) - {'name', 'pattern', 'max_chars', 'position',
                           'case_sensitive'}
    if unknown:
      raise RulesFileError(f'{label}: unknown key(s) {sorted(unknown)}')
    name, pattern = item.get('name'), item.get('pattern')
    if not isinstance(name, str) or not re.fullmatch(r'[a-z][a-z0-9_]{0,40}', name):
      raise RulesFileError(f'{label}: name must be lower_snake_case, got {name!r}')
    if not isinstance(pattern, str) or not pattern:
      raise RulesFileError(f'{label} ({name}): pattern must be a non-empty string')
    max_chars = item.get('max_chars', DEFAULT_MAX_CHARS)
    if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars < 1:
      raise RulesFileError(f'{label} ({name}): max_chars must be a positive integer')
    position = item.get('position', 'any')
    if position not in POSITIONS:
      raise RulesFileError(f'{label} ({name}): position must be one of {POSITIONS}')
    flags = 0 if item.get('case_sensitive', False) else re.IGNORECASE
    try:
      compiled = re.compile(pattern, flags)
    except re.error as error:
      raise RulesFileError(f'{label} ({name}): invalid pattern: {error}') from error
    rules.append(Rule(name, compiled, max_chars, position))
  return tuple(rules)


def load_rules_file(path):
  """User rules from a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file."""
  from apache_beam.io.filesystems import FileSystems  # pylint: disable=import-outside-toplevel
  try:
    with FileSystems.open(path) as f:
      data = f.read()
  except (OSError, IOError) as error:
    raise RulesFileError(f'cannot read rules file {path!r}: {error}') from error
  try:
    if path.lower().endswith('.toml'):
      document = tomllib.loads(data.decode('utf-8'))
    elif path.lower().endswith(('.yaml', '.yml')):
      document = _load_yaml(data.decode('utf-8'))
    else:
      raise RulesFileError(f'rules file {path!r}: use a .toml, .yaml or .yml file')
  except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as error:
    if isinstance(error, RulesFileError):
      raise
    raise RulesFileError(f'rules file {path!r}: {error}') from error
  except Exception as error:  # yaml.YAMLError has no common base with ValueError
    raise RulesFileError(f'rules file {path!r}: {error}') from error
  return parse_rules(document, f'rules file {path!r}')


def _in_position(rule, index, count):
  if rule.position == 'tail':
    return index >= count - TAIL_PARAGRAPHS
  if rule.position == 'head':
    return index < HEAD_PARAGRAPHS
  return True


def match_rule(paragraph, index, count, rules):
  """The name of the first rule that removes this paragraph, or None."""
  for rule in rules:
    if (len(paragraph) <= rule.max_chars and _in_position(rule, index, count)
        and rule.pattern.search(paragraph)):
      return rule.name
  return None


def apply_rules(text, rules=DEFAULT_RULES):
  """Splits text into kept text and ``[(rule, removed paragraph)]``."""
  paragraphs = text.split(PARAGRAPH_SEPARATOR) if text else []
  kept, removed = [], []
  for index, paragraph in enumerate(paragraphs):
    rule = match_rule(paragraph, index, len(paragraphs), rules)
    if rule:
      removed.append((rule, paragraph))
    else:
      kept.append(paragraph)
  return PARAGRAPH_SEPARATOR.join(kept), removed


_FINGERPRINT_NOISE = re.compile(r'[\W_]+')
_DIGITS = re.compile(r'\d')


def paragraph_fingerprint(paragraph):
  """Hash of a paragraph with case, punctuation, spacing and digits folded."""
  folded = _DIGITS.sub('0', _FINGERPRINT_NOISE.sub(' ', paragraph.casefold())).strip()
  if len(folded) < MIN_REPEAT_CHARS:
    return None
  return hashlib.sha1(folded.encode('utf-8')).hexdigest()[:FINGERPRINT_HEX_CHARS]


def article_key(article):
  """What makes two articles different for repeat counting: title, else text."""
  return article.get(A.TITLE) or article[A.CONTENT_HASH]


def source_paragraph_keys(article):
  """``((source, fingerprint), article_key)`` for each distinct paragraph."""
  source = article.get(A.SOURCE) or ''
  key = article_key(article)
  fingerprints = {paragraph_fingerprint(p)
                  for p in article[A.TEXT].split(PARAGRAPH_SEPARATOR)}
  return [((source, f), key) for f in sorted(fingerprints - {None})]


def is_repeated(article_count, source_article_count):
  """Whether a paragraph seen in ``article_count`` articles is the source's boilerplate."""
  return (article_count >= MIN_REPEAT_ARTICLES and
          article_count >= MIN_REPEAT_SHARE * source_article_count)


def with_removed(article, text, removed):
  """The article with new text, its audit trail extended, and derived fields redone."""
  audit = list(article.get(A.BOILERPLATE) or [])
  audit.extend({A.BOILERPLATE_RULE: rule, A.BOILERPLATE_TEXT: piece}
               for rule, piece in removed)
  return dict(article, **{
      A.TEXT: text,
      A.BOILERPLATE: audit,
      A.WORD_COUNT: len(text.split()),
      A.CONTENT_HASH: make_content_hash(text),
  })


class _ApplyRulesFn(beam.DoFn):

  def __init__(self, rules):
    self._rules = rules

  def process(self, article):
    text, removed = apply_rules(article[A.TEXT], self._rules)
    yield with_removed(article, text, removed) if removed else article


class _StripRepeatedFn(beam.DoFn):
  """Removes the source's repeated paragraphs; drops articles left empty."""

  def process(self, article, repeated):
    source = article.get(A.SOURCE) or ''
    kept, removed = [], []
    paragraphs = article[A.TEXT].split(PARAGRAPH_SEPARATOR) if article[A.TEXT] else []
    for paragraph in paragraphs:
      if (source, paragraph_fingerprint(paragraph)) in repeated:
        removed.append((RULE_REPEATED_IN_SOURCE, paragraph))
      else:
        kept.append(paragraph)
    if removed:
      article = with_removed(article, PARAGRAPH_SEPARATOR.join(kept), removed)
    if not article[A.TEXT].strip():
      rules = sorted({item[A.BOILERPLATE_RULE] for item in article[A.BOILERPLATE]})
      yield stage.drop(DROP_EMPTY_AFTER_BOILERPLATE, STAGE,
                       article[A.SOURCE_URI], article.get(A.ARTICLE_ID),
                       title=article.get(A.TITLE), detail=','.join(rules) or None)
      return
    yield article


def _repeated_keys(counts_and_totals):
  """Keys of (source, fingerprint) pairs over the repeat thresholds."""
  (source, fingerprint), article_count, source_total = counts_and_totals
  if is_repeated(article_count, source_total):
    yield (source, fingerprint)


class StripBoilerplate(beam.PTransform):
  """Removes rule-matched and per-source repeated paragraphs from article text."""

  def __init__(self, rules=DEFAULT_RULES, label=None):
    super().__init__(label)
    self._rules = tuple(rules)

  def expand(self, pcoll):
    ruled = pcoll | 'ApplyRules' >> stage.ApplyStage(_ApplyRulesFn(self._rules), STAGE,
                                                      step=f'{STAGE}/rules')
    articles = ruled.records
    keyed = (articles
             | 'ParagraphKeys' >> beam.FlatMap(source_paragraph_keys)
             | 'DistinctArticlesPerParagraph' >> beam.Distinct())
    source_totals = (
        articles
        | 'SourceArticleKeys' >> beam.Map(
            lambda a: (a.get(A.SOURCE) or '', article_key(a)))
        | 'DistinctArticlesPerSource' >> beam.Distinct()
        | 'CountPerSource' >> beam.combiners.Count.PerKey())
    repeated = (
        keyed
        | 'CountPerParagraph' >> beam.combiners.Count.PerKey()
        | 'WithSourceTotal' >> beam.Map(
            lambda kv, totals: (kv[0], kv[1], totals.get(kv[0][0], 0)),
            beam.pvalue.AsDict(source_totals))
        | 'KeepRepeated' >> beam.FlatMap(_repeated_keys))
    stripped = articles | 'StripRepeated' >> stage.ApplyStage(
        _StripRepeatedFn(), STAGE,
        beam.pvalue.AsDict(repeated | 'AsKeys' >> beam.Map(lambda k: (k, True))),
        step=f'{STAGE}/repeated')
    return stage.merge_outcomes((ruled, stripped), 'Outcomes')
