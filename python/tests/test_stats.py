"""`References.ensemble_stats` gives the numbers `gik stats` writes (the
same core computation), bit for bit, and numpy's over ecCodes' values of
the same members; both cycles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gik
from conftest import run

NAMES = ["mean", "std", "min", "max", "median", "q90", "p>273.15", "p<273.15"]


def test_ensemble_stats_equal_the_cli_and_numpy(tmp_path: Path, gik_bin: Path, gik_refs: Path, eccodes_values: dict) -> None:
    refs = gik.open_references(str(gik_refs))
    got = refs.ensemble_stats("2t", stats=NAMES, step=6)
    assert list(got) == NAMES
    npy = tmp_path / "stats.npy"
    run([gik_bin, "stats", "-q", "--refs", gik_refs, "--variable", "2t", "--step", "6", "--stat", ",".join(NAMES), "--out", npy])
    cli = np.load(npy)
    for i, name in enumerate(NAMES):
        assert got[name].dtype == np.float32 and got[name].shape == cli[i].shape
        assert np.array_equal(got[name], cli[i], equal_nan=True), name
    # numpy over ecCodes' values of the same messages (the 2 m temperature at step 6 of every member)
    members = sorted((m["number"], m["values"]) for m in eccodes_values.values()
                     if m["shortName"] == "2t" and m["step"] == 6)
    x = np.stack([v for _, v in members]).astype("float32").astype("float64").reshape(len(members), *cli.shape[1:])
    assert len(members) == 4
    np.testing.assert_allclose(got["mean"], np.nanmean(x, axis=0).astype("float32"), rtol=2e-6)
    np.testing.assert_array_equal(got["max"], np.nanmax(x, axis=0).astype("float32"))
    np.testing.assert_array_equal(got["p>273.15"], ((x > 273.15).sum(axis=0) / len(members)).astype("float32"))


def test_ensemble_stats_errors_name_what_is_wrong(gik_refs: Path) -> None:
    refs = gik.open_references(str(gik_refs))
    with pytest.raises(gik.SelectionError, match="average"):
        refs.ensemble_stats("2t", stats=["average"])
    with pytest.raises(gik.SelectionError, match="99"):
        refs.ensemble_stats("2t", members=[99])
