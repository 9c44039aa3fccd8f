#!/usr/bin/env python3
"""Python interop of gik's kerchunk references (issue 3, part 4 and 6).

For both ECMWF layouts (49r1: control + members in enfo-ef; 50r1: control in
oper-fc without `number`), on a small ensemble made by make_ensemble.py
(3 members, steps 0 and 6, 5° grid, 2t t sot lsm tp, 850/500 hPa):

 1. gik-core's example `build_refs` frames the files with
    gik_core::grib::fields + Field::meta(), builds references and writes
    kerchunk JSON v1 and v0, an fsspec parquet directory, the original
    pipeline's two-column parquet (all references) and its per-member layout.
 2. xarray opens each format as users do, group in the URL:
        xr.open_dataset("reference://<group>", engine="zarr",
                        backend_kwargs={"storage_options": {"fo": ...}, "consolidated": False})
    (the parquet directory also needs "remote_protocol": "file": fsspec cannot
    guess the protocol of a nested-group directory, kerchunk's own
    refs_to_dataframe output included) and every value of every message is
    compared with ecCodes: equal, as are latitude/longitude, steps, levels
    and members. The two-column parquet is loaded the original way
    (pd.read_parquet -> dict -> {"version": 1, "refs": d}).
 3. The chunk references equal those of ../shared/tools/peers/peer_scan.py
    for the same files (49r1: every key; 50r1: peer_scan.py cannot combine
    oper-fc with enfo-ef, so its enfo-ef-only members are compared by label).
    Its per-member parquet files are compared key by key with ours.
 4. gik reads what peer_scan.py wrote (large_string keys) and refuses
    fsspec's zstd parquet with a clear error.

Run: .venv/bin/python tests/python/test_refs_interop.py  (from the workspace root;
GIK_SHARED overrides ../shared). Ends with "N passed, N failed".
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import numpy as np
import pandas as pd
import xarray as xr
import eccodes

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GIK_SHARED", ROOT.parent / "shared"))
PY = sys.executable
GROUPS = {  # group -> variable
    "t2m/instant/heightAboveGround": "t2m",
    "t/instant/isobaricInhPa": "t",
    "sot/instant/soilLayer": "sot",
    "tp/accum/surface": "tp",
    "lsm/instant/surface": "lsm",
}
# Attributes FieldMeta does not carry (gik writes the others; see core/src/refs.rs).
ATTRS_NOT_WRITTEN = {"GRIB_subCentre", "GRIB_totalNumber", "GRIB_NV", "GRIB_uvRelativeToGrid"}

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def build_tool():
    r = run(["cargo", "build", "-q", "-p", "gik-core", "--example", "build_refs"], cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"cargo build failed:\n{r.stderr}")
    meta = json.loads(run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT).stdout)
    return Path(meta["target_directory"]) / "debug" / "examples" / "build_refs"


# The full ECMWF ensemble size by default: the number dimension must hold all 51.
MEMBERS = int(os.environ.get("GIK_INTEROP_MEMBERS", "51"))
ALL = list(range(MEMBERS))


def make_ensemble(out, cycle):
    r = run([PY, SHARED / "tools/make_ensemble.py", "--out", out, "--members", str(MEMBERS), "--steps", "0", "6",
             "--grid", "5", "--params", "2t,t,sot,lsm,tp", "--levels", "850,500", "--cycle", cycle])
    if r.returncode != 0:
        raise SystemExit(f"make_ensemble failed:\n{r.stderr}")
    return sorted(str(p) for p in Path(out).glob("*.grib2"))


def eccodes_messages(files):
    """Every message: its labels and values, as ecCodes decodes them."""
    out = []
    for f in files:
        with open(f, "rb") as fh:
            while True:
                h = eccodes.codes_grib_new_from_file(fh)
                if h is None:
                    break
                try:
                    g = lambda k: eccodes.codes_get(h, k)
                    num = eccodes.codes_get(h, "number") if eccodes.codes_is_defined(h, "number") else None
                    vals = eccodes.codes_get_values(h).reshape(g("Nj"), g("Ni"))
                    lats = eccodes.codes_get_array(h, "latitudes").reshape(g("Nj"), g("Ni"))[:, 0]
                    lons = eccodes.codes_get_array(h, "longitudes").reshape(g("Nj"), g("Ni"))[0]
                    out.append(dict(var=g("cfVarName"), typeOfLevel=g("typeOfLevel"), level=float(g("level")),
                                    step=int(g("endStep")), number=num, values=vals, lats=lats, lons=lons,
                                    file=f))
                finally:
                    eccodes.codes_release(h)
    return out


def open_group(fo, group, **so):
    return xr.open_dataset(f"reference://{group}", engine="zarr",
                           backend_kwargs={"storage_options": {"fo": fo, **so}, "consolidated": False})


def load_two_column(path):
    """The original pipeline's loader: bytes -> utf-8 str, '[...]' -> JSON list."""
    df = pd.read_parquet(path)
    refs = {}
    for k, v in zip(df["key"], df["value"]):
        v = v.decode("utf-8")
        if v.startswith("[") and v.endswith("]"):
            try:
                v = json.loads(v)
            except ValueError:
                pass
        refs[k] = v
    return {"version": 1, "refs": refs}


def compare_with_eccodes(label, fo, msgs, ensemble_numbers, so=None, member=None):
    so = so or {}
    for group, var in GROUPS.items():
        try:
            ds = open_group(fo, group, **so)
            da = ds[var]
            mine = [m for m in msgs if m["var"] == var]
            if member is not None:
                own = [m for m in mine if (m["number"] or 0) == member]
                # Static fields exist for the control only (50r1 oper-fc): the
                # member's file carries the control's, as the pipeline's split does.
                mine = own or [m for m in mine if (m["number"] or 0) == 0]
            lev = group.split("/")[-1]
            n_ok = 0
            bad = []
            for m in mine:
                sel = da.isel(time=0).sel(step=np.timedelta64(m["step"], "h"))
                if lev in sel.dims:
                    sel = sel.sel({lev: m["level"]})
                else:
                    if float(ds[lev]) != m["level"]:
                        bad.append(f"scalar {lev}={float(ds[lev])} != {m['level']}")
                if "number" in sel.dims:
                    sel = sel.sel(number=m["number"] or 0)
                a = sel.values
                if np.array_equal(a, m["values"]):
                    n_ok += 1
                else:
                    bad.append(f"step {m['step']} level {m['level']} number {m['number']}: "
                               f"max |diff| {np.nanmax(np.abs(a - m['values']))}")
            ok = n_ok == len(mine) and len(mine) > 0 and not bad
            check(f"{label} {group}: {len(mine)} messages equal ecCodes", ok, "; ".join(bad[:3]))
            m0 = mine[0]
            check(f"{label} {group}: latitude/longitude equal ecCodes",
                  np.array_equal(ds.latitude.values, m0["lats"]) and np.array_equal(ds.longitude.values, m0["lons"]))
            steps = sorted({m["step"] for m in mine})
            got_steps = [int(s / np.timedelta64(1, "h")) for s in np.atleast_1d(ds.step.values)]
            check(f"{label} {group}: steps {steps}", got_steps == steps, f"{got_steps}")
            if member is None and "number" in da.dims:
                nums = sorted({m["number"] or 0 for m in mine})
                check(f"{label} {group}: members {nums}", list(ds.number.values) == nums == ensemble_numbers,
                      f"{list(ds.number.values)}")
            if member is not None:
                check(f"{label} {group}: scalar number {member}", int(ds.number) == member)
        except Exception as e:  # noqa: BLE001
            check(f"{label} {group}: opens", False, f"{type(e).__name__}: {e}")
            traceback.print_exc()


def load_refs(path):
    """The references of a kerchunk JSON file; gik's consolidated `.zmetadata`
    is checked against the metadata keys (every one, parsed) and left out,
    so the rest compares with kerchunk's, which has none."""
    d = json.load(open(path))
    refs = d.get("refs", d)
    zm = refs.pop(".zmetadata", None)
    if zm is not None:
        zm = json.loads(zm)
        meta = {k: json.loads(v) for k, v in refs.items() if k.startswith(".z") or "/.z" in k}
        check(f"{os.path.basename(str(path))}: .zmetadata consolidates every metadata key",
              zm.get("zarr_consolidated_format") == 1 and zm.get("metadata") == meta)
    return refs


def message_bytes(v):
    """A chunk reference as the bytes it stands for (inline or a file range)."""
    if isinstance(v, list):
        with open(v[0], "rb") as f:
            f.seek(v[1])
            return f.read(v[2])
    return base64.b64decode(v[7:]) if v.startswith("base64:") else v.encode("utf-8")


def inline_bytes(v):
    if isinstance(v, bytes):
        v = v.decode("utf-8")
    return base64.b64decode(v[7:]) if v.startswith("base64:") else v.encode("utf-8")


def coord(refs, group, name):
    """Decoded values of an inline coordinate, missing chunks read as 0 (zarr's null fill)."""
    z = json.loads(refs[f"{group}/{name}/.zarray"])
    dims = json.loads(refs[f"{group}/{name}/.zattrs"])["_ARRAY_DIMENSIONS"]
    shape, chunks = z["shape"], z["chunks"]
    out = np.zeros(shape or [1], dtype=z["dtype"])
    grid = [-(-s // c) for s, c in zip(shape, chunks)] or [1]
    for idx in np.ndindex(*grid):
        key = f"{group}/{name}/" + (".".join(map(str, idx)) if shape else "0")
        if key not in refs:
            continue
        a = np.frombuffer(inline_bytes(refs[key]), dtype=z["dtype"])
        sl = tuple(slice(i * c, i * c + c) for i, c in zip(idx, chunks)) if shape else (slice(0, 1),)
        out[sl] = a.reshape(out[sl].shape)
    return dims, (out if shape else out.reshape(()))


def labelled_chunks(refs):
    """(variable, time, step, level, number) -> message bytes, for every data chunk."""
    out = {}
    for k, v in refs.items():
        if not k.endswith("/.zarray"):
            continue
        z = json.loads(v)
        if not z.get("filters") or z["filters"][0].get("id") != "grib":
            continue
        path = k[: -len("/.zarray")]
        group, var = path.rsplit("/", 1)
        dims = json.loads(refs[f"{path}/.zattrs"])["_ARRAY_DIMENSIONS"]
        lev = group.split("/")[-1]
        coords = {d: coord(refs, group, d)[1] for d in dims if f"{group}/{d}/.zarray" in refs}
        scalar_level = float(coord(refs, group, lev)[1]) if lev not in dims else None
        nd, number_aux = (coord(refs, group, "number") if f"{group}/number/.zarray" in refs else (None, None))
        for ck, cv in refs.items():
            if not ck.startswith(path + "/") or "/.z" in ck:
                continue
            idx = [int(x) for x in ck[len(path) + 1:].split(".")]
            lab = {d: (coords[d][i] if d in coords else i) for d, i in zip(dims, idx)}
            level = float(lab[lev]) if lev in lab else scalar_level
            if "number" in lab:
                number = int(lab["number"])
            elif number_aux is not None and nd:
                number = int(number_aux[tuple(idx[: len(nd)])])
            elif number_aux is not None:
                number = int(number_aux)
            else:
                number = None
            out[(var, int(lab["time"]), int(lab["step"]), level, number)] = message_bytes(cv)
    return out


def json_eq_modulo(a, b, key):
    """Metadata equal, except what FieldMeta cannot tell (attributes) and our NaN fill value."""
    ja, jb = json.loads(a), json.loads(b)
    if isinstance(ja, dict) and isinstance(jb, dict):
        if key.endswith(".zarray") and ja.get("filters"):
            ja.pop("fill_value", None)
            jb.pop("fill_value", None)
        for x in ATTRS_NOT_WRITTEN:
            ja.pop(x, None)
            jb.pop(x, None)
    return ja == jb


def compare_refs_exact(label, ours, peer):
    """Same keys (ours may add coordinate chunks kerchunk leaves out as all-zero) and values."""
    extra = sorted(set(ours) - set(peer))
    missing = sorted(set(peer) - set(ours))
    extra_ok = all(k.rsplit("/", 1)[0].split("/")[-1] in ("step", "time", "number") and
                   not any(inline_bytes(ours[k])) for k in extra)
    check(f"{label}: same keys (ours adds only all-zero coordinate chunks)", not missing and extra_ok,
          f"missing {missing[:5]} extra {extra[:5]}")
    bad = []
    for k in sorted(set(ours) & set(peer)):
        a, b = ours[k], peer[k]
        if k.endswith((".zarray", ".zattrs", ".zgroup")):
            if not json_eq_modulo(a, b, k):
                bad.append(k)
        elif isinstance(a, list) or isinstance(b, list):
            if message_bytes(a) != message_bytes(b) or (isinstance(a, list) and isinstance(b, list) and a != b):
                bad.append(k)
        elif inline_bytes(a) != inline_bytes(b):
            bad.append(k)
    check(f"{label}: every shared key has the same value", not bad, f"{bad[:8]}")


def main():
    tool = build_tool()
    tmp = Path(tempfile.mkdtemp(prefix="gik_refs_interop_"))
    try:
        for cycle in ["49r1", "50r1"]:
            ens = tmp / f"ens{cycle}"
            files = make_ensemble(ens, cycle)
            msgs = eccodes_messages(files)
            out = tmp / f"gik{cycle}"
            r = run([tool, "build", "--out", out, "--inline-threshold", "500", *files])
            check(f"{cycle}: build_refs build", r.returncode == 0, r.stderr)
            if r.returncode != 0:
                continue
            summary = json.loads(r.stdout)
            check(f"{cycle}: every message referenced", summary["messages"] == len(msgs) and not summary["skipped"])

            # 2. xarray reads every format; values equal ecCodes.
            compare_with_eccodes(f"{cycle} JSON v1", str(out / "refs.json"), msgs, ALL)
            compare_with_eccodes(f"{cycle} JSON v0", str(out / "refs_v0.json"), msgs, ALL)
            compare_with_eccodes(f"{cycle} parquet dir", str(out / "refs_parq"), msgs, ALL,
                                 so={"remote_protocol": "file"})
            compare_with_eccodes(f"{cycle} two-column parquet", load_two_column(out / "seed_all.parquet"), msgs,
                                 ALL)
            for n, name in [(0, "control"), (1, "ens_01"), (MEMBERS - 1, f"ens_{MEMBERS - 1:02d}")]:
                p = out / "seed" / "members" / name / f"{name}.parquet"
                compare_with_eccodes(f"{cycle} member parquet {name}", load_two_column(p), msgs, ALL,
                                     member=n)
            comp = out / "seed" / "comprehensive" / "ensemble_all.parquet"
            check(f"{cycle}: comprehensive parquet holds the whole ensemble (the two-column file's references)",
                  load_two_column(comp)["refs"] == load_two_column(out / "seed_all.parquet")["refs"])
            compare_with_eccodes(f"{cycle} comprehensive parquet", load_two_column(comp), msgs, ALL)

            # gik reads back what it wrote, in every format.
            ours = load_refs(out / "refs.json")
            for fmt, path in [("json", out / "refs_v0.json"), ("dir", out / "refs_parq"),
                              ("seed", out / "seed_all.parquet")]:
                jo = tmp / f"back_{cycle}_{fmt}.json"
                r = run([tool, "read", fmt, path, "--json-out", jo])
                back = load_refs(jo) if r.returncode == 0 else {}
                same = set(back) == set(ours) and all(
                    json.loads(back[k]) == json.loads(ours[k]) if "/.z" in k or k.startswith(".z")
                    else back[k] == ours[k] for k in ours)
                check(f"{cycle}: gik reads its {fmt} back unchanged", r.returncode == 0 and same, r.stderr)

            # 3. Same chunk references as the Python pipeline.
            peer = tmp / f"peer{cycle}"
            enfo = [f for f in files if "enfo-ef" in f]
            r = run([PY, SHARED / "tools/peers/peer_scan.py", "--out", peer, "--tree-json", peer / "tree.json", *enfo])
            check(f"{cycle}: peer_scan.py ran on enfo-ef", r.returncode == 0, r.stderr[-500:])
            if r.returncode != 0:
                continue
            peer_refs = load_refs(peer / "tree.json")
            ours_l = labelled_chunks(ours)
            peer_l = labelled_chunks(peer_refs)
            diff = [k for k in peer_l if ours_l.get(k) != peer_l[k]]
            check(f"{cycle}: peer's {len(peer_l)} chunk references equal ours by label", not diff and peer_l,
                  f"{diff[:5]}")
            if cycle == "49r1":
                check(f"{cycle}: same labelled chunk set as peer", set(ours_l) == set(peer_l))
                compare_refs_exact(f"{cycle} tree JSON vs peer", ours, peer_refs)
                for name in ["control", "ens_01", "ens_02"]:
                    a = load_two_column(out / "seed" / "members" / name / f"{name}.parquet")["refs"]
                    b = load_two_column(peer / "members" / name / f"{name}.parquet")["refs"]
                    compare_refs_exact(f"{cycle} member parquet {name} vs peer", a, b)
                # The peer's holds only metadata and lat/lon (all-NaN data when
                # opened); gik's is complete: the peer's keys are a subset of it.
                a = load_two_column(out / "seed" / "comprehensive" / "ensemble_all.parquet")["refs"]
                b = load_two_column(peer / "comprehensive" / "ensemble_all.parquet")["refs"]
                compare_refs_exact(f"{cycle} comprehensive parquet vs peer (the peer's keys)",
                                   {k: a[k] for k in b if k in a}, b)
            else:
                ens_members = {k[4] for k in ours_l}
                check(f"{cycle}: control from oper-fc is member 0 next to enfo-ef members",
                      ens_members == set(ALL), f"{ens_members}")

            # 4. gik reads the pipeline's files (large_string keys) ...
            rels = [str(p.relative_to(peer)) for p in sorted(peer.glob("members/*/*.parquet"))]
            for rel in rels + ["comprehensive/ensemble_all.parquet"]:
                jo = tmp / "peer_back.json"
                r = run([tool, "read", "seed", peer / rel, "--json-out", jo])
                want = load_two_column(peer / rel)["refs"]
                got = load_refs(jo) if r.returncode == 0 else {}
                same = set(got) == set(want) and all(
                    (message_bytes(got[k]) == message_bytes(want[k])) if isinstance(want[k], list)
                    else inline_bytes(got[k]) == inline_bytes(want[k]) for k in want)
                check(f"{cycle}: gik reads peer {rel}", r.returncode == 0 and same, r.stderr)
            r = run([tool, "read", "json", peer / "tree.json"])
            check(f"{cycle}: gik reads peer tree JSON", r.returncode == 0, r.stderr)

        # ... and refuses fsspec's zstd parquet directory with a clear error.
        from kerchunk.df import refs_to_dataframe
        zdir = tmp / "fsspec_zstd"
        refs_to_dataframe(str(tmp / "gik49r1" / "refs.json"), str(zdir))
        r = run([tool, "read", "dir", zdir])
        check("fsspec zstd directory: typed error naming zstd and gik",
              r.returncode == 2 and "zstd" in r.stderr and "gik" in r.stderr and "panicked" not in r.stderr,
              r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
