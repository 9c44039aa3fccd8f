"""gik's references in Icechunk through VirtualiZarr, read back with only
gik, xarray, zarr and icechunk installed (Python 3.12 venvs made by
scripts/test.sh from tests/requirements-312.txt):

- `.venv-312` (VirtualiZarr, icechunk 2, zarr ≥ 3.2, gik): VirtualiZarr's
  KerchunkJSONParser parses `gik scan --codec gik` references of the 50r1
  demo and writes every data group into a new Icechunk repository
  (`python/tests/icechunk_write.py`);
- `.venv-312-read` (gik, xarray, zarr, icechunk only): xarray opens the
  repository and every chunk of every variable equals ecCodes' values of its
  message (`python/tests/icechunk_read.py`; hashes of float64 values).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import HERE, ROOT, demo_files, run
from test_xarray_backend import chunk_refs


def venv_python(env: str, default: str) -> Path:
    p = Path(os.environ.get(env, ROOT / default / "bin" / "python"))
    if not p.exists():
        pytest.fail(f"{env}: no Python at {p} (scripts/test.sh makes it from tests/requirements-312.txt)", pytrace=False)
    return p


def test_virtualizarr_to_icechunk_and_back(tmp_path: Path, gik_bin: Path, reference_python: Path) -> None:
    writer = venv_python("GIK_PYTHON_312", ".venv-312")
    reader = venv_python("GIK_PYTHON_312_READ", ".venv-312-read")
    files = demo_files("50r1")
    refs_path = tmp_path / "refs.json"
    run([gik_bin, "scan", "-q", "--codec", "gik", "--out", refs_path, *files])
    # the reader's venv has no VirtualiZarr, ecCodes or kerchunk
    probe = run([reader, "-c", "import importlib.util as u; print([m for m in ('virtualizarr', 'eccodes', 'cfgrib', 'kerchunk', 'gik', 'icechunk') if u.find_spec(m)])"])
    assert probe.stdout.strip() == "['gik', 'icechunk']", probe.stdout
    repo = tmp_path / "repo"
    written = json.loads(run([writer, HERE / "icechunk_write.py", refs_path, repo]).stdout)
    groups = written["groups"]
    assert len(groups) >= 20, groups
    out = tmp_path / "read.json"
    run([reader, HERE / "icechunk_read.py", repo, out, *groups])
    got = json.loads(out.read_text())
    run([reference_python, HERE / "eccodes_reference.py", "--sha256", tmp_path / "eccodes", *files])
    eccodes = {(m["file"], m["offset"]): m for m in json.loads((tmp_path / "eccodes" / "index.json").read_text())}
    refs = json.loads(refs_path.read_text())
    checked = 0
    for path, var in got.items():
        chunks = chunk_refs(refs, path)
        assert chunks, path
        n_lead = len(var["dims"]) - 2
        for idx, (url, offset, _) in chunks.items():
            key = ".".join(map(str, idx[:n_lead]))
            assert var["chunks"][key] == eccodes[(url, offset)]["sha256"], (path, key)
            checked += 1
    assert checked == len(eccodes), (checked, len(eccodes))
