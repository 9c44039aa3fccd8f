#!/usr/bin/env python3
"""gik's pickles load in numpy 1.26 exactly as in numpy 2.x, without warnings.

The states (layout grid and aifs, float32 and float64, N320 with latitudes and
longitudes) and the `--var` pickle are written by gik from the bundled demo
ensemble, loaded here with the test venv's numpy 2 and, in a second venv,
with numpy 1.26.4 (`.venv-numpy126`, made by scripts/test.sh; set
GIK_PYTHON_NUMPY126). Every array's dtype, shape and bytes, and the date,
must agree, and numpy 1.26 must emit no warning at all.
"""
import json
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gik_testlib import ROOT, gik, rm, tmpdir  # noqa: E402

PY126 = os.environ.get("GIK_PYTHON_NUMPY126", os.path.join(ROOT, ".venv-numpy126", "bin", "python"))

# The digest of a loaded pickle: run here (numpy 2) and, in a subprocess, in
# the numpy 1.26 venv with every warning an error.
DIGEST_FN = r'''
import hashlib
import numpy as np
def digest(obj):
    if isinstance(obj, dict):
        return {k: digest(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [str(obj.dtype), list(obj.shape), hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()]
    return repr(obj)
'''
DIGEST = DIGEST_FN + r'''
import json, pickle, sys, warnings
warnings.simplefilter("error")
out = {}
for p in sys.argv[1:]:
    with open(p, "rb") as f:
        out[p] = digest(pickle.load(f))
print(json.dumps({"numpy": np.__version__, "digests": out}))
'''
exec(DIGEST_FN)  # defines digest() here exactly as in the subprocess


def main():
    if not os.path.exists(PY126):
        raise SystemExit(f"{PY126} not found: scripts/test.sh makes it (python3 -m venv .venv-numpy126; pip install numpy==1.26.4)")
    data = os.path.join(ROOT, "data", "demo", "50r1")
    gribs = sorted(os.path.join(data, f) for f in os.listdir(data) if f.endswith(".grib2"))
    work = tmpdir("numpy126")
    try:
        gik("scan", *gribs, "--out", f"{work}/refs.json", "-q")
        # N320 needs a 0.25° source: the real ECMWF sample
        sample = os.path.join(ROOT, "data", "samples", "ecmwf-ifs-oper-20260310-00z-0h-surface.grib2")
        gik("scan", sample, "--out", f"{work}/sample.json", "-q")
        runs = {
            "grid-f32": ["--refs", f"{work}/refs.json", "--members", "0,1"],
            "aifs-f64": ["--refs", f"{work}/refs.json", "--members", "0,1", "--layout", "aifs", "--dtype", "float64"],
            "n320": ["--refs", f"{work}/sample.json", "--grid", "n320", "--params", "tcc,sd"],
        }
        paths = []
        for name, extra in runs.items():
            gik("extract", "--out", f"{work}/{name}", "-q", *extra)
            paths += sorted(os.path.join(work, name, f) for f in os.listdir(f"{work}/{name}"))
        gik("extract", "--refs", f"{work}/refs.json", "--out", f"{work}/var", "--var", "t2m/instant/heightAboveGround/t2m", "-q")
        paths += sorted(os.path.join(work, "var", f) for f in os.listdir(f"{work}/var"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            here = {}
            for p in paths:
                with open(p, "rb") as f:
                    here[p] = digest(pickle.load(f))
        r = subprocess.run([PY126, "-c", DIGEST, *paths], capture_output=True, text=True)
        assert r.returncode == 0, f"numpy 1.26 could not load gik's pickles:\n{r.stderr}"
        there = json.loads(r.stdout)
        assert there["numpy"].startswith("1.26"), there["numpy"]
        for p in paths:
            assert here[p] == there["digests"][p], f"{p}: numpy {np.__version__} and {there['numpy']} disagree"
        n = sum(len(d.get("fields", {})) for d in here.values())
        print(f"numpy {there['numpy']} and {np.__version__}: {len(paths)} pickles ({n} fields, grid/aifs, "
              f"f32/f64, N320, --var) load identically, no warnings")
    finally:
        rm(work)
    print("test_numpy126: ok")


if __name__ == "__main__":
    main()
