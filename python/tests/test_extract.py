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


