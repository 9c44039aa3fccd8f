#!/usr/bin/env python3
"""Whole-command benchmark of `gik scan` against the Python peer (kerchunk
scan_grib via ../shared/tools/peers/peer_scan.py), in one run, on the same
local files (in page cache), plus index mode over HTTP with 30 ms per request.

  .venv/bin/python scripts/bench_scan.py [--data target/ens-full/49r1] [--step 6] [--skip-peer]

Needs a release build (cargo build --release -p gik-cli) and a full-size
ensemble from make_ensemble.py (51 members, 0.25°). Prints a table and ratios.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from gik_testlib import ROOT, SHARED, range_server  # noqa: E402

GIK = os.path.join(ROOT, "target", "release", "gik")


def best_of(n, cmd, env=None):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "target", "ens-full", "49r1"))
    ap.add_argument("--step", default="6")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-peer", action="store_true")
    a = ap.parse_args()
    grib = next(os.path.join(a.data, f) for f in sorted(os.listdir(a.data)) if f.endswith(f"-{a.step}h-enfo-ef.grib2"))
    size = os.path.getsize(grib)
    with open(grib, "rb") as f:  # page cache, as the peer's figures assume
        while f.read(64 << 20):
            pass
    out = tempfile.mkdtemp(prefix="gik-bench-scan-")
    rows = {}
    rows["gik scan --mode headers"] = best_of(a.runs, [GIK, "scan", grib, "--mode", "headers", "-q", "--out", f"{out}/h.json"])
    rows["gik scan --mode index --verify all"] = best_of(a.runs, [GIK, "scan", grib, "--mode", "index", "--verify", "all", "-q", "--out", f"{out}/i.json"])
    rows["gik scan --mode index --verify none"] = best_of(a.runs, [GIK, "scan", grib, "--mode", "index", "--verify", "none", "-q", "--out", f"{out}/n.json"])
    same = open(f"{out}/h.json", "rb").read() == open(f"{out}/i.json", "rb").read()
    with range_server(a.data, delay_ms=30) as base:
        url = f"{base}/{os.path.basename(grib)}"
        rows["gik scan http:// (30 ms/request) --verify all"] = best_of(1, [GIK, "scan", url, "--mode", "index", "--verify", "all", "-q", "--out", f"{out}/r.json"])
    peer = None
    if not a.skip_peer:
        py = os.path.join(ROOT, ".venv", "bin", "python")
        subprocess.run([py, os.path.join(SHARED, "tools", "peers", "peer_scan.py"), "--out", f"{out}/peer", grib], check=True, capture_output=True)
        t = json.load(open(f"{out}/peer/timings_scan.json"))
        peer = t["scan_total_s"]
        rows["peer_scan.py: kerchunk scan_grib (scan stage)"] = peer
        rows["peer_scan.py: whole pipeline (scan+tree+parquets)"] = t["total_s"]
    n_msgs = sum(1 for _ in open(grib.replace(".grib2", ".index")))
    print(f"file: {grib} ({size / 1e9:.2f} GB, {n_msgs} messages); header and index references identical: {same}")
    print(f"{'command':<52} {'seconds':>9} {'ms/msg':>8} {'peer ÷ gik':>11}")
    for k, v in rows.items():
        ratio = f"{peer / v:,.0f}×" if peer and k.startswith("gik") else ""
        print(f"{k:<52} {v:>9.3f} {1000 * v / n_msgs:>8.3f} {ratio:>11}")


if __name__ == "__main__":
    main()
