"""Every Arrow schema newsbeam writes, declared once.

Records flowing between pipeline steps are plain dicts keyed by the field-name
constants of these modules; the writers turn them into tables with these
schemas and never let pyarrow infer one.
"""

SCHEMA_VERSION = 1
