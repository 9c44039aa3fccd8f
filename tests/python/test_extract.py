#!/usr/bin/env python3
"""gik scan → gik extract → pickles, checked by a real client: Python's pickle
with numpy (no warnings allowed) against ecCodes decoding of the same messages.

Both ECMWF cycles (49r1: control in enfo; 50r1: control in oper-fc), the
aifs-ens preset, layouts grid and aifs, float32 and float64, references read
back from kerchunk JSON, the two-column parquet and its per-member split.
"""
import os
import pickle
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gik_testlib import ROOT, eccodes_fields, gik, make_ensemble  # noqa: E402

G = 9.80665
LEVELS = [1000, 925, 850, 700, 600, 500, 400, 300, 250, 200, 150, 100, 50]
SFC = {"10u": ("10u", "heightAboveGround", 10), "10v": ("10v", "heightAboveGround", 10),
       "2d": ("2d", "heightAboveGround", 2), "2t": ("2t", "heightAboveGround", 2),
       "msl": ("msl", "meanSea", 0), "skt": ("skt", "surface", 0), "sp": ("sp", "surface", 0),
       "tcw": ("tcw", "entireAtmosphere", 0)}
CONST = {"lsm": ("lsm", "surface", 0), "z": ("z", "surface", 0), "slor": ("slor", "surface", 0),
         "sdor": ("sdor", "surface", 0)}
SOIL = {"stl1": ("sot", "soilLayer", 1), "stl2": ("sot", "soilLayer", 2),
        "swvl1": ("vsw", "soilLayer", 1), "swvl2": ("vsw", "soilLayer", 2)}


def expected_names():
    # AIFS-ENS v1: soil temperature only (no swvl1/swvl2)
    names = list(SFC) + list(CONST) + ["stl1", "stl2"]
    for p in ["gh", "t", "u", "v", "w", "q"]:
        names += [("z" if p == "gh" else p) + f"_{lv}" for lv in LEVELS]
    return names


def source_key(name):
    """(shortName, typeOfLevel, level, scale, constant) of a state field."""
    if name in SFC:
        return SFC[name] + (None, False)
    if name in CONST:
        return CONST[name] + (None, True)
    if name in SOIL:
        return SOIL[name] + (None, False)
    p, lv = name.rsplit("_", 1)
    return ("gh" if p == "z" else p, "isobaricInhPa", int(lv), G if p == "z" else None, False)


def load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open(path, "rb") as f:
            return pickle.load(f)


def reference(ref, name, member, step):
    short, tol, lv, scale, const = source_key(name)
    key = (short, tol, lv, member, step)
    if key not in ref and const:
        key = next(k for k in ref if k[:3] == (short, tol, lv) and k[4] == 0)
    v = ref[key]
    return v * scale if scale else v


def check_states(outdir, ref, members, layout, dtype, grid_shape, step=0):
    files = sorted(os.listdir(outdir))
    assert files == [f"input_state_member_{m:03d}.pkl" for m in members], files
    n = 0
    for m in members:
        st = load(os.path.join(outdir, f"input_state_member_{m:03d}.pkl"))
        assert set(st) == {"date", "fields"}, st.keys()
        assert list(st["fields"]) == expected_names(), list(st["fields"])
        for name, arr in st["fields"].items():
            assert arr.dtype == np.dtype(dtype), (name, arr.dtype)
            if layout == "grid":
                assert arr.shape == grid_shape, (name, arr.shape)
                want = [reference(ref, name, m, step)]
                got = [arr.reshape(-1)]
            else:
                assert arr.shape == (2, grid_shape[0] * grid_shape[1]), (name, arr.shape)
                want = [reference(ref, name, m, 0), reference(ref, name, m, 6)]
                got = [arr[0], arr[1]]
            for g, w in zip(got, want):
                w = w.astype(dtype)
                if not np.array_equal(g, w):
                    bad = np.flatnonzero(g != w)
                    raise AssertionError(f"member {m} {name}: {bad.size} values differ, e.g. at {bad[0]}: {g[bad[0]]} vs {w[bad[0]]}")
            n += 1
        assert st["fields"]["2t"].ndim >= 1  # the original pipeline's access works
    return n


def run_cycle(cycle, work):
    data = make_ensemble(os.path.join(ROOT, "target", "testdata", f"ens3-{cycle}"), cycle=cycle, members=3, grid=5)
    gribs = sorted(os.path.join(data, f) for f in os.listdir(data) if f.endswith(".grib2"))
    ref = eccodes_fields(gribs)
    members = [0, 1, 2]
    shape = (37, 72)
    refs_json = os.path.join(work, "refs.json")
    gik("scan", *gribs, "--out", refs_json, "--split-members", "-q")
    total = 0
    for layout, dtype in [("grid", "float32"), ("grid", "float64"), ("aifs", "float32")]:
        out = os.path.join(work, f"pkl-{layout}-{dtype}")
        args = ["extract", "--refs", refs_json, "--out", out, "--params", "aifs-ens", "--layout", layout,
                "--dtype", dtype, "-q"]
        if layout == "grid":
            args += ["--steps", "0"]
        gik(*args)
        total += check_states(out, ref, members, layout, dtype, shape)
    # The same from the two-column parquet of one member, loaded from its split file.
    pq = os.path.join(work, "members", "ens_01", "ens_01.parquet")
    assert os.path.exists(pq), os.listdir(work)
    out = os.path.join(work, "pkl-split")
    gik("extract", "--refs", pq, "--out", out, "--params", "aifs-ens", "--steps", "6", "-q")
    total += check_states(out, ref, [1], "grid", "float32", shape, step=6)
    # One variable as one n-d array with its coordinates (pickle) and as .npy.
    var = os.path.join(work, "var")
    gik("extract", "--refs", refs_json, "--out", var, "--var", "t/instant/isobaricInhPa/t", "-q")
    gik("extract", "--refs", refs_json, "--out", var, "--var", "t/instant/isobaricInhPa/t", "--format", "npy",
        "--dtype", "float64", "-q")
    d = load(os.path.join(var, "t.pkl"))
    arr, arr64 = d["fields"]["t"], np.load(os.path.join(var, "t.npy"))
    assert arr.shape == (1, 2, 13, 3, 37, 72) == arr64.shape, arr.shape
    assert list(d["step"]) == [0, 6] and list(d["number"]) == members, (d["step"], d["number"])
    for si, step in enumerate(d["step"]):
        for li, lv in enumerate(d["isobaricInhPa"]):
            for mi, m in enumerate(d["number"]):
                want = ref[("t", "isobaricInhPa", int(lv), int(m), int(step))].reshape(shape)
                assert np.array_equal(arr[0, si, li, mi], want.astype("float32")), (step, lv, m)
                assert np.array_equal(arr64[0, si, li, mi], want), (step, lv, m)
    total += 2 * 13 * 3
    print(f"{cycle}: {total} states × fields checked against ecCodes")


def check_real_sample(work):
    """Real ECMWF 0.25° open data (data/samples): each state is 20.8 MB, so
    its bytes cross several of the writer's 8 MiB direct-I/O blocks and end in
    an unaligned tail; the same bytes with --no-direct-io."""
    sample = os.path.join(ROOT, "data", "samples", "ecmwf-ifs-oper-20260310-00z-0h-surface.grib2")
    names = ["asn", "ptype", "rsn", "sd", "tcc"]
    gik("scan", sample, "--out", f"{work}/sample.json", "-q")
    outs = {}
    for mode in ["direct", "buffered"]:
        extra = ["--no-direct-io"] if mode == "buffered" else []
        for dtype in ["float32", "float64"]:
            out = f"{work}/sample-{mode}-{dtype}"
            gik("extract", "--refs", f"{work}/sample.json", "--out", out, "--params", ",".join(names),
                "--dtype", dtype, "-q", *extra)
            outs[mode, dtype] = open(f"{out}/input_state_member_000.pkl", "rb").read()
    ref = eccodes_fields([sample])
    for dtype in ["float32", "float64"]:
        assert outs["direct", dtype] == outs["buffered", dtype], f"direct and buffered {dtype} states differ"
        state = pickle.loads(outs["direct", dtype])
        assert list(state["fields"]) == names, list(state["fields"])
        for n in names:
            got = state["fields"][n]
            want = next(v for k, v in ref.items() if k[0] == n).reshape(721, 1440)
            assert got.dtype == np.dtype(dtype) and got.shape == (721, 1440), (n, got.dtype, got.shape)
            assert np.array_equal(got, want.astype(dtype), equal_nan=True), n
    print(f"real 0.25° sample: {len(outs['direct', 'float32']) / 1e6:.1f} MB state, direct = buffered, "
          f"every field equal to ecCodes (float32 and float64)")


def main():
    from gik_testlib import tmpdir, rm
    work = tmpdir("extract-sample")
    try:
        check_real_sample(work)
    finally:
        rm(work)
    for cycle in ["49r1", "50r1"]:
        work = tmpdir(f"extract-{cycle}")
        try:
            run_cycle(cycle, work)
        finally:
            rm(work)
    print("test_extract: ok")


if __name__ == "__main__":
    main()
