#!/usr/bin/env python3
"""Whole-command benchmark of `gik extract` (51 members, aifs-ens, layout grid,
local files in page cache) against the Python peer (peer_extract.py --decoder
cfgrib, one member), in one run, with peak RSS from /usr/bin/time -v.

  .venv/bin/python scripts/bench_extract.py [--data target/ens-full/50r1]

Needs `cargo build --release -p gik-cli` and a full-size ensemble.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from gik_testlib import ROOT, SHARED, range_server  # noqa: E402

GIK = os.path.join(ROOT, "target", "release", "gik")
PY = os.path.join(ROOT, ".venv", "bin", "python")


def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) / 1024
    return wall, rss, r


def warm(paths):
    for p in paths:
        with open(p, "rb") as f:
            while f.read(64 << 20):
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "target", "ens-full", "50r1"))
    ap.add_argument("--peer-data", default=os.path.join(ROOT, "target", "ens-full", "49r1"))
    ap.add_argument("--step", type=int, default=0)
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--peer-runs", type=int, default=3)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gik-bench-extract-")
    gribs = sorted(os.path.join(a.data, f) for f in os.listdir(a.data) if f.endswith(".grib2"))
    subprocess.run([GIK, "scan", *gribs, "--out", f"{work}/refs.json", "-q"], check=True)
    warm(gribs)
    wall, rss, _ = timed([GIK, "extract", "--refs", f"{work}/refs.json", "--out", f"{work}/pkl", "--params", "aifs-ens",
                          "--layout", "grid", "--steps", str(a.step), "-q"])
    pkls = sorted(os.listdir(f"{work}/pkl"))
    size = os.path.getsize(os.path.join(work, "pkl", pkls[0]))
    print(f"gik extract: {len(pkls)} members in {wall:.2f} s = {wall / len(pkls):.3f} s/member; peak RSS {rss:.0f} MB; "
          f"pickle {size / 1e6:.0f} MB each")
    # One member over HTTP with 30 ms per request: the control (member 0, in
    # oper-fc: its messages coalesce) and member 1, with coalescing on and off;
    # request counts from the server.
    import urllib.request
    with range_server(a.data, delay_ms=30) as base:
        urls = [f"{base}/{os.path.basename(g)}" for g in gribs]
        subprocess.run([GIK, "scan", *urls, "--out", f"{work}/refs-http.json", "-q"], check=True)
        for member in ["1", "0"]:
            for gap in ["auto", "off"]:
                shutil.rmtree(f"{work}/pkl-http", ignore_errors=True)
                n0 = int(urllib.request.urlopen(f"{base}/__requests").read())
                w1, r1, _ = timed([GIK, "extract", "--refs", f"{work}/refs-http.json", "--out", f"{work}/pkl-http",
                                   "--members", member, "--params", "aifs-ens", "--steps", str(a.step),
                                   "--coalesce-gap", gap, "-q"])
                n = int(urllib.request.urlopen(f"{base}/__requests").read()) - n0
                print(f"gik extract over HTTP (+30 ms/request), member {member}, --coalesce-gap {gap}: {w1:.2f} s, "
                      f"{n} requests, peak RSS {r1:.0f} MB")
    if a.skip_peer:
        return
    # The peer reads the original pipeline's member parquet: gik writes that layout too.
    pgribs = sorted(os.path.join(a.peer_data, f) for f in os.listdir(a.peer_data) if f.endswith("enfo-ef.grib2"))
    subprocess.run([GIK, "scan", *pgribs, "--out", f"{work}/peer-refs.json", "--split-members", "-q"], check=True)
    warm(pgribs)
    # The peer runs --peer-runs times (default 3); the ratio is against its
    # fastest run, the figure least favourable to gik.
    runs = []
    for i in range(a.peer_runs):
        shutil.rmtree(f"{work}/peer", ignore_errors=True)
        pw, prss, _ = timed([PY, os.path.join(SHARED, "tools", "peers", "peer_extract.py"), "--parquet",
                             f"{work}/members/ens_01/ens_01.parquet", "--out", f"{work}/peer", "--decoder", "cfgrib",
                             "--step-index", "0" if a.step == 0 else "1"])
        t = json.load(open(next(os.path.join(f"{work}/peer", f) for f in os.listdir(f"{work}/peer")
                                if f.startswith("timings"))))
        member_s = t["decoders"]["cfgrib"]["member_total_s"]
        runs.append((member_s, pw, prss))
        print(f"peer_extract.py --decoder cfgrib, one member (run {i + 1}): {member_s:.2f} s in-process "
              f"({pw:.2f} s wall); peak RSS {prss:.0f} MB")
    # Like for like: gik with exactly the peer's fields (87; the preset adds z slor sdor stl1 stl2 swvl1 swvl2).
    import pickle
    ppkl = next(os.path.join(f"{work}/peer", f) for f in os.listdir(f"{work}/peer") if f.endswith(".pkl"))
    names = list(pickle.load(open(ppkl, "rb"))["fields"])
    same = ",".join("gh_" + n[2:] if n.startswith("z_") else n for n in names)
    shutil.rmtree(f"{work}/pkl", ignore_errors=True)
    w87, r87, _ = timed([GIK, "extract", "--refs", f"{work}/refs.json", "--out", f"{work}/pkl", "--params", same,
                         "--layout", "grid", "--steps", str(a.step), "-q"])
    size87 = os.path.getsize(os.path.join(work, "pkl", sorted(os.listdir(f"{work}/pkl"))[0]))
    print(f"gik extract, the peer's {len(names)} fields: 51 members in {w87:.2f} s = {w87 / 51:.3f} s/member; "
          f"peak RSS {r87:.0f} MB; pickle {size87 / 1e6:.0f} MB each")
    best_in, best_wall = min(r[0] for r in runs), min(r[1] for r in runs)
    per = wall / len(pkls)
    print(f"ratio (peer's fastest s/member ÷ gik s/member): {best_in / per:.1f}× (in-process peer time), "
          f"{best_wall / per:.1f}× (wall); peer RSS ÷ gik RSS: {max(r[2] for r in runs) / rss:.1f}×")
    print(f"same {len(names)} fields: {best_in / (w87 / 51):.1f}× (in-process), {best_wall / (w87 / 51):.1f}× (wall)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
