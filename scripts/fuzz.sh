#!/usr/bin/env bash
# Fuzz gik-core's parsers of untrusted bytes (one cargo-fuzz target each,
# fuzz/fuzz_targets/; seeds in fuzz/seeds/<target>/, see its README):
#   scripts/fuzz.sh <target> [seconds] [jobs]   one target (default 900 s, 1 job)
#   scripts/fuzz.sh all [seconds] [jobs]        every target in turn, each for [seconds]
#   scripts/fuzz.sh [seconds] [jobs]            the grib target (as before)
#   scripts/fuzz.sh list                        the targets
# Needs cargo-fuzz (installed if missing); uses RUSTC_BOOTSTRAP so the
# stable toolchain can build with sanitizer flags. Builds with debug
# assertions (-a): integer overflow panics, as it would in a debug build.
# Limits on every run: 2 GB resident (-rss_limit_mb), no single allocation
# over 512 MB (-malloc_limit_mb), 10 s per input (-timeout). A crash leaves
# its input in fuzz/artifacts/<target>/ and the script fails; the new
# inputs found are kept in fuzz/corpus/<target>/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
TARGETS=$(cargo fuzz list)
case "${1:-}" in
  list) echo "$TARGETS"; exit 0 ;;
  ''|[0-9]*) WHICH=grib ;;
  *) WHICH="$1"; shift ;;
esac
SECS="${1:-900}"
JOBS="${2:-1}"
if [ "$WHICH" = all ]; then
  WHICH="$TARGETS"
  cargo fuzz build -a
else
  grep -qx "$WHICH" <<<"$TARGETS" || { echo "no fuzz target $WHICH; the targets are:" >&2; echo "$TARGETS" >&2; exit 2; }
  cargo fuzz build -a "$WHICH"
fi
# one job runs in this process (output here); more write fuzz-<n>.log each
PAR=()
if [ "$JOBS" -gt 1 ]; then PAR=(-jobs="$JOBS" -workers="$JOBS"); fi
for t in $WHICH; do
  mkdir -p "corpus/$t" "artifacts/$t"
  printf '\n==> fuzz %s for %s s (%s job)\n' "$t" "$SECS" "$JOBS"
  cargo fuzz run -a "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$SECS" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    "${PAR[@]}" -print_final_stats=1
done
