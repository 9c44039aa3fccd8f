"""Scale-out on a real `distributed.LocalCluster` (2 worker processes,
loopback): `gik.dask.extract_states` over 4 members × 2 dates equals the
pickles `gik extract` writes, byte for byte; an ensemble mean over 51
members through xarray + Dask (the `gik` codec, and engine="gik") equals
numpy's mean of ecCodes' values."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from distributed import Client, LocalCluster

import gik
import gik.dask
from conftest import HERE, demo_files, run


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def test_extract_states_equal_the_cli_pickles(tmp_path: Path, gik_bin: Path, py_data: Path, client: Client) -> None:
    refs = []
    for i, files in enumerate([demo_files("50r1"), sorted(str(p) for p in (py_data / "d2").glob("*.grib2"))]):
        out = tmp_path / f"refs-{i}.json"
        run([gik_bin, "scan", "-q", "--codec", "gik", "--out", out, *files])
        refs.append(str(out))
    members = [0, 1, 2, 3]
    states = gik.dask.extract_states(refs, members, client=client, params="aifs-ens", layout="aifs")
    assert [(s["refs"], s["member"]) for s in states] == [(r, m) for r in refs for m in members]
    dates = set()
    for r in refs:
        out = tmp_path / Path(r).stem
        run([gik_bin, "extract", "-q", "--refs", r, "--out", out, "--members", "0-3", "--params", "aifs-ens", "--layout", "aifs"])
        for s in (s for s in states if s["refs"] == r):
            with open(out / f"input_state_member_{s['member']:03d}.pkl", "rb") as f:
                want = pickle.load(f)
            assert s["date"] == want["date"]
            assert list(s["fields"]) == list(want["fields"])
            for name, a in want["fields"].items():
                b = s["fields"][name]
                assert (b.dtype, b.shape) == (a.dtype, a.shape), name
                assert b.tobytes() == a.tobytes(), (r, s["member"], name)
            dates.add(s["date"])
    assert len(dates) == 2, dates
    # the tasks ran on the cluster's workers
    assert len(client.scheduler_info()["workers"]) == 2


def test_ensemble_mean_of_51_members(tmp_path: Path, gik_bin: Path, reference_python: Path, py_data: Path, client: Client) -> None:
    files = sorted(str(p) for p in (py_data / "ens51").glob("*.grib2"))
    refs = tmp_path / "refs.json"
    run([gik_bin, "scan", "-q", "--codec", "gik", "--out", refs, *files])
    eccodes = tmp_path / "eccodes"
    run([reference_python, HERE / "eccodes_reference.py", eccodes, *files])
    fields = {m["number"]: np.load(m["npy"]) for m in json.loads((eccodes / "index.json").read_text()) if m["shortName"] == "2t"}
    assert sorted(fields) == list(range(51))
    want = np.mean(np.stack([fields[n] for n in range(51)]), axis=0)

    # the gik codec inside zarr (what a user without gik's engine runs)
    ds = xr.open_dataset(
        "reference://t2m/instant/heightAboveGround",
        engine="zarr",
        chunks={},
        backend_kwargs={"consolidated": False, "storage_options": {"fo": str(refs)}},
    )
    assert ds["t2m"].sizes["number"] == 51 and ds["t2m"].chunks is not None
    got = ds["t2m"].mean("number").compute()
    np.testing.assert_allclose(got.values.reshape(-1), want, rtol=1e-14, atol=0)
    # engine="gik", one Dask chunk per message
    ds = xr.open_dataset(refs, engine="gik", chunks={}, filter_by_keys={"shortName": "2t"})
    got = ds["t2m"].mean("number").compute()
    np.testing.assert_allclose(got.values.reshape(-1), want, rtol=1e-14, atol=0)
    # and through gik-core's own statistics (float32)
    stats = gik.open_references(refs).ensemble_stats("t2m", ["mean"])
    np.testing.assert_allclose(stats["mean"].reshape(-1), want.astype(np.float32), rtol=1e-6)
