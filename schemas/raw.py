"""Fields of a raw input record: what a reader found, before normalisation.

A raw record also carries the article fields a reader can fill directly
(``schemas.article.SOURCE_URI``, ``TITLE``, ``TEXT``, ...); these are the extra
fields that normalisation consumes and that never reach the dataset.
"""

HTML = 'html'
PUBLISHED = 'published'
MODIFIED = 'modified'  # the input's own last-modified date (a feed's updated), if it has one
HEADER_DATE = 'header_date'
FEED_TITLE = 'feed_title'
# A feed entry's feedburner:origLink: the article behind a Feedburner link.
ORIGINAL_LINK = 'original_link'
FOLDER_NAME = 'folder_name'
FETCHED_AT = 'fetched_at'  # when the page was fetched (a WARC-Date): the base of relative dates
# The dates a page states, found where the HTML is (transforms.extract.dates.find_page_dates):
# a dict of strings, read by transforms.extract.dates.resolve_dates.
PAGE_DATES = 'page_dates'
# CATEGORIES, TEXT_ORIGIN and FULL_TEXT_ERROR are article fields
# (schemas.article) that feed readers fill in directly.
