#!/usr/bin/env bash
# Line coverage of gik-core (core/src) that each fuzz target reaches from
# its corpus: the campaign corpus fuzz/corpus/<target>/ (left by
# scripts/fuzz.sh, not committed) plus the seeds fuzz/seeds/<target>/.
#   scripts/fuzz_coverage.sh [target...]           default: every target
#   scripts/fuzz_coverage.sh --report [target...]  the table from the
#                                                  profiles already there
# For each target: `cargo fuzz coverage` (no sanitizer, an instrumented
# build in fuzz/target/<host>/coverage/) runs every corpus input once and
# merges the profile into fuzz/coverage/<target>/coverage.profdata; then
# llvm-cov counts the lines of core/src:
#   reached  lines covered / lines of the core/src files it touches
#            (a file counts when at least one of its lines ran)
#   core/src lines covered / every instrumented line of core/src in the
#            binary (unused functions count as uncovered)
# The last row, `all`, is the union of every target's profile over the
# same lines. Results: a table on stdout and fuzz/coverage/summary.tsv.
# Needs rustup's llvm-tools (installed if missing) for an llvm-cov that
# reads the profiles of this rustc's LLVM.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/fuzz"
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
HOST=$(rustc -vV | sed -n 's/^host: //p')
TOOLS="$(rustc --print sysroot)/lib/rustlib/$HOST/bin"
[ -x "$TOOLS/llvm-cov" ] || rustup component add llvm-tools
RUN=1
if [ "${1:-}" = --report ]; then RUN=0; shift; fi
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(cargo fuzz list)
BIN_DIR="$ROOT/fuzz/target/$HOST/coverage/$HOST/release"
OUT="$ROOT/fuzz/coverage"
mkdir -p "$OUT"

# one row per target from `llvm-cov export -summary-only` JSON on stdin
count() {
  python3 -c '
import json, sys
name, src = sys.argv[1], sys.argv[2]
files = [f for d in json.load(sys.stdin)["data"] for f in d["files"]
         if f["filename"].startswith(src)]
lines = [f["summary"]["lines"] for f in files]
touched = [l for l in lines if l["covered"] > 0]
cov = sum(l["covered"] for l in lines)
tot = sum(l["count"] for l in lines)
ttot = sum(l["count"] for l in touched)
print(f"{name}\t{len(touched)}\t{cov}\t{ttot}\t{100*cov/max(ttot,1):.1f}\t{len(files)}\t{tot}\t{100*cov/max(tot,1):.1f}")
' "$1" "$ROOT/core/src/"
}

printf 'target\tfiles reached\tlines covered\tlines in those files\t%%\tcore/src files\tcore/src lines\t%%\n' >"$OUT/summary.tsv"
OBJECTS=()
PROFILES=()
for t in "${TARGETS[@]}"; do
  if [ "$RUN" = 1 ]; then
    corpora=()
    [ -d "corpus/$t" ] && corpora+=("corpus/$t")
    corpora+=("seeds/$t")
    n=$(find "${corpora[@]}" -type f | wc -l)
    printf '\n==> coverage of %s over %s inputs (%s)\n' "$t" "$n" "${corpora[*]}" >&2
    rm -rf "$OUT/$t"
    cargo fuzz coverage -s none "$t" "${corpora[@]}" -- -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 >&2
  fi
  prof="$OUT/$t/coverage.profdata"
  "$TOOLS/llvm-cov" export -summary-only -instr-profile="$prof" "$BIN_DIR/$t" |
    count "$t" >>"$OUT/summary.tsv"
  OBJECTS+=(-object "$BIN_DIR/$t")
  PROFILES+=("$prof")
done
if [ ${#TARGETS[@]} -gt 1 ]; then
  "$TOOLS/llvm-profdata" merge -sparse "${PROFILES[@]}" -o "$OUT/all.profdata"
  "$TOOLS/llvm-cov" export -summary-only -instr-profile="$OUT/all.profdata" "${OBJECTS[@]}" |
    count all >>"$OUT/summary.tsv"
fi
column -t -s $'\t' "$OUT/summary.tsv"
