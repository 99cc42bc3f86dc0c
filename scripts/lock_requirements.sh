#!/usr/bin/env bash
# Regenerates requirements.lock: every package that newsbeam and its "test"
# extra need (runtime, test and, through "test", the "train" extra), all the
# way down, each pinned to one version with the sha256 of every file the
# registry has for it. Run it on Linux x86_64 with CPython 3.11 (what CI uses)
# after changing a requirement in setup.py, and commit the two files together:
#   scripts/lock_requirements.sh                       # keep the pins, add what is new
#   scripts/lock_requirements.sh --upgrade-package X   # move X to its latest release
# Arguments pass through to pip-compile. pip-tools goes into a throwaway venv
# under /tmp, never into ./.venv. pip and setuptools are locked too (stdin), so
# that scripts/ensure_venv.sh installs hash-checked copies of them as well.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
"$python" - <<'PY' || echo "newsbeam: warning: CI pins for Linux x86_64 CPython 3.11" >&2
import platform, sys
sys.exit(sys.version_info[:2] != (3, 11) or platform.machine() != 'x86_64')
PY
tools="$(mktemp -d /tmp/newsbeam-lock.XXXXXX)"
trap 'rm -rf "$tools"' EXIT
"$python" -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install --quiet 'pip-tools==7.6.2' >&2
args=(--allow-unsafe --extra=test --generate-hashes --no-emit-options --strip-extras
      --output-file=requirements.lock setup.py -)
# The lock holds names, versions and hashes only: pip-compile reads no pip
# configuration (PIP_CONFIG_FILE=/dev/null: the default registry only) and
# --no-emit-options writes no index URL or other option into the file.
command="printf '%s\\n' pip setuptools | PIP_CONFIG_FILE=/dev/null pip-compile ${args[*]}"
cd "$root"
printf '%s\n' pip setuptools \
  | env -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_FIND_LINKS -u PIP_CONSTRAINT \
      PIP_CONFIG_FILE=/dev/null \
      CUSTOM_COMPILE_COMMAND="scripts/lock_requirements.sh, which runs in a venv with pip-tools==7.6.2:
#    $command" \
      "$tools/venv/bin/pip-compile" --quiet "${args[@]}" "$@"
echo "newsbeam: wrote $root/requirements.lock" >&2
