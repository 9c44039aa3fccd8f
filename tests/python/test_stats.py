#!/usr/bin/env python3
"""`gik stats` (ensemble statistics per grid point, computed in gik-core one
member at a time) against numpy over the same members decoded by ecCodes:
mean, std, min, max, quantiles, probabilities of exceeding a threshold, an
accumulation over an interval (tp 0-6 h), a subset of members, and the
errors a user meets. Both cycles (50r1: the control in oper-fc)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gik_testlib import ROOT, eccodes_fields, gik, make_ensemble, rm, tmpdir  # noqa: E402

MEMBERS = 11


def members_of(ref, short, level_type, level, step, members):
    """The members' fields as ecCodes gives them, rounded to float32 as gik decodes."""
    return np.stack([ref[(short, level_type, level, m, step)] for m in members]).astype("float32")


def numpy_stats(x, thr):
    """The statistics `gik stats` is asked for below, from numpy (float64 over float32 fields)."""
    x64 = x.astype("float64")
    return {
        "mean": np.nanmean(x64, axis=0),
        "std": np.nanstd(x64, axis=0),
        "min": np.nanmin(x64, axis=0),
        "max": np.nanmax(x64, axis=0),
        "median": np.nanquantile(x64, 0.5, axis=0),
        "q90": np.nanquantile(x64, 0.9, axis=0),
        f"p>{thr}": (x64 > thr).sum(axis=0) / x.shape[0],
        f"p<{thr}": (x64 < thr).sum(axis=0) / x.shape[0],
    }


def check(got, want, name):
    want = want.astype("float32")
    assert got.shape == want.shape, (name, got.shape, want.shape)
    if name.startswith(("min", "max", "p")):
        assert np.array_equal(got, want), f"{name}: max |diff| {np.nanmax(np.abs(got - want))}"
    else:
        assert np.allclose(got, want, rtol=2e-6, atol=1e-6 * np.nanmax(np.abs(want))), \
            f"{name}: max |diff| {np.nanmax(np.abs(got.astype('float64') - want))}"


def run_cycle(cycle, work):
    data = make_ensemble(os.path.join(ROOT, "target", "test-ens", f"stats-{cycle}-m{MEMBERS}"), cycle=cycle,
                         members=MEMBERS, steps=(0, 6))
    gribs = sorted(os.path.join(data, f) for f in os.listdir(data) if f.endswith(".grib2"))
    ref = eccodes_fields(gribs)
    refs = os.path.join(work, "refs.json")
    gik("scan", *gribs, "--out", refs, "-q")
    members = list(range(MEMBERS))
    t2m = members_of(ref, "2t", "heightAboveGround", 2, 6, members)
    thr = round(float(np.median(t2m)), 2)  # a threshold inside the field's range
    names = list(numpy_stats(t2m, thr))
    out = os.path.join(work, "t2m.npy")
    r = gik("stats", "--refs", refs, "--variable", "2t", "--step", "6", "--stat", ",".join(names), "--out", out)
    assert f"over {MEMBERS} members" in r.stderr, r.stderr
    got = np.load(out)
    assert got.dtype == np.float32 and got.shape == (len(names), 37, 72), (got.dtype, got.shape)
    want = numpy_stats(t2m, thr)
    for i, n in enumerate(names):
        check(got[i], want[n].reshape(37, 72), n)
    p = got[names.index(f"p>{thr}")]
    assert 0 < p.mean() < 1, "the threshold splits the members somewhere"

    # one statistic: a 2-D array; an accumulation over 0-6 h; a subset of members
    out = os.path.join(work, "tp.npy")
    gik("stats", "--refs", refs, "--variable", "tp/accum/surface/tp", "--step", "0-6", "--members", "1-4",
        "--stat", "mean", "--out", out, "-q")
    tp = (members_of(ref, "tp", "surface", 0, 6, range(1, 5)) - members_of(ref, "tp", "surface", 0, 0, range(1, 5)))
    got = np.load(out)
    assert got.shape == (37, 72), got.shape
    check(got, np.nanmean(tp.astype("float64"), axis=0).reshape(37, 72), "mean of tp 0-6 h")

    # a pressure level
    out = os.path.join(work, "t850.npy")
    gik("stats", "--refs", refs, "--variable", "t", "--level", "850", "--step", "0", "--stat", "std",
        "--out", out, "-q")
    check(np.load(out), np.nanstd(members_of(ref, "t", "isobaricInhPa", 850, 0, members).astype("float64"),
                                  axis=0).reshape(37, 72), "std of t 850")

    # errors a user meets: exit 2 and no file
    bad = os.path.join(work, "bad.npy")
    for args, says in [(["--variable", "2t", "--stat", "average"], "statistic `average`"),
                       (["--variable", "nope"], "nope"),
                       (["--variable", "2t", "--step", "9"], "9"),
                       (["--variable", "2t", "--members", "99"], "99")]:
        r = gik("stats", "--refs", refs, *args, "--out", bad, check=False)
        assert r.returncode == 2 and says in r.stderr, (args, r.returncode, r.stderr)
        assert not os.path.exists(bad), args
    print(f"{cycle}: gik stats of {MEMBERS} members equal numpy over ecCodes ({', '.join(names)}; tp 0-6 h; t 850)")


def main():
    for cycle in ["49r1", "50r1"]:
        work = tmpdir(f"stats-{cycle}")
        try:
            run_cycle(cycle, work)
        finally:
            rm(work)
    print("test_stats: ok")


if __name__ == "__main__":
    main()
