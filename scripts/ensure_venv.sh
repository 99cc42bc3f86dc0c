#!/usr/bin/env bash
# Creates or refreshes ./.venv and installs newsbeam into it (editable), with
# the extras named in $1 (e.g. "test"). Reinstalls only when setup.py or the
# extras changed since the last install. Sourced by run_local.sh and run_tests.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "newsbeam: creating $venv" >&2
  "$python" -m venv "$venv"
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp="$venv/.newsbeam-installed"
want="$(cat "$root/setup.py" | sha256sum | cut -d' ' -f1) $extras"
if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
  echo "newsbeam: installing $spec into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  (cd "$root" && "$venv/bin/python" -m pip install --quiet -e "$spec") >&2
  echo "$want" >> "$stamp"
fi
