"""ecCodes and numpy answers for the browser end-to-end test.

Each command prints one JSON object; e2e.test.mjs asserts on it.

  oracle.py canvas --grib F --short tcc --pixels P.rgba --lut LUT.json
      What the page's field canvas shows (RGBA, one pixel per grid point,
      west→east from −180°, north→south) against ecCodes' values painted
      with the same colour ramp: share of pixels with the expected colour,
      and value statistics recovered from the pixels against ecCodes'.
  oracle.py point --grib F --short tcc --lat 18 --lon -72.25
      ecCodes' value at that grid point.
  oracle.py ensemble --dir D --short 2t --lat 45 --lon 10 [--lat 50 --lon 0 …]
      ecCodes' value of every member (control 0) at every step at each grid
      point, read once from every *.grib2 file in D: {"points": [{"lat",
      "lon", "values": {member: {step: float32 value}}}, …]}.
  oracle.py stats --dir D --short 2t --step 6 --stat mean --stat 'p>273.1' --out-prefix P
      numpy over ecCodes' values of every member at that step (cast to
      float32 as gik decodes, then float64): writes P-<i>.npy (float32, one
      per --stat: mean, std, p>T, p<T) and prints {"members", "files"}.
  oracle.py pickle --pickle P --grib F --short tcc[,sd,...] [--names tcc,...]
      Loads the pickle with Python's pickle (numpy arrays, datetime) and
      compares every field with ecCodes' values cast to float32.
"""

import argparse
import datetime
import json
import pickle
import sys

import eccodes
import numpy as np


def messages(path, short, step=None):
    """Each message of `short` (at `endStep` `step`, if given) in the file:
    (handle, values (nlat, nlon) as float64 with NaN where missing, lats, lons)."""
    with open(path, "rb") as f:
        while True:
            h = eccodes.codes_grib_new_from_file(f)
            if h is None:
                break
            try:
                if eccodes.codes_get(h, "shortName") != short:
                    continue
                if step is not None and eccodes.codes_get(h, "endStep") != step:
                    continue
                nj = eccodes.codes_get(h, "Nj")
                ni = eccodes.codes_get(h, "Ni")
                vals = eccodes.codes_get_double_array(h, "values")
                if eccodes.codes_get(h, "bitmapPresent"):
                    miss = eccodes.codes_get(h, "missingValue")
                    vals = np.where(vals == miss, np.nan, vals)
                lats = eccodes.codes_get_double_array(h, "distinctLatitudes")
                lons = eccodes.codes_get_double_array(h, "distinctLongitudes")
                if eccodes.codes_get(h, "jScansPositively") == 0:
                    lats = np.sort(lats)[::-1]
                yield h, vals.reshape(nj, ni), lats, lons
            finally:
                eccodes.codes_release(h)


def read_field(path, short):
    """The first message of `short`: values, lats, lons, and keys."""
    for h, vals, lats, lons in messages(path, short):
        keys = {
            "date": eccodes.codes_get(h, "validityDate"),
            "time": eccodes.codes_get(h, "validityTime"),
        }
        return vals, lats, lons, keys
    sys.exit(f"no {short} in {path}")


def west(lon):
    return ((lon + 180) % 360 + 360) % 360 - 180


def colour_index(v, lo, hi):
    """The page's colourIndex (map.js), vectorised; NaN → -1."""
    if not hi > lo:
        return np.where(np.isnan(v), -1, 128)
    i = np.floor((v - lo) / (hi - lo) * 256)
    i = np.clip(i, 0, 255)
    return np.where(np.isnan(v), -1, i).astype(np.int64)


def cmd_canvas(a):
    vals, lats, lons, _ = read_field(a.grib, a.short)
    # The page's stats come from float32 values.
    v32 = vals.astype(np.float32).astype(np.float64)
    lo, hi = np.nanmin(v32), np.nanmax(v32)
    cols = np.argsort(west(lons), kind="stable")
    rows = np.argsort(-lats, kind="stable")
    shown = v32[rows][:, cols]
    nlat, nlon = shown.shape
    rgba = np.fromfile(a.pixels, dtype=np.uint8)
    if rgba.size != nlat * nlon * 4:
        print(json.dumps({"ok": False, "reason": f"canvas has {rgba.size // 4} pixels, the grid {nlat}x{nlon}"}))
        return
    rgba = rgba.reshape(nlat, nlon, 4).astype(np.int64)
    lut = np.array(json.load(open(a.lut)), dtype=np.int64).reshape(256, 3)
    # The ramp entry of every opaque pixel (-2: a colour not on the ramp).
    code = lambda c: (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]
    keys = code(lut)
    order = np.argsort(keys, kind="stable")
    pix = code(rgba[..., :3])
    pos = np.clip(np.searchsorted(keys[order], pix), 0, 255)
    got = np.where(keys[order][pos] == pix, order[pos], -2)
    got = np.where(rgba[..., 3] == 0, -1, got)
    want = colour_index(shown, lo, hi)
    exact = float((got == want).mean())
    near = float((np.abs(got - want) <= 1).mean())
    # Values recovered from the pixels (bin centres) vs ecCodes'.
    ok = got >= 0
    off_ramp = int((got == -2).sum())
    recovered = lo + (got[ok] + 0.5) / 256 * (hi - lo)
    truth = shown[ok]
    print(
        json.dumps(
            {
                "ok": True,
                "pixels": int(nlat * nlon),
                "exact": exact,
                "withinOne": near,
                "transparent": int((got == -1).sum()),
                "offRamp": off_ramp,
                "missing": int(np.isnan(shown).sum()),
                "meanPixels": float(recovered.mean()),
                "meanTruth": float(np.nanmean(truth)),
                "stdPixels": float(recovered.std()),
                "stdTruth": float(np.nanstd(truth)),
                "min": float(lo),
                "max": float(hi),
                "binWidth": float((hi - lo) / 256),
            }
        )
    )


def cmd_point(a):
    vals, lats, lons, _ = read_field(a.grib, a.short)
    j = int(np.argmin(np.abs(lats - a.lat)))
    i = int(np.argmin(np.abs(west(lons) - west(a.lon))))
    v = vals[j, i]
    print(
        json.dumps(
            {
                "lat": float(lats[j]),
                "lon": float(lons[i]),
                "value": None if np.isnan(v) else float(np.float32(v)),
            }
        )
    )


def cmd_ensemble(a):
    """Every member's value at each point (--lat/--lon pairs, decoded once
    for all of them): {"points": [{"lat", "lon", "values": {member: {step: v}}}]}."""
    import glob

    if len(a.lat) != len(a.lon):
        sys.exit("as many --lat as --lon")
    points = [{"values": {}} for _ in a.lat]
    for path in sorted(glob.glob(f"{a.dir}/*.grib2")):
        for h, vals, lats, lons in messages(path, a.short):
            # The control of cycle 50r1 (stream oper) has no `number`.
            number = eccodes.codes_get(h, "number") if eccodes.codes_is_defined(h, "number") else 0
            step = eccodes.codes_get(h, "endStep")
            for out, lat, lon in zip(points, a.lat, a.lon):
                j = int(np.argmin(np.abs(lats - lat)))
                i = int(np.argmin(np.abs(west(lons) - west(lon))))
                out["lat"], out["lon"] = float(lats[j]), float(lons[i])
                out["values"].setdefault(str(number), {})[str(step)] = float(np.float32(vals[j, i]))
    print(json.dumps({"points": points}))


def cmd_stats(a):
    import glob

    fields = {}
    for path in sorted(glob.glob(f"{a.dir}/*.grib2")):
        for h, vals, _, _ in messages(path, a.short, a.step):
            number = eccodes.codes_get(h, "number") if eccodes.codes_is_defined(h, "number") else 0
            fields[number] = vals.astype("float32")
    x = np.stack([fields[m] for m in sorted(fields)]).astype("float64")
    files = []
    for i, stat in enumerate(a.stat):
        if stat == "mean":
            v = np.nanmean(x, axis=0)
        elif stat == "std":
            v = np.nanstd(x, axis=0)
        elif stat[:2] in ("p>", "p<"):
            t = float(stat[2:])
            v = ((x > t) if stat[1] == ">" else (x < t)).sum(axis=0) / x.shape[0]
        else:
            sys.exit(f"unknown statistic {stat}")
        out = f"{a.out_prefix}-{i}.npy"
        np.save(out, v.astype("float32"))
        files.append(out)
    print(json.dumps({"members": sorted(fields), "files": files}))


def cmd_pickle(a):
    with open(a.pickle, "rb") as f:
        state = pickle.load(f)
    shorts = a.short.split(",")
    names = a.names.split(",") if a.names else shorts
    out = {"keys": sorted(state.keys()), "fields": {}, "ok": True}
    fields = state.get("fields", {})
    out["order"] = list(fields.keys())
    d = state.get("date")
    out["date"] = d.isoformat() if isinstance(d, datetime.datetime) else repr(d)
    for short, name in zip(shorts, names):
        vals, _, _, keys = read_field(a.grib, short)
        want = vals.astype(np.float32)
        arr = fields.get(name)
        if arr is None:
            out["ok"] = False
            out["fields"][name] = {"present": False}
            continue
        same = bool(np.array_equal(arr, want, equal_nan=True))
        out["fields"][name] = {
            "present": True,
            "dtype": str(arr.dtype),
            "shape": list(arr.shape),
            "identical": same,
            "maxAbsDiff": float(np.nanmax(np.abs(arr.astype(np.float64) - want))),
        }
        expected_date = datetime.datetime.strptime(f"{keys['date']}{keys['time']:04d}", "%Y%m%d%H%M")
        out["expectedDate"] = expected_date.isoformat()
        out["ok"] = out["ok"] and same and d == expected_date
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("canvas")
    c.add_argument("--grib", required=True)
    c.add_argument("--short", required=True)
    c.add_argument("--pixels", required=True)
    c.add_argument("--lut", required=True)
    c.set_defaults(run=cmd_canvas)
    c = sub.add_parser("point")
    c.add_argument("--grib", required=True)
    c.add_argument("--short", required=True)
    c.add_argument("--lat", type=float, required=True)
    c.add_argument("--lon", type=float, required=True)
    c.set_defaults(run=cmd_point)
    c = sub.add_parser("ensemble")
    c.add_argument("--dir", required=True)
    c.add_argument("--short", required=True)
    c.add_argument("--lat", type=float, action="append", required=True)
    c.add_argument("--lon", type=float, action="append", required=True)
    c.set_defaults(run=cmd_ensemble)
    c = sub.add_parser("stats")
    c.add_argument("--dir", required=True)
    c.add_argument("--short", required=True)
    c.add_argument("--step", type=int, required=True)
    c.add_argument("--stat", action="append", required=True)
    c.add_argument("--out-prefix", required=True)
    c.set_defaults(run=cmd_stats)
    c = sub.add_parser("pickle")
    c.add_argument("--pickle", required=True)
    c.add_argument("--grib", required=True)
    c.add_argument("--short", required=True)
    c.add_argument("--names")
    c.set_defaults(run=cmd_pickle)
    a = p.parse_args()
    a.run(a)


if __name__ == "__main__":
    main()
