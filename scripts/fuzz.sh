#!/usr/bin/env bash
# Fuzz GRIB framing + metadata + decoding: scripts/fuzz.sh [seconds] [jobs]
# Needs cargo-fuzz (cargo install cargo-fuzz); uses RUSTC_BOOTSTRAP so the
# stable toolchain can build with sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECS="${1:-900}"
JOBS="${2:-1}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p corpus/grib
RUSTC_BOOTSTRAP=1 cargo fuzz run grib corpus/grib seeds/grib -- \
  -max_total_time="$SECS" -rss_limit_mb=3072 -timeout=10 -jobs="$JOBS" -workers="$JOBS" -print_final_stats=1
