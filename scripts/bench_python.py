"""Benchmarks of the `gik` Python package against the Python tools it
replaces, in one run (figures in BENCHMARKS.md):

1. one 0.25° CCSDS field loaded through xarray + zarr from references: the
   `gik` codec (`gik scan --codec gik`) vs kerchunk's `grib` codec (ecCodes);
2. opening a 51-member step file: `engine="gik"` vs `engine="cfgrib"` (no
   index file; the same filter_by_keys);
3. the ensemble mean of 51 members of one 0.25° field on a
   `distributed.LocalCluster` (2 workers), through xarray + Dask: gik codec
   vs kerchunk's codec.

Needs a venv with gik, kerchunk, cfgrib, ecCodes, dask, distributed
(`.venv-bench`: tests/requirements.txt + the gik wheel + dask distributed),
the `gik` binary and a 51-member 0.25° step (a folder with the step's
`enfo-ef` file, and its `oper-fc` file for cycle 50r1, as written by
`make_ensemble.py --members 51 --steps 0`):

    .venv-bench/bin/python scripts/bench_python.py --gik target/release/gik --data target/ens-full/50r1
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr


CPU: dict[str, float] = {}


def timed(f, repeat: int, name: str = "") -> tuple[float, object]:
    """The fastest of `repeat` wall times (the machine is shared: the
    minimum is the least disturbed), and f's result; this process's CPU
    time per call (all threads) in CPU[name]."""
    times, out = [], None
    c = time.process_time()
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    if name:
        CPU[name] = (time.process_time() - c) / repeat
    return min(times), out


def refs_ds(refs: Path, group: str, **kw) -> xr.Dataset:
    return xr.open_dataset(
        f"reference://{group}", engine="zarr", backend_kwargs={"consolidated": False, "storage_options": {"fo": str(refs)}}, **kw
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gik", default="target/release/gik")
    ap.add_argument("--data", default="target/ens-full/50r1")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    files = sorted(str(p) for p in Path(args.data).glob("*.grib2"))
    enfo = next(f for f in files if "enfo-ef" in f)
    tmp = Path(tempfile.mkdtemp(prefix="gik-bench-"))
    refs = {}
    for codec in ("gik", "grib"):
        refs[codec] = tmp / f"refs-{codec}.json"
        subprocess.run([args.gik, "scan", "-q", "--codec", codec, "--out", refs[codec], *files], check=True)
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load[0]:.1f} at start (shared with other builds)")
    print(f"data: {args.data} ({len(files)} files, {sum(os.path.getsize(f) for f in files) / 1e6:.0f} MB)")

    # 1. one field through xarray + zarr
    group = "t2m/instant/heightAboveGround"
    res = {}
    for codec in ("gik", "grib"):
        ds = refs_ds(refs[codec], group)
        members = iter(range(1, 51))
        res[codec], values = timed(lambda: ds["t2m"].isel(time=0, step=0, number=next(members)).values, 3 * args.repeat, codec)
        assert values.shape == (721, 1440)
    a = refs_ds(refs["gik"], group)["t2m"].isel(time=0, step=0, number=7).values
    b = refs_ds(refs["grib"], group)["t2m"].isel(time=0, step=0, number=7).values
    assert np.array_equal(a, b, equal_nan=True)
    print(
        f"1. one 0.25° CCSDS field via xarray+zarr (fastest of {3 * args.repeat}): gik codec {res['gik'] * 1e3:.1f} ms, kerchunk grib codec {res['grib'] * 1e3:.1f} ms: "
        f"{res['grib'] / res['gik']:.1f}x; CPU per field {CPU['gik'] * 1e3:.1f} ms vs {CPU['grib'] * 1e3:.1f} ms: {CPU['grib'] / CPU['gik']:.1f}x"
    )

    # 2. opening a 51-member step file (no index file for either)
    bare = tmp / Path(enfo).name
    os.symlink(os.path.abspath(enfo), bare)  # without its .index beside it: gik scans the message headers
    keys = {"typeOfLevel": "isobaricInhPa"}

    def open_gik(path: str) -> xr.Dataset:
        ds = xr.open_dataset(path, engine="gik", filter_by_keys=keys)
        assert ds["t"].sizes["number"] == 50
        return ds

    def open_cfgrib() -> xr.Dataset:
        ds = xr.open_dataset(str(bare), engine="cfgrib", backend_kwargs={"indexpath": "", "filter_by_keys": keys})
        assert ds["t"].sizes["number"] == 50
        return ds

    t_gik_index, _ = timed(lambda: open_gik(enfo), args.repeat)
    t_gik_headers, ds_gik = timed(lambda: open_gik(str(bare)), args.repeat, "gik-open")
    t_cfgrib, ds_cf = timed(open_cfgrib, 1, "cfgrib-open")
    # (cfgrib: float32, isobaricInhPa descending; gik: float64, ascending)
    at = {"number": 3, "isobaricInhPa": 500}
    assert np.array_equal(ds_gik["t"].sel(at).values.astype(np.float32), ds_cf["t"].sel(at).values, equal_nan=True)
    print(
        f"2. open a 51-member step file ({Path(enfo).name}, {os.path.getsize(enfo) / 1e6:.0f} MB; opened: {', '.join(ds_gik.data_vars)} at {ds_gik.sizes['isobaricInhPa']} pressure levels x 50 perturbed members): "
        f"engine=gik {t_gik_headers * 1e3:.0f} ms from the headers ({t_gik_index * 1e3:.0f} ms with its .index), "
        f"engine=cfgrib {t_cfgrib * 1e3:.0f} ms: {t_cfgrib / t_gik_headers:.0f}x ({t_cfgrib / t_gik_index:.0f}x); "
        f"CPU {CPU['gik-open'] * 1e3:.0f} ms vs {CPU['cfgrib-open'] * 1e3:.0f} ms: {CPU['cfgrib-open'] / CPU['gik-open']:.0f}x"
    )

    # 3. the ensemble mean of 51 members on a LocalCluster
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster):
        res = {}
        means = {}
        for codec in ("gik", "grib"):
            ds = refs_ds(refs[codec], group, chunks={})
            res[codec], means[codec] = timed(lambda: ds["t2m"].mean("number").compute().values, max(2, args.repeat // 2))
        ds = xr.open_dataset(refs["gik"], engine="gik", chunks={}, filter_by_keys={"shortName": "2t"})
        res["engine"], means["engine"] = timed(lambda: ds["t2m"].mean("number").compute().values, max(2, args.repeat // 2))
        assert np.array_equal(means["gik"], means["grib"], equal_nan=True)
        assert np.array_equal(means["engine"].reshape(-1), means["gik"].reshape(-1), equal_nan=True)
    print(
        f"3. ensemble mean of 51 0.25° fields, LocalCluster(2 workers): gik codec {res['gik']:.2f} s, kerchunk grib codec {res['grib']:.2f} s: "
        f"{res['grib'] / res['gik']:.1f}x; engine=gik (chunks={{}}) {res['engine']:.2f} s: {res['grib'] / res['engine']:.1f}x"
    )
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
