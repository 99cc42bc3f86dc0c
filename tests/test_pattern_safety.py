"""No built-in pattern can hold a run: every one is searched in adversarial texts under a guard.

The patterns are found by importing every module of ``transforms/`` and
``pipeline/`` (benchmarks/bench_patterns.py), so a pattern added later is
covered without being listed. Each search runs in a child process that the
test watches: a pattern that backtracks without end is stopped and reported,
never waited for. The bound is a hang guard far above a normal match (a few
milliseconds on a 10,000-character text), as issue 27 asks; speed itself is
measured by ``python -m benchmarks.bench_patterns``.
"""

import multiprocessing
import re

import pytest

from benchmarks import bench_patterns as bp
from transforms.clean.rules import DEFAULT_RULES
from transforms.clean.rules import apply_rules

# The navigation rule as it was before issue 27: exponential on ISSUE_MENU.
OLD_NAVIGATION = re.compile(r'^(?:[^|•·»>.!?]{1,40}\s*[|•·»>]\s*){3,}[^|•·»>.!?]{1,40}$')
GUARD_SECONDS = 1.0  # the old rule is stopped after this long in the self-check below


def _guarded(fn, *args):
  """``fn(*args)`` in a child process, so that a pattern that regressed fails instead of hanging."""
  with multiprocessing.get_context('fork').Pool(1) as pool:
    return pool.apply_async(fn, args).get(timeout=bp.HANG_SECONDS)


@pytest.fixture(scope='module')
def patterns():
  return bp.discover_patterns()


def test_discovery_finds_module_patterns_rules_and_containers(patterns):
  labels = [label for label, _ in patterns]
  assert len(patterns) > 100
  navigation = [p for _, p in patterns if p is _rule('navigation').pattern]
  assert len(navigation) == 1  # inside the Rule objects of DEFAULT_RULES, found once
  assert any(label.endswith(' navigation') for label in labels)
  assert any('[' in label and 'DEFAULT_RULES' not in label for label in labels)  # in a tuple
  assert any(label.startswith('pipeline.') for label in labels)
  assert all(isinstance(p, bp.PATTERN_TYPES) for _, p in patterns)


def test_every_built_in_pattern_finishes_quickly_on_adversarial_texts(patterns):
  results = bp.worst_times(patterns)
  slow = [f'{label}: {seconds:.2f} s on {name}{" (stopped: hangs)" if hung else ""}'
          for label, seconds, name, hung in results if hung or seconds > bp.MAX_MATCH_SECONDS]
  assert not slow, 'patterns that backtrack on adversarial input:\n' + '\n'.join(slow)


def test_the_guard_catches_the_old_navigation_rule():
  results = bp.worst_times([('old navigation', OLD_NAVIGATION)], hang_seconds=GUARD_SECONDS)
  [(label, seconds, _, hung)] = results
  assert hung and seconds == GUARD_SECONDS and label == 'old navigation'


def test_adversarial_texts_include_the_issue_menu_and_long_runs():
  texts = dict(bp.generic_inputs())
  assert texts['issue27_menu'] == bp.ISSUE_MENU and len(bp.ISSUE_MENU) == 260
  assert len(texts["run['=']"]) > bp.LONG_CHARS - 2
  near = dict(bp.pattern_inputs(_rule('navigation').pattern))
  assert any(name.startswith('symbol[') for name in near)


def _rule(name):
  return next(r for r in DEFAULT_RULES if r.name == name)


def test_navigation_rule_fails_fast_on_a_menu_with_one_long_item():
  assert _guarded(_rule('navigation').search, bp.ISSUE_MENU) is False


@pytest.mark.parametrize('menu', [
    'Home | News | Sport | Weather',
    'Home • World • Business • Tech • Science',
    'News » Politics » Europe » Germany',
    '  Home |  News | Sport |   Weather  ',
    'Home | | News | Sport',  # an empty-looking item (spaces only) still counts
    'Startseite > Politik > Ausland > Europa',
])
def test_navigation_rule_still_removes_menus(menu):
  assert _rule('navigation').search(menu)
  assert OLD_NAVIGATION.search(menu)  # the same decision as before


@pytest.mark.parametrize('line', [
    'Home | News | Sport',  # three items are not enough
    'Home || News | Sport | Weather',  # an empty item
    'He said: "Stop." | She left | They ran | We stayed',  # a sentence
    'Home | News | Sport | ' + 'x' * 41,  # one item over 40 characters
])
def test_navigation_rule_keeps_what_it_kept(line):
  assert not _rule('navigation').search(line)
  assert not OLD_NAVIGATION.search(line)


def test_a_page_of_menus_is_cleaned_and_its_article_kept():
  page = '\n\n'.join([
      'Home | News | Sport | Weather | Culture',
      bp.ISSUE_MENU,
      'The council met on Tuesday and agreed the budget for next year, officials said.',
      'Privacy • Terms • Cookies • Contact • Advertise',
  ])
  kept, removed = _guarded(apply_rules, page)
  assert [rule for rule, _ in removed] == ['navigation', 'navigation']
  assert kept == '\n\n'.join([bp.ISSUE_MENU, page.split('\n\n')[2]])
