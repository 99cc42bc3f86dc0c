"""The article record: one row of ``articles/date=YYYY-MM-DD/lang=xx/``."""

import pyarrow as pa

from schemas.common import UTC_TIMESTAMP
from schemas.entity import MENTION

ARTICLE_ID = 'article_id'
EXTERNAL_ID = 'external_id'
URL = 'url'
SOURCE_URI = 'source_uri'
SOURCE = 'source'
TITLE = 'title'
TEXT = 'text'
AUTHORS = 'authors'
PUBLISHED_AT = 'published_at'
INGESTED_AT = 'ingested_at'
DATE_SOURCE = 'date_source'
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

MINHASH_PERMUTATIONS = 64  # values in a MinHash signature
INPUT_FORMAT = 'input_format'
RUN_ID = 'run_id'
SCHEMA_VERSION_FIELD = 'schema_version'

# Values of DATE_SOURCE: where the ``date`` partition came from.
DATE_FROM_PUBLISHED = 'published'
DATE_FROM_INGESTED = 'ingested'

UNDETERMINED_LANGUAGE = 'und'

# Values of TEXT_ORIGIN: where the text came from.
TEXT_FROM_FILE = 'file'  # text given as such: a text file or a JSON object's text
TEXT_FROM_HTML = 'html'  # extracted from an HTML input (a file or a JSON object's html)
TEXT_FROM_FEED = 'feed'  # the feed entry's own content or summary
TEXT_FROM_PAGE = 'page'  # the entry's page, fetched and extracted
TEXT_FROM_LINK = 'link_only'  # an entry with a title and a link, and no text of its own

# Values of FLAGS: what a reader should know about an article.
FLAG_ALL_BOILERPLATE = 'all_boilerplate'  # the cleaners would have removed all of its text

# One removed piece of text, the rule that removed it, and the classifier's
# score when the classifier did.
BOILERPLATE_ITEM = pa.struct([
    pa.field(BOILERPLATE_RULE, pa.string(), nullable=False),
    pa.field(BOILERPLATE_TEXT, pa.string(), nullable=False),
    pa.field(BOILERPLATE_SCORE, pa.float64()),
])

ARTICLE_SCHEMA = pa.schema([
    pa.field(ARTICLE_ID, pa.string(), nullable=False),
    pa.field(EXTERNAL_ID, pa.string()),
    pa.field(URL, pa.string()),
    pa.field(SOURCE_URI, pa.string(), nullable=False),
    pa.field(SOURCE, pa.string()),
    pa.field(TITLE, pa.string()),
    pa.field(TEXT, pa.string(), nullable=False),
    pa.field(AUTHORS, pa.list_(pa.string())),
    pa.field(CATEGORIES, pa.list_(pa.string())),
    pa.field(PUBLISHED_AT, UTC_TIMESTAMP),
    pa.field(INGESTED_AT, UTC_TIMESTAMP, nullable=False),
    pa.field(DATE_SOURCE, pa.string(), nullable=False),
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
    pa.field(INPUT_FORMAT, pa.string(), nullable=False),
    pa.field(RUN_ID, pa.string(), nullable=False),
    pa.field(SCHEMA_VERSION_FIELD, pa.int32(), nullable=False),
])
