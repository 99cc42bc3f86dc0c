"""``newsbeam report OUTPUT --out report.html``: one self-contained HTML file.

The charts are drawn by matplotlib, offline, into inline SVG (text kept as
text, no script, no font or file from the network), so the page opens
anywhere and can be mailed as it is. The same data gives the same charts: the
SVG ids come from a fixed salt and carry no date. The data is read first,
with retries (``read_report_data``), then drawn (``render_report``).
"""

import argparse
import datetime
import html
import io
import json
import math
import os
import re
import sys
from typing import NamedTuple
from typing import Optional

from pipeline.query import connect
from pipeline.query import with_retries
from pipeline.runs import not_an_output

__all__ = ['ReportData', 'build_report', 'read_report_data', 'render_report', 'report_main',
           'is_entity_name', 'busiest_window', 'daily_series', 'bar_chart', 'daily_chart',
           'places_map', 'load_world_outline']

TOP = 15  # bars in a top-N chart
TOP_STORIES = 10
TOP_LANGUAGES = 6  # languages drawn apart in the daily chart; the rest is "other"
LAST_RUNS = 10
MAX_CHART_DAYS = 366  # the daily chart shows the busiest window of at most this many days
MIN_CHART_DAYS = 7  # a shorter window is drawn this wide, so the axis shows days, not hours
DAILY_BAR_DAYS = 120  # up to this many days the daily chart has bars, beyond it areas
MAP_POINTS = 40  # places drawn on the map
MAP_LABELS = 8  # of which this many are named
MIN_PLACE_CONFIDENCE = 0.5  # weight share of the place's candidates; lower ones are left off
ENTITY_CANDIDATES = 10 * TOP  # entities read before the junk filter keeps TOP
MIN_NAME_LETTERS = 2  # an entity name needs at least this many letters...
MIN_NAME_LETTER_SHARE = 0.5  # ...making at least this share of its non-space characters
MAX_LABEL_CHARS = 40  # longer bar labels are cut
MAX_HEADLINE_CHARS = 140  # longer headlines are cut (the full one is the cell's title)
# Entity labels of each top-N chart (PER: spaCy's French models).
ENTITY_GROUPS = {'people': ('PERSON', 'PER'), 'organisations': ('ORG',),
                 'places': ('GPE', 'LOC')}
ARTICLE_COUNTS = '_report_article_counts'  # temporary table: articles by date, lang and source
OTHER_SERIES = 'other'
NO_SOURCE = '(none)'
NO_HEADLINE = '(no headline)'
TIME_FORMAT = '%Y-%m-%d %H:%M'

FONT = 'DejaVu Sans'  # ships with matplotlib, so text is measured the same everywhere
FONT_SIZE = 9  # pt
FIGURE_WIDTH = 9.0  # inches
DAILY_CHART_HEIGHT = 3.6  # inches
BAR_ROW_HEIGHT = 0.27  # inches per bar
BAR_CHART_PADDING = 0.12  # inches above and below the bars
VALUE_LABEL_ROOM = 1.15  # the value axis reaches this far past the longest bar
DAILY_BAR_WIDTH = 0.8  # days
PALETTE = ('#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948',
           '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac')
OTHER_COLOR = '#c7c7c7'
GRID_COLOR = '#e6e6e6'
TEXT_COLOR = '#222222'

WORLD_OUTLINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'world.json')
OUTLINE_SCALE = 10  # the outline's coordinates are tenths of a degree
MAP_EXTENT = (-180.0, 180.0, -58.0, 84.0)  # lon, lon, lat, lat: Antarctica is left out
GRATICULE_DEGREES = 30
LAND_COLOR = '#e4e4e0'
COAST_COLOR = '#c4c4bc'
SEA_COLOR = '#f5f8fb'
MIN_POINT_SIZE = 4.0  # pt, marker diameter of the least mentioned place drawn
MAX_POINT_SIZE = 22.0  # pt, of the most mentioned one (area grows with the count)
LABEL_GAP = 2.0  # pt between a point and its label
LABEL_CHAR_WIDTH = 0.62  # of the font size: a wide estimate of a character's width
LABEL_LINE_HEIGHT = 1.3  # of the font size
LABEL_BACKGROUND_ALPHA = 0.75  # a label's box over the points it covers
PLACE_KIND_COLORS = {'city': PALETTE[0], 'admin1': PALETTE[1], 'country': PALETTE[4]}
PLACE_KIND_NAMES = {'city': 'city', 'admin1': 'region', 'country': 'country'}

_LANGUAGE_QUALIFIER = re.compile(r'(?<!\s)\s*+\([^)]{0,200}+\)')  # "Modern Greek (1453-)" -> "Modern Greek"
_LETTER = re.compile(r'[^\W\d_]')  # a letter of any script
_SPACE = re.compile(r'\s')
_SVG_START = re.compile(r'<svg\b')
_SVG_METADATA = re.compile(r'<metadata>.*?</metadata>\s*', re.DOTALL)
_SVG_NAMESPACE = re.compile(r'(?<!\s)\s++xmlns(?::\w+)?="[^"]*"')
# matplotlib's ids of artists without a gid (figure_1, axes_1, ...): nothing refers to
# them, and they would repeat from chart to chart on one page.
_SVG_AUTOMATIC_ID = re.compile(r'(?<!\s)\s++id="[A-Za-z][\w.]*_\d+"')
_SVG_METADATA_OFF = {'Date': None, 'Creator': None, 'Format': None, 'Type': None}

_STYLE = """
body{font-family:'DejaVu Sans',system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;
margin:24px auto;max-width:960px;padding:0 16px;color:#222;line-height:1.4}
h1{font-size:24px;margin-bottom:4px}h2{font-size:17px;margin-top:34px;border-bottom:1px solid #ddd;
padding-bottom:4px}.note{color:#666;font-size:13px}svg.chart{display:block;width:100%;height:auto}
table{border-collapse:collapse;font-size:13px;width:100%}td,th{border-bottom:1px solid #eee;
padding:4px 6px;text-align:left;vertical-align:top}th{color:#555;font-weight:600}
td.n,th.n{text-align:right;white-space:nowrap}td.t{white-space:nowrap;color:#555}
.empty{color:#888;font-style:italic}svg.chart g[id]>path{pointer-events:all}
"""


class ReportData(NamedTuple):
  """What the report shows, read from the dataset's views."""
  totals: tuple  # (articles, first date, last date, sources)
  per_day: list  # (date, lang, articles)
  sources: list  # (source, articles)
  people: list  # (name, mentions), after the junk filter
  organisations: list
  place_names: list
  stories: Optional[list]  # (headline, articles, sources, first seen, last seen); None: no dataset
  places: Optional[list]  # (place, country, kind, lat, lon, articles); None: no dataset
  dead_letters: list  # (stage, dead letters)
  runs: list  # (run, status, started, read, written, dropped, dead, balanced)


def _esc(value):
  return html.escape(str(value), quote=True)


def _counted(n, noun):
  return f'{n:,} {noun}' if n == 1 else f'{n:,} {noun}s'


def _cut(text, limit):
  text = str(text)
  return text if len(text) <= limit else text[:limit - 1] + '…'


def is_entity_name(text):
  """Whether an entity's canonical name is a name, not a number, a symbol or one letter."""
  letters = len(_LETTER.findall(text))
  characters = len(_SPACE.sub('', text))
  return letters >= MIN_NAME_LETTERS and letters >= MIN_NAME_LETTER_SHARE * characters


def busiest_window(day_counts, max_days=MAX_CHART_DAYS):
  """``(first, last)`` of the span of at most max_days days holding the most articles.

  One article dated decades off must not stretch the chart; ties go to the latest span.
  """
  days = sorted(day_counts)
  best, best_count, start, count = (days[0], days[0]), -1, 0, 0
  for end, day in enumerate(days):
    count += day_counts[day]
    while (day - days[start]).days >= max_days:
      count -= day_counts[days[start]]
      start += 1
    if count >= best_count:
      best, best_count = (days[start], day), count
  return best


def daily_series(per_day, top_languages=TOP_LANGUAGES, max_days=MAX_CHART_DAYS):
  """``(days, {series: counts per day}, articles left out)``, each day of the window.

  The most frequent languages are series of their own, the others one "other" series.
  """
  by_day = {}
  for day, _, n in per_day:
    by_day[day] = by_day.get(day, 0) + n
  first, last = busiest_window(by_day, max_days)
  days = [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]
  totals = {}
  for day, lang, n in per_day:
    if first <= day <= last:
      totals[lang] = totals.get(lang, 0) + n
  ranked = sorted(totals, key=lambda lang: (-totals[lang], lang))
  kept = ranked if len(ranked) <= top_languages + 1 else ranked[:top_languages]
  names = kept + ([OTHER_SERIES] if len(ranked) > len(kept) else [])
  index = {day: i for i, day in enumerate(days)}
  series = {name: [0] * len(days) for name in names}
  for day, lang, n in per_day:
    if day in index:
      series[lang if lang in kept else OTHER_SERIES][index[day]] += n
  left_out = sum(n for day, _, n in per_day if day not in index)
  return days, series, left_out


def language_name(code):
  """``English (en)`` for a language code; the code itself when unknown."""
  if code == OTHER_SERIES:
    return 'other languages'
  import pycountry  # pylint: disable=import-outside-toplevel
  field = 'alpha_2' if len(code) == 2 else 'alpha_3'
  language = pycountry.languages.get(**{field: code})
  if not language:
    return code
  return f'{_LANGUAGE_QUALIFIER.sub("", language.name)} ({code})'


def load_world_outline(path=WORLD_OUTLINE):
  """The packaged land outline: a list of rings of ``(lon, lat)`` degrees."""
  with open(path, encoding='utf-8') as f:
    rings = json.load(f)['rings']
  return [[(r[i] / OUTLINE_SCALE, r[i + 1] / OUTLINE_SCALE) for i in range(0, len(r), 2)]
          for r in rings]


# Drawing. matplotlib is imported on first use only: the pipeline never draws.

def _matplotlib():
  """matplotlib on the Agg backend (no display, nothing interactive)."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  return matplotlib


def _rc(chart_id):
  return {'svg.hashsalt': f'newsbeam-{chart_id}', 'svg.fonttype': 'none',
          'font.family': 'sans-serif', 'font.sans-serif': [FONT], 'font.size': FONT_SIZE,
          'text.color': TEXT_COLOR, 'axes.labelcolor': TEXT_COLOR, 'axes.edgecolor': '#999999',
          'xtick.color': '#555555', 'ytick.color': '#555555', 'axes.spines.top': False,
          'axes.spines.right': False, 'legend.frameon': False, 'figure.facecolor': 'white',
          # Labels are names from the data, drawn as written: '$5 to $6' is no formula.
          'text.usetex': False, 'text.parse_math': False}


def _inline_svg(svg, chart_id, titles):
  """matplotlib's SVG document as an element for an HTML page, with tooltips."""
  svg = _SVG_METADATA.sub('', svg[_SVG_START.search(svg).start():])
  svg = _SVG_AUTOMATIC_ID.sub('', _SVG_NAMESPACE.sub('', svg, count=2))
  svg = svg.replace('<svg', f'<svg id="{_esc(chart_id)}" class="chart" role="img"', 1)
  for gid, title in (titles or {}).items():
    svg = svg.replace(f'<g id="{gid}">', f'<g id="{gid}"><title>{_esc(title)}</title>', 1)
  return svg


def _render(chart_id, draw, *args):
  """Inline SVG of the figure ``draw(chart_id, *args)`` returns as ``(figure, tooltips)``."""
  matplotlib = _matplotlib()
  with matplotlib.rc_context(_rc(chart_id)):
    figure, titles = draw(chart_id, *args)
    buffer = io.StringIO()
    figure.savefig(buffer, format='svg', metadata=_SVG_METADATA_OFF)
  return _inline_svg(buffer.getvalue(), chart_id, titles)


def _empty(chart_id, text='nothing to show'):
  return f'<p class="empty" id="{_esc(chart_id)}">{_esc(text)}</p>'


def _draw_bars(chart_id, pairs, color):
  from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel
  height = BAR_ROW_HEIGHT * len(pairs) + 2 * BAR_CHART_PADDING
  figure = Figure(figsize=(FIGURE_WIDTH, height), layout='constrained')
  ax = figure.add_subplot()
  labels = [_cut(label, MAX_LABEL_CHARS) for label, _ in pairs]
  values = [value for _, value in pairs]
  bars = ax.barh(range(len(pairs)), values, height=0.72, color=color)
  ax.set_yticks(range(len(pairs)), labels)
  ax.invert_yaxis()
  ax.bar_label(bars, labels=[f'{v:,}' for v in values], padding=3, fontsize=FONT_SIZE - 1,
               color='#555555')
  ax.set_xlim(0, max(values) * VALUE_LABEL_ROOM or 1)
  ax.set_ylim(len(pairs) - 0.5, -0.5)
  ax.xaxis.set_visible(False)
  ax.spines[['bottom', 'left']].set_visible(False)
  ax.tick_params(axis='y', length=0)
  titles = {}
  for i, (bar, (label, value)) in enumerate(zip(bars, pairs)):
    bar.set_gid(f'{chart_id}-bar-{i}')
    titles[f'{chart_id}-bar-{i}'] = f'{label}: {value:,}'
  return figure, titles


def bar_chart(chart_id, pairs, color=PALETTE[0]):
  """Horizontal bars for ``[(label, value)]``, largest first, as inline SVG."""
  if not pairs:
    return _empty(chart_id)
  return _render(chart_id, _draw_bars, pairs, color)


def _stacked_columns(x, counts, bottom):
  """One compound path of a series' columns (one artist draws far faster than many bars)."""
  from matplotlib.path import Path  # pylint: disable=import-outside-toplevel
  half = DAILY_BAR_WIDTH / 2
  vertices, codes = [], []
  for at, low, count in zip(x, bottom, counts):
    if count:
      vertices += [(at - half, low), (at + half, low), (at + half, low + count),
                   (at - half, low + count), (at - half, low)]
      codes += [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]
  return Path(vertices or [(0, 0)], codes or None)


def _draw_daily(chart_id, days, series):
  import matplotlib.dates as mdates  # pylint: disable=import-outside-toplevel
  from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel
  from matplotlib.patches import PathPatch  # pylint: disable=import-outside-toplevel
  from matplotlib.patches import Rectangle  # pylint: disable=import-outside-toplevel
  from matplotlib.ticker import MaxNLocator  # pylint: disable=import-outside-toplevel
  from matplotlib.ticker import StrMethodFormatter  # pylint: disable=import-outside-toplevel
  figure = Figure(figsize=(FIGURE_WIDTH, DAILY_CHART_HEIGHT), layout='constrained')
  ax = figure.add_subplot()
  ax.xaxis_date()
  x = mdates.date2num(days)
  colors = [OTHER_COLOR if name == OTHER_SERIES else PALETTE[i % len(PALETTE)]
            for i, name in enumerate(series)]
  labels = [language_name(name) for name in series]
  totals = [sum(day) for day in zip(*series.values())]
  titles = {}
  if len(days) <= DAILY_BAR_DAYS:
    bottom = [0] * len(days)
    for counts, color, label in zip(series.values(), colors, labels):
      ax.add_patch(PathPatch(_stacked_columns(x, counts, bottom), facecolor=color,
                             linewidth=0, label=label))
      bottom = [b + c for b, c in zip(bottom, counts)]
    for i, (at, day, total) in enumerate(zip(x, days, totals)):
      if total:
        hover = ax.add_patch(Rectangle((at - 0.5, 0), 1, total, fill=False, edgecolor='none',
                                       zorder=5))  # unpainted, hovered through the page's CSS
        hover.set_in_layout(False)
        hover.set_gid(f'{chart_id}-{day.isoformat()}')
        parts = ', '.join(f'{label} {counts[i]:,}' for label, counts in
                          zip(labels, series.values()) if counts[i])
        titles[hover.get_gid()] = f'{day:%a %d %b %Y}: {total:,} articles ({parts})'
    margin = max(DAILY_BAR_WIDTH, (MIN_CHART_DAYS - len(days)) / 2)
    ax.set_xlim(x[0] - margin, x[-1] + margin)
  else:
    ax.stackplot(x, *series.values(), colors=colors, labels=labels, step='mid', linewidth=0)
    ax.set_xlim(x[0], x[-1])
  ax.set_ylim(0, max(totals) * 1.05 or 1)
  locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
  ax.xaxis.set_major_locator(locator)
  ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
  ax.yaxis.set_major_locator(MaxNLocator(integer=True))
  ax.yaxis.set_major_formatter(StrMethodFormatter('{x:,.0f}'))
  ax.set_ylabel('articles per day')
  ax.grid(axis='y', color=GRID_COLOR, linewidth=0.8)
  ax.set_axisbelow(True)
  handles, names = ax.get_legend_handles_labels()
  figure.legend(handles[::-1], names[::-1], loc='outside right upper', fontsize=FONT_SIZE,
                handlelength=1.0)  # top to bottom, as the series are stacked
  return figure, titles


def daily_chart(chart_id, per_day):
  """Articles per day stacked by language, on a time axis, as inline SVG."""
  if not per_day:
    return _empty(chart_id, 'no articles yet')
  days, series, left_out = daily_series(per_day)
  chart = _render(chart_id, _draw_daily, days, series)
  if left_out:
    span = f'{days[0]}' if days[0] == days[-1] else f'{days[0]} to {days[-1]}'
    verb = 'article dated outside it is' if left_out == 1 else 'articles dated outside it are'
    chart += f'<p class="note">The chart shows {span}; {left_out:,} {verb} not drawn.</p>'
  return chart


def _point_size(count, top):
  return MIN_POINT_SIZE + (MAX_POINT_SIZE - MIN_POINT_SIZE) * math.sqrt(count / top)


def _points_to_pixels(ax, points):
  return points * ax.figure.dpi / 72


def _point_box(ax, lon, lat, size):
  """The display box ``(x0, y0, x1, y1)`` of a point drawn with marker size ``size``."""
  x, y = ax.transData.transform((lon, lat))
  radius = _points_to_pixels(ax, size / 2)
  return (x - radius, y - radius, x + radius, y + radius)


def _overlaps(a, b):
  return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _free_label_box(ax, lon, lat, size, text, taken):
  """The display box of a label beside its point that overlaps nothing taken, or None."""
  x, y = ax.transData.transform((lon, lat))
  width = _points_to_pixels(ax, LABEL_CHAR_WIDTH * FONT_SIZE * len(text))
  height = _points_to_pixels(ax, LABEL_LINE_HEIGHT * FONT_SIZE)
  gap = _points_to_pixels(ax, size / 2 + LABEL_GAP)
  corner = gap * math.sqrt(0.5)
  for box in ((x + gap, y - height / 2, x + gap + width, y + height / 2),
              (x - gap - width, y - height / 2, x - gap, y + height / 2),
              (x - width / 2, y + gap, x + width / 2, y + gap + height),
              (x - width / 2, y - gap - height, x + width / 2, y - gap),
              (x + corner, y + corner, x + corner + width, y + corner + height),
              (x - corner - width, y + corner, x - corner, y + corner + height),
              (x + corner, y - corner - height, x + corner + width, y - corner),
              (x - corner - width, y - corner - height, x - corner, y - corner)):
    inside = box[0] >= 0 and box[1] >= 0 and box[2] <= ax.figure.bbox.width and (
        box[3] <= ax.figure.bbox.height)
    if inside and not any(_overlaps(box, other) for other in taken):
      return box
  return None


def _draw_map(chart_id, outline, places):
  from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel
  from matplotlib.lines import Line2D  # pylint: disable=import-outside-toplevel
  from matplotlib.patches import PathPatch  # pylint: disable=import-outside-toplevel
  from matplotlib.path import Path  # pylint: disable=import-outside-toplevel
  west, east, south, north = MAP_EXTENT
  figure = Figure(figsize=(FIGURE_WIDTH, FIGURE_WIDTH * (north - south) / (east - west)))
  ax = figure.add_axes((0, 0, 1, 1))
  ax.set_xlim(west, east)
  ax.set_ylim(south, north)
  ax.set_axis_off()
  ax.add_patch(PathPatch(Path([(west, south), (east, south), (east, north), (west, north),
                               (west, south)], closed=True), facecolor=SEA_COLOR,
                         edgecolor='none', zorder=0))
  vertices, codes = [], []
  for ring in outline:
    vertices += ring + [ring[0]]
    codes += [Path.MOVETO] + [Path.LINETO] * (len(ring) - 1) + [Path.CLOSEPOLY]
  ax.add_patch(PathPatch(Path(vertices, codes), facecolor=LAND_COLOR, edgecolor=COAST_COLOR,
                         linewidth=0.5, zorder=1))
  for lon in range(int(west), int(east) + 1, GRATICULE_DEGREES):
    ax.plot([lon, lon], [south, north], color=GRID_COLOR, linewidth=0.5, zorder=0.5)
  for lat in range(-90, 91, GRATICULE_DEGREES):
    ax.plot([west, east], [lat, lat], color=GRID_COLOR, linewidth=0.5, zorder=0.5)
  top = max(p[5] for p in places)
  sizes = [_point_size(p[5], top) for p in places]
  # Labels keep clear of the labelled points and of each other; they may cover smaller points.
  placed = [_point_box(ax, lon, lat, size) for (_, _, _, lat, lon, _), size in
            zip(places[:MAP_LABELS], sizes)]
  titles = {}
  for i, ((name, country, kind, lat, lon, count), size) in enumerate(zip(places, sizes)):
    gid = f'place-{i}'
    ax.plot([lon], [lat], marker='o', markersize=size, linestyle='none', alpha=0.8,
            color=PLACE_KIND_COLORS.get(kind, PALETTE[6]), markeredgecolor='white',
            markeredgewidth=0.6, zorder=10 + i, gid=gid)  # smaller points over larger ones
    titles[gid] = f'{name} ({country}): {count:,} articles'
    box = _free_label_box(ax, lon, lat, size, name, placed) if i < MAP_LABELS else None
    if box:
      placed.append(box)
      x, y = ax.transData.inverted().transform(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
      ax.text(x, y, name, ha='center', va='center', fontsize=FONT_SIZE, zorder=100,
              color=TEXT_COLOR, bbox={'boxstyle': 'round,pad=0.12', 'facecolor': 'white',
                                      'edgecolor': 'none', 'alpha': LABEL_BACKGROUND_ALPHA})
  kinds = [k for k in PLACE_KIND_COLORS if any(p[2] == k for p in places)]
  handles = [Line2D([], [], marker='o', linestyle='none', markersize=7, alpha=0.8,
                    color=PLACE_KIND_COLORS[k], markeredgecolor='white') for k in kinds]
  ax.legend(handles, [PLACE_KIND_NAMES[k] for k in kinds], loc='lower left',
            title='point area: articles', title_fontsize=FONT_SIZE - 1, fontsize=FONT_SIZE - 1,
            borderaxespad=0.8)
  return figure, titles


def places_map(chart_id, places, outline=None):
  """Places as points on the packaged world outline (area by articles), as inline SVG."""
  if not places:
    return _empty(chart_id)
  return _render(chart_id, _draw_map, outline or load_world_outline(), places) + (
      f'<p class="note">The {len(places)} places named in the most articles (the top '
      f'{MAP_LABELS} labelled). Land outline drawn from GeoNames places (CC BY 4.0).</p>')


# Tables.

def _headline_cell(headline):
  shown = _cut(headline or NO_HEADLINE, MAX_HEADLINE_CHARS)
  title = f' title="{_esc(headline)}"' if headline and shown != headline else ''
  return f'<td{title}>{_esc(shown)}</td>'


def _stories_table(stories):
  head = ('<tr><th>headline</th><th class="n">articles</th><th class="n">sources</th>'
          '<th>first seen (UTC)</th><th>last seen (UTC)</th></tr>')
  rows = ''.join(
      f'<tr>{_headline_cell(headline)}<td class="n">{articles or 0:,}</td>'
      f'<td class="n">{sources or 0:,}</td><td class="t">{_esc(first or "")}</td>'
      f'<td class="t">{_esc(last or "")}</td></tr>'
      for headline, articles, sources, first, last in stories)
  return f'<table id="top-stories">{head}{rows}</table>'


def _runs_table(runs):
  head = ('<tr><th>run</th><th>status</th><th>started (UTC)</th><th class="n">read</th>'
          '<th class="n">written</th><th class="n">dropped</th><th class="n">dead</th>'
          '<th>balanced</th></tr>')
  rows = ''.join(
      f'<tr><td>{_esc(r[0])}</td><td>{_esc(r[1])}</td><td class="t">{_esc(r[2])}</td>'
      f'<td class="n">{r[3] or 0:,}</td><td class="n">{r[4] or 0:,}</td>'
      f'<td class="n">{r[5] or 0:,}</td><td class="n">{r[6] or 0:,}</td>'
      f'<td>{"yes" if r[7] else "NO"}</td></tr>' for r in runs)
  return f'<table id="runs">{head}{rows}</table>' if runs else _empty('runs', 'no runs')


# Reading.

def _columns(con, view):
  """The columns of a view, from the catalog (DESCRIBE would open every file again)."""
  return {row[0] for row in con.sql(
      f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{view}'").fetchall()}


def _column(columns, name, kind=''):
  """The column when the view has it (older outputs may not), else a NULL of ``kind``."""
  return name if name in columns else f'NULL{"::" + kind if kind else ""}'


def _top_entities(con):
  """``{group: [(name, mentions)]}`` of the entity groups, after the junk filter, in one read."""
  def listed(labels):
    return ', '.join(f"'{label}'" for label in labels)
  cases = ' '.join(f"WHEN label IN ({listed(labels)}) THEN '{group}'"
                   for group, labels in ENTITY_GROUPS.items())
  every = listed(label for labels in ENTITY_GROUPS.values() for label in labels)
  rows = con.sql(
      f'SELECT * FROM (SELECT CASE {cases} END AS grp, min(canonical) AS name, '
      'sum(mention_count)::BIGINT AS n FROM entities '
      f'WHERE label IN ({every}) GROUP BY grp, canonical_key) '
      'QUALIFY row_number() OVER (PARTITION BY grp ORDER BY n DESC, name) '
      f'<= {ENTITY_CANDIDATES} ORDER BY grp, n DESC, name').fetchall()
  top = {group: [] for group in ENTITY_GROUPS}
  for group, name, n in rows:
    if name and is_entity_name(name) and len(top[group]) < TOP:
      top[group].append((name, n))
  return top


def _top_stories(con):
  c = _columns(con, 'stories')
  stories = con.sql(
      f'SELECT {_column(c, "headline")}, {_column(c, "article_count")}, '
      f'{_column(c, "source_count")}, '
      f"strftime({_column(c, 'first_seen', 'TIMESTAMPTZ')}, '{TIME_FORMAT}'), "
      f"strftime({_column(c, 'last_seen', 'TIMESTAMPTZ')}, '{TIME_FORMAT}') FROM stories_latest "
      f'ORDER BY 2 DESC NULLS LAST, 3 DESC NULLS LAST, 5 DESC NULLS LAST, 1 '
      f'LIMIT {TOP_STORIES}').fetchall()
  return stories or None


def _top_places(con):
  c = _columns(con, 'places')
  if not {'lat', 'lon', 'place', 'article_id'} <= c:
    return None
  confidence = f'coalesce({_column(c, "confidence")}, 1)'
  key = f"coalesce({_column(c, 'geonames_id')}::VARCHAR, place || '|' || " \
        f"coalesce({_column(c, 'country_code')}, ''))"
  points = con.sql(
      f'SELECT min(place), min({_column(c, "country_code")}), min({_column(c, "kind")}), '
      'avg(lat), avg(lon), count(DISTINCT article_id) AS n FROM places '
      f'WHERE lat IS NOT NULL AND lon IS NOT NULL AND {confidence} >= {MIN_PLACE_CONFIDENCE} '
      f'GROUP BY {key} ORDER BY n DESC, 1 LIMIT {MAP_POINTS}').fetchall()
  return points or None


def _read(output):
  con = connect(output)
  source = _column(_columns(con, 'articles'), 'source')
  con.execute(f'CREATE TEMP TABLE {ARTICLE_COUNTS} AS SELECT date, lang, {source} AS source, '
              'count(*)::BIGINT AS n FROM articles GROUP BY ALL')
  runs = _columns(con, 'runs')
  run_fields = ', '.join(_column(runs, name) for name in (
      'inputs_read', 'articles_written', 'dropped', 'dead_lettered', 'accounting_balanced'))
  entities = _top_entities(con)
  return ReportData(
      totals=con.sql('SELECT coalesce(sum(n), 0)::BIGINT, min(date), max(date), '
                     f'count(DISTINCT source) FROM {ARTICLE_COUNTS}').fetchall()[0],
      per_day=con.sql(f'SELECT date, lang, sum(n)::BIGINT FROM {ARTICLE_COUNTS} '
                      'WHERE date IS NOT NULL GROUP BY ALL ORDER BY 1, 2').fetchall(),
      sources=con.sql(f"SELECT coalesce(source, '{NO_SOURCE}'), sum(n)::BIGINT AS total "
                      f'FROM {ARTICLE_COUNTS} GROUP BY 1 ORDER BY total DESC, 1 '
                      f'LIMIT {TOP}').fetchall(),
      people=entities['people'],
      organisations=entities['organisations'],
      place_names=entities['places'],
      stories=_top_stories(con),
      places=_top_places(con),
      dead_letters=con.sql('SELECT stage, count(*) AS n FROM dead_letters GROUP BY 1 '
                           'ORDER BY n DESC, 1').fetchall(),
      runs=con.sql(f"SELECT run_id, status, strftime(started_at, '{TIME_FORMAT}'), "
                   f'{run_fields} FROM runs ORDER BY started_at DESC, run_id DESC '
                   f'LIMIT {LAST_RUNS}').fetchall())


def read_report_data(output):
  """What the report of a dataset folder shows (read again when compaction swapped files)."""
  return with_retries(lambda: _read(output))


# The page.

def render_report(output, data, generated):
  """The report page for ``data`` as one HTML string."""
  count, first, last, sources = data.totals
  stories = (_stories_table(data.stories) if data.stories else _empty(
      'top-stories', 'No stories yet: this output has no stories dataset (it was written '
      'before stories were grouped, or no run has grouped any).'))
  places = (places_map('places-map', data.places) if data.places else _empty(
      'places-map', 'No places yet: this output has no places dataset (it was written '
      'before places were resolved, or no run has resolved any).'))
  sections = [
      ('Articles per day, by language', daily_chart('articles-per-day', data.per_day)),
      ('Top stories', stories),
      ('Where the news is', places),
      ('Top people', bar_chart('top-people', data.people, PALETTE[1])),
      ('Top organisations', bar_chart('top-organisations', data.organisations, PALETTE[2])),
      ('Top places', bar_chart('top-places', data.place_names, PALETTE[4])),
      ('Top sources', bar_chart('top-sources', data.sources)),
      ('Dead letters by stage', bar_chart('dead-letters', data.dead_letters, PALETTE[3])),
      (f'Last {LAST_RUNS} runs', _runs_table(data.runs)),
  ]
  body = ''.join(f'<section><h2>{_esc(title)}</h2>{content}</section>'
                 for title, content in sections)
  period = f'{first} to {last}' if first else 'no articles yet'
  return (
      '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
      '<meta name="viewport" content="width=device-width, initial-scale=1">'
      f'<title>newsbeam report: {_esc(output)}</title><style>{_STYLE}</style></head><body>'
      f'<h1>newsbeam report</h1><p class="note">{_esc(output)} · {_counted(count, "article")} '
      f'from {_counted(sources, "source")}, {_esc(period)} · generated {_esc(generated)}</p>'
      f'{body}'
      '</body></html>')


def build_report(output):
  """The report of a dataset folder, as one HTML string."""
  generated = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
  return render_report(output, read_report_data(output), generated)


def report_main(argv):
  parser = argparse.ArgumentParser(
      prog='newsbeam report',
      description='Writes one self-contained HTML report of a newsbeam dataset: '
      'articles per day by language, top stories, a map of places, top people, '
      'organisations, places and sources, dead letters by stage, and the last runs.')
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
