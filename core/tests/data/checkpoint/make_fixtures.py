"""Writes the zip fixtures of core/src/checkpoint.rs's tests with Python's own
`zipfile` (an independent zip writer): python3 make_fixtures.py (deterministic).

- stored.ckpt: a PyTorch-like layout (one folder, stored entries) with the
  metadata appended as anemoi-utils' save_metadata does (ZIP_STORED).
- deflated-zip64.ckpt: the metadata deflated and every entry with zip64
  local headers (force_zip64), the archive comment set.
- metadata.json: the metadata both hold.

`write_checkpoint` (imported by tests/python/test_checkpoint_grid.py) writes
a fake checkpoint as anemoi-utils' `save_metadata` lays one out: PyTorch's
folder with its weights, then `<folder>/anemoi-metadata/ai-models.json`
naming the supporting arrays in `supporting_arrays_paths`, then each array
as `<folder>/anemoi-metadata/<name>.numpy` holding `ndarray.tobytes()`.
"""
import json
import os
import zipfile

META = {
    "config": {"data": {"forcing": ["lsm", "cos_latitude"], "timestep": "6h"},
               "training": {"multistep_input": 2}},
    "dataset": {"variables": ["2t", "cos_latitude", "lsm"], "data_request": {"grid": "n320"},
                "variables_metadata": {"2t": {"mars": {"param": "2t", "levtype": "sfc"}},
                                       "cos_latitude": {"computed_forcing": True, "constant_in_time": True},
                                       "lsm": {"constant_in_time": True, "mars": {"param": "lsm", "levtype": "sfc"}}}},
    "data_indices": {"data": {"input": {"prognostic": [0]}}},
}
DATE = (2025, 1, 1, 0, 0, 0)


def entry(z, name, data, method, zip64=False):
    info = zipfile.ZipInfo(name, DATE)
    info.compress_type = method
    with z.open(info, "w", force_zip64=zip64) as f:
        f.write(data)


def write_checkpoint(path, metadata, arrays=None, weights=1 << 20, folder="model"):
    """A fake anemoi checkpoint at `path`: `weights` bytes of "weights", the
    metadata, then `arrays` ({name: numpy array}) as save_metadata writes them."""
    metadata = dict(metadata)
    arrays = arrays or {}
    metadata["supporting_arrays_paths"] = {
        k: {"path": f"{folder}/anemoi-metadata/{k}.numpy", "shape": list(v.shape), "dtype": str(v.dtype)}
        for k, v in arrays.items()
    }
    with zipfile.ZipFile(path, "w") as z:
        entry(z, f"{folder}/data.pkl", b"\x80\x02}q\x00.", zipfile.ZIP_STORED)
        entry(z, f"{folder}/data/0", os.urandom(weights), zipfile.ZIP_STORED)
        z.writestr(f"{folder}/anemoi-metadata/ai-models.json", json.dumps(metadata))
        for k, entry_ in metadata["supporting_arrays_paths"].items():
            z.writestr(entry_["path"], arrays[k].tobytes())
    return metadata


def eccodes_coordinates(name):
    """{"latitudes", "longitudes"} of every point of the reduced Gaussian grid
    `name` (N320, O96, …) from ecCodes' geoiterator: the classic sample of its N,
    with the octahedral `pl` (20 + 4 i from each pole) set for an O grid."""
    import eccodes as ec
    import numpy as np

    n = int(name[1:])
    h = ec.codes_grib_new_from_samples(f"reduced_gg_pl_{n}_grib2")
    try:
        if name[0] in "Oo":
            north = [20 + 4 * i for i in range(n)]
            pl = north + north[::-1]
            ec.codes_set_array(h, "pl", pl)
            ec.codes_set(h, "longitudeOfLastGridPointInDegrees", 360.0 - 360.0 / max(pl))
            ec.codes_set_values(h, np.zeros(sum(pl)))
            assert ec.codes_get(h, "isOctahedral") == 1
        return {
            "latitudes": np.asarray(ec.codes_get_array(h, "latitudes"), dtype="float64"),
            "longitudes": np.asarray(ec.codes_get_array(h, "longitudes"), dtype="float64"),
        }
    finally:
        ec.codes_release(h)


if __name__ == "__main__":
    for path, method, zip64 in [("stored.ckpt", zipfile.ZIP_STORED, False),
                                ("deflated-zip64.ckpt", zipfile.ZIP_DEFLATED, True)]:
        with zipfile.ZipFile(path, "w") as z:
            entry(z, "model/data.pkl", b"\x80\x02}q\x00.", zipfile.ZIP_STORED, zip64)
            entry(z, "model/data/0", bytes(range(256)) * 16, zipfile.ZIP_STORED, zip64)
            entry(z, "model/anemoi-metadata/ai-models.json", json.dumps(META).encode(), method, zip64)
            if zip64:
                z.comment = b"gik test fixture"
    with open("metadata.json", "w") as f:
        json.dump(META, f)
