#!/usr/bin/env python3
"""A model's own grid and coordinates, from its checkpoint, against ecCodes.

Fake anemoi checkpoints (core/tests/data/checkpoint/make_fixtures.py's
`write_checkpoint`: the layout of anemoi-utils' save_metadata, 8 MiB of
"weights" first) declare N320 or O96 and carry `latitudes`/`longitudes`
supporting arrays taken from ecCodes' geoiterator over its own reduced
Gaussian grid (the N320 sample; the O96 `pl` set in the N96 sample). Served by
the loopback range server, `gik extract --checkpoint http://…` must:

- read the checkpoint in at most 3 requests (end + central directory, the
  metadata entry, both arrays), never the weights;
- put the state on the model's grid with `latitudes`/`longitudes` equal to
  the checkpoint's arrays bit for bit (also when they are in -180..180);
- give the fields `(2, points)` with as many points as ecCodes' grid has
  (the interpolation itself is compared with MIR by
  scripts/regrid_compare_mir.py --grid O96);
- stop with a clear error naming the checkpoint when the arrays are not the
  grid's points (one latitude moved by 0.01°), leaving no output.
"""
import json
import os
import pickle
import sys
import urllib.request

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gik_testlib import ROOT, gik, make_ensemble, range_server, rm, tmpdir  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "core", "tests", "data", "checkpoint"))
from make_fixtures import eccodes_coordinates, write_checkpoint  # noqa: E402

META = {
    "config": {"data": {"forcing": ["lsm", "cos_latitude"], "timestep": "6h"},
               "training": {"multistep_input": 2}},
    "dataset": {"variables": ["2t", "cos_latitude", "lsm"],
                "variables_metadata": {"2t": {"mars": {"param": "2t", "levtype": "sfc"}},
                                       "cos_latitude": {"computed_forcing": True, "constant_in_time": True},
                                       "lsm": {"constant_in_time": True, "mars": {"param": "lsm", "levtype": "sfc"}}}},
    "data_indices": {"data": {"input": {"prognostic": [0]}}},
}


def eccodes_grid(name):
    """(latitudes, longitudes) of every point of `name` (N320 or O96) from ecCodes."""
    c = eccodes_coordinates(name)
    return c["latitudes"], c["longitudes"]


def requests(base):
    with urllib.request.urlopen(f"{base}/__requests") as r:
        return int(r.read())


def extract(base, ckpt, refs, out, check=True):
    before = requests(base)
    r = gik("extract", "-q", "--refs", refs, "--checkpoint", f"{base}/{ckpt}", "--members", "0",
            "--out", out, check=check)
    return r, requests(base) - before  # (the server does not count /__requests)


def one_state(out):
    files = sorted(f for f in os.listdir(out) if f.endswith(".pkl"))
    assert len(files) == 1, files
    with open(os.path.join(out, files[0]), "rb") as f:
        return pickle.load(f)


def check_grid(name, work, base, refs, shift=False):
    lats, lons = eccodes_grid(name)
    if shift:
        lons = np.where(lons >= 180.0, lons - 360.0, lons)
    meta = dict(META, dataset=dict(META["dataset"], data_request={"grid": name.lower()}))
    ckpt = f"{name}{'-shifted' if shift else ''}.ckpt"
    write_checkpoint(os.path.join(work, ckpt), meta, {"latitudes": lats, "longitudes": lons}, weights=8 << 20)
    out = os.path.join(work, f"out-{ckpt}")
    _, count = extract(base, ckpt, refs, out)
    state = one_state(out)
    assert set(state["fields"]) == {"2t", "lsm"}, sorted(state["fields"])
    assert state["latitudes"].dtype == np.float64 and state["longitudes"].dtype == np.float64
    assert np.array_equal(state["latitudes"], lats), "latitudes are not the checkpoint's"
    assert np.array_equal(state["longitudes"], lons), "longitudes are not the checkpoint's"
    assert state["fields"]["2t"].shape == (2, len(lats)), state["fields"]["2t"].shape
    assert count <= 3, f"{count} requests for the checkpoint"
    print(f"  {name}{' (lon -180..180)' if shift else ''}: {len(lats)} points = ecCodes', "
          f"coordinates bit-identical, checkpoint read in {count} requests")
    return state, lats, lons


def main():
    work = tmpdir("ckpt-grid")
    try:
        ens = make_ensemble(os.path.join(ROOT, "target", "test-data", "ens-0p25-2t-lsm"), members=2,
                            steps=(0, 6), grid=0.25, params="2t,lsm")
        refs = os.path.join(work, "refs.json")
        files = sorted(os.path.join(ens, f) for f in os.listdir(ens) if f.endswith(".grib2"))
        gik("scan", *files, "--out", refs, "-q")
        with range_server(work) as base:
            for name, shift in [("N320", False), ("O96", False), ("O96", True)]:
                state, lats, lons = check_grid(name, work, base, refs, shift)
            # lsm is constant: the same field at both input times
            lsm = state["fields"]["lsm"]
            assert np.array_equal(lsm[0], lsm[1])
            # a checkpoint whose coordinates are not the grid's points
            bad = lats.copy()
            bad[1000] += 0.01
            write_checkpoint(os.path.join(work, "moved.ckpt"),
                             dict(META, dataset=dict(META["dataset"], data_request={"grid": "o96"})),
                             {"latitudes": bad, "longitudes": lons})
            out = os.path.join(work, "out-moved")
            r, _ = extract(base, "moved.ckpt", refs, out, check=False)
            assert r.returncode != 0, "a checkpoint with moved coordinates must fail"
            assert "moved.ckpt" in r.stderr and "point 1000" in r.stderr, r.stderr
            assert not os.path.exists(out) or not any(f.endswith(".pkl") for f in os.listdir(out)), os.listdir(out)
            print(f"  moved coordinates: {r.stderr.strip().splitlines()[-1][:200]}")
    finally:
        rm(work)
    print("test_checkpoint_grid: ok")


if __name__ == "__main__":
    main()
