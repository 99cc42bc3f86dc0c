"""Feeds polled by the driver before any pipeline is built, so that a poll with nothing new is cheap.

``newsbeam watch`` fetches its feeds here first (conditional GETs from the
feed state, exactly as ``FetchFeeds`` does on a worker). When no feed brought
a new entry (every feed answered 304, or listed only entries seen again) and
none failed, the run is committed from here: the drops (``not_modified``)
are staged, the run report written and ``pipeline.commit.commit_run`` moves
them into place, updates the feed state and writes the manifest with status
``nothing_new``, in well under a second and with no pipeline. Otherwise the
fetched feeds are handed to the pipeline (``FetchFeeds(prefetched=...)``),
which fetches none of them again.
"""

import collections

from apache_beam import pvalue
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils import shared

from pipeline import commit
from schemas import datasets as S
from schemas import drop as X
from schemas import report as R
from schemas import run as M
from transforms.core import stage
from transforms.core.accounting import drop_detail
from transforms.core.accounting import report_path
from transforms.core.accounting import seen_entry
from transforms.net.feeds import HTTP_FEED_FORMAT
from transforms.net.feeds import STAGE as FETCH_STAGE
from transforms.net.feeds import fetch_feed_safely
from transforms.core.files import write_json
from transforms.net.http import acquire_client
from transforms.net.http import map_by_host
from transforms.write.datasets import complete_drop
from transforms.write.datasets import write_parquet

__all__ = ['poll_feeds', 'new_entries', 'is_nothing_new', 'quiet_report',
           'commit_nothing_new']


def poll_feeds(urls, settings, states):
  """``{url: (outputs, result)}``: every feed fetched once, side by side, as FetchFeeds does."""
  client = acquire_client(shared.Shared(), settings)
  fetched = map_by_host(urls, lambda url: url,
                        lambda url: fetch_feed_safely(client, url, states.get(url, {})),
                        settings.max_per_host)
  return dict(zip(urls, fetched))


def _tagged(fetched, tag):
  return [o.value for outputs, _ in fetched.values() for o in outputs
          if isinstance(o, pvalue.TaggedOutput) and o.tag == tag]


def new_entries(fetched):
  """How many new entries (raw records) the polled feeds brought."""
  return sum(1 for outputs, _ in fetched.values() for o in outputs
             if not isinstance(o, pvalue.TaggedOutput))


def is_nothing_new(fetched):
  """Whether a poll brought no entry to extract and no failure to write as a dead letter."""
  return not new_entries(fetched) and not _tagged(fetched, stage.DEAD_LETTERS)


def _first_inputs(wheres):
  return sorted({w for w in wheres if w})[:R.WARNING_INPUTS_KEPT]


def quiet_report(fetched, files):
  """The run report of a poll with nothing new, as AccountRun would write it (pure)."""
  drops = _tagged(fetched, stage.DROPPED)
  seen = _tagged(fetched, stage.SEEN_AGAIN)
  warnings = _tagged(fetched, stage.WARNINGS)
  counts = {
      R.INPUTS: collections.Counter({HTTP_FEED_FORMAT: len(drops) + len(seen)}),
      R.DROPPED: collections.Counter(d[X.REASON] for d in drops),
      R.DROP_DETAILS: collections.Counter(drop_detail(d) for d in drops),
      R.WARNINGS: collections.Counter(kind for kind, _ in warnings),
      R.SEEN_AGAIN: collections.Counter(url for url, _ in seen),
  }
  by_kind = collections.defaultdict(list)
  for kind, where in warnings:
    by_kind[kind].append(where)
  return {R.COUNTS: {c: dict(v) for c, v in counts.items() if sum(v.values())},
          R.EXAMPLES: {},
          R.WARNING_INPUTS: {k: _first_inputs(v) for k, v in by_kind.items()
                             if _first_inputs(v)},
          R.FILES: sorted(files, key=lambda f: f[R.FILE_FINAL_PATH]),
          R.FEEDS: sorted((result for _, result in fetched.values()), key=lambda f: f['url']),
          R.SEEN_ENTRIES: sorted((seen_entry(url, key) for url, key in seen),
                                 key=lambda e: (e[R.SEEN_FEED], e[R.SEEN_KEY]))}


def _stage_drops(output, run_id, drops):
  """Writes drop rows into the run's staging as WriteDataset does; returns the file entries."""
  dataset = S.DATASETS[S.DROPS]
  by_partition = collections.defaultdict(list)
  for row in drops:
    row = complete_drop(row, run_id)
    by_partition[dataset.partition(row)].append(row)
  files = []
  for partition, rows in sorted(by_partition.items()):
    relative = f'{S.DROPS}/{S.partition_path(partition)}'
    name = S.part_file_name(run_id, 0)
    staged = FileSystems.join(output, S.STAGING_FOLDER, run_id, relative, name)
    files.append({R.FILE_DATASET: S.DROPS, R.FILE_STAGED_PATH: staged,
                  R.FILE_FINAL_PATH: FileSystems.join(output, relative, name),
                  R.FILE_ROWS: write_parquet(staged, rows, dataset.schema)})
  return files


def commit_nothing_new(context, argv, fetched):
  """Commits a run whose poll brought nothing new (no pipeline); returns ``(manifest, report)``."""
  files = _stage_drops(context.output, context.run_id, _tagged(fetched, stage.DROPPED))
  report = quiet_report(fetched, files)
  write_json(report_path(context.output, context.run_id), report)
  counts = {f'{FETCH_STAGE}.{stage.COUNT_IN}': len(fetched),
            f'{FETCH_STAGE}.{stage.COUNT_DROPPED}': len(_tagged(fetched, stage.DROPPED)),
            f'{FETCH_STAGE}.{stage.COUNT_SEEN_AGAIN}': len(_tagged(fetched, stage.SEEN_AGAIN))}
  return commit.commit_run(context.output, context.run_id, context.started_at, argv,
                           context.state_dir, {k: v for k, v in counts.items() if v},
                           context.story_window_days, status=M.STATUS_NOTHING_NEW)
