#!/usr/bin/env bash
# gik's states through anemoi-inference (SimpleRunner, fake checkpoints):
# outside ./scripts/test.sh because PyTorch from PyPI is ~6 GB with its CUDA
# wheels. Makes target/anemoi/venv (anemoi-inference 0.13, torch, ecCodes),
# builds gik and the loopback range server, then runs anemoi_run_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export GIK_SHARED="${GIK_SHARED:-$ROOT/../shared}"
V=target/anemoi/venv
if [ ! -x "$V/bin/python" ]; then python3 -m venv "$V"; fi
"$V/bin/python" -c 'import anemoi.inference, torch, eccodes' 2>/dev/null \
  || "$V/bin/pip" install -q anemoi-inference==0.13.0 torch eccodes numpy
cargo build -q -p gik-cli --bin gik
cargo build -q -p gik-cli --example range_server
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export GIK_BIN="$TARGET_DIR/debug/gik"
export GIK_RANGE_SERVER="$TARGET_DIR/debug/examples/range_server"
exec "$V/bin/python" scripts/anemoi_run_check.py "$@"
