#!/usr/bin/env python3
"""Writes small GRIB2 messages packed with CCSDS (template 5.42, packingType
grid_ccsds) by ecCodes, plus ecCodes' own decoded values, as fixtures for
gik's GRIB-level CCSDS tests (core/tests/ccsds_roundtrip.rs).

Default output (core/tests/data/ccsds/grib/):
  ccsds_all.grib2   the messages, concatenated
  ccsds_all.json    per message: bits, flags, block size, rsi, points, pattern,
                    and ecCodes' values: sha256 of all of them as float64 LE
                    and as float32 LE (the f64 values cast), and the first few

  --bench DIR       instead writes 0.25° global fields (1440 x 721 =
                    1,038,240 points) at 12, 16 and 24 bits with ECMWF's
                    parameters (ccsdsFlags 14, block 32, rsi 128) to
                    DIR/ccsds_0p25_{bits}bit.grib2 for the decode benchmark.

Every bitsPerValue 1..32 is written with ECMWF's parameters, and a rotating
selection of other block sizes, RSIs and flags (no preprocessing, PAD_RSI,
RESTRICTED where libaec allows it, non-MSB). Grids are sized so that the
last block and the last RSI are partial.

Usage: .venv/bin/python tests/ccsds/gen_grib_ccsds.py [--out DIR] [--bench DIR]
"""
import argparse
import hashlib
import json
import os

import numpy as np
import eccodes

# (block size, rsi, flags) variants. ECMWF writes (32, 128, 14).
ECMWF = (32, 128, 14)
OTHERS = [
    (8, 1, 14), (16, 2, 10), (64, 4096, 14), (32, 128, 46),  # 46 = 14 | PAD_RSI
    (32, 128, 6), (32, 3, 12), (8, 64, 8), (64, 7, 4), (16, 128, 14 | 32),
]
RESTRICTED = 16
SHAPES = [(37, 19), (40, 25), (11, 7), (64, 33), (3, 2)]


def make_handle(ni, nj):
    h = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib2")
    eccodes.codes_set(h, "Ni", ni)
    eccodes.codes_set(h, "Nj", nj)
    eccodes.codes_set(h, "latitudeOfFirstGridPointInDegrees", 90.0)
    eccodes.codes_set(h, "longitudeOfFirstGridPointInDegrees", 0.0)
    eccodes.codes_set(h, "latitudeOfLastGridPointInDegrees", -90.0)
    eccodes.codes_set(h, "longitudeOfLastGridPointInDegrees", 360.0 - 360.0 / ni)
    eccodes.codes_set(h, "iDirectionIncrementInDegrees", 360.0 / ni)
    eccodes.codes_set(h, "jDirectionIncrementInDegrees", 180.0 / max(1, nj - 1))
    eccodes.codes_set(h, "packingType", "grid_ccsds")
    return h


def field(pattern, ni, nj, bits, rng):
    lat = np.linspace(90, -90, nj)[:, None]
    lon = np.linspace(0, 360, ni, endpoint=False)[None, :]
    if pattern == "smooth":
        v = 250 + 40 * np.cos(np.radians(lat)) + 8 * np.sin(np.radians(3 * lon)) * np.cos(np.radians(2 * lat))
        v = v + rng.normal(0, 0.3, v.shape)
    elif pattern == "noisy":
        v = rng.normal(0, 1, (nj, ni)) * 1000.0 + 5.0
    elif pattern == "precip":
        # many exact zeros (zero blocks) and a skewed positive tail
        v = np.maximum(0.0, rng.gamma(0.6, 0.004, (nj, ni)) - 0.002)
        v[: nj // 2, :] = 0.0
    elif pattern == "mask":
        # small integer classes, as ecCodes writes 1-4 bit land/sea or type masks
        v = rng.integers(0, max(2, min(1 << bits, 6)), (nj, ni)).astype(float)
        v[:, : ni // 3] = 0.0
    else:
        raise ValueError(pattern)
    return np.asarray(v, dtype=np.float64).reshape(-1)


def write_fixtures(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(42)
    msgs, meta = [], []
    counter = 0
    for bits in range(1, 33):
        variants = [ECMWF] + [OTHERS[(bits * 3 + i) % len(OTHERS)] for i in range(3)]
        if bits <= 4 or bits > 8:
            variants.append((32, 128, 14 | RESTRICTED))
        for vi, (bs, rsi, flags) in enumerate(variants):
            counter += 1
            ni, nj = SHAPES[counter % len(SHAPES)]
            if bits <= 4:
                pattern = ["mask", "mask", "precip", "smooth", "noisy"][vi % 5]
            else:
                pattern = ["smooth", "precip", "noisy", "smooth", "noisy"][vi % 5]
            h = make_handle(ni, nj)
            eccodes.codes_set(h, "bitsPerValue", bits)
            eccodes.codes_set(h, "ccsdsBlockSize", bs)
            eccodes.codes_set(h, "ccsdsRsi", rsi)
            eccodes.codes_set(h, "ccsdsFlags", flags)
            v = field(pattern, ni, nj, bits, rng)
            if np.all(v == v[0]):
                v[0] += 1.0  # keep it non-constant (constant fields get 0 bits)
            eccodes.codes_set_values(h, v)
            msg = eccodes.codes_get_message(h)
            eccodes.codes_release(h)
            # decode from the written bytes, as a reader would
            g = eccodes.codes_new_from_message(msg)
            got = {k: eccodes.codes_get(g, k) for k in
                   ("bitsPerValue", "ccsdsBlockSize", "ccsdsRsi", "ccsdsFlags", "packingType",
                    "numberOfValues")}
            vals = eccodes.codes_get_values(g).astype("<f8")
            eccodes.codes_release(g)
            assert got["packingType"] == "grid_ccsds" and got["bitsPerValue"] == bits, got
            assert (got["ccsdsBlockSize"], got["ccsdsRsi"], got["ccsdsFlags"]) == (bs, rsi, flags), got
            msgs.append(msg)
            meta.append({"bits": bits, "flags": flags, "block_size": bs, "rsi": rsi,
                         "points": int(vals.size), "pattern": pattern, "bytes": len(msg),
                         "sha256_f64": hashlib.sha256(vals.tobytes()).hexdigest(),
                         "sha256_f32": hashlib.sha256(vals.astype("<f4").tobytes()).hexdigest(),
                         "first": [float(x) for x in vals[:6]]})
    with open(os.path.join(out_dir, "ccsds_all.grib2"), "wb") as f:
        for m in msgs:
            f.write(m)
    with open(os.path.join(out_dir, "ccsds_all.json"), "w") as f:
        json.dump(meta, f, indent=0)
    total = sum(os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir))
    print(f"{len(msgs)} messages, {total} bytes in {out_dir}")


def write_bench(out_dir):
    """0.25° global fields like ECMWF's (t-like: smooth large scale plus
    synoptic waves plus small-scale noise), ECMWF CCSDS parameters."""
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(7)
    ni, nj = 1440, 721
    lat = np.radians(np.linspace(90, -90, nj))[:, None]
    lon = np.radians(np.linspace(0, 360, ni, endpoint=False))[None, :]
    base = 250 + 45 * np.cos(lat) ** 2
    waves = sum(rng.normal(0, 6 / (w ** 0.8)) * np.sin(w * lon + rng.uniform(0, 6.3))
                * np.cos((w % 7 + 1) * lat) for w in range(1, 40))
    v = (base + waves + rng.normal(0, 0.05, (nj, ni))).reshape(-1)
    for bits in (12, 16, 24):
        h = make_handle(ni, nj)
        eccodes.codes_set(h, "bitsPerValue", bits)
        eccodes.codes_set(h, "ccsdsBlockSize", 32)
        eccodes.codes_set(h, "ccsdsRsi", 128)
        eccodes.codes_set(h, "ccsdsFlags", 14)
        eccodes.codes_set_values(h, v)
        msg = eccodes.codes_get_message(h)
        eccodes.codes_release(h)
        path = os.path.join(out_dir, f"ccsds_0p25_{bits}bit.grib2")
        with open(path, "wb") as f:
            f.write(msg)
        print(f"{path}: {len(msg)} bytes")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "core", "tests", "data", "ccsds", "grib"))
    ap.add_argument("--bench", metavar="DIR", help="write 0.25° benchmark fields to DIR instead")
    args = ap.parse_args()
    if args.bench:
        write_bench(args.bench)
    else:
        write_fixtures(os.path.normpath(args.out))


if __name__ == "__main__":
    main()
