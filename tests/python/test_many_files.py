#!/usr/bin/env python3
"""`gik scan` and `gik extract --refs` over more local files than the process
may hold open.

Scanning a week of ensemble runs is thousands of files; gik-store used to
keep every file it opened open, so such a scan stopped at the process's limit
on open files ("Too many open files", often 1024). Here 300 one-message files
(a 2t field from the shared data, each with its own date, written by ecCodes)
are scanned under a limit of 200 open files (gik keeps at most 128 open):
the references must be the same bytes as without the limit, and must hold
all 300 times, each pointing at its own file, with ecCodes' values.
"""
import json
import os
import resource
import subprocess
import sys

import eccodes
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gik_testlib import SHARED, ensure_gik, rm, tmpdir  # noqa: E402

N = 300
LIMIT = 200  # below N, above gik-store's OPEN_FILES (128) plus what the process needs besides


def limited():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def run(args, limit):
    r = subprocess.run([ensure_gik(), *args], capture_output=True, text=True, timeout=600,
                       preexec_fn=limited if limit else None)
    shown = " ".join(a for a in args if not a.endswith(".grib2"))
    assert r.returncode == 0, f"gik {shown} (open files ≤ {LIMIT if limit else 'default'}): {r.stderr}"
    return r


def main():
    src = os.path.join(SHARED, "data/grib/gribtract__drt41_png_3x2.grib2")
    assert os.path.exists(src), f"the shared test data is missing: {src} (set GIK_SHARED)"
    work = tmpdir("many-files")
    try:
        files, values = [], {}
        with open(src, "rb") as f:
            template = eccodes.codes_grib_new_from_file(f)
        try:
            for i in range(N):
                h = eccodes.codes_clone(template)
                try:
                    date = 20260101 + i // 24  # 1–13 January, every hour
                    eccodes.codes_set(h, "dataDate", date)
                    eccodes.codes_set(h, "dataTime", (i % 24) * 100)
                    path = os.path.join(work, f"f{i:03d}.grib2")
                    with open(path, "wb") as out:
                        eccodes.codes_write(h, out)
                    files.append(path)
                    values[path] = eccodes.codes_get_values(h)
                finally:
                    eccodes.codes_release(h)
        finally:
            eccodes.codes_release(template)

        a, b = os.path.join(work, "limited.json"), os.path.join(work, "free.json")
        run(["scan", *files, "--out", a, "-q"], limit=True)
        run(["scan", *files, "--out", b, "-q"], limit=False)
        assert open(a, "rb").read() == open(b, "rb").read(), "the references differ with the limit"

        refs = json.load(open(a))["refs"]
        chunks = {k: v for k, v in refs.items() if isinstance(v, list) and k.startswith("t2m/")}
        assert len(chunks) == N, f"{len(chunks)} chunks of t2m, expected {N}"
        assert sorted(v[0] for v in chunks.values()) == sorted(files), "each chunk points at its own file"

        # every field read back through the references, under the limit too
        out = os.path.join(work, "var")
        run(["extract", "--refs", a, "--var", "t2m/instant/heightAboveGround/t2m", "--format", "npy",
             "--dtype", "float64", "--out", out, "-q"], limit=True)
        got = np.load(os.path.join(out, "t2m.npy"))
        assert got.shape[0] == N and got.size == N * 6, f"shape {got.shape}"
        order = sorted(files, key=lambda p: int(os.path.basename(p)[1:4]))
        want = np.stack([values[p] for p in order])
        np.testing.assert_array_equal(got.reshape(N, 6), want.reshape(N, 6))
        print(f"{N} files scanned and read under a limit of {LIMIT} open files: same references, ecCodes' values")
    finally:
        rm(work)


if __name__ == "__main__":
    main()
