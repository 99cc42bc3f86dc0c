"""Cleaning end to end: link-only entries, templated articles, --cleaner, drops that say what."""

import json

import duckdb
import pytest

from tests.conftest import SAMPLES
from tests.conftest import articles_table
from tests.conftest import run_newsbeam
from transforms.clean.rules import apply_rules

AGGREGATOR_FEED = '''<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Link Aggregator</title>
<item><title>Show: a tiny database</title><link>https://example.org/db</link>
  <description>Comments</description><guid>1</guid></item>
<item><title>Ask: what do you read?</title><link>https://example.org/ask</link>
  <description>Comments</description><guid>2</guid></item>
<item><title>Launch day</title><link>https://example.org/launch</link>
  <description><![CDATA[Article URL: https://example.org/launch
Comments URL: https://news.example.org/item?id=3 Points: 12 # Comments: 3]]></description>
  <guid>3</guid></item>
<item><title>A real story</title><link>https://example.org/story</link>
  <description>The council voted on Tuesday to rebuild the old bridge over the river, after
  two years of delays and a long public consultation.</description><guid>4</guid></item>
</channel></rss>
'''


def test_link_only_feed_entries_are_written_with_their_title_and_link(tmp_path):
  inputs = tmp_path / 'in'
  inputs.mkdir()
  (inputs / 'aggregator.xml').write_text(AGGREGATOR_FEED, encoding='utf-8')
  result = run_newsbeam('--input', inputs, '--output', tmp_path / 'out', '--ner-model', 'en=')
  rows = {r['title']: r for r in articles_table(tmp_path / 'out')}
  assert result.manifest['articles_written'] == 4
  for title in ('Show: a tiny database', 'Ask: what do you read?', 'Launch day'):
    assert rows[title]['text'] == '' and rows[title]['text_origin'] == 'link_only'
    assert rows[title]['url'].startswith('https://example.org/')
    assert rows[title]['lang'] == 'und'
  assert rows['A real story']['text_origin'] == 'feed'
  assert rows['A real story']['text'].startswith('The council voted')


def _templated_reports(folder):
  folder.mkdir()
  lines = []
  for n in range(5):
    text = (f'The index closed at {4100 + n * 37} points on day {n + 1}, a change of '
            f'{n * 0.3:.1f} percent.\n\nTrading volume reached {n + 2} billion shares, '
            f'with {200 + n} gainers and {150 - n} decliners.')
    lines.append(json.dumps({'url': f'https://markets.example.org/close/{n}',
                             'title': f'Market close, day {n + 1}', 'text': text,
                             'source': 'Markets Desk'}))
  (folder / 'reports.jsonl').write_text('\n'.join(lines) + '\n', encoding='utf-8')


def test_templated_articles_are_all_written_with_their_bodies(tmp_path):
  _templated_reports(tmp_path / 'in')
  result = run_newsbeam('--input', tmp_path / 'in', '--output', tmp_path / 'out',
                        '--ner-model', 'en=')
  assert result.manifest['articles_written'] == 5 and result.manifest['dropped'] == 0
  for row in articles_table(tmp_path / 'out'):
    assert row['text'].startswith('The index closed at ')
    assert 'Trading volume reached' in row['text']
    assert row['boilerplate'] == []


def test_cleaner_flag_chooses_the_layers(tmp_path):
  page = tmp_path / 'in'
  page.mkdir()
  (page / 'page.txt').write_text('\n'.join([
      'Bridge to be rebuilt', 'Skip to content', 'Home', 'News', 'Sport', 'Weather',
      'Home | News | Sport | Weather | Contact',
      'The council voted on Tuesday to rebuild the old bridge over the river, after two '
      'years of delays and a long public consultation that drew hundreds of comments.',
      'Work starts in spring and should take eighteen months, the council said, with the '
      'old bridge closed to traffic from March and a temporary footbridge for walkers.',
      'Residents welcomed the decision but some shop owners on the east bank worried about '
      'losing trade while the bridge is closed, and asked the council for help.',
      'Sign up for our newsletter', 'About us', 'Privacy policy', 'Terms of use']) + '\n',
      encoding='utf-8')
  rules = {}
  for cleaner in ('model', 'rules', 'off'):
    run_newsbeam('--input', page, '--output', tmp_path / cleaner, '--cleaner', cleaner,
                 '--ner-model', 'en=')
    row, = articles_table(tmp_path / cleaner)
    rules[cleaner] = sorted({b['rule'] for b in row['boilerplate']})
    assert row['text'].count('the bridge') + row['text'].count('old bridge') >= 2
  assert rules == {'model': ['classifier', 'navigation', 'newsletter'],
                   'rules': ['navigation', 'newsletter'], 'off': []}


def test_drops_say_which_title_was_dropped(tmp_path):
  inputs = tmp_path / 'in'
  inputs.mkdir()
  for name in ('a.txt', 'b.txt'):
    (inputs / name).write_bytes((SAMPLES / '000_fb94ac4cff3d6708.txt').read_bytes())
  run_newsbeam('--input', inputs, '--output', tmp_path / 'out', '--ner-model', 'en=')
  drops = duckdb.sql(f"SELECT reason, title FROM read_parquet('{tmp_path}/out/drops/**/*.parquet')"
                     ).fetchall()
  assert drops == [('duplicate_id', 'As fears of a Ukrainian invasion grow, Russia and '
                    'Belarus will hold joint military exercises.')]


OPENING = ('The council voted on Tuesday to rebuild the old bridge over the river after years '
           'of delay.')


@pytest.mark.parametrize('paragraph', [
    'Sie wollen keine Nachricht aus Ihrer Stadt verpassen? Melden Sie sich hier für unseren '
    'kostenlosen Newsletter an.',
    'Sie wollen keine Nachricht aus Ihrer Stadt verpassen? Melden Sie sich ...',
    'Wollen Sie nichts mehr verpassen? Dann abonnieren Sie unseren Newsletter.',
    'Verpassen Sie keine Nachrichten mehr: Melden Sie sich jetzt an.',
    'Vous ne voulez rien manquer ? Inscrivez-vous à notre newsletter.',
    'Ne manquez aucune actualité : abonnez-vous à notre newsletter.',
    '¿No quieres perderte nada? Suscríbete a nuestro boletín.',
    'No te pierdas ninguna noticia: suscríbete a nuestra newsletter.',
    "Don't want to miss a thing? Sign up for our daily email.",
    'Never miss a story: subscribe to our newsletter.',
])
def test_dont_miss_sign_up_asks_are_removed_as_newsletter(paragraph):
  assert apply_rules(f'{OPENING}\n\n{paragraph}') == (OPENING, [('newsletter', paragraph)])


@pytest.mark.parametrize('paragraph', [
    'Sie wollen keine Steuern zahlen, sagte der Minister, und das Land müsse sparen.',
    'Verpassen Sie keine Gelegenheit, sagte der Trainer seinen Spielern vor dem Spiel.',
    'Ne manquez pas le match ce soir, a dit le maire.',
    'No te pierdas nada de la final, dijo el entrenador a los periodistas.',
    "Don't want to miss the final? Tickets go on sale at noon, the club said.",
])
def test_prose_about_missing_things_is_kept(paragraph):
  text = f'{OPENING}\n\n{paragraph}'
  assert apply_rules(text) == (text, [])
