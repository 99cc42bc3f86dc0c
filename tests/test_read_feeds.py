import datetime

from schemas import article as A
from schemas import raw as R
from tests.conftest import DATA
from tests.conftest import shared_eval
from transforms.extract.normalize import normalize_text
from transforms.read.feeds import entries_to_raw_records
from transforms.read.feeds import parse_feed

UTC = datetime.timezone.utc


def test_rss_entries_become_raw_records():
  parsed = parse_feed((DATA / 'feed.rss').read_bytes())
  assert parsed.warning is None
  first, second = entries_to_raw_records(parsed, 'feed.rss')
  assert first[A.TITLE] == 'Talks in Geneva end without a deal'
  assert first[A.URL] == 'https://news.example.org/2022/01/geneva?utm_source=rss#top'
  assert first[A.EXTERNAL_ID] == 'urn:example:1'
  assert first[R.PUBLISHED] == datetime.datetime(2022, 1, 18, 9, 30, tzinfo=UTC)
  assert first[A.AUTHORS] == ['Jane Roe']
  assert first[R.FEED_TITLE] == 'Example News'
  assert normalize_text(first[A.TEXT]) == (
      'Russian and US diplomats met in Geneva on Monday.\n\n'
      'No agreement was reached & talks will continue.\n\nA second line.')
  assert normalize_text(second[A.TEXT]) == 'Bold summary text of the second item.'
  assert second[R.PUBLISHED] is None


def test_atom_entries_become_raw_records():
  parsed = parse_feed((DATA / 'feed.atom').read_bytes())
  (entry,) = entries_to_raw_records(parsed, 'feed.atom')
  assert entry[R.PUBLISHED] == datetime.datetime(2022, 2, 1, 8, 0, tzinfo=UTC)
  assert entry[A.AUTHORS] == ['Ann Author']
  assert normalize_text(entry[A.TEXT]) == 'First paragraph.\n\nSecond paragraph.'


def test_not_a_feed_has_no_entries_and_a_reason():
  parsed = parse_feed(b'<html><body>not a feed</body></html>')
  assert parsed.entries == []
  assert 'no entries' in parsed.describe_failure()


def test_entity_expansion_does_not_explode():
  laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b''.join(b'<!ENTITY lol%d "%s">' % (i, (b'&lol%d;' % (i - 1) if i > 1 else b'&lol;') * 10)
                       for i in range(1, 10))
            + b']><rss version="2.0"><channel><title>&lol9;</title><item><title>x</title>'
            b'<description>y</description></item></channel></rss>')
  parsed = parse_feed(laughs)
  assert len(str(parsed.feed_title or '')) < 10000


def test_external_entities_are_not_read():
  xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
         b'<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title>'
         b'<description>d</description></item></channel></rss>')
  parsed = parse_feed(xxe)
  for record in entries_to_raw_records(parsed, 'x.rss'):
    assert 'root:' not in (record[A.TITLE] or '') + record[A.TEXT]


def test_every_feedparser_test_feed_parses_without_crashing():
  root = shared_eval('feeds', 'feedparser-tests')
  files = sorted(p for p in root.rglob('*.xml'))
  assert len(files) > 300
  with_entries = 0
  for path in files:
    parsed = parse_feed(path.read_bytes())
    records = entries_to_raw_records(parsed, str(path))
    assert len(records) == len(parsed.entries)
    with_entries += bool(records)
    if not records:
      assert parsed.describe_failure()
  assert with_entries > 100
