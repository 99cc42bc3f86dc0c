"""Places: the ``places`` column of articles and the places dataset.

``places/date=YYYY-MM-DD/lang=xx/part-<run_id>-<n>.parquet`` holds one row
per (article, place), built for "where is the news": each place the article
names (GPE/LOC entities, nationality words, counties, abbreviations, places
heading an organisation's name; for languages without NER, gazetteer matches
in the text) resolved to a country, a first-level subdivision, a county, a
town or a continent of the packaged gazetteer (GeoNames cities down to 500
people, countries, US states and counties, Canadian provinces, Australian
states, the UK's nations). A place the resolver is not sure of
(confidence under transforms.enrich.geo.places.MIN_RESOLVED_CONFIDENCE) keeps its name
and kind but no coordinates, GeoNames id or subdivision (and no country when
that is unsure too).
"""

import pyarrow as pa

from schemas.common import UTC_TIMESTAMP

# The article field holding the resolved places (schemas.article.PLACES once wired).
ARTICLE_PLACES = 'places'

# Fields of one place in the article's ``places`` list (and, with the article
# fields below, of a row of the places dataset).
NAME = 'name'  # the place as the article names it (the first mention)
PLACE = 'place'  # the gazetteer's English name
KIND = 'kind'
COUNTRY_CODE = 'country_code'  # ISO 3166-1 alpha-2 ('EU' for the European Union); null when unsure
ADMIN1 = 'admin1'  # ISO 3166-2 code of the first-level subdivision, when known
LAT = 'lat'
LON = 'lon'
GEONAMES_ID = 'geonames_id'
CONFIDENCE = 'confidence'  # the candidates' weight share agreeing with it (0-1)
METHOD = 'method'
MENTIONED_AS = 'mentioned_as'  # every name of the article resolved to this place

# Values of KIND. A country's lat/lon is the population centroid of its
# gazetteer towns, a subdivision's the middle of its towns' bounding box: not
# boundary centroids (GeoNames ids are given for countries and US states).
KIND_COUNTRY = 'country'
KIND_ADMIN1 = 'admin1'
KIND_CITY = 'city'  # a town or city of any size
KIND_COUNTY = 'county'  # a US county or parish: placed at a town of the article in its state
KIND_CONTINENT = 'continent'
KIND_REGION = 'region'  # a region standing for a country or union ("Gaza", "European Union")
KIND_FEATURE = 'feature'  # a lake, river or mountain the gazetteer lacks: never placed
KIND_BUILDING = 'building'  # a seat of government ("White House"): its city's position

# Values of METHOD: where the mention came from.
METHOD_NER = 'ner'  # a GPE or LOC entity of the NER stage
METHOD_GAZETTEER = 'gazetteer'  # a capitalised name of the text found in the gazetteer
METHOD_DEMONYM = 'demonym'  # a nationality word (NORP) standing for its country ("Turkish")
METHOD_ABBREVIATION = 'abbreviation'  # a state's abbreviation after a town ("Edmonton, Ky.")
METHOD_ORGANISATION = 'organisation'  # a place heading an organisation's name ("Gainesville Police")

# A place's own fields, in the article's list and in the places dataset.
_PLACE_FIELDS = (
    pa.field(NAME, pa.string(), nullable=False),
    pa.field(PLACE, pa.string(), nullable=False),
    pa.field(KIND, pa.string(), nullable=False),
    pa.field(COUNTRY_CODE, pa.string()),
    pa.field(ADMIN1, pa.string()),
    pa.field(LAT, pa.float64()),
    pa.field(LON, pa.float64()),
    pa.field(GEONAMES_ID, pa.int64()),
    pa.field(CONFIDENCE, pa.float64(), nullable=False),
    pa.field(METHOD, pa.string(), nullable=False),
)

PLACE_STRUCT = pa.struct([
    *_PLACE_FIELDS,
    pa.field(MENTIONED_AS, pa.list_(pa.string()), nullable=False),
])

# Columns of the places dataset besides the place's own fields.
ARTICLE_ID = 'article_id'
PUBLISHED_AT = 'published_at'
SOURCE = 'source'
RUN_ID = 'run_id'
SCHEMA_VERSION_FIELD = 'schema_version'

PLACE_SCHEMA = pa.schema([
    pa.field(ARTICLE_ID, pa.string(), nullable=False),
    *_PLACE_FIELDS,
    pa.field(PUBLISHED_AT, UTC_TIMESTAMP),
    pa.field(SOURCE, pa.string()),
    pa.field(RUN_ID, pa.string(), nullable=False),
    pa.field(SCHEMA_VERSION_FIELD, pa.int32(), nullable=False),
])

# Place columns an entities row can carry for a GPE/LOC entity (null for
# other entities and for places that did not resolve).
ENTITY_PLACE_COUNTRY_CODE = 'place_country_code'
ENTITY_PLACE_ADMIN1 = 'place_admin1'
ENTITY_PLACE_LAT = 'place_lat'
ENTITY_PLACE_LON = 'place_lon'
ENTITY_PLACE_GEONAMES_ID = 'place_geonames_id'

ENTITY_PLACE_FIELDS = (
    pa.field(ENTITY_PLACE_COUNTRY_CODE, pa.string()),
    pa.field(ENTITY_PLACE_ADMIN1, pa.string()),
    pa.field(ENTITY_PLACE_LAT, pa.float64()),
    pa.field(ENTITY_PLACE_LON, pa.float64()),
    pa.field(ENTITY_PLACE_GEONAMES_ID, pa.int64()),
)
ENTITY_PLACE_NAMES = tuple(f.name for f in ENTITY_PLACE_FIELDS)
ENTITY_PLACE_LABELS = ('GPE', 'LOC')  # entities whose rows carry the place columns
