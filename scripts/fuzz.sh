#!/usr/bin/env bash
# Fuzz gik-core's parsers of untrusted bytes (one cargo-fuzz target each,
# fuzz/fuzz_targets/; seeds in fuzz/seeds/<target>/, see its README):
#   scripts/fuzz.sh <target> [seconds] [jobs]   one target (default 900 s, 1 job)
#   scripts/fuzz.sh all [seconds] [jobs]        every target, each for [seconds]
#                                               (GIK_FUZZ_PARALLEL=n: n at a time)
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
run_one() {
  mkdir -p "corpus/$1" "artifacts/$1"
  cargo fuzz run -a "$1" "corpus/$1" "seeds/$1" -- \
    -max_total_time="$SECS" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    "${PAR[@]}" -print_final_stats=1
}
# GIK_FUZZ_PARALLEL=n runs n targets at once (one core each; scripts/test.sh
# uses the machine's cores), each into fuzz/logs/<target>.log; the end of a
# failed target's log is printed and the script fails.
PARALLEL="${GIK_FUZZ_PARALLEL:-1}"
if [ "$PARALLEL" -le 1 ] || [ "$(wc -w <<<"$WHICH")" -le 1 ]; then
  for t in $WHICH; do
    printf '\n==> fuzz %s for %s s (%s job)\n' "$t" "$SECS" "$JOBS"
    run_one "$t"
  done
  exit 0
fi
rm -rf logs && mkdir -p logs
for t in $WHICH; do
  while [ "$(jobs -rp | wc -l)" -ge "$PARALLEL" ]; do wait -n || true; done
  printf '==> fuzz %s for %s s (%s job; %s targets at once; log fuzz/logs/%s.log)\n' "$t" "$SECS" "$JOBS" "$PARALLEL" "$t"
  (if run_one "$t" >"logs/$t.log" 2>&1; then echo 0; else echo 1; fi >"logs/$t.rc") &
done
wait
failed=()
for t in $WHICH; do
  printf '%s: %s\n' "$t" "$(grep -E '^Done [0-9]+ runs' "logs/$t.log" | tail -1 || true)"
  if [ "$(cat "logs/$t.rc" 2>/dev/null || echo 1)" != 0 ]; then
    failed+=("$t")
    printf '\n==> fuzz %s failed; the end of fuzz/logs/%s.log:\n' "$t" "$t"
    tail -n 60 "logs/$t.log"
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
  exit 1
fi
