#!/usr/bin/env python3
"""gik's states through anemoi-inference itself (outside the default test run:
PyTorch from PyPI is several GB). scripts/anemoi_run_check.sh makes the venv
and calls this.

1. Writes a 0.25° ECMWF-open-data-like ensemble with ../shared/tools/make_ensemble.py
   (control + one member, 50r1 layout): the 00 UTC run at steps 0 and 6 h
   and the 06 UTC run at step 0, and scans all of it into one set of references.
2. Builds fake checkpoints with anemoi.inference.testing.save_fake_checkpoint
   (a pass-through mock model, no weights) from anemoi-inference's own test
   metadata (../shared/data/anemoi): AIFS-single 1.1 put on N320, and the
   same with AIFS-ENS v1's inputs (no soil moisture).
3. For each checkpoint and each --inputs mode (forecast: steps 0 and 6 h of
   the 00 UTC run; analyses: step 0 of the 00 and 06 UTC runs), extracts the
   states with `gik extract --checkpoint model.ckpt` and runs each through
   SimpleRunner for 2 steps (12 h).
4. Serves one checkpoint on loopback (the range server) and reads it with
   `gik inspect http://127.0.0.1:…/model.ckpt`, counting the requests (≤ 3).

Fails loudly (non-zero exit, the reason printed) at the first thing that is
not as it should be.
"""
import copy
import datetime
import json
import os
import pickle
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
import gik_testlib as T  # noqa: E402

WORK = os.path.join(ROOT, "target", "anemoi", "work")
N320 = 542080


def say(*a):
    print("anemoi-check:", *a, flush=True)


def rebuild_indices(meta, drop):
    """The metadata with the variables `drop` removed, its data_indices rebuilt
    from names (data space: dataset variables; model space: positions in the
    input/output tensors), as anemoi-training lays them out."""
    meta = copy.deepcopy(meta)
    ds = meta["dataset"]
    old = ds["variables"]
    forcing = set(meta["config"]["data"]["forcing"])
    diagnostic = {old[i] for i in meta["data_indices"]["data"]["input"]["diagnostic"]}
    names = [v for v in old if v not in drop]
    ds["variables"] = names
    ds["variables_metadata"] = {k: v for k, v in ds["variables_metadata"].items() if k not in drop}
    ds["shape"][1] = len(names)
    meta["config"]["data"]["forcing"] = [v for v in meta["config"]["data"]["forcing"] if v not in drop]
    idx = {v: i for i, v in enumerate(names)}
    inp = [v for v in names if v not in diagnostic]
    out = [v for v in names if v not in forcing]
    kinds = lambda vs: {  # noqa: E731
        "forcing": [v for v in vs if v in forcing],
        "diagnostic": [v for v in vs if v in diagnostic],
        "prognostic": [v for v in vs if v not in forcing and v not in diagnostic],
    }
    data = {
        "input": {"full": [idx[v] for v in inp], **{k: [idx[v] for v in vs] for k, vs in kinds(names).items()}},
        "output": {"full": [idx[v] for v in out], **{k: [idx[v] for v in vs] for k, vs in kinds(names).items()}},
    }
    model = {
        "input": {"full": list(range(len(inp))),
                  **{k: [inp.index(v) for v in vs] for k, vs in kinds(inp).items()}},
        "output": {"full": list(range(len(out))),
                   **{k: [out.index(v) for v in vs] for k, vs in kinds(out).items()}},
    }
    meta["data_indices"] = {"data": data, "internal_data": copy.deepcopy(data),
                            "model": model, "internal_model": copy.deepcopy(model)}
    return meta


def on_n320(meta):
    meta = copy.deepcopy(meta)
    meta["dataset"]["data_request"]["grid"] = "n320"
    meta["dataset"]["shape"][-1] = N320
    return meta


def make_data():
    ens = os.path.join(WORK, "ens")
    for date, run, steps in [("20250101", 0, ["0", "6"]), ("20250101", 6, ["0"])]:
        out = os.path.join(ens, f"{date}{run:02d}")
        if not (os.path.isdir(out) and os.listdir(out)):
            say(f"writing the 0.25° ensemble of {date} {run:02d} UTC, steps {' '.join(steps)}")
            subprocess.run([sys.executable, os.path.join(T.SHARED, "tools", "make_ensemble.py"),
                            "--out", out, "--members", "2", "--steps", *steps, "--grid", "0.25",
                            "--date", date, "--run", str(run)], check=True, stdout=subprocess.DEVNULL)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(ens) for f in fs if f.endswith(".grib2"))
    refs = os.path.join(WORK, "refs.json")
    T.gik("scan", *files, "--out", refs, "-q")
    return refs


def check_state(path, ckpt_inputs, times):
    with open(path, "rb") as f:
        state = pickle.load(f)
    fields = state["fields"]
    assert set(fields) == set(ckpt_inputs), (
        f"{path}: extra {sorted(set(fields) - set(ckpt_inputs))}, missing {sorted(set(ckpt_inputs) - set(fields))}")
    for k, v in fields.items():
        assert v.shape == (times, N320) and v.dtype == np.float32, (k, v.shape, v.dtype)
        assert np.isfinite(v).all(), k
    assert state["latitudes"].shape == (N320,) and state["longitudes"].shape == (N320,)
    return state


def run_through_anemoi(ckpt, state):
    from anemoi.inference.runners.simple import SimpleRunner

    runner = SimpleRunner(ckpt, device="cpu")
    # (the runner reuses its output state: note each step's date as it comes)
    return [str(out["date"]) for out in runner.run(input_states=state, lead_time=12)]


def main():
    os.makedirs(WORK, exist_ok=True)
    T.ensure_gik()
    from anemoi.inference.testing import save_fake_checkpoint

    refs = make_data()
    single = json.load(open(os.path.join(T.SHARED, "data", "anemoi", "aifs-single-1.1-o48-test-metadata.json")))
    models = {
        "aifs-single-1.1-n320": on_n320(single),
        "aifs-ens-v1-inputs-n320": on_n320(rebuild_indices(single, {"swvl1", "swvl2"})),
    }
    # N320 coordinates as the checkpoint's supporting arrays (from a first state)
    results = []
    served = None
    for name, meta in models.items():
        ckpt = os.path.join(WORK, f"{name}.ckpt")
        for mode, date, want_steps in [("forecast", "2025-01-01T06", "00 UTC run, steps 0 and 6 h"),
                                       ("analyses", "2025-01-01T06", "step 0 of the 00 and 06 UTC runs")]:
            out = os.path.join(WORK, f"states-{name}-{mode}")
            if not os.path.exists(ckpt):
                # the grid's coordinates: those gik writes into the state
                probe = os.path.join(WORK, "probe")
                T.gik("extract", "--refs", refs, "--params", "2t", "--layout", "aifs", "--grid", "n320",
                      "--members", "0", "--out", probe, "-q")
                s = pickle.load(open(os.path.join(probe, "input_state_member_000.pkl"), "rb"))
                arrays = {"latitudes": s["latitudes"], "longitudes": s["longitudes"]}
                save_fake_checkpoint(meta, ckpt, supporting_arrays=arrays)
                say(f"fake checkpoint {ckpt} ({os.path.getsize(ckpt)} bytes)")
            r = T.gik("inspect", ckpt, "--json")
            spec = json.loads(r.stdout)
            inputs = [i["name"] for i in spec["inputs"]]
            T.gik("extract", "--refs", refs, "--checkpoint", ckpt, "--inputs", mode, "--date", date,
                  "--out", out, "-q")
            for member in (0, 1):
                path = os.path.join(out, f"input_state_member_{member:03d}.pkl")
                state = check_state(path, inputs, spec["multistep_input"])
                dates = run_through_anemoi(ckpt, state)
                line = (f"{name} --inputs {mode} ({want_steps}) member {member}: {len(inputs)} inputs "
                        f"{spec['multistep_input']}x{N320}, SimpleRunner steps {len(dates)}: {', '.join(dates)}")
                say(line)
                results.append(line)
                assert dates == ["2025-01-01 12:00:00", "2025-01-01 18:00:00"], dates
        served = served or ckpt
    # the checkpoint over HTTP on loopback: requests counted by the server
    root = os.path.dirname(served)
    with T.range_server(root) as base:
        import urllib.request

        def count():
            try:
                return int(urllib.request.urlopen(f"{base}/__requests").read())
            except Exception:  # the Python server has no counter
                return None

        before = count()
        url = f"{base}/{os.path.basename(served)}"
        r = T.gik("inspect", url)
        after = count()
        print(r.stdout, end="")
        if before is None:
            say("the Python range server counts no requests: build the Rust one "
                "(cargo build -p gik-cli --example range_server)")
            sys.exit(1)
        n = after - before
        say(f"gik inspect {url}: {n} request(s) for a {os.path.getsize(served)}-byte checkpoint")
        assert n <= 3, n
    say(f"all {len(results)} runs passed")


if __name__ == "__main__":
    main()
