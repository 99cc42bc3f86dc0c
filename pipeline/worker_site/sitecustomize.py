"""Start-up of newsbeam's local worker processes: quiet unless the run is debugged.

The DirectRunner's ``multi_processing`` mode starts each worker as a fresh
``python -m apache_beam.runners.worker.sdk_worker_main``, which logs a few
lines of its own ("apitools not found", "Logging handler created") before it
reads any option. The driver puts this folder first on the workers'
``PYTHONPATH`` and names a level in ``NEWSBEAM_WORKER_LOG_LEVEL``; Python
imports this module at start-up, and a root handler at that level keeps
those lines out of the run's output. Without the variable it does nothing.
"""

import logging
import os

_LEVEL = os.environ.get('NEWSBEAM_WORKER_LOG_LEVEL')
if _LEVEL:
  _HANDLER = logging.StreamHandler()
  _HANDLER.setLevel(getattr(logging, _LEVEL.upper(), logging.ERROR))
  _HANDLER.setFormatter(logging.Formatter('%(levelname)s %(name)s: %(message)s'))
  logging.getLogger().addHandler(_HANDLER)
