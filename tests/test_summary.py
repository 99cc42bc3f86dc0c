"""The end-of-run summary names what each warning was about and counts entries seen again."""

import datetime

from pipeline.summary import format_summary
from pipeline.summary import stage_rows
from schemas import run as M

UTC = datetime.timezone.utc
STARTED = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def manifest(**fields):
  return M.make_manifest('r1', M.STATUS_SUCCEEDED, STARTED,
                         STARTED + datetime.timedelta(seconds=3), [], 'out', **fields)


def test_warnings_name_their_inputs():
  m = manifest(**{M.INPUTS_READ: 3, M.ARTICLES_WRITTEN: 3,
                  M.WARNINGS_BY_KIND: {'malformed_feed': 1, 'date_unparseable': 2},
                  M.WARNING_INPUTS: {
                      'malformed_feed': ['https://feeds.example.org/rss.xml (SAXParseException: '
                                         'mismatched tag)'],
                      'date_unparseable': ['in/a.jsonl#L2 https://example.org/a',
                                           'in/a.jsonl#L4 https://example.org/b']}})
  lines = format_summary(m, 'out').splitlines()
  at = lines.index('  warnings         date_unparseable 2, malformed_feed 1')
  assert lines[at + 1:at + 4] == [
      '      date_unparseable: in/a.jsonl#L2 https://example.org/a',
      '      date_unparseable: in/a.jsonl#L4 https://example.org/b',
      '      malformed_feed: https://feeds.example.org/rss.xml (SAXParseException: '
      'mismatched tag)']


def test_entries_seen_again_are_counted_by_feed_and_in_the_accounting():
  m = manifest(**{M.INPUTS_READ: 54, M.ARTICLES_WRITTEN: 1, M.SEEN_AGAIN: 53,
                  M.SEEN_AGAIN_BY_FEED: {'https://feeds.example.org/rss.xml': 53},
                  M.STAGE_COUNTS: {'dedup/cross_run.in': 2, 'dedup/cross_run.out': 1,
                                   'dedup/cross_run.seen_again': 1}})
  assert m[M.ACCOUNTING_BALANCED]
  assert not manifest(**{M.INPUTS_READ: 54, M.ARTICLES_WRITTEN: 1})[M.ACCOUNTING_BALANCED]
  summary = format_summary(m, 'out')
  assert ('  seen again             53   feed entries an earlier run wrote, by feed: '
          'https://feeds.example.org/rss.xml 53') in summary
  assert 'read = written + dropped + dead-lettered + seen again: balanced' in summary
  assert stage_rows(m[M.STAGE_COUNTS]) == [('dedup/cross_run', 2, 1, 0, 0, 1)]
  assert 'seen again' in summary.splitlines()[-2]  # the stage table's extra column


def test_a_run_without_warnings_or_entries_seen_again_prints_neither():
  summary = format_summary(manifest(**{M.INPUTS_READ: 1, M.ARTICLES_WRITTEN: 1}), 'out')
  assert 'warnings' not in summary and 'seen again' not in summary
  assert 'read = written + dropped + dead-lettered: balanced' in summary
