"""gik.request / gik.resolve_request: ECMWF open-data requests from Python,
against a mirror laid out exactly like ECMWF's (ensembles written by
make_ensemble.py with ecCodes: a 50r1 run of today's newest cycle missing its
last step's control, the one before complete, and a 49r1 06 UTC run), read
as a local root and over HTTP on loopback (tests/helpers/range_server.py).
The references are compared byte for byte with `gik scan` on the same
request; a missing run raises NotFoundError naming the first missing object."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gik

from conftest import ROOT


def _generate(py: Path, shared: Path, out: Path, date: str, run: int, cycle: str) -> None:
    tool = shared.parent.parent / "tools" / "make_ensemble.py"
    subprocess.run([str(py), str(tool), "--out", str(out), "--cycle", cycle, "--members", "2", "--steps", "0", "6",
                    "--grid", "5", "--date", date, "--run", str(run), "--params", "2t,t", "--levels", "850,500"],
                   check=True, capture_output=True)


def _publish(gen: Path, root: Path, date: str, run: int, drop: tuple[str, ...] = ()) -> None:
    for f in sorted(gen.iterdir()):
        if f.name in drop:
            continue
        stream = f.name.split("-")[2]
        d = root / date / f"{run:02d}z" / "ifs" / "0p25" / stream
        d.mkdir(parents=True, exist_ok=True)
        os.link(f, d / f.name)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, shared, reference_python):
    work = tmp_path_factory.mktemp("mirror")
    root = work / "root"
    now = dt.datetime.now(dt.timezone.utc)
    cur = now.replace(hour=now.hour - now.hour % 6, minute=0, second=0, microsecond=0)
    prev = cur - dt.timedelta(hours=6)
    runs = [(prev, "50r1", ()), (cur, "50r1", (f"{cur:%Y%m%d%H}0000-6h-oper-fc.index",)),
            (dt.datetime(2026, 5, 11, 6), "49r1", ())]
    for r, cycle, drop in runs:
        gen = work / f"gen-{r:%Y%m%d%H}"
        _generate(reference_python, shared, gen, f"{r:%Y%m%d}", r.hour, cycle)
        _publish(gen, root, f"{r:%Y%m%d}", r.hour, drop)
    return root, prev, cur


@pytest.fixture(scope="module")
def served(mirror):
    root = mirror[0]
    p = subprocess.Popen([sys.executable, str(ROOT / "tests" / "helpers" / "range_server.py"), str(root)],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    assert line.startswith("PORT "), line
    yield f"http://127.0.0.1:{line.split()[1]}"
    p.terminate()
    p.wait(timeout=10)


def _cli(gik_bin, tmp_path, source, flags):
    out = tmp_path / "cli.json"
    subprocess.run([str(gik_bin), "scan", "--source", str(source), *flags, "--out", str(out), "-q"], check=True,
                   capture_output=True)
    return out.read_bytes()


@pytest.mark.parametrize("where", ["local", "http"])
def test_request_equals_gik_scan(mirror, served, gik_bin, tmp_path, where):
    root, prev, _ = mirror
    source = str(root) if where == "local" else served
    # since 50r1: enfo-ef and the control's oper-fc, steps 0 and 6
    refs = gik.request(source, date=f"{prev:%Y-%m-%d}", time=prev.hour, step=[0, 6], stream="enfo")
    assert refs.to_json() == _cli(gik_bin, tmp_path, source,
                                  ["--date", f"{prev:%Y-%m-%d}", "--time", str(prev.hour), "--step", "0/6", "--stream", "enfo"])
    run = gik.resolve_request(source, date=f"{prev:%Y%m%d}", time=prev.hour, step="0/to/6/by/6", stream="enfo")
    assert run.run == f"{prev:%Y-%m-%d %H}z"
    stem = f"{source}/{prev:%Y%m%d}/{prev:%H}z/ifs/0p25"
    assert run.urls == [f"{stem}/{s}/{prev:%Y%m%d%H}0000-{h}h-{s}-{k}.grib2"
                        for h in (0, 6) for s, k in (("enfo", "ef"), ("oper", "fc"))]
    assert run.indexes == [u[:-len(".grib2")] + ".index" for u in run.urls]
    # before 50r1, 06 UTC: the control in enfo-ef, no oper-fc
    run = gik.resolve_request(source, date="2026-05-11", time=6, step=[0, 6], stream="enfo")
    assert [u.rsplit("/", 1)[1] for u in run.urls] == ["20260511060000-0h-enfo-ef.grib2", "20260511060000-6h-enfo-ef.grib2"]
    # a subset: exactly t at 850 hPa for member 1
    sub = gik.request(source, date="2026-05-11", time=6, step=[0, 6], stream="enfo", param="t", levelist=850, number=1)
    (var,) = sub.variables()
    assert (var["name"], var["levels"], var["members"]) == ("t", [850.0], [1])
    assert sub.to_json() == _cli(gik_bin, tmp_path, source, ["--date", "2026-05-11", "--time", "6", "--step", "0/6",
                                                             "--stream", "enfo", "--param", "t", "--levelist", "850",
                                                             "--number", "1"])


def test_latest_skips_an_incomplete_run(mirror, served):
    root, prev, cur = mirror
    for source in (str(root), served):
        run = gik.resolve_request(source, date="latest", step=[0, 6], stream="enfo")
        assert run.run == f"{prev:%Y-%m-%d %H}z", (source, run.run)
        refs = gik.request(source, date="latest", step=6, stream="enfo", param="2t")
        assert f"{prev:%Y-%m-%d %H}z" in repr(refs)


def test_missing_run_names_the_object(mirror, served):
    root, _, cur = mirror
    for source in (str(root), served):
        t0 = time.monotonic()
        with pytest.raises(gik.NotFoundError, match=f"{cur:%Y%m%d%H}0000-6h-oper-fc.index does not exist"):
            gik.request(source, date=f"{cur:%Y-%m-%d}", time=cur.hour, step=[0, 6], stream="enfo")
        with pytest.raises(gik.NotFoundError, match="20260512/00z/ifs/0p25/enfo/20260512000000-0h-enfo-ef.index"):
            gik.resolve_request(source, date="2026-05-12", step=0, stream="enfo")
        assert time.monotonic() - t0 < 10
    with pytest.raises(gik.SelectionError, match="param=zz"):
        gik.request(str(root), date="2026-05-11", time=6, stream="enfo", param="zz")
    with pytest.raises(gik.SelectionError, match="time"):
        gik.resolve_request(str(root), date="2026-05-11", time=5)
    with pytest.raises(TypeError, match="unknown request keyword"):
        gik.request(str(root), dates="2026-05-11")
