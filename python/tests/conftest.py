"""Fixtures of the gik package's tests: the checkout's demo data, the shared
GRIB samples with ecCodes' answers, the `gik` binary, and ecCodes' values
computed at test time by another Python (ecCodes is not installed here).

Nothing is skipped: missing data, binary or reference Python fails the test
run, saying where it looked.

- GIK_SHARED: the shared data (default: ../shared next to the checkout);
- GIK_BIN: the `gik` binary (default: target/release/gik, then target/debug/gik);
- GIK_REFERENCE_PYTHON: a Python with ecCodes (default: the checkout's .venv,
  which scripts/test.sh fills from tests/requirements.txt).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def _must(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.fail(f"{what} not found at {path}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    # resolved: ecCodes' reference names files by their real path, the
    # references by the path given (GIK_SHARED is `<checkout>/../shared` in test.sh)
    path = Path(os.environ.get("GIK_SHARED", ROOT.parent / "shared")) / "data" / "grib"
    return _must(path.resolve(), "the shared GRIB data (GIK_SHARED)")


@pytest.fixture(scope="session")
def gik_bin() -> Path:
    given = os.environ.get("GIK_BIN")
    if given:
        return _must(Path(given), "the gik binary (GIK_BIN)")
    for p in (TARGET / "release" / "gik", TARGET / "debug" / "gik"):
        if p.exists():
            return p
    pytest.fail(f"no gik binary in {TARGET}/release or {TARGET}/debug (cargo build -p gik-cli, or GIK_BIN)", pytrace=False)


@pytest.fixture(scope="session")
def reference_python() -> Path:
    return _must(Path(os.environ.get("GIK_REFERENCE_PYTHON", ROOT / ".venv" / "bin" / "python")), "a Python with ecCodes (GIK_REFERENCE_PYTHON)")


def demo_files(cycle: str) -> list[str]:
    files = sorted(str(p) for p in (ROOT / "data" / "demo" / cycle).glob("*.grib2"))
    if not files:
        pytest.fail(f"no demo GRIB files in {ROOT / 'data' / 'demo' / cycle}", pytrace=False)
    return files


def run(cmd: list[str | os.PathLike[str]]) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stderr}", pytrace=False)
    return p


@pytest.fixture(scope="session", params=["49r1", "50r1"])
def cycle(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def gik_refs(tmp_path_factory: pytest.TempPathFactory, gik_bin: Path, cycle: str) -> Path:
    """The demo of `cycle` scanned by `gik scan --codec gik` (kerchunk JSON)."""
    out = tmp_path_factory.mktemp(f"refs-{cycle}") / "refs.json"
    run([gik_bin, "scan", "-q", "--codec", "gik", "--out", out, *demo_files(cycle)])
    return out


@pytest.fixture(scope="session")
def eccodes_values(tmp_path_factory: pytest.TempPathFactory, reference_python: Path, cycle: str) -> dict[tuple[str, int], dict]:
    """ecCodes' values of every message of the demo of `cycle`, by (file, offset)."""
    out = tmp_path_factory.mktemp(f"eccodes-{cycle}")
    run([reference_python, HERE / "eccodes_reference.py", out, *demo_files(cycle)])
    index = json.loads((out / "index.json").read_text())
    return {(m["file"], m["offset"]): {**m, "values": np.load(m["npy"])} for m in index}


@pytest.fixture(scope="session")
def py_data() -> Path:
    """The generated ensembles (scripts/python_test_data.sh; GIK_PY_DATA)."""
    d = Path(os.environ.get("GIK_PY_DATA", TARGET / "py-data"))
    for name in ("d2", "ens51", "ens51-025"):
        if not (d / name / ".done").exists():
            pytest.fail(f"generated test data missing: {d / name} (run scripts/python_test_data.sh)", pytrace=False)
    return d
