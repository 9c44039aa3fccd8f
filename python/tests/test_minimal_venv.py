"""gik's references opened as a user without ecCodes has them: a venv with
only the gik wheel, xarray, zarr and fsspec (`.venv-gik-min`, made by
scripts/test.sh; GIK_PYTHON_MIN), checked against ecCodes' values from
another Python (hashes of the float64 values, NaN as numpy's):

- the demo of both cycles, every variable of every group;
- a 51-member 0.25° step (2t, tp, t at 500 and 850 hPa: 204 CCSDS messages
  of 1,038,240 values; GIK_ENS51_025=<dir> runs it on another step).

Each through zarr with the `gik` codec (`reference://`, engine="zarr") and
through engine="gik" (python/tests/minimal_read.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import HERE, ROOT, demo_files, run
from test_xarray_backend import chunk_refs


def minimal_python() -> Path:
    p = Path(os.environ.get("GIK_PYTHON_MIN", ROOT / ".venv-gik-min" / "bin" / "python"))
    if not p.exists():
        pytest.fail(f"GIK_PYTHON_MIN: no Python at {p} (scripts/test.sh makes it: the gik wheel, xarray, zarr, fsspec)", pytrace=False)
    return p


def check(tmp_path: Path, files: list[str], gik_bin: Path, reference_python: Path) -> int:
    py = minimal_python()
    probe = run([py, "-c", "import importlib.util as u; print([m for m in ('eccodes', 'gribapi', 'cfgrib', 'kerchunk', 'dask', 'gik', 'xarray', 'zarr') if u.find_spec(m)])"])
    assert probe.stdout.strip() == "['gik', 'xarray', 'zarr']", probe.stdout
    refs_path = tmp_path / "refs.json"
    run([gik_bin, "scan", "-q", "--codec", "gik", "--out", refs_path, *files])
    out = tmp_path / "read.json"
    run([py, HERE / "minimal_read.py", refs_path, out])
    got = json.loads(out.read_text())
    run([reference_python, HERE / "eccodes_reference.py", "--sha256", tmp_path / "eccodes", *files])
    eccodes = {(m["file"], m["offset"]): m for m in json.loads((tmp_path / "eccodes" / "index.json").read_text())}
    refs = json.loads(refs_path.read_text())
    assert got["zarr"].keys() == got["gik"].keys() and got["gik"]
    for engine, variables in got.items():
        seen = set()
        for path, var in variables.items():
            chunks = chunk_refs(refs, path)
            assert chunks, path
            n_lead = var["lead"]
            for idx, (url, offset, _) in chunks.items():
                key = ".".join(map(str, idx[:n_lead]))
                assert var["chunks"][key] == eccodes[(url, offset)]["sha256"], (engine, path, key)
                seen.add((url, offset))
        assert seen == set(eccodes), (engine, len(seen), len(eccodes))
    return len(eccodes)


def test_the_demo(tmp_path: Path, gik_bin: Path, reference_python: Path, cycle: str) -> None:
    check(tmp_path, demo_files(cycle), gik_bin, reference_python)


def test_a_51_member_quarter_degree_step(tmp_path: Path, gik_bin: Path, reference_python: Path, py_data: Path) -> None:
    folder = Path(os.environ.get("GIK_ENS51_025", py_data / "ens51-025"))
    files = sorted(str(p) for p in folder.glob("*.grib2"))
    assert files, folder
    n = check(tmp_path, files, gik_bin, reference_python)
    if "GIK_ENS51_025" not in os.environ:
        assert n == 51 * 4
