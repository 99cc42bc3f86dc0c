"""The article record: one row of ``articles/date=YYYY-MM-DD/lang=xx/``."""

import pyarrow as pa

from schemas.common import UTC_TIMESTAMP
from schemas.entity import MENTION
from schemas.place import PLACE_STRUCT

ARTICLE_ID = 'article_id'
LEGACY_ARTICLE_ID = 'legacy_article_id'
EXTERNAL_ID = 'external_id'
URL = 'url'
CANONICAL_URL = 'canonical_url'
SOURCE_URI = 'source_uri'
SOURCE = 'source'
TITLE = 'title'
TEXT = 'text'
AUTHORS = 'authors'  # people only
AUTHOR_ORGS = 'author_orgs'  # the byline's publisher or agency (schema 4)
PUBLISHED_AT = 'published_at'
MODIFIED_AT = 'modified_at'
INGESTED_AT = 'ingested_at'
DATE_SOURCE = 'date_source'
MODIFIED_SOURCE = 'modified_source'
LANGUAGE = 'language'
LANGUAGE_CONFIDENCE = 'language_confidence'
WORD_COUNT = 'word_count'
CONTENT_HASH = 'content_hash'
BOILERPLATE = 'boilerplate'
BOILERPLATE_RULE = 'rule'
BOILERPLATE_TEXT = 'text'
BOILERPLATE_SCORE = 'score'
FLAGS = 'flags'
ENTITIES = 'entities'
NER_MODEL = 'ner_model'
MINHASH = 'minhash'
CATEGORIES = 'categories'
TEXT_ORIGIN = 'text_origin'
FULL_TEXT_ERROR = 'full_text_error'
NEAR_DUPLICATE_OF = 'near_duplicate_of'
PLACES = 'places'  # resolved places (schemas.place)
STORY_ID = 'story_id'  # the story the article belongs to (schemas.story)
# Page metadata as the publisher declares it (schema 4).
DESCRIPTION = 'description'  # the page's summary or lead
IMAGE_URL = 'image_url'  # the top image, absolute, without tracking parameters
KEYWORDS = 'keywords'  # the publisher's keywords or tags, de-duplicated case-insensitively
SECTION = 'section'  # the section the article belongs to (articleSection, article:section)
SITE_NAME = 'site_name'  # the publication's name (og:site_name, publisher.name)
IS_PAYWALLED = 'is_paywalled'  # true/false from isAccessibleForFree; null when undeclared
METADATA_SOURCE = 'metadata_source'  # per metadata field, the signal that gave its value
METADATA_FIELDS = (DESCRIPTION, IMAGE_URL, KEYWORDS, SECTION, SITE_NAME, IS_PAYWALLED)

MINHASH_PERMUTATIONS = 64  # values in a MinHash signature
INPUT_FORMAT = 'input_format'
RUN_ID = 'run_id'
SCHEMA_VERSION_FIELD = 'schema_version'

# Values of DATE_SOURCE (where published_at came from; the ``date`` partition
# is published_at's day, else ingested_at's) and of MODIFIED_SOURCE (where
# modified_at came from; null when there is none).
DATE_FROM_FEED = 'feed'  # the feed entry's published (or updated) date
DATE_FROM_JSON = 'json'  # the input JSON object's own date
DATE_FROM_HTML_META = 'html_meta'  # a page's meta tags or microdata (article:published_time, ...)
DATE_FROM_JSON_LD = 'json_ld'  # a page's JSON-LD (datePublished, dateModified)
DATE_FROM_URL = 'url'  # a date in the link's path (/2024/05/03/)
DATE_FROM_TEXT_HEADER = 'text_header'  # the `` date YYYY-MM-DD `` header of a text file
DATE_FROM_BYLINE = 'byline'  # a full date written under the page's headline (or just above it)
DATE_FROM_PAGE_TEXT = 'page_text'  # the first full date in the page's visible text (schema 4)
DATE_FROM_HTMLDATE = 'htmldate'  # htmldate's reading of the page's markup and text (schema 4)
DATE_FROM_TEXT = 'text'  # schema 3 and older: a byline's date or htmldate's
DATE_FROM_SITEMAP = 'sitemap'  # a news sitemap's news:publication_date (schema 4)
DATE_FROM_INGESTED = 'ingested'  # no date: published_at is null, the partition is the run's day
DATE_SOURCES = (DATE_FROM_FEED, DATE_FROM_JSON, DATE_FROM_HTML_META, DATE_FROM_JSON_LD,
                DATE_FROM_URL, DATE_FROM_TEXT_HEADER, DATE_FROM_BYLINE, DATE_FROM_PAGE_TEXT,
                DATE_FROM_HTMLDATE, DATE_FROM_SITEMAP,
                DATE_FROM_TEXT, DATE_FROM_INGESTED)

UNDETERMINED_LANGUAGE = 'und'

# Values of METADATA_SOURCE's fields: where a metadata field's value came from.
METADATA_FROM_JSON_LD = 'json_ld'  # the page's JSON-LD (NewsArticle, Article, @graph)
METADATA_FROM_OG = 'og'  # the page's Open Graph tags (og:*, article:*)
METADATA_FROM_META = 'meta'  # the page's <meta name=description|keywords> (or twitter:*)
METADATA_FROM_FEED = 'feed'  # the feed entry (media:content, enclosure, category)
METADATA_FROM_SITEMAP = 'sitemap'  # the news sitemap's <news:news> (keywords, publication name)
METADATA_SOURCES = (METADATA_FROM_JSON_LD, METADATA_FROM_OG, METADATA_FROM_META,
                    METADATA_FROM_FEED, METADATA_FROM_SITEMAP)

# Values of TEXT_ORIGIN: where the text came from.
TEXT_FROM_FILE = 'file'  # text given as such: a text file or a JSON object's text
TEXT_FROM_HTML = 'html'  # extracted from an HTML input (a file or a JSON object's html)
TEXT_FROM_FEED = 'feed'  # the feed entry's own content or summary
TEXT_FROM_PAGE = 'page'  # the entry's page, fetched and extracted
TEXT_FROM_LINK = 'link_only'  # an entry with a title and a link, and no text of its own

# Values of FLAGS: what a reader should know about an article.
FLAG_ALL_BOILERPLATE = 'all_boilerplate'  # the cleaners would have removed all of its text
FLAG_TEXT_CUT = 'text_cut'  # the input's text (or HTML) was over the reader's per-article cap: cut
FLAG_CLEANING_PARTIAL = 'cleaning_partial'  # boilerplate cleaners examined only its first paragraphs
FLAG_ENTITIES_PARTIAL = 'entities_partial'  # NER read only its first characters
FLAG_PLACES_PARTIAL = 'places_partial'  # places were looked for in its first characters only

# One removed piece of text, the rule that removed it, and the classifier's
# score when the classifier did.
BOILERPLATE_ITEM = pa.struct([
    pa.field(BOILERPLATE_RULE, pa.string(), nullable=False),
    pa.field(BOILERPLATE_TEXT, pa.string(), nullable=False),
    pa.field(BOILERPLATE_SCORE, pa.float64()),
])

# One string per metadata field: METADATA_SOURCES, or null when the field is.
METADATA_SOURCE_STRUCT = pa.struct([pa.field(name, pa.string()) for name in METADATA_FIELDS])

ARTICLE_SCHEMA = pa.schema([
    pa.field(ARTICLE_ID, pa.string(), nullable=False),
    # The id schema version 2 gave this article, when it differs from
    # article_id (its URL scheme changed): deduplication matches both.
    pa.field(LEGACY_ARTICLE_ID, pa.string()),
    pa.field(EXTERNAL_ID, pa.string()),
    pa.field(URL, pa.string()),  # the link as published (trimmed, http(s) only)
    pa.field(CANONICAL_URL, pa.string()),  # the link in one form per article: article_id's input
    pa.field(SOURCE_URI, pa.string(), nullable=False),
    pa.field(SOURCE, pa.string()),
    pa.field(TITLE, pa.string()),
    pa.field(TEXT, pa.string(), nullable=False),
    pa.field(AUTHORS, pa.list_(pa.string())),
    pa.field(AUTHOR_ORGS, pa.list_(pa.string())),
    pa.field(CATEGORIES, pa.list_(pa.string())),
    pa.field(DESCRIPTION, pa.string()),
    pa.field(IMAGE_URL, pa.string()),
    pa.field(KEYWORDS, pa.list_(pa.string())),
    pa.field(SECTION, pa.string()),
    pa.field(SITE_NAME, pa.string()),
    pa.field(IS_PAYWALLED, pa.bool_()),
    pa.field(METADATA_SOURCE, METADATA_SOURCE_STRUCT),
    pa.field(PUBLISHED_AT, UTC_TIMESTAMP),
    pa.field(MODIFIED_AT, UTC_TIMESTAMP),
    pa.field(INGESTED_AT, UTC_TIMESTAMP, nullable=False),
    pa.field(DATE_SOURCE, pa.string(), nullable=False),
    pa.field(MODIFIED_SOURCE, pa.string()),
    pa.field(LANGUAGE, pa.string(), nullable=False),
    pa.field(LANGUAGE_CONFIDENCE, pa.float64()),
    pa.field(WORD_COUNT, pa.int32(), nullable=False),
    pa.field(CONTENT_HASH, pa.string(), nullable=False),
    pa.field(TEXT_ORIGIN, pa.string(), nullable=False),
    pa.field(FULL_TEXT_ERROR, pa.string()),
    pa.field(BOILERPLATE, pa.list_(BOILERPLATE_ITEM)),
    pa.field(FLAGS, pa.list_(pa.string())),
    pa.field(ENTITIES, pa.list_(MENTION)),
    pa.field(NER_MODEL, pa.string()),
    pa.field(MINHASH, pa.list_(pa.uint32())),
    pa.field(NEAR_DUPLICATE_OF, pa.string()),
    pa.field(PLACES, pa.list_(PLACE_STRUCT)),
    pa.field(STORY_ID, pa.string()),  # null only for rows written outside the pipeline
    pa.field(INPUT_FORMAT, pa.string(), nullable=False),
    pa.field(RUN_ID, pa.string(), nullable=False),
    pa.field(SCHEMA_VERSION_FIELD, pa.int32(), nullable=False),
])
