#!/usr/bin/env bash
# Builds the npm package `gik-wasm` into web/pkg/ (where the page loads it
# from) and packs it into target/npm/gik-wasm-<version>.tgz.
#
# Installs what it needs: the wasm32 target, and the wasm-bindgen CLI from
# crates.io at exactly the version Cargo.lock pins (the generated JS glue
# must match the wasm-bindgen crate). wasm-opt (Debian's binaryen) is used
# when present.
#
#   scripts/build_wasm.sh            # release build (profile `wasm`)
#   GIK_WASM_PROFILE=dev scripts/build_wasm.sh   # quick unoptimised build
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PROFILE="${GIK_WASM_PROFILE:-wasm}"
PKG="$ROOT/web/pkg"
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

say() { printf '==> %s\n' "$*"; }

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

WB_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$WB_VERSION" ]; then
  echo "wasm-bindgen is not in Cargo.lock" >&2
  exit 1
fi
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WB_VERSION" ]; then
  say "installing wasm-bindgen-cli $WB_VERSION (matches Cargo.lock)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --locked \
    || cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

# WebAssembly SIMD (every current browser, Node 16.4+): the decoders' loops
# vectorise, ~1.6x faster CCSDS decoding than without.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:--C target-feature=+simd128}"
OUT_DIR="$PROFILE"
[ "$PROFILE" = dev ] && OUT_DIR=debug
WASM="$TARGET_DIR/wasm32-unknown-unknown/$OUT_DIR/gik_wasm.wasm"
rm -rf "$PKG"
mkdir -p "$PKG"

# Two modules with the same API: the full one (gik_wasm.js, the package's
# main entry) and the lite one (gik_wasm_lite.js, `gik-wasm/lite`: no parquet
# references, no JPEG 2000 or PNG packing, ~30% smaller), which the page
# loads first; it switches to the full one on an error of kind "notBuiltIn".
for variant in full lite; do
  if [ "$variant" = full ]; then name=gik_wasm; features=(); else name=gik_wasm_lite; features=(--no-default-features); fi
  say "cargo build -p gik-wasm --target wasm32-unknown-unknown --profile $PROFILE ${features[*]:-} ($variant module)"
  cargo build -p gik-wasm --target wasm32-unknown-unknown --profile "$PROFILE" "${features[@]}"
  say "wasm-bindgen --target web → $PKG/$name.js"
  wasm-bindgen --target web --remove-name-section --remove-producers-section \
    --out-dir "$PKG" --out-name "$name" "$WASM"
done

# All of ecCodes' parameter tables, raw DEFLATE: the .wasm has only the
# open-data parameters' and loads these on the first message that needs them.
python3 -c 'import sys, zlib; c = zlib.compressobj(9, zlib.DEFLATED, -15); sys.stdout.buffer.write(c.compress(open(sys.argv[1], "rb").read()) + c.flush())' \
  core/src/grib/tables/concepts.bin > "$PKG/gik_tables.bin"

if [ "${GIK_WASM_OPT:-0}" = 1 ] && command -v wasm-opt >/dev/null && [ "$PROFILE" != dev ]; then
  for name in gik_wasm gik_wasm_lite; do
    say "wasm-opt -O3 $name"
    if wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals --enable-reference-types --enable-multivalue \
        "$PKG/${name}_bg.wasm" -o "$PKG/${name}_bg.opt.wasm" 2>"$PKG/wasm-opt.log"; then
      mv "$PKG/${name}_bg.opt.wasm" "$PKG/${name}_bg.wasm"
    else
      echo "wasm-opt could not optimise this module (see below); keeping the unoptimised one" >&2
      tail -3 "$PKG/wasm-opt.log" >&2
      rm -f "$PKG/${name}_bg.opt.wasm"
    fi
    rm -f "$PKG/wasm-opt.log"
  done
fi

VERSION="$(awk '/^\[workspace.package\]/ {p=1} p && /^version = / { gsub(/version = |"/, ""); print; exit }' Cargo.toml)"
cp wasm/npm/node.mjs wasm/npm/README.md "$PKG/"
python3 - "$PKG/package.json" "$VERSION" <<'PY'
import json, sys
src = json.load(open("wasm/npm/package.json"))
src["version"] = sys.argv[2]
json.dump(src, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
PY
rm -f "$PKG/.gitignore"

for name in gik_wasm gik_wasm_lite; do
  say "${name}_bg.wasm: $(stat -c %s "$PKG/${name}_bg.wasm") bytes raw, $(gzip -9 -c "$PKG/${name}_bg.wasm" | wc -c) bytes gzip -9"
done
say "gik_tables.bin (loaded on demand): $(stat -c %s "$PKG/gik_tables.bin") bytes"

mkdir -p "$TARGET_DIR/npm"
(cd "$PKG" && npm pack --silent --pack-destination "$TARGET_DIR/npm" >/dev/null)
say "npm package: $TARGET_DIR/npm/gik-wasm-$VERSION.tgz"
