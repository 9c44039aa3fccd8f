"""gik's Icechunk output and its kerchunk references as Python readers open
them, on Python >= 3.12 (.venv-312: the gik package, xarray, zarr >= 3.2,
icechunk 2.x, VirtualiZarr; see tests/requirements-312.txt).

    GIK_BIN=target/release/gik GIK_PYTHON=.venv/bin/python .venv-312/bin/python tests/icechunk/test_icechunk.py

- A 51-member 0.25° ensemble (make_ensemble.py, a few parameters: 2t, t at
  850/500 hPa, vsw in soil layers 1-2, tp; steps 0 and 6), two runs: one in
  the layout before IFS cycle 50r1 (2026-05-11 00z, control in enfo-ef) and
  one since (2026-06-01 00z, control in oper-fc), written by `gik scan --out
  x.icechunk` then `--append`. xr.open_datatree on the Icechunk store: every
  variable, time = 2 runs, number = 51, values equal to ecCodes (run by
  GIK_PYTHON) for a surface, a pressure-level, a soil and an accumulated
  variable; the first snapshot shows one run; appending a run again is a
  no-op; `gik inspect` lists runs and snapshots.
- An append killed with SIGKILL leaves the repository readable at the
  previous snapshot; the append then completes.
- `gik extract --refs x.icechunk` (and `x.icechunk@<snapshot>`) writes the
  same pickles, byte for byte, as from kerchunk JSON of the same runs.
- gik's kerchunk JSON opens whole with xr.open_datatree (consolidated
  .zmetadata) here (the newest zarr) and under GIK_PYTHON (the zarr the
  tests pin); VirtualiZarr's kerchunk parser reads gik's JSON into a
  virtual dataset that writes to Icechunk and reads back equal.
Data are generated once into target/icechunk-data (about 0.85 GB, ~70 s of
make_ensemble.py a run on a loaded 2-core machine); the checks then take about 40 s.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import icechunk as ic
import numpy as np
import xarray as xr

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("GIK_SHARED", os.path.join(ROOT, "..", "shared"))
GIK = os.environ.get("GIK_BIN", os.path.join(ROOT, "target", "release", "gik"))
REF_PY = os.environ.get("GIK_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))
DATA = os.path.join(ROOT, "target", "icechunk-data")
MEMBERS = 51
RUNS = [("run1", "49r1", "20260511"), ("run2", "50r1", "20260601")]

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"), flush=True)
    if not ok:
        failures.append(name)


def gik(*args, check_rc=True):
    r = subprocess.run([GIK, *map(str, args)], capture_output=True, text=True, timeout=1800)
    if check_rc and r.returncode != 0:
        raise AssertionError(f"gik {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr}")
    return r


def make_data():
    for name, cycle, date in RUNS:
        out = os.path.join(DATA, name)
        if glob.glob(os.path.join(out, "*6h*.grib2")) and not glob.glob(os.path.join(out, "*.tmp")):
            continue
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([REF_PY, os.path.join(SHARED, "tools", "make_ensemble.py"), "--out", out, "--cycle", cycle,
                        "--members", str(MEMBERS), "--steps", "0", "6", "--params", "2t", "t", "vsw", "tp",
                        "--levels", "850", "500", "--date", date, "--run", "00"], check=True)
    return [sorted(glob.glob(os.path.join(DATA, name, "*.grib2"))) for name, _, _ in RUNS]


ECCODES = r"""
import json, sys, eccodes, numpy as np
want = json.loads(sys.argv[1]); out = sys.argv[2]; got = {}
for path in sorted(set(w["file"] for w in want)):
    with open(path, "rb") as f:
        while (h := eccodes.codes_grib_new_from_file(f)) is not None:
            key = (eccodes.codes_get(h, "shortName"), eccodes.codes_get(h, "level", ktype=int),
                   eccodes.codes_get(h, "number", ktype=int) if eccodes.codes_is_defined(h, "number") else 0,
                   eccodes.codes_get(h, "endStep", ktype=int))
            for i, w in enumerate(want):
                if w["file"] == path and tuple(w["key"]) == key:
                    got[str(i)] = eccodes.codes_get_values(h).reshape(721, 1440)
            eccodes.codes_release(h)
np.savez(out, **got)
"""


def eccodes_values(want):
    """ecCodes' values of the messages `want` ([{"file", "key": [shortName, level, number, step]}])."""
    out = tempfile.mktemp(suffix=".npz")
    subprocess.run([REF_PY, "-c", ECCODES, json.dumps(want), out], check=True)
    with np.load(out) as z:
        vals = [z[str(i)] if str(i) in z else None for i in range(len(want))]
    os.remove(out)
    return vals


def open_repo(path):
    storage = ic.local_filesystem_storage(path)
    config = ic.Repository.fetch_config(storage)
    prefixes = [c.url_prefix for c in config.virtual_chunk_containers.values()]
    creds = {p: ic.credentials.LocalFileSystemAccess for p in prefixes}
    return ic.Repository.open(storage, authorize_virtual_chunk_access=creds), prefixes


def open_tree(repo, **version):
    session = repo.readonly_session(**(version or {"branch": "main"}))
    return xr.open_datatree(session.store, engine="zarr", consolidated=False, zarr_format=3)


def file_of(files, step, stream):
    return next(f for f in files if f"-{step}h-{stream}" in f)


def test_icechunk(tmp, run_files):
    repo_path = os.path.join(tmp, "forecasts.icechunk")
    t0 = time.perf_counter()
    gik("scan", *run_files[0], "--out", repo_path, "--codec", "gik", "-q")
    t1 = time.perf_counter()
    gik("scan", *run_files[1], "--out", repo_path, "--append", "-q")
    t2 = time.perf_counter()
    print(f"     write {t1 - t0:.1f} s, append {t2 - t1:.1f} s")
    r = gik("scan", *run_files[0], "--out", repo_path, check_rc=False)
    check("a second scan into an existing repository without --append is an error", r.returncode != 0
          and "--append" in r.stderr, r.stderr)
    repo, prefixes = open_repo(repo_path)
    check("the virtual chunk containers name the source directories",
          sorted(prefixes) == sorted({"file://" + os.path.dirname(f) + "/" for fs in run_files for f in fs}),
          f"{prefixes}")
    snaps = list(repo.ancestry(branch="main"))
    check("one commit per run (and the repository's first)", len(snaps) == 3, [s.message for s in snaps])
    check("the append's commit message names the run", "2026-06-01T00:00Z" in snaps[0].message, snaps[0].message)
    r = gik("scan", *run_files[1], "--out", repo_path, "--append")
    check("appending a run that is there is a no-op", len(list(repo.ancestry(branch="main"))) == 3
          and "nothing to add" in r.stderr, r.stderr)
    r = gik("inspect", repo_path, "--json")
    info = json.loads(r.stdout)
    check("gik inspect lists both runs and the three snapshots",
          info["runs"] == ["2026-05-11T00:00Z", "2026-06-01T00:00Z"] and len(info["snapshots"]) == 3
          and info["snapshots"][0]["runs"] == ["2026-06-01T00:00Z"], r.stdout[:2000])

    tree = open_tree(repo)
    variables = {node.path: node.ds for node in tree.subtree if node.has_data}
    names = sorted(n for ds in variables.values() for n in ds.data_vars)
    check("every variable is in the tree", names == ["t", "t2m", "tp", "vsw"], names)
    for path, ds in variables.items():
        for name, da in ds.data_vars.items():
            check(f"{path}/{name}: time = 2 runs, number = 51",
                  da.sizes.get("time") == 2 and da.sizes.get("number") == MEMBERS
                  and list(ds["number"].values) == list(range(MEMBERS)), dict(da.sizes))
    times = tree["t2m/instant/heightAboveGround"].ds["time"].values
    check("time holds the two runs", [str(t)[:16] for t in times] == ["2026-05-11T00:00", "2026-06-01T00:00"],
          f"{times}")
    # Values: a surface, a pressure-level, a soil and an accumulated variable,
    # members 0 (the control: enfo-ef in 49r1, oper-fc in 50r1), 17 and 50, both runs.
    cases = []
    for r_i, files in enumerate(run_files):
        for member in (0, 17, 50):
            stream = "oper-fc" if (r_i == 1 and member == 0) else "enfo-ef"
            for var, short, level, step, sel in [
                ("t2m/instant/heightAboveGround", "2t", 2, 6, {}),
                ("t/instant/isobaricInhPa", "t", 850, 6, {"isobaricInhPa": 850}),
                ("vsw/instant/soilLayer", "vsw", 1, 0, {"soilLayer": 1}),
                ("tp/accum/surface", "tp", 0, 6, {}),
            ]:
                cases.append((var, sel | {"time": r_i, "number": member},
                              {"file": file_of(files, step, stream), "key": [short, level, member, step]}, step))
    expected = eccodes_values([c[2] for c in cases])
    for (var, sel, want, step), exp in zip(cases, expected):
        ds = tree[var].ds
        name = list(ds.data_vars)[0]
        da = ds[name]
        isel = {"time": sel["time"], "number": sel["number"], "step": list(ds["step"].values.astype("timedelta64[h]").astype(int)).index(step)}
        if "isobaricInhPa" in sel:
            isel["isobaricInhPa"] = list(ds["isobaricInhPa"].values).index(sel["isobaricInhPa"])
        if "soilLayer" in sel and "soilLayer" in da.dims:
            isel["soilLayer"] = list(ds["soilLayer"].values).index(sel["soilLayer"])
        got = da.isel(isel).values
        check(f"{var} {sel} equals ecCodes", exp is not None and np.array_equal(got, exp, equal_nan=True),
              "no ecCodes message" if exp is None else f"max diff {np.nanmax(np.abs(got - exp))}")
    first = snaps[1]
    tree1 = open_tree(repo, snapshot_id=first.id)
    t1 = tree1["t2m/instant/heightAboveGround"].ds
    check("the first snapshot shows one run", t1.sizes["time"] == 1 and str(t1["time"].values[0])[:10] == "2026-05-11",
          dict(t1.sizes))
    return repo_path, first.id


def test_sigkill(tmp, run_files, repo_path):
    """Kills an append as soon as it has written something to the repository."""
    results = []
    for attempt in range(6):
        work = os.path.join(tmp, f"killed{attempt}.icechunk")
        shutil.rmtree(work, ignore_errors=True)
        gik("scan", *run_files[0], "--out", work, "-q")
        before = {os.path.join(d, f) for d, _, fs in os.walk(work) for f in fs}
        p = subprocess.Popen([GIK, "scan", *run_files[1], "--out", work, "--append", "-q"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 600
        while p.poll() is None and time.time() < deadline:
            now = {os.path.join(d, f) for d, _, fs in os.walk(work) for f in fs}
            if now - before:
                break
            time.sleep(0.002 * (attempt + 1))
        alive = p.poll() is None
        p.send_signal(signal.SIGKILL)
        p.wait()
        repo, _ = open_repo(work)
        tree = open_tree(repo)
        n = tree["t2m/instant/heightAboveGround"].ds.sizes["time"]
        snaps = list(repo.ancestry(branch="main"))
        results.append((alive, n, len(snaps)))
        if alive:
            check(f"killed mid-append (attempt {attempt}): the tip is a whole snapshot ({n} run(s))",
                  (n, len(snaps)) in [(1, 2), (2, 3)], f"{n} runs, {len(snaps)} snapshots")
            old = open_tree(repo, snapshot_id=snaps[-2].id)["t2m/instant/heightAboveGround"].ds
            check("the previous snapshot reads as before", old.sizes["time"] == 1
                  and np.isfinite(old["t2m"].isel(time=0, step=0, number=3).values).all())
            gik("scan", *run_files[1], "--out", work, "--append", "-q")
            tree = open_tree(*open_repo(work)[:1])
            check("the append after the kill completes", tree["t2m/instant/heightAboveGround"].ds.sizes["time"] == 2)
            if n == 1:
                break
        shutil.rmtree(work, ignore_errors=True)
    check("an append was killed while it was writing", any(a and n == 1 for a, n, _ in results), f"{results}")


def test_extract_same_states(tmp, run_files, repo_path, first_snapshot):
    both = os.path.join(tmp, "both.json")
    gik("scan", *run_files[0], *run_files[1], "--out", both, "--codec", "gik", "-q")
    for label, refs, date in [("run 2 from the tip", repo_path, "2026-06-01T06"),
                              ("run 1 from the tip", repo_path, "2026-05-11T06"),
                              ("run 1 from the first snapshot", f"{repo_path}@{first_snapshot}", "2026-05-11T06")]:
        outs = []
        for src in (refs, both):
            out = os.path.join(tmp, f"states-{len(outs)}-{date}")
            shutil.rmtree(out, ignore_errors=True)
            gik("extract", "--refs", src, "--out", out, "--params", "2t,t_850,t_500,tp",
                "--members", "0,17,50", "--date", date, "--steps", "6", "-q")
            outs.append(out)
        names = sorted(os.listdir(outs[0]))
        same = names == sorted(os.listdir(outs[1])) and len(names) == 3 and all(
            open(os.path.join(outs[0], n), "rb").read() == open(os.path.join(outs[1], n), "rb").read() for n in names)
        check(f"gik extract: {label} gives the pickles of the kerchunk JSON, byte for byte", same, f"{names}")


OPEN_TREE = r"""
import json, sys, xarray as xr, zarr
tree = xr.open_datatree("reference://", engine="zarr",
                        backend_kwargs={"storage_options": {"fo": sys.argv[1], "remote_protocol": "file"}})
print(json.dumps({"zarr": zarr.__version__, "groups": {n.path: {k: dict(v.sizes) for k, v in n.ds.data_vars.items()}
                                                         for n in tree.subtree if n.has_data}}))
"""


def test_kerchunk_open_datatree(tmp, run_files):
    """Here (the newest zarr, gik's codec) and under GIK_PYTHON (the zarr the
    tests pin, kerchunk's `grib` codec, the default)."""
    expected = {"t2m/instant/heightAboveGround", "t/instant/isobaricInhPa", "vsw/instant/soilLayer", "tp/accum/surface"}
    for py, codec in ((sys.executable, "gik"), (REF_PY, "grib")):
        refs = os.path.join(tmp, f"run2-{codec}.json")
        gik("scan", *run_files[1], "--out", refs, "--codec", codec, "-q")
        r = subprocess.run([py, "-c", OPEN_TREE, refs], capture_output=True, text=True)
        got = json.loads(r.stdout) if r.returncode == 0 else {"groups": {}, "zarr": "?"}
        groups = {k.strip("/"): v for k, v in got["groups"].items()}
        check(f"xr.open_datatree on gik's kerchunk JSON ({codec} codec) opens every group with data (zarr {got['zarr']})",
              set(groups) == expected and all(list(v.values())[0].get("number") == MEMBERS for v in groups.values()),
              r.stderr[-1500:] or f"{groups}")


def test_virtualizarr(tmp, run_files):
    from obstore.store import LocalStore
    from virtualizarr import open_virtual_dataset
    from virtualizarr.parsers import KerchunkJSONParser
    from virtualizarr.registry import ObjectStoreRegistry

    refs = os.path.join(tmp, "run1.json")
    gik("scan", *run_files[0], "--out", refs, "--codec", "gik", "-q")
    group = "t/instant/isobaricInhPa"
    registry = ObjectStoreRegistry({"file://": LocalStore()})
    vds = open_virtual_dataset(f"file://{refs}", registry=registry, parser=KerchunkJSONParser(group=group))
    path = os.path.join(tmp, "virtualizarr.icechunk")
    prefix = "file://" + os.path.dirname(run_files[0][0]) + "/"
    config = ic.RepositoryConfig.default()
    config.set_virtual_chunk_container(ic.VirtualChunkContainer(prefix, ic.local_filesystem_store(prefix[7:])))
    creds = {prefix: ic.credentials.LocalFileSystemAccess}
    repo = ic.Repository.create(ic.local_filesystem_storage(path), config=config, authorize_virtual_chunk_access=creds)
    session = repo.writable_session("main")
    vds.vz.to_icechunk(session.store)
    session.commit("VirtualiZarr from gik's kerchunk references")
    back = xr.open_zarr(repo.readonly_session(branch="main").store, consolidated=False, zarr_format=3)
    ours = open_tree(open_repo(os.path.join(tmp, "forecasts.icechunk"))[0])[group].ds
    a = back["t"].isel(time=0, step=1, number=[0, 25, 50]).values
    b = ours["t"].isel(time=0, step=1, number=[0, 25, 50]).values
    check("VirtualiZarr's kerchunk parser on gik's references: to Icechunk and back, equal to gik's Icechunk",
          back["t"].shape == (1, 2, 2, MEMBERS, 721, 1440) and np.array_equal(a, b, equal_nan=True),
          f"{back['t'].shape}")


def main():
    run_files = make_data()
    tmp = tempfile.mkdtemp(prefix="gik-icechunk-", dir=os.path.join(ROOT, "target"))
    try:
        repo_path, first = test_icechunk(tmp, run_files)
        test_extract_same_states(tmp, run_files, repo_path, first)
        test_kerchunk_open_datatree(tmp, run_files)
        test_virtualizarr(tmp, run_files)
        test_sigkill(tmp, run_files, repo_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("all icechunk checks passed")


if __name__ == "__main__":
    main()
