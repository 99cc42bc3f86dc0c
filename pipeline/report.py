"""``newsbeam report OUTPUT --out report.html``: one self-contained HTML file.

Charts are inline SVG written here (no script, no font or library from the
network), so the file opens anywhere, offline, and can be mailed as it is.
"""

import argparse
import datetime
import html
import sys

from pipeline.query import connect
from pipeline.query import with_retries
from pipeline.runs import not_an_output

__all__ = ['build_report', 'report_main', 'bar_chart', 'stacked_columns']

TOP = 15  # bars in a top-N chart
LAST_RUNS = 10
BAR_HEIGHT = 22  # px
CHART_WIDTH = 760  # px
LABEL_WIDTH = 230  # px
COLUMN_CHART_HEIGHT = 260  # px
PALETTE = ('#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948',
           '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac')

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:820px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.note{color:#666;font-size:13px}table{border-collapse:collapse;font-size:12px;width:100%}
td,th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left}td.n{text-align:right}
svg text{font-size:12px;fill:#222}.empty{color:#888;font-style:italic}
"""


def _esc(value):
  return html.escape(str(value), quote=True)


def bar_chart(chart_id, pairs, color=PALETTE[0]):
  """Horizontal bars for ``[(label, value)]``, largest first."""
  if not pairs:
    return f'<p class="empty" id="{chart_id}">nothing to show</p>'
  top = max(v for _, v in pairs) or 1
  height = BAR_HEIGHT * len(pairs) + 10
  span = CHART_WIDTH - LABEL_WIDTH - 60
  parts = [f'<svg id="{_esc(chart_id)}" class="chart" width="{CHART_WIDTH}" '
           f'height="{height}" role="img">']
  for i, (label, value) in enumerate(pairs):
    y = 5 + i * BAR_HEIGHT
    width = max(1, round(span * value / top))
    shown = str(label) if len(str(label)) <= 34 else str(label)[:33] + '…'
    parts.append(
        f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{_esc(shown)}</text>'
        f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 2}" width="{width}" '
        f'height="{BAR_HEIGHT - 6}" fill="{color}"><title>{_esc(label)}: {value}</title></rect>'
        f'<text x="{LABEL_WIDTH + width + 5}" y="{y + 15}">{value:,}</text>')
  parts.append('</svg>')
  return ''.join(parts)


def stacked_columns(chart_id, rows):
  """Columns per date stacked by series, for ``[(date, series, value)]``."""
  if not rows:
    return f'<p class="empty" id="{chart_id}">nothing to show</p>'
  dates = sorted({d for d, _, _ in rows})
  totals = {}
  for d, _, v in rows:
    totals[d] = totals.get(d, 0) + v
  series_totals = {}
  for _, s, v in rows:
    series_totals[s] = series_totals.get(s, 0) + v
  series = sorted(series_totals, key=lambda s: (-series_totals[s], s))
  colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
  values = {(d, s): v for d, s, v in rows}
  top = max(totals.values()) or 1
  plot_h = COLUMN_CHART_HEIGHT - 60
  step = (CHART_WIDTH - 60) / len(dates)
  width = max(1.0, step * 0.8)
  parts = [f'<svg id="{_esc(chart_id)}" class="chart" width="{CHART_WIDTH}" '
           f'height="{COLUMN_CHART_HEIGHT}" role="img">',
           f'<text x="0" y="14">max {top:,} per day</text>']
  for i, d in enumerate(dates):
    x = 50 + i * step
    y = 20 + plot_h
    for s in series:
      v = values.get((d, s), 0)
      if not v:
        continue
      h = plot_h * v / top
      y -= h
      parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                   f'height="{h:.1f}" fill="{colors[s]}"><title>{_esc(d)} {_esc(s)}: {v}'
                   '</title></rect>')
  for i in sorted({0, len(dates) - 1, len(dates) // 2}):
    parts.append(f'<text x="{50 + i * step:.1f}" y="{COLUMN_CHART_HEIGHT - 22}">{_esc(dates[i])}</text>')
  x = 50
  for s in series[:len(PALETTE)]:
    parts.append(f'<rect x="{x}" y="{COLUMN_CHART_HEIGHT - 12}" width="10" height="10" '
                 f'fill="{colors[s]}"/><text x="{x + 14}" y="{COLUMN_CHART_HEIGHT - 3}">{_esc(s)}</text>')
    x += 24 + 8 * len(str(s))
  parts.append('</svg>')
  return ''.join(parts)


def _top_entities(con, labels):
  placeholders = ', '.join(f"'{label}'" for label in labels)
  return con.sql(
      f'SELECT any_value(canonical), sum(mention_count)::BIGINT AS n FROM entities '
      f'WHERE label IN ({placeholders}) GROUP BY canonical_key '
      f'ORDER BY n DESC, 1 LIMIT {TOP}').fetchall()


def _runs_table(runs):
  head = ('<tr><th>run</th><th>status</th><th>started (UTC)</th><th>read</th>'
          '<th>written</th><th>dropped</th><th>dead</th><th>balanced</th></tr>')
  rows = ''.join(
      f'<tr><td>{_esc(r[0])}</td><td>{_esc(r[1])}</td><td>{_esc(r[2])}</td>'
      f'<td class="n">{r[3]:,}</td><td class="n">{r[4]:,}</td><td class="n">{r[5]:,}</td>'
      f'<td class="n">{r[6]:,}</td><td>{"yes" if r[7] else "NO"}</td></tr>' for r in runs)
  return f'<table id="runs">{head}{rows}</table>' if runs else '<p class="empty">no runs</p>'


def build_report(output):
  """The report of a dataset folder, as one HTML string."""
  return with_retries(lambda: _build_report(output))


def _build_report(output):
  con = connect(output)
  totals = con.sql('SELECT count(*), min(date), max(date), count(DISTINCT source) '
                   'FROM articles').fetchall()[0]
  per_day = con.sql('SELECT date::VARCHAR, lang, count(*) FROM articles '
                    'GROUP BY ALL ORDER BY 1, 2').fetchall()
  sources = con.sql(f'SELECT coalesce(source, \'(none)\'), count(*) AS n FROM articles '
                    f'GROUP BY 1 ORDER BY n DESC, 1 LIMIT {TOP}').fetchall()
  dead = con.sql('SELECT stage, count(*) AS n FROM dead_letters GROUP BY 1 '
                 'ORDER BY n DESC, 1').fetchall()
  runs = con.sql(
      'SELECT run_id, status, strftime(started_at, \'%Y-%m-%d %H:%M\'), inputs_read, '
      'articles_written, dropped, dead_lettered, accounting_balanced FROM runs '
      f'ORDER BY started_at DESC LIMIT {LAST_RUNS}').fetchall()
  sections = [
      ('Articles per day, by language', 'articles-per-day', stacked_columns('articles-per-day', per_day)),
      ('Top sources', 'top-sources', bar_chart('top-sources', sources)),
      ('Top people', 'top-people', bar_chart('top-people', _top_entities(con, ['PERSON']), PALETTE[1])),
      ('Top organisations', 'top-organisations',
       bar_chart('top-organisations', _top_entities(con, ['ORG']), PALETTE[2])),
      ('Top places', 'top-places', bar_chart('top-places', _top_entities(con, ['GPE', 'LOC']), PALETTE[4])),
      ('Dead letters by stage', 'dead-letters', bar_chart('dead-letters', dead, PALETTE[3])),
      (f'Last {LAST_RUNS} runs', 'last-runs', _runs_table(runs)),
  ]
  generated = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
  body = ''.join(f'<h2>{_esc(title)}</h2>{content}' for title, _, content in sections)
  period = f'{totals[1]} to {totals[2]}' if totals[1] else 'no articles yet'
  return (
      '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
      f'<title>newsbeam report: {_esc(output)}</title><style>{_STYLE}</style></head><body>'
      f'<h1>newsbeam report</h1><p class="note">{_esc(output)} · {totals[0]:,} articles from '
      f'{totals[3]:,} sources, {_esc(period)} · generated {generated}</p>{body}</body></html>')


def report_main(argv):
  parser = argparse.ArgumentParser(
      prog='newsbeam report',
      description='Writes one self-contained HTML report of a newsbeam dataset: '
      'articles per day by language, top sources, people, organisations and '
      'places, dead letters by stage, and the last runs.')
  parser.add_argument('output', help='the dataset folder (a local path)')
  parser.add_argument('--out', default='report.html',
                      help='the HTML file to write. Default: %(default)s.')
  args = parser.parse_args(argv)
  problem = not_an_output(args.output)
  if problem:
    print(f'newsbeam: error: {problem}', file=sys.stderr)
    return 2
  page = build_report(args.output)
  with open(args.out, 'w', encoding='utf-8') as f:
    f.write(page)
  print(f'newsbeam: report written to {args.out}', file=sys.stderr)
  return 0
