"""A 51-member 0.25° step (2t, tp, t at 500 and 850 hPa: 204 CCSDS messages
of 1,038,240 values) through gik's references (`gik scan --codec gik`):
`xr.open_dataset` loads every chunk of every variable with ecCodes' values,
through zarr + the gik codec and through engine="gik" (hashes of the float64
values, NaN as numpy's, from another Python with ecCodes)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

from conftest import HERE, run
from test_xarray_backend import chunk_refs


def sha256(values: np.ndarray) -> str:
    v = np.asarray(values, dtype="<f8").reshape(-1).copy()
    v[np.isnan(v)] = np.nan
    return hashlib.sha256(v.tobytes()).hexdigest()


def test_every_variable_of_a_51_member_quarter_degree_step(tmp_path: Path, gik_bin: Path, reference_python: Path, py_data: Path) -> None:
    # GIK_ENS51_025=<dir> runs it on another step (the full one: every
    # AIFS-ENS input, 4,488 messages; make_ensemble.py --members 51 --steps 6)
    folder = Path(os.environ.get("GIK_ENS51_025", py_data / "ens51-025"))
    files = sorted(str(p) for p in folder.glob("*.grib2"))
    assert files, folder
    refs_path = tmp_path / "refs.json"
    run([gik_bin, "scan", "-q", "--codec", "gik", "--out", refs_path, *files])
    run([reference_python, HERE / "eccodes_reference.py", "--sha256", tmp_path / "eccodes", *files])
    eccodes = {(m["file"], m["offset"]): m for m in json.loads((tmp_path / "eccodes" / "index.json").read_text())}
    if "GIK_ENS51_025" not in os.environ:
        assert len(eccodes) == 51 * 4
    refs = json.loads(refs_path.read_text())
    tree = xr.open_datatree(refs_path, engine="gik")
    checked = {"zarr": 0, "gik": 0}
    for node in tree.subtree:
        for name in node.data_vars:
            group = node.path.strip("/")
            via_zarr = xr.open_dataset(
                f"reference://{group}", engine="zarr", backend_kwargs={"consolidated": False, "storage_options": {"fo": str(refs_path)}}
            )[name]
            via_gik = node[name]
            assert via_zarr.dims == via_gik.dims and via_zarr.shape == via_gik.shape, group
            assert via_gik.sizes["number"] == 51, group
            for idx, (url, offset, _) in chunk_refs(refs, f"{group}/{name}").items():
                lead = idx[:-2]
                want = eccodes[(url, offset)]
                for engine, var in (("zarr", via_zarr), ("gik", via_gik)):
                    values = var[lead].values
                    assert values.shape == (721, 1440)
                    assert sha256(values) == want["sha256"], (engine, group, idx)
                    checked[engine] += 1
    assert checked == {"zarr": len(eccodes), "gik": len(eccodes)}, checked
