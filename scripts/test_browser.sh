#!/usr/bin/env bash
# The browser side, tested as users meet it. Installs what it needs on a
# fresh machine (the wasm32 target, wasm-bindgen-cli at Cargo.lock's version,
# Debian's chromium, the npm packages of tests/browser), then:
#   1. builds the npm package (scripts/build_wasm.sh) and `npm pack`s it,
#   2. installs the tarball into a scratch copy of tests/browser/npm-consumer,
#      reads a field with it in Node, scans the demo ensemble over HTTP (the
#      loopback range server) into the same bytes as `gik scan`, and
#      type-checks a TypeScript user,
#   3. runs the end-to-end test in Chromium against `gik serve`, with a
#      51-member 0.25° ensemble from make_ensemble.py (2t and tp at steps 0,
#      6, 12; ~30 s to make, kept in target/test-ens/browser-m51) behind the
#      range server with 30 ms per request, for the ensemble modes,
#      animation, zoom and plume (screenshots and measurements in
#      target/browser-artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
# Inside the checkout: `gik serve --root <checkout>` must be able to serve them.
export GIK_ARTIFACTS="${GIK_ARTIFACTS:-$ROOT/target/browser-artifacts}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
# ecCodes' answers and the anemoi test metadata the tests compare with
export GIK_SHARED="${GIK_SHARED:-$ROOT/../shared}"

step() { printf '\n==> [%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

step "node 20+ and npm"
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "the browser tests need Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

step "chromium (Debian package)"
if [ ! -x "$CHROMIUM" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null

step "python with numpy and ecCodes (.venv)"
# scripts/test.sh makes .venv from tests/requirements.txt; the oracle needs only numpy and eccodes.
export GIK_PYTHON="${GIK_PYTHON:-$ROOT/.venv/bin/python}"
if ! "$GIK_PYTHON" -c "import numpy, eccodes" 2>/dev/null; then
  if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
  .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt .venv/.gik-requirements
  export GIK_PYTHON="$ROOT/.venv/bin/python"
fi

step "gik (the command line serving the page) and the loopback range server"
if [ -x "${GIK_BIN:-}" ] && [ -x "${GIK_RANGE_SERVER:-}" ]; then
  # scripts/test.sh's release build: no second build of the whole tree
  echo "using $GIK_BIN and $GIK_RANGE_SERVER"
else
  cargo build -p gik-cli --bin gik --example range_server
  export GIK_BIN="$TARGET_DIR/debug/gik"
  export GIK_RANGE_SERVER="$TARGET_DIR/debug/examples/range_server"
fi

step "the npm package"
scripts/build_wasm.sh
VERSION="$(node -p 'require("./web/pkg/package.json").version')"

step "gik with the page inside (feature embed-web, as \`cargo install --path native-cli --features embed-web\` builds it)"
# Built with the features \`cargo test --workspace --release\` resolved (the
# workspace, an example), so only gik-cli is compiled again: \`cargo install\`
# resolves gik-cli's features alone and would compile the dependency tree a
# second time for the same program.
cargo build --release --quiet --locked --workspace --features gik-cli/embed-web --bin gik --example range_server
INSTALL_ROOT="$TARGET_DIR/gik-installed"
mkdir -p "$INSTALL_ROOT/bin"
cp "$TARGET_DIR/release/gik" "$INSTALL_ROOT/bin/gik.tmp" && mv "$INSTALL_ROOT/bin/gik.tmp" "$INSTALL_ROOT/bin/gik"
export GIK_INSTALLED_BIN="$INSTALL_ROOT/bin/gik"
TARBALL="$TARGET_DIR/npm/gik-wasm-$VERSION.tgz"

step "npm ci (tests/browser: playwright-core, typescript)"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

step "the npm tarball, installed by a separate project, in Node $(node --version)"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
cp tests/browser/npm-consumer/* "$SCRATCH/"
(
  cd "$SCRATCH"
  npm install --no-audit --no-fund --loglevel=error "$TARBALL"
  GIK_SAMPLE="$ROOT/data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2" \
  GIK_SAMPLE_REFS="$ROOT/web/sample/refs.json" \
  GIK_DEMO="$ROOT/data/demo" \
  GIK_FUZZ_SEEDS="$ROOT/fuzz/seeds" \
  GIK_FUZZ_REGRESSIONS="$ROOT/core/tests/data/fuzz-regressions" \
    node --test consumer.test.mjs
  "$ROOT/tests/browser/node_modules/.bin/tsc" -p tsconfig.json
  echo "TypeScript declarations: checked"
)

step "end-to-end in Chromium (artifacts: $GIK_ARTIFACTS)"
(cd tests/browser && node --test e2e.test.mjs checkpoint.test.mjs)

step "browser tests passed"
