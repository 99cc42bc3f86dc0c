"""The end-of-run summary printed on stderr, built from the run manifest alone."""

from schemas import run as M

__all__ = ['format_summary', 'TOP_SOURCES']

TOP_SOURCES = 10  # sources listed in the summary
TOP_FEEDS = 5  # feeds listed with their entries seen again
WHERE_CHARS = 160  # longest input name printed for a warning, in characters
# Counted steps in the order an article meets them (transforms.core.stage counters).
STEP_ORDER = ('read', 'read_warc/scan', 'read_warc/records', 'fetch', 'sitemap',
              'sitemap_page', 'full_text', 'extract',
              'normalize', 'boilerplate/paragraphs', 'boilerplate/repeated', 'dedup/id',
              'dedup/content', 'dedup/sign', 'dedup/cross_run', 'language', 'entities',
              'places', 'stories')
COUNT_KINDS = ('in', 'out', 'dropped', 'dead_letters', 'seen_again')


def _pairs(pairs, limit=None):
  ordered = sorted(pairs or [], key=lambda kv: (-kv[1], kv[0]))
  shown = ', '.join(f'{k} {v}' for k, v in ordered[:limit])
  if limit and len(ordered) > limit:
    shown += f', ... ({len(ordered) - limit} more)'
  return shown or '-'


def stage_rows(stage_counts):
  """``(step, in, out, dropped, dead_letters, seen_again)`` per step, in pipeline order."""
  steps = {}
  for name, count in stage_counts or []:
    step, _, kind = name.rpartition('.')
    if kind in COUNT_KINDS:
      steps.setdefault(step, dict.fromkeys(COUNT_KINDS, 0))[kind] = count

  def order(step):
    return (STEP_ORDER.index(step) if step in STEP_ORDER else len(STEP_ORDER), step)

  return [(step, *(steps[step][k] for k in COUNT_KINDS)) for step in sorted(steps, key=order)]


def format_stages(stage_counts):
  """The per-step table of stage counters, or nothing when there are none."""
  rows = stage_rows(stage_counts)
  if not rows:
    return []
  seen = any(row[5] for row in rows)
  lines = [f'  {"stage":<22} {"in":>8} {"out":>8} {"dropped":>8} {"dead":>6}' +
           (f' {"seen again":>10}' if seen else '')]
  lines += [f'  {step:<22} {n_in:>8} {n_out:>8} {n_dropped:>8} {n_dead:>6}' +
            (f' {n_seen:>10}' if seen else '')
            for step, n_in, n_out, n_dropped, n_dead, n_seen in rows]
  return lines


def format_warnings(manifest):
  """The warnings line, then the first inputs each kind of warning names."""
  if not manifest.get(M.WARNINGS_BY_KIND):
    return []
  lines = [f'  warnings         {_pairs(manifest[M.WARNINGS_BY_KIND])}']
  for kind, names in sorted(manifest.get(M.WARNING_INPUTS) or []):
    for name in names or []:
      lines.append(f'      {kind}: {name[:WHERE_CHARS]}')
  return lines


def format_summary(manifest, output):
  """What came in, what was written, dropped and dead-lettered, and where."""
  m = manifest
  balanced = 'balanced' if m[M.ACCOUNTING_BALANCED] else 'DOES NOT BALANCE'
  lines = [
      f'newsbeam run {m[M.RUN_ID]} {m[M.STATUS]} in {m[M.WALL_SECONDS]:.1f} s',
      f'  inputs read      {m[M.INPUTS_READ]:>8}   by kind: {_pairs(m[M.INPUTS_BY_FORMAT])}',
      f'  articles written {m[M.ARTICLES_WRITTEN]:>8}   by language: '
      f'{_pairs(m[M.ARTICLES_BY_LANGUAGE])}',
      f'                              top sources: {_pairs(m[M.ARTICLES_BY_SOURCE], TOP_SOURCES)}',
      f'  dropped          {m[M.DROPPED]:>8}   by reason: {_pairs(m[M.DROPPED_BY_REASON])}',
      *([f'                              by rule: {_pairs(m[M.DROPPED_BY_DETAIL])}']
        if m.get(M.DROPPED_BY_DETAIL) else []),
      f'  dead-lettered    {m[M.DEAD_LETTERED]:>8}   by stage: '
      f'{_pairs(m[M.DEAD_LETTERED_BY_STAGE])} ({m[M.DEAD_LETTER_SHARE]:.1%} of inputs)',
  ]
  for stage, example in m[M.DEAD_LETTER_EXAMPLES] or []:
    lines.append(f'      e.g. {stage}: {example[:200]}')
  if m.get(M.SEEN_AGAIN):
    lines.append(f'  seen again       {m[M.SEEN_AGAIN]:>8}   feed entries an earlier run wrote, '
                 f'by feed: {_pairs(m.get(M.SEEN_AGAIN_BY_FEED), TOP_FEEDS)}')
    lines.append(f'  accounting       read = written + dropped + dead-lettered + seen again: '
                 f'{balanced}')
  else:
    lines.append(f'  accounting       read = written + dropped + dead-lettered: {balanced}')
  lines += format_warnings(m)
  if m[M.FEEDS_BY_STATUS]:
    lines.append(f'  feeds            {_pairs(m[M.FEEDS_BY_STATUS])}')
  for failing in m[M.FAILING_FEEDS] or []:
    lines.append(f'      failing {failing[M.FAILING_FEED_FAILURES]} runs in a row: '
                 f'{failing[M.FAILING_FEED_URL]} ({failing[M.FAILING_FEED_ERROR]})')
  lines.append(f'  files written    {m[M.FILES_WRITTEN]:>8}   dataset: {output}')
  lines += format_stages(m.get(M.STAGE_COUNTS))
  return '\n'.join(lines)
