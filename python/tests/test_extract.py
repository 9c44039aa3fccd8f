"""`gik.extract_state` hands out the arrays `gik extract` writes into a
member's pickle (loaded with Python's own pickle): same names in the same
order, same dtype, shape and bytes, same date; both cycles, grid/aifs
layouts, 0.25°/N320."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import gik
from conftest import ROOT, run


def extract_both(gik_bin: Path, refs: Path, out: Path, member: int, params: str, layout: str, grid: str, dtype: str) -> tuple[dict, dict]:
    """(the CLI's pickle of `member`, gik.extract_state of the same)."""
    run([gik_bin, "extract", "-q", "--refs", refs, "--out", out, "--members", str(member), "--params", params, "--layout", layout, "--grid", grid, "--dtype", dtype])
    with open(out / f"input_state_member_{member:03d}.pkl", "rb") as f:
        want = pickle.load(f)
    got = gik.extract_state(gik.open_references(refs), member, params=params, layout=layout, grid=grid, dtype=dtype)
    return want, got


@pytest.mark.parametrize(("layout", "dtype"), [("grid", "float32"), ("aifs", "float64")])
def test_extract_state_equals_the_cli_pickle(tmp_path: Path, gik_bin: Path, gik_refs: Path, layout: str, dtype: str) -> None:
    want, got = extract_both(gik_bin, gik_refs, tmp_path, 2, "aifs-ens", layout, "0.25", dtype)
    assert_same_state(want, got)


def test_n320_states_equal_the_cli_pickle(tmp_path: Path, gik_bin: Path) -> None:
    """N320 (MIR "linear" from 0.25°): the real 0.25° ECMWF sample."""
    refs = tmp_path / "refs.json"
    run([gik_bin, "scan", "-q", "--codec", "gik", "--out", refs, ROOT / "data" / "samples" / "ecmwf-ifs-oper-20260310-00z-0h-surface.grib2"])
    want, got = extract_both(gik_bin, refs, tmp_path, 0, "sd,tcc", "grid", "n320", "float32")
    assert set(want) == {"date", "fields", "latitudes", "longitudes"}
    assert_same_state(want, got)


def assert_same_state(want: dict, got: dict) -> None:
    assert sorted(got) == sorted(want)
    assert got["date"] == want["date"]
    assert list(got["fields"]) == list(want["fields"]), "same fields in the same order"
    for name, a in want["fields"].items():
        b = got["fields"][name]
        assert (b.dtype, b.shape) == (a.dtype, a.shape), name
        assert b.tobytes() == a.tobytes(), name
    for key in ("latitudes", "longitudes"):
        if key in want:
            assert got[key].tobytes() == want[key].tobytes(), key


def test_a_member_the_references_lack_is_a_selection_error(gik_refs: Path) -> None:
    with pytest.raises(gik.SelectionError, match="99"):
        gik.extract_state(str(gik_refs), 99)
    with pytest.raises(gik.SelectionError, match="layout `nope`"):
        gik.extract_state(str(gik_refs), 1, layout="nope")  # type: ignore[arg-type]


def test_read_field_and_scan_agree_with_the_cli(tmp_path: Path, gik_bin: Path, gik_refs: Path, cycle: str, eccodes_values: dict) -> None:
    from conftest import demo_files

    # gik.scan writes the bytes `gik scan` writes
    refs = gik.scan(demo_files(cycle), codec="gik")
    assert refs.to_json() == gik_refs.read_bytes()
    for fmt in ("json", "parquet", "parquet-dir"):
        out = tmp_path / f"refs.{fmt}"
        refs.write(out, format=fmt)
        assert gik.open_references(out).to_json() == refs.to_json(), fmt
    # one field, as ecCodes decodes its message
    (t2m,) = [v for v in refs.variables() if v["path"] == "t2m/instant/heightAboveGround/t2m"]
    assert t2m["dims"] == ["time", "step", "number", "latitude", "longitude"]
    member, step = t2m["members"][-1], t2m["steps"][-1]
    got = refs.read_field("t2m", member=member, step=step, time=t2m["times"][0])
    chunk = json.loads(gik_refs.read_text())["refs"][f"t2m/instant/heightAboveGround/t2m/0.{len(t2m['steps']) - 1}.{len(t2m['members']) - 1}.0.0"]
    want = eccodes_values[(chunk[0], chunk[1])]["values"]
    np.testing.assert_array_equal(got.reshape(-1), want)
    assert got.shape == tuple(t2m["shape"][-2:])




def model_metadata(grid: str) -> dict:
    """A one-input-time model on `grid` taking `sd` and `tcc` (what the real
    0.25° sample holds) and computing `cos_latitude`."""
    return {
        "config": {"data": {"forcing": ["cos_latitude"], "timestep": "6h"}, "training": {"multistep_input": 1}},
        "dataset": {
            "variables": ["sd", "cos_latitude", "tcc"],
            "data_request": {"grid": grid},
            "variables_metadata": {
                "sd": {"mars": {"param": "sd", "levtype": "sfc"}},
                "cos_latitude": {"computed_forcing": True, "constant_in_time": True},
                "tcc": {"mars": {"param": "tcc", "levtype": "sfc"}},
            },
        },
        "data_indices": {"data": {"input": {"prognostic": [0, 2]}}},
    }


def test_a_checkpoint_gives_its_inputs_on_its_grid_with_its_coordinates(tmp_path: Path, gik_bin: Path) -> None:
    """`checkpoint=`: a model's metadata JSON, and a `.ckpt` carrying its own
    latitudes/longitudes (here in -180..180), give the model's inputs on its
    grid (O96), equal to `gik extract --checkpoint[-metadata]`'s pickle, the
    coordinates the checkpoint's own."""
    import sys

    sys.path.insert(0, str(ROOT / "core" / "tests" / "data" / "checkpoint"))
    from make_fixtures import write_checkpoint

    refs = tmp_path / "refs.json"
    run([gik_bin, "scan", "-q", "--codec", "gik", "--out", refs, ROOT / "data" / "samples" / "ecmwf-ifs-oper-20260310-00z-0h-surface.grib2"])
    meta = tmp_path / "model.json"
    meta.write_text(json.dumps(model_metadata("o96")))
    run([gik_bin, "extract", "-q", "--refs", refs, "--out", tmp_path / "a", "--members", "0", "--checkpoint-metadata", meta])
    with open(tmp_path / "a" / "input_state_member_000.pkl", "rb") as f:
        want = pickle.load(f)
    got = gik.extract_state(gik.open_references(refs), 0, checkpoint=meta)
    assert list(got["fields"]) == ["sd", "tcc"]
    assert got["fields"]["sd"].shape == (1, 40320)
    assert_same_state(want, got)
    # a checkpoint with its own coordinates: the grid's points, longitudes in -180..180
    lats, lons = want["latitudes"], np.where(want["longitudes"] >= 180, want["longitudes"] - 360, want["longitudes"])
    ckpt = tmp_path / "model.ckpt"
    write_checkpoint(ckpt, model_metadata("o96"), {"latitudes": lats, "longitudes": lons}, weights=4096)
    run([gik_bin, "extract", "-q", "--refs", refs, "--out", tmp_path / "b", "--members", "0", "--checkpoint", ckpt])
    with open(tmp_path / "b" / "input_state_member_000.pkl", "rb") as f:
        want = pickle.load(f)
    got = gik.extract_state(gik.open_references(refs), 0, checkpoint=ckpt)
    assert_same_state(want, got)
    assert got["longitudes"].tobytes() == lons.tobytes() and got["latitudes"].tobytes() == lats.tobytes()
    # coordinates that are not the grid's points, and params with a checkpoint: clear errors
    moved = lats.copy()
    moved[77] += 0.5
    write_checkpoint(tmp_path / "moved.ckpt", model_metadata("o96"), {"latitudes": moved, "longitudes": lons}, weights=4096)
    with pytest.raises(gik.SelectionError, match="point 77"):
        gik.extract_state(gik.open_references(refs), 0, checkpoint=tmp_path / "moved.ckpt")
    with pytest.raises(gik.SelectionError, match="params"):
        gik.extract_state(gik.open_references(refs), 0, checkpoint=meta, params="2t")
