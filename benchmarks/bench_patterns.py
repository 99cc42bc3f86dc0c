"""Worst time of every built-in pattern on adversarial inputs, as a table.

Every compiled pattern held at module level in ``transforms/`` and
``pipeline/`` is found by importing each module (``re`` and ``regex``
patterns, also inside tuples, lists, dicts and the ``Rule`` objects of
``DEFAULT_RULES``), so a pattern added later is measured without being
listed here. Each is searched in every adversarial text: 10,000-character
runs of one character, of a separator, of a word; menus with one over-long
item; nested brackets; digit and space runs; and near misses built from the
pattern's own words and punctuation (many repetitions, then a failing
character). The searches run in a child process watched by this one, so a
pattern that backtracks without end is reported (after HANG_SECONDS), not
waited for. ``tests/test_pattern_safety.py`` uses the same search and fails
above MAX_MATCH_SECONDS.

  python -m benchmarks.bench_patterns [--top 40]
"""

import argparse
import importlib
import multiprocessing
import pkgutil
import re
import string
import time

import regex

PACKAGES = ('transforms', 'pipeline')
LONG_CHARS = 10_000  # length of the long adversarial texts, in characters
MAX_MATCH_SECONDS = 0.5  # a match slower than this is a failure (normal: well under 10 ms)
HANG_SECONDS = 5.0  # a match still running after this long is stopped and reported as a hang
MAX_PATTERN_WORDS = 8  # near misses are built from at most this many words of a pattern
MAX_PATTERN_SYMBOLS = 12  # ... and this many of its punctuation characters
MAX_CONTAINER_DEPTH = 3  # nesting of tuples / dicts / rules searched for patterns

PATTERN_TYPES = (re.Pattern, type(regex.compile('')))
_PATTERN_WORD = re.compile(r'(?<![\\(?])[A-Za-z]{3,}')
_MENU_ITEMS = ('Home', 'Celebs', 'Gossip', 'Hip-Hop', 'R&B', 'Pop', 'Rock', 'Charts',
               'Neo-Soul', 'Reggaeton', 'Underground', 'Reggae', 'Electronic', 'Country',
               'Elements')
_LONG_ITEM = ('Community Mailing List Pop Interviews Mashups & Remixes Music Videos News '
              'Performances Release Dates Video Interviews')
# The menu line of issue 27 that held a run (260 characters).
ISSUE_MENU = ' | '.join(_MENU_ITEMS) + ' | ' + _LONG_ITEM


def _fill(unit, tail=''):
  """``unit`` repeated to about LONG_CHARS characters, then ``tail``."""
  return unit * max(1, LONG_CHARS // max(len(unit), 1)) + tail


def generic_inputs():
  """``(name, text)`` adversarial texts that do not depend on a pattern."""
  texts = [('issue27_menu', ISSUE_MENU)]
  for sep in '|•·»>/-–':
    texts.append((f'menu[{sep}]', f' {sep} '.join(_MENU_ITEMS * 3) + f' {sep} ' + _LONG_ITEM))
    texts.append((f'long_menu[{sep}]', _fill(f'Home {sep} News {sep} ', _LONG_ITEM + '.')))
    texts.append((f'long_item_menu[{sep}]', _fill(f'{_LONG_ITEM} {sep} ', '!')))
    texts.append((f'separators[{sep}]', _fill(sep)))
    texts.append((f'spaced_separators[{sep}]', _fill(f'{sep} ', 'x')))
  for char in 'a= *.!?-_#~^+/\\:,;@&%"\'<0 \t\n中é\u0301':
    texts.append((f'run[{char!r}]', _fill(char, '\x00')))
  texts += [
      ('words', _fill('word ', '!')), ('Words', _fill('Word ', '?')),
      ('caps', _fill('WORD ', '.')), ('letters', _fill('a ', '!')),
      ('lines', _fill('Home | News\n')), ('short_lines', _fill('a\n', '!')),
      ('paragraphs', _fill('Home | News\n\n')),
      ('digits_spaces', _fill('1 ', 'x')), ('digits', _fill('1', 'a')),
      ('digit_groups', _fill('12.34.', 'x')), ('times', _fill('12:30 ', 'x')),
      ('dates', _fill('2024-05-03 ', 'x')), ('dashed_digits', _fill('2024-', 'x')),
      ('phone', _fill('+1 (0) ', 'x')),
      ('nested_round', '(' * (LONG_CHARS // 2) + ')' * (LONG_CHARS // 2 - 1)),
      ('nested_square', '[' * (LONG_CHARS // 2) + ']' * (LONG_CHARS // 2 - 1)),
      ('nested_mixed', _fill('([{<', '>')), ('open_round', _fill('(a ', ')')),
      ('dots', _fill('a.', '\x00')), ('www', _fill('www.', '\x00')),
      ('url_path', 'https://' + _fill('a/', '\x00')), ('at_signs', _fill('a@', '\x00')),
      ('handles', _fill('@a ', '\x00')), ('hyphens', _fill('a-', '\x00')),
      ('apostrophes', _fill("a'", "'")), ('tags', _fill('<a ', '\x00')),
      ('entities', _fill('&#', '\x00')), ('query', '?' + _fill('a=b&', '\x00')),
      ('percent', _fill('%2', '\x00')), ('stars_words', _fill('*a', 'b')),
      ('quoted', _fill('"a" ', '"')), ('emails', _fill('a.b@c', '\x00')),
      ('mixed_case', _fill('Aa', '\x00')), ('sentence', _fill('The council met. ', '\x00')),
  ]
  return texts


def pattern_inputs(pattern):
  """``(name, text)`` near misses of one pattern: its words and symbols, repeated, then failing."""
  source = pattern.pattern if isinstance(pattern.pattern, str) else ''
  words = list(dict.fromkeys(w.lower() for w in _PATTERN_WORD.findall(source)))
  symbols = list(dict.fromkeys(c for c in source if c in string.punctuation or ord(c) > 127))
  texts = []
  for word in words[:MAX_PATTERN_WORDS]:
    texts.append((f'words[{word}]', _fill(word + ' ', '\x00')))
    texts.append((f'glued[{word}]', _fill(word, '\x00')))
  for symbol in symbols[:MAX_PATTERN_SYMBOLS]:
    texts.append((f'symbol[{symbol}]', _fill(symbol + 'a ', '\x00')))
  return texts


def _patterns_in(value, label, depth):
  """``(label, pattern)`` for the patterns in a value and its containers."""
  if isinstance(value, PATTERN_TYPES):
    yield label, value
  elif depth <= 0:
    return
  elif isinstance(getattr(value, 'pattern', None), PATTERN_TYPES):
    name = getattr(value, 'name', '')
    yield f'{label} {name}'.strip(), value.pattern
  elif isinstance(value, (tuple, list)):
    for index, item in enumerate(value):
      yield from _patterns_in(item, f'{label}[{index}]', depth - 1)
  elif isinstance(value, (set, frozenset)):
    for index, item in enumerate(sorted(value, key=repr)):
      yield from _patterns_in(item, f'{label}{{{index}}}', depth - 1)
  elif isinstance(value, dict):
    for key, item in value.items():
      yield from _patterns_in(item, f'{label}[{key!r}]', depth - 1)


def iter_modules(packages=PACKAGES):
  """Every module of the packages, imported."""
  for name in packages:
    package = importlib.import_module(name)
    yield package
    for info in pkgutil.walk_packages(package.__path__, name + '.'):
      yield importlib.import_module(info.name)


def discover_patterns(packages=PACKAGES):
  """``[(label, pattern)]``: each compiled module-level pattern once, under the module defining it."""
  found, seen = [], set()
  for module in iter_modules(packages):
    for attr, value in sorted(vars(module).items()):
      if isinstance(value, type(module)):
        continue
      for label, pattern in _patterns_in(value, f'{module.__name__}.{attr}', MAX_CONTAINER_DEPTH):
        if id(pattern) not in seen:
          seen.add(id(pattern))
          found.append((label, pattern))
  return found


def _search_all(conn, patterns, texts, start):
  """Child process: search each pattern from ``start`` in each text; send each time."""
  for index in range(start, len(patterns)):
    pattern = patterns[index][1]
    for name, text in texts + pattern_inputs(pattern):
      if not isinstance(pattern.pattern, str):
        text = text.encode('utf-8')
      began = time.perf_counter()
      pattern.search(text)
      conn.send((index, name, time.perf_counter() - began))
    conn.send((index, None, 0.0))
  conn.close()


def worst_times(patterns, hang_seconds=HANG_SECONDS):
  """``[(label, worst seconds, input name, hung)]`` per pattern, in the given order.

  A match that runs past ``hang_seconds`` is stopped (its child process is
  killed), recorded as hung with that time, and the next pattern goes on in a
  new child.
  """
  texts = generic_inputs()
  worst = [(0.0, '') for _ in patterns]
  hung = [False] * len(patterns)
  context = multiprocessing.get_context('fork')
  start = 0
  while start < len(patterns):
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_search_all, args=(sender, patterns, texts, start), daemon=True)
    child.start()
    sender.close()
    current, done = start, 0
    while True:
      if not receiver.poll(hang_seconds):
        names = [n for n, _ in texts + pattern_inputs(patterns[current][1])]
        hung[current] = True
        worst[current] = (hang_seconds, names[done] if done < len(names) else '?')
        child.kill()
        child.join()
        start = current + 1
        break
      try:
        index, name, seconds = receiver.recv()
      except EOFError:
        start = len(patterns)
        break
      current = index
      if name is None:
        current, done = index + 1, 0
        continue
      done += 1
      if seconds > worst[index][0]:
        worst[index] = (seconds, name)
    receiver.close()
    if child.is_alive():
      child.join()
  return [(label, seconds, name, is_hung)
          for (label, _), (seconds, name), is_hung in zip(patterns, worst, hung)]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--top', type=int, default=40, help='rows of the slowest patterns shown')
  args = parser.parse_args(argv)
  patterns = discover_patterns()
  texts = generic_inputs()
  began = time.perf_counter()
  results = worst_times(patterns)
  elapsed = time.perf_counter() - began
  print(f'{len(patterns)} patterns, {len(texts)} generic adversarial texts '
        f'(+ near misses per pattern), {elapsed:.1f} s in all')
  print(f'\n{"worst ms":>10}  {"input":<28} pattern')
  for label, seconds, name, is_hung in sorted(results, key=lambda r: -r[1])[:args.top]:
    shown = f'>{seconds * 1000:.0f}' if is_hung else f'{seconds * 1000:.2f}'
    print(f'{shown:>10}  {name[:28]:<28} {label}')
  rules = {}
  for label, seconds, _, _ in results:
    if '.DEFAULT_RULES[' in label:
      rule = label.rsplit(' ', 1)[-1]
      rules[rule] = max(rules.get(rule, 0.0), seconds)
  print(f'\nbuilt-in boilerplate rules, worst per rule group\n{"worst ms":>10}  rule')
  for rule, seconds in sorted(rules.items(), key=lambda r: -r[1]):
    print(f'{seconds * 1000:>10.2f}  {rule}')
  slow = [r for r in results if r[1] > MAX_MATCH_SECONDS]
  print(f'\npatterns over {MAX_MATCH_SECONDS} s: {len(slow)}')
  return 1 if slow else 0


if __name__ == '__main__':
  raise SystemExit(main())
