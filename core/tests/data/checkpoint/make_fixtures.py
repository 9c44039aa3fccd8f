"""Writes the zip fixtures of core/src/checkpoint.rs's tests with Python's own
`zipfile` (an independent zip writer): python3 make_fixtures.py (deterministic).

- stored.ckpt: a PyTorch-like layout (one folder, stored entries) with the
  metadata appended as anemoi-utils' save_metadata does (ZIP_STORED).
- deflated-zip64.ckpt: the metadata deflated and every entry with zip64
  local headers (force_zip64), the archive comment set.
- metadata.json: the metadata both hold.
"""
import json
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
