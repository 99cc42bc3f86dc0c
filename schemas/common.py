"""Types and partition columns shared by several datasets."""

import re

import pyarrow as pa

UTC_TIMESTAMP = pa.timestamp('us', tz='UTC')

# Hive partition columns: they live in the folder names, not in the files.
DATE = 'date'
LANG = 'lang'

DATE_PARTITION_SCHEMA = pa.schema([pa.field(DATE, pa.date32())])
DATE_LANG_PARTITION_SCHEMA = pa.schema(
    [pa.field(DATE, pa.date32()), pa.field(LANG, pa.string())])

# A partition value comes from data, so it must match these before it becomes
# part of a path.
DATE_VALUE_PATTERN = re.compile(r'\A\d{4}-\d{2}-\d{2}\Z')
LANG_VALUE_PATTERN = re.compile(r'\A(?:[a-z]{2,3}|und)\Z')
