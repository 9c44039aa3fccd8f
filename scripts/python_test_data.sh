#!/usr/bin/env bash
# Generates (once) the ensembles the Python package's tests read, into
# target/py-data (or $1), with ../shared/tools/make_ensemble.py under a Python
# that has ecCodes ($GIK_PYTHON, default .venv/bin/python). Deterministic bytes.
#
#   d2/       a second date (2025-01-02), 4 members, 5°, every AIFS-ENS input (50r1)
#   ens51/    51 members, 2.5°, 2t and tp at step 6 (50r1)
#   ens51-025/ 51 members, 0.25°, step 6: 2t, tp, t at 500 and 850 hPa (50r1)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-${GIK_PY_DATA:-target/py-data}}"
PY="${GIK_PYTHON:-.venv/bin/python}"
GEN="${GIK_SHARED:-../shared}/tools/make_ensemble.py"
make() {  # name, args…
  local dir="$OUT/$1"; shift
  if [ -f "$dir/.done" ]; then return; fi
  rm -rf "$dir"
  "$PY" "$GEN" --out "$dir" "$@" > /dev/null
  touch "$dir/.done"
}
make d2 --date 20250102 --members 4 --steps 0 6 --grid 5
make ens51 --members 51 --steps 6 --grid 2.5 --params 2t,tp
make ens51-025 --members 51 --steps 6 --grid 0.25 --params 2t,tp,t --levels 500,850
