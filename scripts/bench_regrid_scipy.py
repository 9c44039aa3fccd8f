#!/usr/bin/env python3
"""Time scipy.sparse CSR × vector for the 0.25° → N320 operator, against gik.

The matrix is gik's own (written by `core/examples/export_n320.rs`, identical
in pattern to MIR's; MIR's `.npz` is used instead when given with --matrix).
scipy's product is timed on one 0.25° field (f64 in, f64 out, and f64 → f32
cast as the AIFS pickle needs), then compared with gik's criterion estimates
from `cargo bench -p gik-core --bench regrid` (target/criterion/regrid/…).

Usage (from the workspace root):
  .venv/bin/python scripts/bench_regrid_scipy.py [--run-bench] [--matrix M.npz] [--repeat 50]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import scipy
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from regrid_compare_mir import read_gik_csr  # noqa: E402


def best_and_median(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[0] * 1e3, times[len(times) // 2] * 1e3


def criterion_ms(name):
    """Mean and median (ms) of a criterion benchmark `regrid/<name>`, or None."""
    path = os.path.join(ROOT, "target", "criterion", "regrid", name, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    e = json.load(open(path))
    return e["mean"]["point_estimate"] / 1e6, e["median"]["point_estimate"] / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--matrix", help="scipy .npz matrix to time (default: gik's, exported now)")
    ap.add_argument("--run-bench", action="store_true", help="run `cargo bench --bench regrid` first")
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()

    if args.run_bench:
        subprocess.run(["cargo", "bench", "-p", "gik-core", "--bench", "regrid"], check=True, cwd=ROOT)

    if args.matrix:
        m = sp.load_npz(args.matrix).tocsr()
        label = args.matrix
    else:
        out = os.path.join(ROOT, "target", "regrid", "gik_n320_opendata.csr")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(
            ["cargo", "run", "--quiet", "--release", "-p", "gik-core", "--example", "export_n320", "--", out, "opendata"],
            check=True,
            cwd=ROOT,
        )
        m = read_gik_csr(out)
        label = "gik's operator (open-data layout)"
    j, i = np.divmod(np.arange(m.shape[1]), 1440)
    x = 250.0 + 30.0 * np.cos(j * 0.004) + 5.0 * np.sin(i * 0.013)

    f64 = best_and_median(lambda: m @ x, args.repeat)
    f32 = best_and_median(lambda: (m @ x).astype(np.float32), args.repeat)
    print(f"scipy {scipy.__version__}, numpy {np.__version__}; matrix: {label}, {m.shape}, nnz {m.nnz}")
    print(f"scipy CSR @ x (f64)          best {f64[0]:.2f} ms, median {f64[1]:.2f} ms")
    print(f"scipy CSR @ x, cast to f32   best {f32[0]:.2f} ms, median {f32[1]:.2f} ms")

    for name, ref in [("apply_f64", f64), ("apply_f32", f32)]:
        ours = criterion_ms(name)
        if ours is None:
            print(f"gik regrid/{name}: no criterion estimate (run with --run-bench)")
            continue
        print(
            f"gik regrid/{name}: mean {ours[0]:.2f} ms, median {ours[1]:.2f} ms; "
            f"scipy median / gik median = {ref[1] / ours[1]:.2f}x"
        )
    build = criterion_ms("build")
    if build:
        print(f"gik regrid/build: mean {build[0]:.1f} ms, median {build[1]:.1f} ms")


if __name__ == "__main__":
    main()
