#!/usr/bin/env bash
# The one command that checks everything. Installs what it needs on a fresh
# machine (rustup components and the wasm32 target, a Python venv with the
# pinned reference tools), then runs fmt, clippy -D warnings, all tests,
# the wasm32 build of the core, the cross-language tests and the Python
# package's tests.
# .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export GIK_SHARED="${GIK_SHARED:-$ROOT/../shared}"
if [ ! -d "$GIK_SHARED/data/grib/eccodes_expected" ]; then
  echo "the shared reference data is missing: $GIK_SHARED/data/grib/eccodes_expected does not exist." >&2
  echo "The tests compare with ecCodes' answers there; set GIK_SHARED to the shared/ directory." >&2
  exit 1
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: rustfmt, clippy, wasm32 target"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "python venv with pinned reference tools (.venv)"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
if ! cmp -s tests/requirements.txt .venv/.gik-requirements 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt .venv/.gik-requirements
fi
export GIK_PYTHON="$ROOT/.venv/bin/python"

step "python venv with numpy 1.26 (.venv-numpy126): the pickles must load in 1.26 and 2.x"
if [ ! -x .venv-numpy126/bin/python ]; then python3 -m venv .venv-numpy126; fi
.venv-numpy126/bin/python -c 'import numpy; assert numpy.__version__ == "1.26.4"' 2>/dev/null \
  || .venv-numpy126/bin/pip install -q --disable-pip-version-check numpy==1.26.4
export GIK_PYTHON_NUMPY126="$ROOT/.venv-numpy126/bin/python"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc -D warnings (broken intra-doc links, bad HTML in docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

step "cargo test (release: the decode tests compare ~240 real messages with ecCodes)"
cargo test --workspace --release
cargo build --release -p gik-cli --bin gik --example range_server
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export GIK_BIN="$TARGET_DIR/release/gik"
export GIK_RANGE_SERVER="$TARGET_DIR/release/examples/range_server"

step "fuzz targets: build each, run each ${GIK_FUZZ_SECONDS:-20} s from its seeds (scripts/fuzz.sh for longer campaigns)"
# A crash, hang (10 s), RSS over 2 GB or allocation over 512 MB fails here,
# leaving the input in fuzz/artifacts/<target>/.
scripts/fuzz.sh all "${GIK_FUZZ_SECONDS:-20}"

step "gik-core and gik-wasm build for wasm32-unknown-unknown"
cargo build -p gik-core -p gik-wasm --target wasm32-unknown-unknown

step "gik-core links no C"
if cargo tree -p gik-core -e normal,build --prefix none | grep -E '(-sys|^cc) v' ; then
  echo "gik-core depends on a crate that builds or links C (above)" >&2; exit 1
fi

step "cross-language tests (tests/python)"
shopt -s nullglob
for t in tests/python/test_*.py; do
  echo "--- $t"
  "$GIK_PYTHON" "$t"
done

step "python package: pip install ./python in a venv without ecCodes (.venv-gik), pytest python/tests"
# The package is built by maturin (release, abi3) and tested as a user has
# it: no ecCodes, cfgrib or kerchunk in this venv; ecCodes' values come from
# .venv (GIK_REFERENCE_PYTHON), the CLI's outputs from the release gik.
if [ ! -x .venv-gik/bin/python ]; then python3 -m venv .venv-gik; fi
# One abi3 wheel (maturin, release), installed here and in .venv-312 below.
rm -rf target/wheels
.venv-gik/bin/pip wheel -q --disable-pip-version-check --no-deps ./python -w target/wheels
GIK_WHEEL="$(ls target/wheels/gik-*.whl)"
.venv-gik/bin/pip install -q --disable-pip-version-check pytest xarray zarr fsspec
.venv-gik/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps "$GIK_WHEEL"
GIK_REFERENCE_PYTHON="$GIK_PYTHON" GIK_BIN="$GIK_BIN" .venv-gik/bin/python -m pytest -q python/tests

step "Zarr v3 and Icechunk on Python 3.12 (.venv-312): gik's Icechunk repositories and kerchunk JSON as xarray, zarr, icechunk and VirtualiZarr read them"
# A 51-member 0.25° ensemble (a few parameters, two runs in both IFS cycles'
# layouts) is generated once into target/icechunk-data (~0.9 GB, ~2.5 min);
# the venv ~1.2 min the first time, the checks ~40 s.
PY312="${GIK_PY312:-$(ls -d "$HOME"/.pyenv/versions/3.12*/bin/python 2>/dev/null | tail -1)}"
[ -x "$PY312" ] || { echo "Python 3.12 not found (pyenv ~/.pyenv/versions/3.12*; or set GIK_PY312)" >&2; exit 1; }
if [ ! -x .venv-312/bin/python ]; then "$PY312" -m venv .venv-312; fi
if ! cmp -s tests/requirements-312.txt .venv-312/.gik-requirements 2>/dev/null; then
  .venv-312/bin/pip install -q --disable-pip-version-check -r tests/requirements-312.txt
  cp tests/requirements-312.txt .venv-312/.gik-requirements
fi
.venv-312/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps "$GIK_WHEEL"
GIK_BIN="$GIK_BIN" GIK_PYTHON="$GIK_PYTHON" .venv-312/bin/python tests/icechunk/test_icechunk.py

if [ -x scripts/test_browser.sh ]; then
  step "browser: npm package test and end-to-end test in Chromium"
  ./scripts/test_browser.sh
fi

step "all checks passed"
