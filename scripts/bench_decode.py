#!/usr/bin/env python3
"""CCSDS decode speed: gik (pure Rust, public API) vs ecCodes (python
eccodes, C libaec), message by message, on the same machine.

ecCodes: best of N in-process timings of codes_get_values only (the handle
is created outside the timed region, fresh for every repetition).
gik: best of N of Field::decode_f32 / decode_f64, from the
`decode_timing` example (built in release mode by this script).

Inputs: the real 0.25° ECMWF CCSDS fields in shared/data/grib, plus the
generated 0.25° fields in target/bench-data if present
(`.venv/bin/python tests/ccsds/gen_grib_ccsds.py --bench target/bench-data`).

Usage: .venv/bin/python scripts/bench_decode.py [--iters N] [FILE...]
"""
import argparse
import glob
import os
import subprocess
import sys
import time

import eccodes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("GIK_SHARED", os.path.join(ROOT, "..", "shared"))


def default_files():
    grib = os.path.join(SHARED, "data", "grib")
    files = [os.path.join(grib, "gribberish__aifs-single-t500.grib2"),
             os.path.join(grib, "gribberish__ecmwf-ifs-oper-surface.grib2")]
    files += sorted(glob.glob(os.path.join(ROOT, "target", "bench-data", "ccsds_0p25_*bit.grib2")))
    return [f for f in files if os.path.exists(f)]


def eccodes_best_ms(msg, iters):
    best = float("inf")
    for _ in range(iters):
        h = eccodes.codes_new_from_message(msg)
        t = time.perf_counter()
        eccodes.codes_get_values(h)
        best = min(best, time.perf_counter() - t)
        eccodes.codes_release(h)
    return best * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = args.files or default_files()
    if not files:
        sys.exit("no input files")

    subprocess.run(["cargo", "build", "--release", "-q", "-p", "gik-core", "--example", "decode_timing"],
                   cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "examples", "decode_timing")
    out = subprocess.run([exe, "--iters", str(args.iters), *files], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout

    rows = []
    for line in out.splitlines():
        path, idx, off, length, name, bits, n, f32_ms, f64_ms = line.split("\t")
        with open(path, "rb") as f:
            f.seek(int(off))
            msg = f.read(int(length))
        ec = eccodes_best_ms(msg, args.iters)
        rows.append((os.path.basename(path), int(idx), name, int(bits), int(n),
                     float(f32_ms), float(f64_ms), ec))

    hdr = f"{'file':44} {'#':>2} {'name':6} {'bits':>4} {'points':>8} {'gik f32':>8} {'gik f64':>8} {'ecCodes':>8} {'speedup':>7}"
    print(hdr)
    print("-" * len(hdr))
    for file, idx, name, bits, n, f32_ms, f64_ms, ec in rows:
        print(f"{file:44} {idx:>2} {name:6} {bits:>4} {n:>8} {f32_ms:>7.3f}ms {f64_ms:>7.3f}ms "
              f"{ec:>7.3f}ms {ec / f64_ms:>6.2f}x")
    print("(best of %d; speedup = ecCodes codes_get_values / gik decode_f64)" % args.iters)


if __name__ == "__main__":
    main()
