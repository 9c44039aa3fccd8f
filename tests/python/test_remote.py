#!/usr/bin/env python3
"""gik against real servers on loopback and bad input.

- HTTP (tests/helpers/range_server.py): scan + extract give the same states as
  local files; with 10 % of requests answered 503 they still do (retries); a
  server that truncates bodies gives a clear error naming the field and leaves
  no output file.
- S3 (moto's server mode): `gik scan s3://…` anonymously and with credentials,
  then extract from those references.
- Bad input: missing file, an index that disagrees with the GRIB, a truncated
  GRIB, a file that is not GRIB, an unreadable parquet, a stale reference, an
  unwritable output directory: non-zero exit, a clear message, no output file.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gik_testlib import ROOT, ensure_gik, gik, make_ensemble, moto_s3, range_server, rm, tmpdir  # noqa: E402

PARAMS = "2t,msl,tp,lsm,t_850,gh_500,sot_1"


def files_in(d):
    out = []
    for root, _, fs in os.walk(d):
        out += [os.path.join(root, f) for f in fs]
    return sorted(out)


def states(d):
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


def chunk_refs(path, base):
    """Data-chunk references with the url made relative to `base`."""
    refs = json.load(open(path))["refs"]
    out = {}
    for k, v in refs.items():
        if isinstance(v, list):
            out[k] = [os.path.basename(v[0])] + v[1:]
    assert out, path
    return out


def expect_failure(args, must_contain, outputs, code=None):
    r = gik(*args, check=False)
    assert r.returncode != 0, f"expected failure: gik {' '.join(args)}"
    assert code is None or r.returncode == code, f"exit status {r.returncode}, not {code}: {r.stderr}"
    assert must_contain in r.stderr, f"{must_contain!r} not in:\n{r.stderr}"
    for o in outputs:
        left = files_in(o) if os.path.isdir(o) else ([o] if os.path.exists(o) else [])
        assert not left, f"output left behind after a failed run: {left}"
    return r.stderr.strip().splitlines()[0]


def main():
    data = make_ensemble(os.path.join(ROOT, "target", "testdata", "ens3-50r1"), cycle="50r1", members=3, grid=5)
    gribs = sorted(f for f in os.listdir(data) if f.endswith(".grib2"))
    work = tmpdir("remote")
    try:
        # Local baseline.
        gik("scan", *[os.path.join(data, g) for g in gribs], "--out", f"{work}/local.json", "-q")
        gik("extract", "--refs", f"{work}/local.json", "--out", f"{work}/local", "--params", PARAMS, "--steps", "6", "-q")
        local = states(f"{work}/local")
        assert len(local) == 3

        # HTTP, clean.
        with range_server(data) as base:
            gik("scan", *[f"{base}/{g}" for g in gribs], "--out", f"{work}/http.json", "-q")
            assert chunk_refs(f"{work}/http.json", base) == chunk_refs(f"{work}/local.json", data)
            gik("extract", "--refs", f"{work}/http.json", "--out", f"{work}/http", "--params", PARAMS, "--steps", "6", "-q")
            assert states(f"{work}/http") == local
            # Coalescing: neighbouring messages of the control (oper-fc) come in
            # fewer requests; with it off, one request per message; same states.
            counts = {}
            for gap in ["auto", "off"]:
                n0 = int(urllib.request.urlopen(f"{base}/__requests").read())
                gik("extract", "--refs", f"{work}/http.json", "--out", f"{work}/http-{gap}", "--params", PARAMS,
                    "--steps", "6", "--members", "0", "--coalesce-gap", gap, "-q")
                counts[gap] = int(urllib.request.urlopen(f"{base}/__requests").read()) - n0
                assert states(f"{work}/http-{gap}") == {k: v for k, v in local.items() if k.endswith("000.pkl")}
            assert counts["auto"] < counts["off"], counts
            print(f"http: member 0 in {counts['auto']} requests coalesced, {counts['off']} without; identical states")
            # gik decode reads a remote file the same way (headers, then one message)
            gik("decode", f"{base}/{gribs[-1]}", "--all", "--out", f"{work}/remote.npy")
            gik("decode", os.path.join(data, gribs[-1]), "--all", "--out", f"{work}/local.npy")
            assert open(f"{work}/remote.npy", "rb").read() == open(f"{work}/local.npy", "rb").read()
        print("http: scan and extract identical to local files")

        # References themselves remote: an fsspec parquet directory served over HTTP.
        gik("scan", *[os.path.join(data, g) for g in gribs], "--out", f"{work}/served/refs_parq", "-q")
        with range_server(f"{work}/served") as base:
            gik("extract", "--refs", f"{base}/refs_parq/", "--out", f"{work}/via-dir", "--params", PARAMS, "--steps", "6", "-q")
            assert states(f"{work}/via-dir") == local
        print("http: references as a remote fsspec parquet directory give identical states")

        # HTTP, 10 % of requests answered 503: retries, identical output.
        with range_server(data, fail_rate=0.1, seed=7) as base:
            gik("scan", *[f"{base}/{g}" for g in gribs], "--out", f"{work}/flaky.json", "-q")
            gik("extract", "--refs", f"{work}/flaky.json", "--out", f"{work}/flaky", "--params", PARAMS, "--steps", "6", "-q")
            assert states(f"{work}/flaky") == local
        print("http with 10% 503: identical output after retries")

        # HTTP, every body truncated: clear error naming the field, nothing left.
        with range_server(data) as base:
            gik("scan", *[f"{base}/{g}" for g in gribs], "--out", f"{work}/trunc.json", "-q")
        with range_server(data, truncate_rate=1.0) as base2:
            refs = open(f"{work}/trunc.json").read().replace(base.split("//")[1], base2.split("//")[1])
            open(f"{work}/trunc.json", "w").write(refs)
            line = expect_failure(["extract", "--refs", f"{work}/trunc.json", "--out", f"{work}/trunc", "--params", PARAMS,
                                   "--steps", "6", "-q"], "field", [f"{work}/trunc"])
        print(f"truncated responses: {line}")

        # Ctrl-C in the middle of a member (a slow server: 150 ms per request,
        # one field at a time): exit status 130, a message, no file left.
        with range_server(data) as base:
            gik("scan", *[f"{base}/{g}" for g in gribs], "--out", f"{work}/slow.json", "-q")
        with range_server(data, delay_ms=150) as base2:
            refs = open(f"{work}/slow.json").read().replace(base.split("//")[1], base2.split("//")[1])
            open(f"{work}/slow.json", "w").write(refs)
            os.makedirs(f"{work}/intr")
            p = subprocess.Popen([ensure_gik(), "extract", "--refs", f"{work}/slow.json", "--out", f"{work}/intr",
                                  "--params", PARAMS, "--steps", "6", "--concurrency", "1", "-q"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 30
            while not any("gik-tmp" in f for f in os.listdir(f"{work}/intr")):
                assert p.poll() is None and time.monotonic() < deadline, "extract ended before it was interrupted"
                time.sleep(0.02)
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=30)
            assert p.returncode == 130, (p.returncode, err)
            assert "interrupted" in err, err
            assert files_in(f"{work}/intr") == [], files_in(f"{work}/intr")
        print(f"Ctrl-C mid-member: {err.strip().splitlines()[-1]}")

        # S3 on loopback (moto), anonymous and with credentials.
        import boto3
        with moto_s3() as endpoint:
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            s3.create_bucket(Bucket="gik-test")
            for f in os.listdir(data):
                # Public read, as ECMWF's open-data bucket is.
                s3.upload_file(os.path.join(data, f), "gik-test", f"20250101/00z/{f}", ExtraArgs={"ACL": "public-read"})
            urls = [f"s3://gik-test/20250101/00z/{g}" for g in gribs]
            env_anon = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1"}
            for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]:
                os.environ.pop(k, None)
            gik("scan", *urls, "--out", f"{work}/s3-anon.json", "-q", env=env_anon)
            env_creds = dict(env_anon, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
            gik("scan", *urls, "--out", f"{work}/s3-creds.json", "-q", env=env_creds)
            for name in ["s3-anon", "s3-creds"]:
                assert chunk_refs(f"{work}/{name}.json", "") == chunk_refs(f"{work}/local.json", data), name
            gik("extract", "--refs", f"{work}/s3-creds.json", "--out", f"{work}/s3", "--params", PARAMS, "--steps", "6", "-q",
                env=env_creds)
            assert states(f"{work}/s3") == local
        print("s3 (moto): anonymous and credentialed scans equal local; extract identical")

        # Bad input.
        bad = os.path.join(work, "bad")
        os.makedirs(bad)
        out = os.path.join(work, "bad-out")
        os.makedirs(out)
        print(" missing file:", expect_failure(["scan", f"{bad}/nope.grib2", "--out", f"{out}/x.json"], "nope.grib2", [f"{out}/x.json"]))
        # An index that disagrees with its GRIB (param changed on one line).
        g = "20250101000000-6h-enfo-ef"
        shutil.copy(os.path.join(data, g + ".grib2"), f"{bad}/{g}.grib2")
        recs = [json.loads(l) for l in open(os.path.join(data, g + ".index"))]
        recs[3]["param"] = "msl" if recs[3]["param"] != "msl" else "2t"
        open(f"{bad}/{g}.index", "w").write("\n".join(json.dumps(r) for r in recs) + "\n")
        print(" stale index:", expect_failure(["scan", f"{bad}/{g}.grib2", "--out", f"{out}/x.json"], "line 4", [f"{out}/x.json"]))
        # Shifted offsets.
        shifted = [json.loads(l) for l in open(os.path.join(data, g + ".index"))]
        for r in shifted[5:]:
            r["_offset"] += 7
        open(f"{bad}/{g}.index", "w").write("\n".join(json.dumps(r) for r in shifted) + "\n")
        print(" shifted index:", expect_failure(["scan", f"{bad}/{g}.grib2", "--out", f"{out}/x.json"], "line 6", [f"{out}/x.json"]))
        os.remove(f"{bad}/{g}.index")
        # Truncated GRIB (no index: header scan).
        blob = open(os.path.join(data, g + ".grib2"), "rb").read()
        open(f"{bad}/cut.grib2", "wb").write(blob[: len(blob) // 2 + 13])
        print(" truncated:", expect_failure(["scan", f"{bad}/cut.grib2", "--out", f"{out}/x.json"], "truncated", [f"{out}/x.json"]))
        # A message whose end marker is damaged (header scan checks `7777` without reading data).
        first_len = int.from_bytes(blob[8:16], "big")
        damaged = bytearray(blob[: 3 * first_len])
        damaged[first_len - 2] ^= 0xFF
        open(f"{bad}/no7777.grib2", "wb").write(bytes(damaged))
        print(" damaged 7777:", expect_failure(["scan", f"{bad}/no7777.grib2", "--mode", "headers", "--out", f"{out}/x.json"], "7777", [f"{out}/x.json"]))
        open(f"{bad}/notgrib.grib2", "w").write("hello, this is a text file\n" * 10)
        print(" not GRIB:", expect_failure(["scan", f"{bad}/notgrib.grib2", "--out", f"{out}/x.json"], "no GRIB2 message", [f"{out}/x.json"]))
        open(f"{bad}/broken.parquet", "wb").write(b"PAR1" + os.urandom(300) + b"PAR1")
        print(" bad parquet:", expect_failure(["extract", "--refs", f"{bad}/broken.parquet", "--out", f"{out}/states"], "broken.parquet", [f"{out}/states"]))
        # A reference whose offset is not at a GRIB message.
        refs = json.load(open(f"{work}/local.json"))
        key = "t2m/instant/heightAboveGround/t2m/0.1.0.0.0"  # time 0, step 6 h, member 0
        assert isinstance(refs["refs"][key], list), refs["refs"][key]
        refs["refs"][key][1] += 100
        json.dump(refs, open(f"{bad}/stale.json", "w"))
        print(" stale reference:", expect_failure(["extract", "--refs", f"{bad}/stale.json", "--out", f"{out}/states", "--params", PARAMS,
                                                  "--steps", "6", "--members", "0"], "GRIB", [f"{out}/states"], code=1))
        # Output directory that cannot be created.
        print(" unwritable out:", expect_failure(["extract", "--refs", f"{work}/local.json", "--out", "/dev/null/states", "--params", PARAMS,
                                                 "--steps", "6"], "/dev/null/states", []))
        # Disk full: a tiny tmpfs (skipped where mounting is not allowed).
        full = os.path.join(work, "full")
        os.makedirs(full)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", full], capture_output=True).returncode == 0:
            try:
                print(" disk full:", expect_failure(["extract", "--refs", f"{work}/local.json", "--out", full, "--params", PARAMS,
                                                    "--steps", "6"], "No space left", [full]))
            finally:
                subprocess.run(["umount", full])
        else:
            print(" disk full: skipped (cannot mount a tmpfs here)")
    finally:
        rm(work)
    print("test_remote: ok")


if __name__ == "__main__":
    main()
