#!/usr/bin/env bash
# Creates or refreshes ./.venv: installs requirements.lock into it, every file
# checked against its sha256, then newsbeam itself (editable, without deps).
# Reinstalls only when requirements.lock or setup.py changed since the last
# install. Called by run_local.sh and run_tests.sh with the extras they need
# in $1: "" (run_local.sh), "test" (run_tests.sh) or "train". The one lock
# holds the runtime and the "test" extra (which includes "train"), so every
# caller gets the whole lock: the same pins for running and for testing, and
# switching between the two scripts installs nothing. PYTHON=python3.11 picks
# the interpreter that creates the venv.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
lock="$root/requirements.lock"
extras="${1:-}"
python="${PYTHON:-python3}"
for extra in ${extras//,/ }; do
  case "$extra" in
    test|train) ;;
    *) echo "newsbeam: unknown extra '$extra' (requirements.lock has test, train)" >&2; exit 2 ;;
  esac
done
if [ ! -x "$venv/bin/python" ]; then
  echo "newsbeam: creating $venv" >&2
  "$python" -m venv "$venv"
fi
stamp="$venv/.newsbeam-installed"
want="$(cat "$lock" "$root/setup.py" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
  echo "newsbeam: installing requirements.lock and newsbeam into $venv" >&2
  # pip first, at the lock's version and sha256 (its own entry of the lock), so
  # that the rest is installed by that pip and not by whatever pip the venv
  # came with.
  pip_lock="$(mktemp)"
  trap 'rm -f "$pip_lock"' EXIT
  awk '/^pip==/ { p = 1 } p { print } p && !/\\$/ { exit }' "$lock" > "$pip_lock"
  "$venv/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$pip_lock" >&2
  "$venv/bin/python" -m pip install --quiet --require-hashes -r "$lock" >&2
  # newsbeam itself: its dependencies all came from the lock (--no-deps), and
  # it is built with the lock's setuptools (--no-build-isolation), not with
  # one fetched unchecked; there is no hash to check for the working tree.
  (cd "$root" && "$venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .) >&2
  echo "$want" > "$stamp"
fi
