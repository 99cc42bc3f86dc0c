"""The run report: what a finished pipeline leaves for the driver's commit.

One JSON document, ``_staging/<run_id>/_report.json`` (see
``schemas.datasets``): outcome counts by category and key, one example
message per dead-letter stage, every staged file, and each feed's result.
The commit reads it to move files into place and build the run manifest.
"""

COUNTS = 'counts'

# Counted categories: key -> count.
INPUTS = 'inputs'  # input units by format
WRITTEN = 'written'  # articles written, by language
SOURCES = 'sources'  # articles written, by source
DROPPED = 'dropped'  # drops by reason
DROP_DETAILS = 'drop_details'  # drops by "reason: detail"
DEAD_LETTERED = 'dead_lettered'  # dead letters by stage
WARNINGS = 'warnings'  # warnings by kind
SEEN_AGAIN = 'seen_again'  # polled feed entries an earlier run wrote, by feed URL
# Listed categories: entries kept whole.
FILES = 'files'
FEEDS = 'feeds'
# Entries of polled feeds written by this run or seen again: {SEEN_FEED, SEEN_KEY}.
SEEN_ENTRIES = 'seen_entries'
LISTED = (FILES, FEEDS, SEEN_ENTRIES)
EXAMPLES = 'examples'  # (key, message) pairs: one example message per key
# Warning kind -> the first inputs it names (sorted), at most WARNING_INPUTS_KEPT.
WARNING_INPUTS = 'warning_inputs'
WARNING_INPUTS_KEPT = 5  # input names kept per warning kind

# Keys of a seen-entry entry.
SEEN_FEED = 'feed'
SEEN_KEY = 'key'

# Keys of a staged-file entry.
FILE_DATASET = 'dataset'
FILE_STAGED_PATH = 'staged_path'
FILE_FINAL_PATH = 'final_path'
FILE_ROWS = 'rows'
