"""Reads an Icechunk repository of GRIB chunks back, in a venv with only
gik, xarray, zarr and icechunk (no VirtualiZarr, ecCodes, kerchunk):

    python icechunk_read.py REPO_DIR OUT.json GROUP...

writes `{group/var: {chunk index "i.j.k": sha256 of the float64 values}}`
(NaN as numpy's NaN), each chunk (one GRIB message) decoded through zarr's
codec pipeline by the `gik` codec.
"""

import hashlib
import itertools
import json
import sys

import icechunk
import numpy as np
import xarray as xr


def sha256(values: np.ndarray) -> str:
    v = np.asarray(values, dtype="<f8").reshape(-1).copy()
    v[np.isnan(v)] = np.nan
    return hashlib.sha256(v.tobytes()).hexdigest()


def main() -> None:
    repo_dir, out, groups = sys.argv[1], sys.argv[2], sys.argv[3:]
    storage = icechunk.local_filesystem_storage(repo_dir)
    # the repository names its containers; reading them is allowed here
    containers = icechunk.Repository.open(storage).config.virtual_chunk_containers or {}
    access = icechunk.containers_credentials({c.url_prefix: icechunk.credentials.LocalFileSystemAccess for c in containers.values()})
    repo = icechunk.Repository.open(storage, authorize_virtual_chunk_access=access)
    session = repo.readonly_session("main")
    hashes = {}
    for group in groups:
        ds = xr.open_zarr(session.store, group=group, consolidated=False, zarr_format=3, chunks=None)
        for name, var in ds.data_vars.items():
            lead = [d for d, n in zip(var.dims, var.shape) if d not in ("latitude", "longitude", "values")]
            values = var.values
            assert values.dtype == np.float64, (group, name, values.dtype)
            per = {}
            for idx in itertools.product(*(range(var.sizes[d]) for d in lead)):
                per[".".join(map(str, idx))] = sha256(values[idx])
            hashes[f"{group}/{name}"] = {"dims": list(var.dims), "chunks": per}
    with open(out, "w") as f:
        json.dump(hashes, f)


if __name__ == "__main__":
    main()
