"""Benchmark: gik writing an Icechunk repository vs kerchunk JSON for the same
51-member run, and xarray opening the whole datatree from each.

    .venv-312/bin/python scripts/bench_icechunk.py [--data DIR] [--gik target/release/gik] [--repeat 5]

Data: the GRIB2 files (with their .index) of one run in DIR, by default
target/icechunk-data/run2 (tests/icechunk/test_icechunk.py generates it: 51
members, 0.25°, 2t, t at 850/500 hPa, vsw layers 1-2, tp; steps 0 and 6;
run 2026-06-01 00z in the 50r1 layout, enfo-ef + oper-fc); BENCHMARKS.md
uses a whole 51-member step (`make_ensemble.py --members 51 --steps 0`,
every parameter). The two outputs are timed in turn (JSON, Icechunk, JSON,
…) and the median of --repeat runs of each is printed with the median of
the per-pair ratios; the files are in the page cache; `gik scan --mode
index --verify none` so that the write itself dominates (the same scan for
both outputs). The datatree is opened with its coordinates loaded (what
xarray does on open), then one field is read.
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import icechunk as ic
import xarray as xr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def once(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def paired(a, b, repeat):
    """Runs a and b in turn (one warm-up each); their median times and the
    median of the per-pair ratios a/b."""
    once(a)
    once(b)
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(once(a))
        tb.append(once(b))
    ratios = sorted(x / y for x, y in zip(ta, tb))
    return statistics.median(ta), statistics.median(tb), (ratios[0], statistics.median(ratios), ratios[-1])


def fmt(r):
    return f"{r[0]:.2f} · {r[1]:.2f} · {r[2]:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gik", default=os.path.join(ROOT, "target", "release", "gik"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data", default=os.path.join(ROOT, "target", "icechunk-data", "run2"))
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.data, "*.grib2")))
    if not files:
        sys.exit("no data: run tests/icechunk/test_icechunk.py first (it generates target/icechunk-data)")
    tmp = tempfile.mkdtemp(prefix="gik-bench-ic-", dir=os.path.join(ROOT, "target"))
    json_path = os.path.join(tmp, "refs.json")
    repo_path = os.path.join(tmp, "refs.icechunk")
    scan = [args.gik, "scan", *files, "--codec", "gik", "--mode", "index", "--verify", "none", "-q"]

    def write_json():
        subprocess.run([*scan, "--out", json_path], check=True)

    def write_icechunk():
        shutil.rmtree(repo_path, ignore_errors=True)
        subprocess.run([*scan, "--out", repo_path], check=True)

    nmsg = sum(1 for f in files for _ in open(f.replace(".grib2", ".index")))
    t_ic, t_json, r_w = paired(write_icechunk, write_json, args.repeat)
    size = lambda p: sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs) if os.path.isdir(p) else os.path.getsize(p)
    print(f"{len(files)} files, {nmsg} messages; median of {args.repeat}, ratios per pair min · median · max")
    print(f"write kerchunk JSON : {t_json:.3f} s  ({size(json_path) / 1e6:.2f} MB)")
    print(f"write Icechunk repo : {t_ic:.3f} s  ({size(repo_path) / 1e6:.2f} MB)  Icechunk/JSON {fmt(r_w)}")

    storage = ic.local_filesystem_storage(repo_path)
    prefixes = list(ic.Repository.fetch_config(storage).virtual_chunk_containers)
    creds = {p: ic.credentials.LocalFileSystemAccess for p in prefixes}

    def open_ic():
        repo = ic.Repository.open(storage, authorize_virtual_chunk_access=creds)
        tree = xr.open_datatree(repo.readonly_session(branch="main").store, engine="zarr", consolidated=False)
        return tree

    def open_json():
        return xr.open_datatree("reference://", engine="zarr",
                                backend_kwargs={"storage_options": {"fo": json_path, "remote_protocol": "file"}})

    t_oic, t_ojs, r_o = paired(open_ic, open_json, args.repeat)
    ngroups = sum(1 for n in open_ic().subtree if n.has_data)
    print(f"open datatree ({ngroups} groups with data), Icechunk : {t_oic:.3f} s")
    print(f"open datatree, JSON     : {t_ojs:.3f} s  Icechunk/JSON {fmt(r_o)}")

    def read(open_fn):
        t = open_fn()
        return t["t/instant/isobaricInhPa"].ds["t"].isel(time=0, step=-1, isobaricInhPa=0).values

    t_ric, t_rjs, r_r = paired(lambda: read(open_ic), lambda: read(open_json), args.repeat)
    print(f"open + read t, one level x 51 members, Icechunk : {t_ric:.3f} s")
    print(f"open + read t, one level x 51 members, JSON     : {t_rjs:.3f} s  Icechunk/JSON {fmt(r_r)}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
