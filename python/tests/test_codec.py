"""The codec inside xarray/zarr: gik's references of the bundled demo
(`gik scan --codec gik`, both IFS cycles), opened with
`xr.open_dataset("reference://…", engine="zarr")`, give ecCodes' values for
every chunk of every variable (Zarr v2 through numcodecs); and a Zarr v3
array whose chunks are the same GRIB messages decodes through the v3 codec.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr


def data_arrays(refs: dict) -> dict[str, dict]:
    """Array path → .zarray of the arrays whose filter is gik's."""
    out = {}
    for key, value in refs["refs"].items():
        if key.endswith("/.zarray"):
            meta = json.loads(value)
            if meta.get("filters"):
                out[key[: -len("/.zarray")]] = meta
    return out


def test_every_variable_equals_eccodes(gik_refs: Path, eccodes_values: dict) -> None:
    refs = json.loads(gik_refs.read_text())
    arrays = data_arrays(refs)
    assert len(arrays) >= 10, sorted(arrays)
    checked = 0
    for path, meta in arrays.items():
        assert meta["filters"][0]["id"] == "gik", path
        group, name = path.rsplit("/", 1)
        ds = xr.open_dataset(
            f"reference://{group}",
            engine="zarr",
            backend_kwargs={"consolidated": False, "storage_options": {"fo": str(gik_refs)}},
        )
        values = ds[name].values
        assert values.shape == tuple(meta["shape"]), path
        n_lead = len(meta["shape"]) - sum(1 for c, s in zip(meta["chunks"], meta["shape"]) if c == s and c > 1)
        seen = np.zeros(values.shape[:n_lead], dtype=bool)
        for key, ref in refs["refs"].items():
            if not key.startswith(path + "/") or key.rsplit("/", 1)[1].startswith("."):
                continue
            idx = tuple(int(i) for i in key.rsplit("/", 1)[1].split("."))[:n_lead]
            url, offset, length = ref
            expected = eccodes_values[(url, offset)]
            assert expected["length"] == length, key
            got = values[idx].reshape(-1)
            np.testing.assert_array_equal(got, expected["values"], err_msg=f"{key} ({url} @ {offset})")
            seen[idx] = True
            checked += 1
        # chunks the references lack are zarr's fill value, NaN
        assert np.isnan(values[~seen]).all(), path
    assert checked == len(eccodes_values), "every message of the demo is a chunk of some variable"


def test_a_zarr_v3_array_decodes_grib_chunks(eccodes_values: dict) -> None:
    import zarr
    from zarr.core.buffer import default_buffer_prototype
    from zarr.storage import MemoryStore

    from gik.zarr3 import GikCodec

    messages = [m for m in eccodes_values.values() if m["shortName"] == "2t"]
    assert messages, "no 2t in the demo"
    nj, ni = messages[0]["Nj"], messages[0]["Ni"]
    store = MemoryStore()
    zarr.create_array(
        store,
        shape=(len(messages), nj, ni),
        chunks=(1, nj, ni),
        dtype="float64",
        serializer=GikCodec(var="t2m"),
        compressors=None,
        fill_value=np.nan,
    )
    proto = default_buffer_prototype()
    for i, m in enumerate(messages):
        with open(m["file"], "rb") as f:
            f.seek(m["offset"])
            chunk = f.read(m["length"])
        zarr.core.sync.sync(store.set(f"c/{i}/0/0", proto.buffer.from_bytes(chunk)))
    # opened again from its metadata: the codec is found by its name, `gik`
    array = zarr.open_array(store, mode="r")
    assert array.metadata.to_dict()["codecs"][0]["name"] == "gik"
    got = array[:]
    for i, m in enumerate(messages):
        np.testing.assert_array_equal(got[i].reshape(-1), m["values"], err_msg=f"{m['file']} @ {m['offset']}")
    # as float32: ecCodes' values rounded once
    array32 = zarr.create_array(
        MemoryStore(), shape=(nj, ni), chunks=(nj, ni), dtype="float32", serializer=GikCodec(), compressors=None, fill_value=np.nan
    )
    zarr.core.sync.sync(array32.store.set("c/0/0", proto.buffer.from_bytes(chunk)))
    np.testing.assert_array_equal(array32[:].reshape(-1), messages[-1]["values"].astype(np.float32))


def test_a_chunk_that_is_not_grib_is_a_clear_error(tmp_path: Path, gik_refs: Path) -> None:
    import gik

    refs = json.loads(gik_refs.read_text())
    key = next(k for k in refs["refs"] if k.startswith("t2m/instant/heightAboveGround/t2m/") and not k.rsplit("/", 1)[1].startswith("."))
    url, offset, length = refs["refs"][key]
    bad = tmp_path / "bad.grib2"
    bad.write_bytes(b"<html>not a GRIB message</html>".ljust(length, b" "))
    refs["refs"][key] = [str(bad), 0, length]
    bad_refs = tmp_path / "bad.json"
    bad_refs.write_text(json.dumps(refs))
    ds = xr.open_dataset(
        "reference://t2m/instant/heightAboveGround",
        engine="zarr",
        backend_kwargs={"consolidated": False, "storage_options": {"fo": str(bad_refs)}},
    )
    with pytest.raises(gik.GribError, match="do not start with `GRIB`"):
        ds["t2m"].values
