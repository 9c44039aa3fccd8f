#!/usr/bin/env python3
"""Ensemble statistics of one 0.25° field over 51 members: `gik stats`
against the Python way (ecCodes decoding each member's message, numpy's
nanmean / nanstd / threshold count), in one run, both reading the same
messages from page cache. Checks that the two agree before timing.

  .venv/bin/python scripts/bench_stats.py [--data target/ens-full/50r1] [--runs 5]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from gik_testlib import ROOT  # noqa: E402

GIK = os.path.join(ROOT, "target", "release", "gik")


def peer(messages, thr):
    """ecCodes + numpy: decode each member's 2t message, then the statistics."""
    import eccodes
    fields = []
    for path, offset, length in messages:
        with open(path, "rb") as f:
            f.seek(offset)
            h = eccodes.codes_new_from_message(f.read(length))
        try:
            fields.append(eccodes.codes_get_values(h).astype("float32"))
        finally:
            eccodes.codes_release(h)
    x = np.stack(fields).astype("float64")
    return np.nanmean(x, axis=0), np.nanstd(x, axis=0), (x > thr).sum(axis=0) / len(fields)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "target", "ens-full", "50r1"))
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gik-bench-stats-")
    gribs = sorted(os.path.join(a.data, f) for f in os.listdir(a.data) if f.endswith(".grib2"))
    refs = os.path.join(work, "refs.json")
    subprocess.run([GIK, "scan", *gribs, "--out", refs, "-q"], check=True)
    # each member's 2t message at step 0, from the references gik wrote
    r = json.load(open(refs))["refs"]
    messages = [tuple(v) for k, v in sorted(r.items()) if k.startswith("t2m/instant/heightAboveGround/t2m/0.0.")]
    assert len(messages) == 51, len(messages)
    for p in gribs:
        with open(p, "rb") as f:
            while f.read(64 << 20):
                pass
    thr = 273.15
    out = os.path.join(work, "s.npy")
    cmd = [GIK, "stats", "--refs", refs, "--variable", "2t", "--step", "0", "--stat", f"mean,std,p>{thr}",
           "--out", out, "-q"]
    g, p = [], []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        g.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        want = peer(messages, thr)
        p.append(time.perf_counter() - t0)
    got = np.load(out)
    for k, w in enumerate(want):
        assert np.allclose(got[k].ravel(), w.astype("float32"), rtol=2e-6, atol=1e-6 * np.abs(w).max()), k
    gm, pm = sorted(g)[len(g) // 2], sorted(p)[len(p) // 2]
    print(f"gik stats (whole process): median {gm:.3f} s of {a.runs} ({', '.join(f'{x:.3f}' for x in g)})")
    print(f"ecCodes + numpy (in-process): median {pm:.3f} s ({', '.join(f'{x:.3f}' for x in p)})")
    print(f"ratio {pm / gm:.1f}x; the two agree (mean, std, p>{thr}) on all {got.shape[-1] * got.shape[-2]} points")


if __name__ == "__main__":
    main()
