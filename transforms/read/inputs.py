"""Every input of a run, files, WARC archives, feeds and sitemaps, as one stream of raw records."""

import apache_beam as beam

from transforms.core import stage
from transforms.net.feeds import FetchFeeds
from transforms.core.progress import ReportProgress
from transforms.read.files import ReadArticleFiles
from transforms.read.warc import ReadWarcFiles
from transforms.read.warc import is_warc_path
from transforms.net.sitemaps import ReadSitemaps

__all__ = ['ReadInputs']


class ReadInputs(beam.PTransform):
  """Reads files and fetches feeds and sitemaps; returns one StageOutputs for all readers.

  Its reports count every input unit by format and hold each feed's result.
  No shuffle follows: on the DirectRunner a shuffle keeps its whole
  PCollection in the runner's memory and raw pages are the largest data
  newsbeam handles, so work is spread by file (ReadArticleFiles/SpreadFiles).
  """

  def __init__(self, paths, feed_urls, http_settings, feed_states, label=None,
               sitemap_urls=(), prefetched=None):
    super().__init__(label)
    self._prefetched = prefetched  # feeds the driver fetched already (pipeline/poll.py)
    self._sitemap_urls = list(sitemap_urls)
    self._paths = list(paths)
    self._feed_urls = list(feed_urls)
    self._http_settings = http_settings
    self._feed_states = feed_states

  def expand(self, pbegin):
    readers = []
    files = [p for p in self._paths if not is_warc_path(p)]
    warcs = [p for p in self._paths if is_warc_path(p)]
    if files:
      readers.append(pbegin | 'ReadArticleFiles' >> ReadArticleFiles(files))
    if warcs:
      readers.append(pbegin | 'ReadWarcFiles' >> ReadWarcFiles(warcs))
    if self._feed_urls:
      readers.append(pbegin | 'FetchFeeds' >> FetchFeeds(
          self._feed_urls, self._http_settings, self._feed_states, self._prefetched))
    if self._sitemap_urls:
      readers.append(pbegin | 'ReadSitemaps' >> ReadSitemaps(
          self._sitemap_urls, self._http_settings, self._feed_states))
    records = ([r.records for r in readers]
               | 'MergeRawRecords' >> beam.Flatten(pipeline=pbegin.pipeline)
               | 'InputProgress' >> ReportProgress('inputs read:'))
    return stage.merge_outcomes(readers, 'Readers', records=records)
