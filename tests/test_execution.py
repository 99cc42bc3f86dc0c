"""Right-sized execution: the DirectRunner's mode chosen from the run's size, unless the user chose."""

from apache_beam.options.pipeline_options import DirectOptions
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import execution as X


def test_a_small_run_is_one_process_and_a_large_one_every_core():
  assert X.choose_execution(2, cores=8) == X.Execution('in_memory', 1, 'about 2 articles')
  assert X.choose_execution(X.SMALL_RUN_ARTICLES - 1, cores=8).mode == 'in_memory'
  assert X.choose_execution(X.SMALL_RUN_ARTICLES, cores=8) == X.Execution(
      'multi_processing', 8, f'{X.SMALL_RUN_ARTICLES}+ articles')
  assert X.choose_execution(5000, cores=1) == X.Execution('in_memory', 1, 'one core')


def test_estimate_counts_files_by_format_and_size_and_feeds():
  sizes = {'a.txt': 90_000, 'b.html': 10, 'c.jsonl': 10 * X.BYTES_PER_RECORD,
           'd.warc.gz': 3 * X.BYTES_PER_RECORD, 'e.jsonl': 5}
  assert X.estimate_articles(sizes, size_of=sizes.get) == 1 + 1 + 10 + 3 + 1
  assert X.estimate_articles([], feeds=2) == 2 * X.ENTRIES_PER_FEED
  assert X.estimate_articles(['a.txt'], feeds=0, entries=7, size_of=sizes.get) == 8


def test_estimate_stops_counting_at_the_threshold_and_survives_missing_files():
  paths = [f'{n}.txt' for n in range(10_000)]
  assert X.estimate_articles(paths, size_of=lambda p: 1, stop_at=50) == 50

  def missing(path):
    raise FileNotFoundError(path)

  assert X.estimate_articles(['gone.jsonl'], size_of=missing) == 1


def test_beam_flags_given_by_the_user_are_left_alone():
  assert X.user_chose_execution(['--direct_running_mode=multi_threading'])
  assert X.user_chose_execution(['--direct_num_workers', '3'])
  assert X.user_chose_execution(['--direct-num-workers=3'])
  assert not X.user_chose_execution(['--input', 'direct_num_workers', '--output', 'o'])
  options = PipelineOptions(['--direct_num_workers=3'])
  assert X.right_size(options, ['--direct_num_workers=3'], 10_000, cores=8) is None
  assert options.view_as(DirectOptions).direct_num_workers == 3


def test_right_size_sets_the_direct_runner_options_and_skips_other_runners():
  options = PipelineOptions([])
  assert X.right_size(options, [], 5000, cores=4).mode == 'multi_processing'
  direct = options.view_as(DirectOptions)
  assert (direct.direct_running_mode, direct.direct_num_workers) == ('multi_processing', 4)
  small = PipelineOptions([])
  X.right_size(small, [], 3, cores=4)
  assert small.view_as(DirectOptions).direct_running_mode == 'in_memory'
  other = PipelineOptions(['--runner=FlinkRunner'])
  assert X.right_size(other, ['--runner=FlinkRunner'], 5000, cores=4) is None
  assert other.view_as(DirectOptions).direct_running_mode == 'in_memory'  # Beam's default


def test_run_options_make_each_view_once_and_views_stay_current():
  options = X.RunOptions(['--direct_num_workers=3'])
  direct = options.view_as(DirectOptions)
  assert options.view_as(DirectOptions) is direct
  options.view_as(DirectOptions).direct_running_mode = 'multi_processing'
  assert options.get_all_options()['direct_running_mode'] == 'multi_processing'
  assert direct.direct_num_workers == 3
