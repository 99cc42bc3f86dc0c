#!/usr/bin/env bash
# Creates or refreshes ./.venv with the test extras and runs the test suite.
# Arguments pass through to pytest (e.g. ./run_tests.sh -k normalize); the tests
# run on one worker per core.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/ensure_venv.sh" test
# The report test renders HTML in Debian's headless Chromium: install it when
# missing and possible (root, apt); otherwise that one test is skipped.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null 2>&1 && [ -z "${NEWSBEAM_NO_APT:-}" ]; then
  echo "newsbeam: installing Debian's chromium for the report test" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
    >/dev/null 2>&1 || echo "newsbeam: could not install chromium; its test will be skipped" >&2
fi
cd "$root"
# One pytest worker per core (pytest-xdist): about 15 minutes on 2 cores.
# NEWSBEAM_TEST_WORKERS=0 runs everything in one process; -m 'not slow' leaves
# out the long end-to-end runs (the Dask cluster tests).
exec "$root/.venv/bin/python" -m pytest -n "${NEWSBEAM_TEST_WORKERS:-auto}" "$@"
