"""Every Arrow schema newsbeam writes, declared once.

Records flowing between pipeline steps are plain dicts keyed by the field-name
constants of these modules; the writers turn them into tables with these
schemas and never let pyarrow infer one.
"""

SCHEMA_VERSION = 4  # 2: flags, boilerplate scores, drop titles and details, stage counts
# 3: canonical_url, legacy_article_id, modified_at, modified_source, date sources, places,
#    story_id; stories and places datasets
# 4: author_orgs (authors hold people only); warning_inputs, seen_again and
#    seen_again_by_feed in runs


def _package_version():
  from importlib import metadata  # pylint: disable=import-outside-toplevel
  try:
    return metadata.version('newsbeam')
  except metadata.PackageNotFoundError:
    return '0+unknown'  # run from a source tree that was never installed


PACKAGE_VERSION = _package_version()
