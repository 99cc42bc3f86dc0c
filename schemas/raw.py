"""Fields of a raw input record: what a reader found, before normalisation.

A raw record also carries the article fields a reader can fill directly
(``schemas.article.SOURCE_URI``, ``TITLE``, ``TEXT``, ...); these are the extra
fields that normalisation consumes and that never reach the dataset.
"""

HTML = 'html'
PUBLISHED = 'published'
HEADER_DATE = 'header_date'
FEED_TITLE = 'feed_title'
FOLDER_NAME = 'folder_name'
# CATEGORIES, TEXT_ORIGIN and FULL_TEXT_ERROR are article fields
# (schemas.article) that feed readers fill in directly.
