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
# Listed categories: entries kept whole.
FILES = 'files'
FEEDS = 'feeds'
LISTED = (FILES, FEEDS)
EXAMPLES = 'examples'  # (key, message) pairs: one example message per key

# Keys of a staged-file entry.
FILE_DATASET = 'dataset'
FILE_STAGED_PATH = 'staged_path'
FILE_FINAL_PATH = 'final_path'
FILE_ROWS = 'rows'
