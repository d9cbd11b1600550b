#!/usr/bin/env bash
# Creates the Python venv of the consumer example (python/stock_consumer.py) with
# the pinned dependencies of python/requirements.txt, from PyPI, wheels only.
# Idempotent (reinstalls only when requirements.txt changes) and safe to run
# concurrently (flock). Prints the venv's python on success; on failure says why
# on stderr and exits non-zero. PYTHON_VENV overrides the location.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${PYTHON_VENV:-$root/.stack/python-venv}
req=$root/python/requirements.txt

fail() { echo "python bootstrap: $*" >&2; exit 1; }
command -v python3 >/dev/null || fail "python3 not found (install python3 >= 3.11 and python3-venv)"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
  fail "python3 is $(python3 --version 2>&1); the pinned wheels need >= 3.11"

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -x $venv/bin/python && -f $venv/.requirements.sha256 && $(cat "$venv/.requirements.sha256") == "$want" ]]; then
  echo "$venv/bin/python"
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv" >&2 || fail "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r "$req" >&2 ||
  fail "pip could not install $req as wheels for $(python3 --version 2>&1) on $(uname -m) (is PyPI reachable?)"
echo "$want" >"$venv/.requirements.sha256"
echo "$venv/bin/python"
