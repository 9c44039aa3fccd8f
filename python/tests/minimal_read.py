"""Reads gik's references (`gik scan --codec gik`) in a venv with only the
gik wheel, xarray, zarr and fsspec (zarr reads a kerchunk reference file
through fsspec's ReferenceFileSystem; no ecCodes, cfgrib, kerchunk, Dask):

    python minimal_read.py REFS.json OUT.json

every data variable of every group, opened twice: `xr.open_dataset(
"reference://<group>", engine="zarr", …)` (each chunk decoded by zarr's
codec pipeline with the `gik` codec) and `xr.open_datatree(REFS,
engine="gik")`; writes `{"zarr"|"gik": {group/var: {"dims": […], "lead": n,
"chunks": {"i.j.k": sha256 of the float64 values}}}}` (NaN as numpy's NaN).
"""

import hashlib
import itertools
import json
import sys

import numpy as np
import xarray as xr


def sha256(values: np.ndarray) -> str:
    v = np.asarray(values, dtype="<f8").reshape(-1).copy()
    v[np.isnan(v)] = np.nan
    return hashlib.sha256(v.tobytes()).hexdigest()


def hashes(var: xr.DataArray) -> dict:
    lead = [d for d in var.dims if d not in ("latitude", "longitude", "values")]
    per = {}
    for idx in itertools.product(*(range(var.sizes[d]) for d in lead)):
        values = var[idx].values  # one chunk (one GRIB message) at a time
        assert values.dtype == np.float64, (var.name, values.dtype)
        per[".".join(map(str, idx))] = sha256(values)
    return {"dims": list(var.dims), "lead": len(lead), "chunks": per}


def main() -> None:
    refs, out = sys.argv[1], sys.argv[2]
    got: dict[str, dict] = {"zarr": {}, "gik": {}}
    tree = xr.open_datatree(refs, engine="gik")
    for node in tree.subtree:
        group = node.path.strip("/")
        if not node.data_vars:
            continue
        via_zarr = xr.open_dataset(
            f"reference://{group}", engine="zarr", backend_kwargs={"consolidated": False, "storage_options": {"fo": refs}}
        )
        for name in node.data_vars:
            assert via_zarr[name].dims == node[name].dims, (group, name)
            got["zarr"][f"{group}/{name}"] = hashes(via_zarr[name])
            got["gik"][f"{group}/{name}"] = hashes(node[name])
    with open(out, "w") as f:
        json.dump(got, f)


if __name__ == "__main__":
    main()
