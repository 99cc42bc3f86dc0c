"""newsbeam's entry points: options, pipeline construction, run and commit."""

import logging


class _DropApitoolsNotice(logging.Filter):
  """Beam logs this on import whenever the GCP extras are absent; it is noise."""

  def filter(self, record):
    return 'apitools not found' not in str(record.msg)


logging.getLogger().addFilter(_DropApitoolsNotice())
