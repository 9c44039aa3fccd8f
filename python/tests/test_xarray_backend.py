"""`engine="gik"`: xarray opens GRIB2 files, urls and reference files
through gik (no ecCodes here), lazily, with the references' layout and
cfgrib's names; every chunk of every variable equals ecCodes' values of its
message, at the coordinates ecCodes gives that message.

ecCodes' and cfgrib's answers come from another Python (GIK_REFERENCE_PYTHON).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import gik
from conftest import HERE, ROOT, demo_files, run

SAMPLES = ["ecmwf-ifs-oper-20260310-00z-0h-surface.grib2"]
SHARED_SAMPLES = [
    "gribberish__ecmwf-ifs-oper-surface.grib2",
    "gribberish__aifs-ens-cf-t500.grib2",
    "gribberish__aifs-single-t500.grib2",
    "gribrs__20240101000000-0h-oper-fc.grib2.0-10",
    "DERIVED__ens_50_grib2_ccsds.grib2",
]


@pytest.fixture(scope="session")
def samples(shared: Path) -> list[Path]:
    """The real ECMWF samples: the checkout's and the shared ones."""
    paths = [ROOT / "data" / "samples" / s for s in SAMPLES] + [shared / s for s in SHARED_SAMPLES]
    for p in paths:
        if not p.exists():
            pytest.fail(f"ECMWF sample missing: {p}", pytrace=False)
    return paths


def eccodes_of(tmp: Path, reference_python: Path, files: list[str]) -> dict[tuple[str, int], dict]:
    run([reference_python, HERE / "eccodes_reference.py", tmp, *files])
    index = json.loads((tmp / "index.json").read_text())
    return {(m["file"], m["offset"]): {**m, "values": np.load(m["npy"])} for m in index}


@pytest.fixture(scope="session")
def samples_eccodes(tmp_path_factory: pytest.TempPathFactory, reference_python: Path, samples: list[Path]) -> dict:
    return eccodes_of(tmp_path_factory.mktemp("eccodes-samples"), reference_python, [str(p) for p in samples])


def chunk_refs(refs: dict, path: str) -> dict[tuple[int, ...], list]:
    """Chunk key → [url, offset, length] of the data array at `path`."""
    out = {}
    for key, ref in refs["refs"].items():
        head, _, leaf = key.rpartition("/")
        if head == path and not leaf.startswith("."):
            out[tuple(int(i) for i in leaf.split("."))] = ref
    return out


def level_coord(ds: xr.Dataset, var: xr.DataArray) -> str | None:
    name = var.attrs.get("GRIB_typeOfLevel")
    return name if name in ds.coords else None


def check_tree(tree: xr.DataTree, refs: dict, eccodes: dict) -> int:
    """Every chunk of every data variable of `tree` equals ecCodes' values of
    its message, and the variable's coordinates at that chunk are the
    message's (number, step, level); chunks without a message are NaN.
    Returns the number of messages checked."""
    checked = 0
    for node in tree.subtree:
        ds = node.to_dataset()
        for name, var in ds.data_vars.items():
            path = f"{node.path.strip('/')}/{name}"
            chunks = chunk_refs(refs, path)
            assert chunks, path
            values = var.values
            n_lead = len(next(iter(chunks))) - 2 if values.ndim >= 2 and var.dims[-2:] == ("latitude", "longitude") else len(next(iter(chunks))) - 1
            seen = np.zeros(values.shape[:n_lead], dtype=bool)
            level = level_coord(ds, var)
            for idx, ref in chunks.items():
                lead = idx[:n_lead]
                url, offset, length = ref
                m = eccodes[(url, offset)]
                np.testing.assert_array_equal(values[lead].reshape(-1), m["values"], err_msg=f"{path} {idx} ({url} @ {offset})")
                at = dict(zip(var.dims, lead))
                point = var[at] if at else var
                assert point.attrs["GRIB_shortName"] == m["shortName"], (path, idx)
                if "number" in point.coords:
                    assert int(point["number"]) == m["number"], (path, idx)
                if "step" in point.coords:
                    assert point["step"].values.astype("timedelta64[h]").astype(int) == m["step"], (path, idx)
                if level is not None:
                    assert float(point[level]) == m["level"], (path, idx)
                seen[lead] = True
                checked += 1
            assert np.isnan(values[~seen]).all(), path
    return checked


def test_the_demo_references_equal_eccodes(gik_refs: Path, eccodes_values: dict) -> None:
    """gik's references (`--codec gik`) as a tree: every message of the demo."""
    tree = xr.open_datatree(gik_refs, engine="gik")
    refs = json.loads(gik_refs.read_text())
    assert check_tree(tree, refs, eccodes_values) == len(eccodes_values)


def test_the_ecmwf_samples_equal_eccodes(samples: list[Path], samples_eccodes: dict) -> None:
    """GRIB files opened directly: the real ECMWF samples, every message."""
    checked = 0
    for path in samples:
        tree = xr.open_datatree(path, engine="gik")
        refs = json.loads(gik.scan(str(path), codec="gik").to_json())
        n = check_tree(tree, refs, samples_eccodes)
        assert n == sum(1 for (f, _) in samples_eccodes if f == str(path)), path
        checked += n
    assert checked == len(samples_eccodes)


def test_cfgrib_names_and_layout(tmp_path: Path, reference_python: Path, samples: list[Path]) -> None:
    """Where cfgrib and the references agree, engine="gik" gives what
    engine="cfgrib" gives: for every dataset of cfgrib.open_datasets, the same
    filter_by_keys opens the same variables with the same dimensions,
    coordinate values and GRIB_ attributes. (Where they differ: levels are in
    the references' ascending order, cfgrib's isobaricInhPa descends; data
    are float64, cfgrib's float32.)"""
    out = tmp_path / "cfgrib.json"
    run([reference_python, HERE / "cfgrib_reference.py", out, *samples])
    compared = 0
    for path, datasets in json.loads(out.read_text()).items():
        for want in datasets:
            first = next(iter(want["vars"].values()))["attrs"]
            keys = {
                "typeOfLevel": first["GRIB_typeOfLevel"],
                "stepType": first["GRIB_stepType"],
                "shortName": [v["attrs"]["GRIB_shortName"] for v in want["vars"].values()],
                "dataType": first["GRIB_dataType"],
            }
            level = want["coords"].get(first["GRIB_typeOfLevel"])
            if level is not None and not level["dims"]:
                keys["level"] = level["values"][0]
            ds = xr.open_dataset(path, engine="gik", filter_by_keys=keys)
            assert sorted(ds.data_vars) == sorted(want["vars"]), (path, keys)
            for name, v in want["vars"].items():
                got = ds[name]
                assert list(got.dims) == v["dims"], (path, name)
                for k, a in v["attrs"].items():
                    # (dataType varies over an ensemble, cf/pf: cfgrib and the references each keep one)
                    if k in got.attrs and k != "GRIB_dataType":
                        same = got.attrs[k] == a or (isinstance(a, float) and np.isclose(got.attrs[k], a))
                        assert same, (path, name, k, got.attrs[k], a)
            for name, c in want["coords"].items():
                if name not in ds.coords:
                    continue
                got = ds[name]
                assert list(got.dims) == c["dims"], (path, name, got.dims)
                values = got.values
                if np.issubdtype(values.dtype, np.datetime64):
                    have = [str(x) for x in values.astype("datetime64[s]").reshape(-1)]
                    assert have == c["values"], (path, name)
                elif np.issubdtype(values.dtype, np.timedelta64):
                    have = (values.astype("timedelta64[s]").astype(np.int64).reshape(-1) / 3600).tolist()
                    assert have == c["values"], (path, name)
                elif name == "longitude":
                    # the same points: gik's references give them in the grid's order, -180..180
                    # (-10, 0, 10 for a grid from 350° east), cfgrib ecCodes' sorted distinct values (10, 350, 360)
                    np.testing.assert_array_equal(np.sort(values % 360), np.sort(np.asarray(c["values"]) % 360), err_msg=f"{path} {name}")
                elif c["dims"] == [name]:
                    # levels: ascending in gik's (and kerchunk's) references, as cfgrib reads them (descending for hPa)
                    np.testing.assert_array_equal(np.sort(values), np.sort(np.asarray(c["values"])), err_msg=f"{path} {name}")
                else:
                    np.testing.assert_array_equal(values.reshape(-1), np.asarray(c["values"]), err_msg=f"{path} {name}")
            compared += 1
    assert compared >= len(samples)


def test_reading_is_lazy_and_errors_name_the_file(tmp_path: Path) -> None:
    grib = tmp_path / "copy.grib2"
    shutil.copy(demo_files("50r1")[0], grib)
    shutil.copy(Path(demo_files("50r1")[0]).with_suffix(".index"), grib.with_suffix(".index"))
    ds = xr.open_dataset(grib, engine="gik", filter_by_keys={"shortName": "t"})
    # nothing was read yet: bytes overwritten (in place) after opening are what indexing reads
    size = grib.stat().st_size
    with open(grib, "r+b") as f:
        f.write(b"\0" * size)
    with pytest.raises(gik.GribError, match="copy.grib2 bytes"):
        ds["t"].values
    # references to a file deleted after they were written: the file is named
    shutil.copy(demo_files("50r1")[0], grib)
    gik.scan(str(grib), codec="gik").write(tmp_path / "refs.json")
    grib.unlink()
    ds = xr.open_dataset(tmp_path / "refs.json", engine="gik", filter_by_keys={"shortName": "t"})
    with pytest.raises(gik.NotFoundError, match="copy.grib2"):
        ds["t"].values


def test_bad_bytes_name_the_chunk_and_range(tmp_path: Path, gik_refs: Path) -> None:
    refs = json.loads(gik_refs.read_text())
    key = next(k for k in refs["refs"] if k.startswith("t2m/instant/heightAboveGround/t2m/") and not k.rsplit("/", 1)[1].startswith("."))
    url, offset, length = refs["refs"][key]
    bad = tmp_path / "bad.grib2"
    bad.write_bytes(b"<html>not a GRIB message</html>".ljust(length, b" "))
    refs["refs"][key] = [str(bad), 0, length]
    (tmp_path / "bad.json").write_text(json.dumps(refs))
    ds = xr.open_dataset(tmp_path / "bad.json", engine="gik", group="t2m/instant/heightAboveGround")
    with pytest.raises(gik.GribError, match=rf"{key}.*bad.grib2 bytes 0\+{length}"):
        ds["t2m"].values
    with pytest.raises(gik.GribError):
        xr.open_dataset(bad, engine="gik")


def test_filter_by_keys_and_selection(gik_refs: Path, eccodes_values: dict) -> None:
    ds = xr.open_dataset(gik_refs, engine="gik", filter_by_keys={"typeOfLevel": "isobaricInhPa"})
    assert {"t", "u", "v", "w", "q", "gh"} == set(ds.data_vars)
    assert ds["t"].dims == ("step", "isobaricInhPa", "number", "latitude", "longitude")
    one = xr.open_dataset(gik_refs, engine="gik", filter_by_keys={"shortName": "t", "level": 500, "number": 2, "step": 6})
    assert list(one.data_vars) == ["t"] and one["t"].dims == ("latitude", "longitude")
    want = next(m for m in eccodes_values.values() if (m["shortName"], m["level"], m["number"], m["step"]) == ("t", 500, 2, 6))
    np.testing.assert_array_equal(one["t"].values.reshape(-1), want["values"])
    two = xr.open_dataset(gik_refs, engine="gik", filter_by_keys={"typeOfLevel": "heightAboveGround", "level": 2})
    assert set(two.data_vars) == {"t2m", "d2m"}
    kept = xr.open_dataset(gik_refs, engine="gik", group="t/instant/isobaricInhPa", squeeze=False)
    assert kept["t"].dims == ("time", "step", "isobaricInhPa", "number", "latitude", "longitude")
    # the whole demo does not fit one dataset (2 m and 10 m): say what would
    with pytest.raises(ValueError, match="filter_by_keys=.*open_datatree"):
        xr.open_dataset(gik_refs, engine="gik")
    with pytest.raises(ValueError, match="time_dims"):
        xr.open_dataset(gik_refs, engine="gik", time_dims=("valid_time",))
    with pytest.raises(gik.SelectionError, match="no data variable"):
        xr.open_dataset(gik_refs, engine="gik", filter_by_keys={"shortName": "nope"})
    with pytest.raises(gik.SelectionError, match="no group `x/y`"):
        xr.open_dataset(gik_refs, engine="gik", group="x/y")
    # cfgrib's indexpath is accepted (gik writes no index)
    xr.open_dataset(demo_files("50r1")[0], engine="gik", indexpath="", filter_by_keys={"shortName": "2t"})


def test_indexing_reads_only_what_it_needs(gik_refs: Path) -> None:
    ds = xr.open_dataset(gik_refs, engine="gik", filter_by_keys={"shortName": "t"}, squeeze=False)
    full = ds["t"].values
    for sel in (
        {"number": 1},
        {"number": [0, 3], "latitude": slice(2, 9), "longitude": [0, 5, 71]},
        {"isobaricInhPa": slice(None, None, 4), "step": 1, "latitude": 3},
    ):
        np.testing.assert_array_equal(ds["t"].isel(sel).values, xr.DataArray(full, dims=ds["t"].dims).isel(sel).values, err_msg=str(sel))


def test_urls_through_a_loopback_server(tmp_path: Path, cycle: str, eccodes_values: dict) -> None:
    """A GRIB file and a reference file on a real HTTP server (loopback)."""
    import os

    src = Path(demo_files(cycle)[0])
    name = src.name
    root = tmp_path / "served"
    root.mkdir()
    shutil.copy(src, root / name)
    shutil.copy(src.with_suffix(".index"), root / src.with_suffix(".index").name)
    server = os.environ.get("GIK_RANGE_SERVER")
    cmd = [server] if server and Path(server).exists() else [sys.executable, str(ROOT / "tests" / "helpers" / "range_server.py")]
    p = subprocess.Popen([*cmd, str(root), "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip() if p.stdout else ""
        assert line.startswith("PORT "), line
        base = f"http://127.0.0.1:{line.split()[1]}"
        want = {m["number"]: m["values"] for m in eccodes_values.values() if m["file"] == str(src) and m["shortName"] == "2t"}
        assert want
        ds = xr.open_dataset(f"{base}/{name}", engine="gik", filter_by_keys={"shortName": "2t"})
        for n, values in want.items():
            np.testing.assert_array_equal(ds["t2m"].sel(number=n).values.reshape(-1), values)
        # references on the server, pointing at the server
        gik.scan(f"{base}/{name}", codec="gik").write(root / "refs.json")
        ds = xr.open_dataset(f"{base}/refs.json", engine="gik", filter_by_keys={"shortName": "2t"})
        for n, values in want.items():
            np.testing.assert_array_equal(ds["t2m"].sel(number=n).values.reshape(-1), values)
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_dask_chunks_one_per_message(gik_refs: Path) -> None:
    ds = xr.open_dataset(gik_refs, engine="gik", filter_by_keys={"shortName": "t"}, chunks={})
    assert ds["t"].chunks is not None
    assert all(c == 1 for c in ds["t"].data.chunks[0]) and ds["t"].data.chunks[-1] == (72,)
    mean = ds["t"].mean("number").compute()
    want = xr.open_dataset(gik_refs, engine="gik", filter_by_keys={"shortName": "t"})["t"].values.mean(axis=ds["t"].dims.index("number"))
    np.testing.assert_allclose(mean.values, want, rtol=1e-12)
