#!/usr/bin/env bash
# Creates or refreshes ./.venv with the test extras and runs the test suite.
# Arguments pass through to pytest (e.g. ./run_tests.sh -k normalize).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/ensure_venv.sh" test
cd "$root"
exec "$root/.venv/bin/python" -m pytest "$@"
