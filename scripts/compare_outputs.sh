#!/usr/bin/env bash
# Runs `gik scan` (every format, every mode, both demo cycles, the shared
# GRIB samples), `gik inspect`, `gik decode`, `gik regrid`, `gik extract`
# (states from references in every format: grid/aifs layouts, 0.25°/N320,
# float32/64, --var pickle/npy, a checkpoint's metadata, missing inputs)
# and `gik demo` with one
# binary and writes what they produce, their exit codes and their standard
# error into a folder; with --against, compares that folder byte for byte
# (`cmp`) with one written by another binary (e.g. before a refactoring).
#
#   GIK=old/gik scripts/compare_outputs.sh --out target/golden-before/out
#   scripts/compare_outputs.sh --against target/golden-before/out   # GIK: target/debug/gik
#
# Outputs and exit codes must be identical; standard error is compared too
# and differences are listed, but fail only with --strict-stderr (messages
# may be reworded on purpose). HTTP scans go through the loopback range
# server (`cargo build -p gik-cli --example range_server`, or RANGE_SERVER=…);
# its port is replaced by PORT in the JSON before comparing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED="${GIK_SHARED:-$ROOT/../shared}"
GIK="${GIK:-$ROOT/target/debug/gik}"
RANGE_SERVER="${RANGE_SERVER:-$ROOT/target/debug/examples/range_server}"
OUT=""
AGAINST=""
STRICT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --against) AGAINST="$2"; shift 2 ;;
    --strict-stderr) STRICT=1; shift ;;
    *) echo "usage: $0 [--out DIR] [--against GOLDEN_DIR] [--strict-stderr]" >&2; exit 2 ;;
  esac
done
[ -x "$GIK" ] || { echo "no gik binary at $GIK (cargo build -p gik-cli, or GIK=…)" >&2; exit 1; }
[ -d "$SHARED/data/grib" ] || { echo "shared data not found at $SHARED/data/grib (set GIK_SHARED)" >&2; exit 1; }
[ -x "$RANGE_SERVER" ] || { echo "no range server at $RANGE_SERVER (cargo build -p gik-cli --example range_server)" >&2; exit 1; }
if [ -z "$OUT" ]; then
  [ -n "$AGAINST" ] || { echo "give --out DIR, --against GOLDEN_DIR or both" >&2; exit 2; }
  OUT="$(mktemp -d)/out"
fi
rm -rf "$OUT"
mkdir -p "$OUT"

# run NAME CMD…: runs gik with CMD, keeps its exit code and standard error.
run() {
  local name="$1"; shift
  set +e
  "$GIK" "$@" 2>"$OUT/$name.stderr" >"$OUT/$name.stdout"
  echo $? >"$OUT/$name.rc"
  set -e
}

for cycle in 49r1 50r1; do
  files=("$ROOT"/data/demo/$cycle/*.grib2)
  for mode in auto index headers; do
    for fmt in json parquet dir; do
      case "$fmt" in
        json) target="$OUT/scan-$cycle-$mode.json" ;;
        parquet) target="$OUT/scan-$cycle-$mode.parquet" ;;
        dir) target="$OUT/scan-$cycle-$mode.dir" ;;
      esac
      run "scan-$cycle-$mode-$fmt" scan -q --mode "$mode" --out "$target" "${files[@]}"
    done
    for fmt in json dir; do
      mkdir -p "$OUT/split-$cycle-$mode-$fmt"
      if [ "$fmt" = json ]; then target="$OUT/split-$cycle-$mode-$fmt/refs.json"; else target="$OUT/split-$cycle-$mode-$fmt/refs"; fi
      run "split-$cycle-$mode-$fmt" scan -q --split-members --mode "$mode" --out "$target" "${files[@]}"
    done
  done
  for verify in sample none; do
    run "scan-$cycle-verify-$verify" scan -q --mode index --verify "$verify" --out "$OUT/scan-$cycle-verify-$verify.json" "${files[@]}"
  done
  run "scan-$cycle-stdout" scan -q --out - "${files[@]}"
  run "inspect-$cycle" inspect "${files[0]}"
  run "inspect-$cycle-json" inspect --json "${files[0]}"
  run "decode-$cycle" decode --all --out "$OUT/decode-$cycle.npy" "${files[0]}"
  # gik extract from the references just written (every format: refs::open), every layout.
  refs="$OUT/scan-$cycle-auto.json"
  for fmt in json parquet dir; do
    src="$OUT/scan-$cycle-auto.$fmt"
    run "extract-$cycle-$fmt-grid" extract -q --refs "$src" --out "$OUT/extract-$cycle-$fmt-grid"
  done
  run "extract-$cycle-split" extract -q --refs "$OUT/split-$cycle-auto-dir/refs" --members 0,2 --out "$OUT/extract-$cycle-split"
  run "extract-$cycle-aifs" extract -q --refs "$refs" --layout aifs --out "$OUT/extract-$cycle-aifs"
  run "extract-$cycle-aifs-f64" extract -q --refs "$refs" --layout aifs --dtype float64 --members 1-2 --params 2t,msl,t_850,gh_500 --out "$OUT/extract-$cycle-aifs-f64"
  run "extract-$cycle-steps" extract -q --refs "$refs" --steps 0,6 --members 3 --out "$OUT/extract-$cycle-steps"
  run "extract-$cycle-date" extract -q --refs "$refs" --date 2025-01-01T06 --steps 6 --members 0 --coalesce-gap off --concurrency 1 --out "$OUT/extract-$cycle-date"
  run "extract-$cycle-single" extract -q --refs "$refs" --params aifs-single --layout aifs --members 0 --out "$OUT/extract-$cycle-single"
  run "extract-$cycle-missing" extract -q --refs "$refs" --params 2t,nope_500 --out "$OUT/extract-$cycle-missing"
  run "extract-$cycle-allow-missing" extract -q --refs "$refs" --params 2t,nope_500 --allow-missing --members 0 --out "$OUT/extract-$cycle-allow-missing"
  run "extract-$cycle-n320" extract -q --refs "$refs" --grid n320 --members 0 --out "$OUT/extract-$cycle-n320"
  run "extract-$cycle-ckpt" extract -q --refs "$refs" --checkpoint-metadata "$SHARED/data/anemoi/global-2in-2out-test-metadata.json" --grid 0.25 --members 0 --out "$OUT/extract-$cycle-ckpt"
  run "extract-$cycle-ckpt-allow" extract -q --refs "$refs" --checkpoint-metadata "$SHARED/data/anemoi/global-2in-2out-test-metadata.json" --grid 0.25 --allow-missing --members 0,1 --out "$OUT/extract-$cycle-ckpt-allow"
  run "extract-$cycle-analyses" extract -q --refs "$refs" --layout aifs --inputs analyses --out "$OUT/extract-$cycle-analyses"
  for fmt in pickle npy; do
    run "extract-$cycle-var-$fmt" extract -q --refs "$refs" --var t/instant/isobaricInhPa/t --format "$fmt" --out "$OUT/extract-$cycle-var-$fmt"
    run "extract-$cycle-var2t-$fmt" extract -q --refs "$OUT/scan-$cycle-auto.dir" --var t2m/instant/heightAboveGround/t2m --dtype float64 --format "$fmt" --out "$OUT/extract-$cycle-var2t-$fmt"
  done
  run "extract-$cycle-var-unknown" extract -q --refs "$refs" --var nope/instant/surface/nope --out "$OUT/extract-$cycle-var-unknown"
done
# gik demo: references and every member's states of both cycles.
run "demo" demo --out "$OUT/demo"

# Every GRIB file of the shared samples, alone: headers, and auto (their .index / .idx where there is one).
n=0
for f in "$SHARED"/data/grib/*; do
  [ -f "$f" ] || continue
  case "$f" in *.md|*.idx|*.index|*.json|*.gz|*.xz|*.parquet) continue ;; esac
  n=$((n + 1))
  base="shared-$(basename "$f")"
  run "$base-headers" scan -q --mode headers --out "$OUT/$base-headers.json" "$f"
  run "$base-auto" scan -q --out "$OUT/$base-auto.parquet" "$f"
  run "$base-inspect" inspect --json "$f"
done
# Several shared files in one scan (mixed grids, centres, an .idx).
run "shared-mixed" scan -q --out "$OUT/shared-mixed.json" \
  "$SHARED/data/grib/gribberish__gfswave.t18z.atlocn.0p16.f001.grib2" \
  "$SHARED/data/grib/gribberish__hrrr.t06z.wrfsfcf01-TMP.grib2" \
  "$SHARED/data/grib/gribberish__ecmwf-ifs-oper-surface.grib2"

SAMPLE="$ROOT/data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2"
run "sample-scan" scan -q --out "$OUT/sample.json" "$SAMPLE"
run "sample-scan-parquet" scan -q --out "$OUT/sample.parquet" "$SAMPLE"
run "sample-decode-4" decode --message 4 --out "$OUT/sample-decode-4.npy" "$SAMPLE"
run "sample-regrid-4" regrid "$SAMPLE" --message 4 --out "$OUT/sample-regrid-4.npy"
run "missing" scan -q --out "$OUT/missing.json" "$ROOT/data/demo/nope.grib2"
run "index-required" scan -q --mode index --out "$OUT/index-required.json" "$SAMPLE"
# States on N320 (MIR "linear") need the 0.25° grid: the real-size sample.
run "sample-extract-n320" extract -q --refs "$OUT/sample.json" --params tcc,sd,asn --grid n320 --out "$OUT/sample-extract-n320"
run "sample-extract-n320-aifs" extract -q --refs "$OUT/sample.json" --params tcc,sd --grid n320 --dtype float64 --allow-missing --out "$OUT/sample-extract-n320-aifs"
run "sample-extract-grid" extract -q --refs "$OUT/sample.parquet" --params tcc,sd,rsn --out "$OUT/sample-extract-grid"
run "sample-extract-missing-refs" extract -q --refs "$OUT/nope.json" --out "$OUT/sample-extract-missing-refs"

# The same scans over HTTP (object_store's reader), through the loopback range server.
PORTFILE="$(mktemp)"
"$RANGE_SERVER" "$ROOT/data" >"$PORTFILE" 2>/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^PORT ' "$PORTFILE" && break; sleep 0.1; done
PORT="$(awk '/^PORT /{print $2}' "$PORTFILE")"
[ -n "$PORT" ] || { echo "the range server did not start" >&2; exit 1; }
for cycle in 49r1 50r1; do
  urls=()
  for f in "$ROOT"/data/demo/$cycle/*.grib2; do urls+=("http://127.0.0.1:$PORT/demo/$cycle/$(basename "$f")"); done
  for mode in index headers; do
    run "http-$cycle-$mode" scan -q --mode "$mode" --out "$OUT/http-$cycle-$mode.json" "${urls[@]}"
    # states from GRIB read over HTTP (remote coalescing), and from the references served over HTTP
    run "http-$cycle-$mode-extract" extract -q --refs "$OUT/http-$cycle-$mode.json" --layout aifs --out "$OUT/http-$cycle-$mode-extract"
    sed -i "s/127\.0\.0\.1:$PORT/127.0.0.1:PORT/g" "$OUT/http-$cycle-$mode.json"
  done
done
run "http-missing" scan -q --out "$OUT/http-missing.json" "http://127.0.0.1:$PORT/demo/nope.grib2"
kill $SERVER 2>/dev/null || true
# References read over HTTP in every format (refs::open through object_store): a server over OUT.
"$RANGE_SERVER" "$OUT" >"$PORTFILE" 2>/dev/null &
SERVER=$!
for _ in $(seq 100); do grep -q '^PORT ' "$PORTFILE" && break; sleep 0.1; done
RPORT="$(awk '/^PORT /{print $2}' "$PORTFILE")"
[ -n "$RPORT" ] || { echo "the range server did not start" >&2; exit 1; }
for cycle in 49r1 50r1; do
  for src in "scan-$cycle-auto.json" "scan-$cycle-auto.parquet" "scan-$cycle-auto.dir/" "scan-$cycle-auto.dir"; do
    name="http-refs-$cycle-$(echo "$src" | tr -c 'a-z0-9\n' '_')"
    run "$name" extract -q --refs "http://127.0.0.1:$RPORT/$src" --members 0,5 --out "$OUT/$name"
  done
done
run "http-refs-missing" extract -q --refs "http://127.0.0.1:$RPORT/nope.json" --out "$OUT/http-refs-missing"
kill $SERVER 2>/dev/null || true
# Local paths, the server's port and timings appear in messages: make them comparable.
for e in "$OUT"/*.stderr "$OUT"/*.stdout; do
  sed -i -e "s#$OUT#OUT#g" -e "s#$ROOT#ROOT#g" -e "s#127\.0\.0\.1:$PORT#127.0.0.1:PORT#g" -e "s#127\.0\.0\.1:$RPORT#127.0.0.1:RPORT#g" \
    -e 's/in [0-9][0-9.]* s\b/in N s/g' "$e"
done
echo "wrote $(find "$OUT" -type f | wc -l) files from $n shared samples and the demo into $OUT"

[ -n "$AGAINST" ] || exit 0
fail=0
stderr_diff=0
want_list="$(cd "$AGAINST" && find . -type f | sort)"
got_list="$(cd "$OUT" && find . -type f | sort)"
if [ "$want_list" != "$got_list" ]; then
  echo "DIFFERENT FILE SETS:"
  diff <(echo "$want_list") <(echo "$got_list") || true
  fail=1
fi
while read -r rel; do
  [ -f "$OUT/$rel" ] || continue
  if ! cmp -s "$AGAINST/$rel" "$OUT/$rel"; then
    case "$rel" in
      *.stderr)
        stderr_diff=$((stderr_diff + 1))
        echo "stderr differs: $rel"
        { diff "$AGAINST/$rel" "$OUT/$rel" || true; } | sed 's/^/    /' | head -6 || true
        [ "$STRICT" = 1 ] && fail=1 ;;
      *) echo "DIFFERS: $rel"; fail=1 ;;
    esac
  fi
done <<<"$want_list"
total=$(echo "$want_list" | wc -l)
if [ "$fail" = 0 ]; then
  echo "identical: $total files (outputs, exit codes$( [ "$STRICT" = 1 ] && echo ", standard error")) equal to $AGAINST; $stderr_diff standard-error texts differ"
else
  echo "compare_outputs: outputs differ from $AGAINST" >&2
  exit 1
fi
