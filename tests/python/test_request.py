#!/usr/bin/env python3
"""gik scan / gik ls from ECMWF open-data requests, against a local mirror laid
out exactly like ECMWF's ({root}/{YYYYMMDD}/{HH}z/{model}/0p25/{stream}/…):
ensembles written by ../shared/tools/make_ensemble.py for several dates, both
IFS cycles (49r1: control in enfo-ef; 50r1: control in oper-fc), 00 and 06 UTC,
and AIFS-ENS files (enfo-cf / enfo-pf, split from a generated ensemble by its
index). The mirror is read as a local path, over HTTP on loopback
(tests/helpers/range_server.py, or the Rust range_server when built) and from
moto's S3 server (with credentials, and anonymously: public-read objects).

- requests resolve to the right objects for ifs and aifs-ens in both cycles,
  and `gik scan` from a request writes the same bytes as `gik scan` on the
  same files listed by hand;
- `--date latest` picks the newest complete run, skipping one whose last step
  is missing;
- `--param`/`--levelist`/`--number` give references holding exactly those fields;
- a request for a run the mirror lacks fails within seconds naming the first
  missing object, and writes nothing;
- `gik extract` from the request writes the same pickles as `gik scan` +
  `gik extract --refs`, and fails fast on a missing run writing nothing;
- `gik ls` lists runs, streams, types and steps (a listing locally, probing over HTTP).
"""
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gik_testlib import PY, SHARED, ensure_gik, gik, moto_s3, range_server, rm, tmpdir  # noqa: E402

PARAMS = "2t,t,sot,lsm"
LEVELS = "850,500"


def generate(out, date, run, cycle):
    subprocess.run([PY, os.path.join(SHARED, "tools", "make_ensemble.py"), "--out", out, "--cycle", cycle,
                    "--members", "3", "--steps", "0", "6", "--grid", "5", "--date", date, "--run", str(run),
                    "--params", PARAMS, "--levels", LEVELS], check=True, capture_output=True)


def split_by_type(grib, index, out_stem):
    """Writes `{out_stem}-cf` and `-pf` (.grib2 + .index) from an enfo-ef file:
    the AIFS-ENS layout (ecmwf-opendata: aifs-ens has no ef files)."""
    data = open(grib, "rb").read()
    parts = {"cf": (bytearray(), []), "pf": (bytearray(), [])}
    for line in open(index):
        rec = json.loads(line)
        buf, lines = parts[rec["type"]]
        msg = data[rec["_offset"]:rec["_offset"] + rec["_length"]]
        rec["_offset"] = len(buf)
        buf += msg
        lines.append(json.dumps(rec))
    for kind, (buf, lines) in parts.items():
        stem = out_stem.replace("-enfo-ef", f"-enfo-{kind}")
        open(stem + ".grib2", "wb").write(buf)
        open(stem + ".index", "w").write("\n".join(lines) + "\n")


def publish(root, work, date, run, cycle, model="ifs", drop=()):
    """Generates one run and places it in ECMWF's layout below `root`; `drop`
    names files (basenames) left out, as a run still being published."""
    # (AIFS-ENS keeps its control in its own file in both cycles: split the
    # 49r1 layout, whose enfo-ef holds control and members)
    cycle = "49r1" if model == "aifs-ens" else cycle
    gen = os.path.join(work, f"gen-{date}-{run:02d}-{cycle}")
    if not os.path.isdir(gen):
        generate(gen, date, run, cycle)
    for name in sorted(os.listdir(gen)):
        stem, ext = os.path.splitext(name)
        stream = stem.split("-")[2]
        d = os.path.join(root, date, f"{run:02d}z", model, "0p25", stream)
        os.makedirs(d, exist_ok=True)
        if model == "aifs-ens":
            if ext == ".grib2" and "-enfo-ef" in stem:
                split_by_type(os.path.join(gen, name), os.path.join(gen, stem + ".index"), os.path.join(d, stem))
            continue
        if name in drop:
            continue
        os.link(os.path.join(gen, name), os.path.join(d, name))
    for name in drop:  # (aifs-ens: after the split)
        for sub in ("enfo", "oper"):
            p = os.path.join(root, date, f"{run:02d}z", model, "0p25", sub, name)
            if os.path.exists(p):
                os.remove(p)


def refs_urls(path):
    refs = json.load(open(path))["refs"]
    return sorted({v[0] for v in refs.values() if isinstance(v, list)})


def inspect(path):
    return json.loads(gik("inspect", path, "--json").stdout)


def assert_same_bytes(a, b, what):
    assert open(a, "rb").read() == open(b, "rb").read(), f"{what}: {a} and {b} differ"


def main():
    ensure_gik()
    work = tmpdir("request")
    root = os.path.join(work, "mirror")
    try:
        # two runs of each cycle, 00 and 06 UTC; AIFS-ENS in both cycles
        publish(root, work, "20260511", 0, "49r1")
        publish(root, work, "20260511", 6, "49r1")
        publish(root, work, "20260601", 0, "50r1")
        publish(root, work, "20260601", 6, "50r1")
        publish(root, work, "20260511", 6, "49r1", model="aifs-ens")
        publish(root, work, "20260601", 0, "50r1", model="aifs-ens")
        # the newest runs: the one before now complete, the current one
        # without its last step's control (oper-fc at 6 h)
        now = datetime.datetime.now(datetime.timezone.utc)
        cur = now.replace(hour=now.hour - now.hour % 6, minute=0, second=0, microsecond=0)
        prev = cur - datetime.timedelta(hours=6)
        for r, drop in ((prev, ()), (cur, (f"{cur:%Y%m%d%H}0000-6h-oper-fc.index",))):
            publish(root, work, f"{r:%Y%m%d}", r.hour, "50r1", drop=drop)

        def path_of(date, run, model, stream, step, kind):
            return os.path.join(root, date, f"{run:02d}z", model, "0p25", stream,
                                f"{date}{run:02d}0000-{step}h-{stream}-{kind}.grib2")

        cases = [
            # (request flags, the files a user would list by hand)
            (["--date", "2026-05-11", "--time", "0", "--stream", "enfo"],
             [path_of("20260511", 0, "ifs", "enfo", s, "ef") for s in (0, 6)]),
            (["--date", "20260511", "--time", "6", "--stream", "enfo"],
             [path_of("20260511", 6, "ifs", "enfo", s, "ef") for s in (0, 6)]),
            (["--date", "2026-06-01", "--time", "0", "--stream", "enfo"],
             [path_of("20260601", 0, "ifs", x, s, k) for s in (0, 6) for x, k in (("enfo", "ef"), ("oper", "fc"))]),
            (["--date", "2026-06-01 06:00:00", "--stream", "enfo"],
             [path_of("20260601", 6, "ifs", x, s, k) for s in (0, 6) for x, k in (("enfo", "ef"), ("oper", "fc"))]),
            (["--model", "aifs-ens", "--date", "2026-05-11", "--time", "6"],
             [path_of("20260511", 6, "aifs-ens", "enfo", s, k) for s in (0, 6) for k in ("cf", "pf")]),
            (["--model", "aifs-ens", "--date", "2026-06-01", "--time", "0"],
             [path_of("20260601", 0, "aifs-ens", "enfo", s, k) for s in (0, 6) for k in ("cf", "pf")]),
        ]
        with range_server(root) as base, moto_s3() as endpoint:
            # the mirror in moto's S3 as in ECMWF's bucket: public-read objects, read with credentials
            # and anonymously
            import boto3
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            s3.create_bucket(Bucket="mirror")
            for d, _, fs in os.walk(root):
                for f in fs:
                    s3.upload_file(os.path.join(d, f), "mirror", os.path.relpath(os.path.join(d, f), root),
                                   ExtraArgs={"ACL": "public-read"})
            for k in [k for k in os.environ if k.startswith("AWS_")]:
                os.environ.pop(k)
            os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1")
            s3_creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
            bucket = "s3://mirror"
            t_s3 = time.monotonic()
            for source, as_url in ((root, lambda p: p), (base, lambda p: base + p[len(root):]),
                                   (bucket, lambda p: bucket + p[len(root):])):
                if source == bucket:
                    os.environ.update(s3_creds)
                for flags, files in cases:
                    what = f"{' '.join(flags)} from {source}"
                    a, b = os.path.join(work, "a.json"), os.path.join(work, "b.json")
                    gik("scan", "--source", source, "--step", "0/to/6/by/6", *flags, "--out", a, "-q")
                    gik("scan", *[as_url(f) for f in files], "--out", b, "-q")
                    assert refs_urls(a) == sorted(as_url(f) for f in files), what
                    assert_same_bytes(a, b, what)
                    members = {v["shortName"]: v for v in inspect(a)["variables"]}["t"]["members"]
                    assert members == [0, 1, 2], f"{what}: members {members}"

                # latest: the newest complete run, not the current one missing its last step
                out = os.path.join(work, "latest.json")
                r = gik("scan", "--source", source, "--date", "latest", "--stream", "enfo", "--step", "0/6",
                        "--out", out)
                assert f"{prev:%Y-%m-%d %H}z" in r.stderr, r.stderr
                assert all(f"/{prev:%Y%m%d%H}0000-" in u for u in refs_urls(out)), refs_urls(out)
                # latest with no complete run (the mirror has no aifs-single): fails within seconds,
                # naming the newest run's missing object, and writes nothing
                t0 = time.monotonic()
                r = gik("scan", "--source", source, "--model", "aifs-single", "--date", "latest", "--step", "0/6",
                        "--out", os.path.join(work, "no.json"), check=False)
                assert time.monotonic() - t0 < 10, "latest without a complete run took too long"
                assert r.returncode == 1 and "no complete run on" in r.stderr and \
                    "/aifs-single/0p25/oper/" in r.stderr and "-oper-fc.index" in r.stderr, r.stderr
                assert not os.path.exists(os.path.join(work, "no.json"))
                # a run asked for by date and hour that lacks its last step: fails
                r = gik("scan", "--source", source, "--date", f"{cur:%Y-%m-%d}", "--time", str(cur.hour),
                        "--stream", "enfo", "--step", "0/6", "--out", os.path.join(work, "no.json"), check=False)
                assert r.returncode == 1 and f"{cur:%Y%m%d%H}0000-6h-oper-fc.index does not exist" in r.stderr, r.stderr
                # a day the mirror does not have: fails within seconds, names the object, writes nothing
                t0 = time.monotonic()
                r = gik("scan", "--source", source, "--date", "2026-06-02", "--stream", "enfo", "--step", "0/6",
                        "--out", os.path.join(work, "no.json"), check=False)
                assert time.monotonic() - t0 < 10, "a missing run took too long"
                assert r.returncode == 1 and "20260602/00z/ifs/0p25/enfo/20260602000000-0h-enfo-ef.index does not exist" in r.stderr, r.stderr
                assert not os.path.exists(os.path.join(work, "no.json"))

                # subsets: exactly the fields asked for
                sub = os.path.join(work, "sub.json")
                for flags, expect in [
                    (["--param", "t", "--levelist", "850"], {"t": ([850.0], [0, 1, 2])}),
                    (["--param", "t/2t", "--levelist", "500", "--number", "1/2"],
                     {"t": ([500.0], [1, 2]), "2t": (None, [1, 2])}),
                    (["--param", "sot", "--number", "0"], {"sot": ([1.0, 2.0], None)}),
                ]:
                    gik("scan", "--source", source, "--date", "2026-06-01", "--stream", "enfo", "--step", "0/6",
                        *flags, "--out", sub, "-q")
                    got = {v["shortName"]: ((v.get("level") or {}).get("values"), v.get("members"))
                           for v in inspect(sub)["variables"]}
                    assert got.keys() == expect.keys(), f"{flags}: {got}"
                    for name, (levels, members) in expect.items():
                        if levels is not None:
                            assert got[name][0] == levels, f"{flags}: {name} levels {got[name][0]}"
                        if members is not None:
                            assert got[name][1] == members, f"{flags}: {name} members {got[name][1]}"
                    # the control only: from oper-fc alone since 50r1
                    if "--number" in flags and flags[flags.index("--number") + 1] == "0":
                        assert all("-oper-fc" in u for u in refs_urls(sub)), refs_urls(sub)
                r = gik("scan", "--source", source, "--date", "2026-06-01", "--stream", "enfo", "--param", "zz",
                        "--out", sub + ".x", check=False)
                assert r.returncode != 0 and "param=zz" in r.stderr and not os.path.exists(sub + ".x"), r.stderr

                # ls: a listing locally, probing over HTTP; the same lines
                ls = gik("ls", "--source", source, "--date", "2026-06-01").stdout.splitlines()
                assert ls == [
                    "2026-06-01 00z  aifs-ens    0p25  enfo cf  0, 6 (2 steps)",
                    "2026-06-01 00z  aifs-ens    0p25  enfo pf  0, 6 (2 steps)",
                    "2026-06-01 00z  ifs         0p25  enfo ef  0, 6 (2 steps)",
                    "2026-06-01 00z  ifs         0p25  oper fc  0, 6 (2 steps)",
                    "2026-06-01 06z  ifs         0p25  enfo ef  0, 6 (2 steps)",
                    "2026-06-01 06z  ifs         0p25  oper fc  0, 6 (2 steps)",
                ], ls
                ls = gik("ls", "--source", source, "--date", "20260511", "--model", "ifs").stdout.splitlines()
                assert ls == ["2026-05-11 00z  ifs         0p25  enfo ef  0, 6 (2 steps)",
                              "2026-05-11 06z  ifs         0p25  enfo ef  0, 6 (2 steps)"], ls
                r = gik("ls", "--source", source, "--date", "2026-06-03", check=False)
                assert r.returncode != 0 and "has no run of 20260603" in r.stderr, r.stderr

                # gik extract from the request: the same pickles as gik scan + gik extract --refs,
                # for ifs and aifs-ens in both cycles; a missing run fails fast and writes nothing
                for flags in (["--date", "2026-05-11", "--time", "6", "--stream", "enfo"],
                              ["--date", "2026-06-01", "--time", "0", "--stream", "enfo", "--number", "0/2"],
                              ["--model", "aifs-ens", "--date", "2026-05-11", "--time", "6"],
                              ["--model", "aifs-ens", "--date", "2026-06-01", "--time", "0", "--param", "t/2t"]):
                    req = ["--source", source, "--step", "0/6", *flags]
                    x = ["--params", "2t,t_850,t_500", "--steps", "6", "-q"]
                    refs = os.path.join(work, "x.json")
                    for d in ("xa", "xb"):
                        rm(os.path.join(work, d))
                    gik("scan", *req, "--out", refs, "-q")
                    gik("extract", "--refs", refs, "--out", os.path.join(work, "xa"), *x)
                    gik("extract", *req, "--out", os.path.join(work, "xb"), *x)
                    a, b = (sorted(os.listdir(os.path.join(work, d))) for d in ("xa", "xb"))
                    assert a == b and len(a) == (2 if "0/2" in flags else 3), (flags, a, b)
                    for f in a:
                        assert_same_bytes(os.path.join(work, "xa", f), os.path.join(work, "xb", f), f"extract {flags}")
                t0 = time.monotonic()
                r = gik("extract", "--source", source, "--date", "2026-06-02", "--stream", "enfo", "--step", "0/6",
                        "--params", "2t", "--out", os.path.join(work, "xc"), check=False)
                assert time.monotonic() - t0 < 10, "a missing run took too long"
                assert r.returncode == 1 and "20260602/00z/ifs/0p25/enfo/20260602000000-0h-enfo-ef.index does not exist" in r.stderr, r.stderr
                assert not os.path.exists(os.path.join(work, "xc"))
                if source == bucket:
                    print(f"test_request: local, HTTP and moto S3 mirrors checked in {time.monotonic() - t_s3:.1f} s")
                    # anonymous (the objects are public-read, as ECMWF's bucket)
                    for k in s3_creds:
                        os.environ.pop(k)
                    a = os.path.join(work, "anon.json")
                    gik("scan", "--source", bucket, "--date", "2026-06-01", "--stream", "enfo", "--step", "0/6", "--out", a, "-q")
                    gik("scan", "--source", root, "--date", "2026-06-01", "--stream", "enfo", "--step", "0/6", "--out", a[:-5] + "-local.json", "-q")
                    assert open(a).read().replace(bucket, root) == open(a[:-5] + "-local.json").read(), "anonymous S3 references differ"
                    r = gik("scan", "--source", bucket, "--date", "2026-06-02", "--stream", "enfo", "--out", a[:-5] + "-x.json", check=False)
                    assert r.returncode == 1 and "20260602000000-0h-enfo-ef.index" in r.stderr, r.stderr
        # both ways of naming locations in one command line is a usage error
        r = gik("scan", path_of("20260511", 0, "ifs", "enfo", 0, "ef"), "--source", root, "--out",
                os.path.join(work, "u.json"), check=False)
        assert r.returncode == 2, r.stderr
    finally:
        rm(work)
    print("test_request: ok")


if __name__ == "__main__":
    main()
