"""Shared helpers of the cross-language tests: where things are, running gik,
generating ensembles with ../shared/tools/make_ensemble.py, ecCodes answers,
and real servers on loopback (range_server.py, moto)."""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("GIK_SHARED", os.path.join(ROOT, "..", "shared"))
GIK = os.environ.get("GIK_BIN", os.path.join(ROOT, "target", "debug", "gik"))
PY = sys.executable


def ensure_gik():
    if not os.path.exists(GIK):
        subprocess.run(["cargo", "build", "-q", "-p", "gik-cli"], cwd=ROOT, check=True)
    return GIK


def gik(*args, check=True, env=None, timeout=600):
    e = dict(os.environ)
    if env:
        e.update(env)
    r = subprocess.run([ensure_gik(), *map(str, args)], capture_output=True, text=True, env=e, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"gik {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr}")
    return r


def make_ensemble(out, cycle="50r1", members=3, steps=(0, 6), grid=5, params=None, levels=None):
    """Generates (once per argument set, cached under target/) an ensemble."""
    if os.path.isdir(out) and os.listdir(out):
        return out
    cmd = [PY, os.path.join(SHARED, "tools", "make_ensemble.py"), "--out", out, "--cycle", cycle,
           "--members", str(members), "--steps", *map(str, steps), "--grid", str(grid)]
    if params:
        cmd += ["--params", params]
    if levels:
        cmd += ["--levels", levels]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def tmpdir(name):
    d = tempfile.mkdtemp(prefix=f"gik-{name}-")
    return d


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def range_server(root, delay_ms=0, fail_rate=0.0, truncate_rate=0.0, seed=1, cors=False):
    """A real HTTP server on loopback; yields its base URL. The Rust one
    (`cargo build --release -p gik-cli --example range_server`) when built:
    Python's http.server spends ~1 ms of CPU per request, which would dominate
    timings of thousands of requests; tests/helpers/range_server.py otherwise."""
    rust = os.environ.get("GIK_RANGE_SERVER", os.path.join(ROOT, "target", "release", "examples", "range_server"))
    exe = [rust] if os.path.exists(rust) else [PY, os.path.join(ROOT, "tests", "helpers", "range_server.py")]
    cmd = [*exe, root, "--delay-ms", str(delay_ms),
           "--fail-rate", str(fail_rate), "--truncate-rate", str(truncate_rate), "--seed", str(seed)]
    if cors:
        cmd.append("--cors")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip()
        assert line.startswith("PORT "), line
        yield f"http://127.0.0.1:{line.split()[1]}"
    finally:
        p.terminate()
        p.wait(timeout=10)


@contextlib.contextmanager
def moto_s3():
    """moto's S3 server on loopback; yields its endpoint URL."""
    port = free_port()
    exe = os.path.join(os.path.dirname(PY), "moto_server")
    p = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        p.terminate()
        p.wait(timeout=10)


def eccodes_fields(paths):
    """{(shortName, typeOfLevel, level, number, endStep): float64 values} from ecCodes."""
    import eccodes as ec
    import numpy as np
    out = {}
    for path in paths:
        with open(path, "rb") as f:
            while True:
                h = ec.codes_grib_new_from_file(f)
                if h is None:
                    break
                try:
                    num = ec.codes_get(h, "number") if ec.codes_is_defined(h, "number") else 0
                    key = (ec.codes_get(h, "shortName"), ec.codes_get(h, "typeOfLevel"), int(ec.codes_get(h, "level")),
                           int(num), int(ec.codes_get(h, "endStep")))
                    out[key] = np.asarray(ec.codes_get_values(h), dtype="float64")
                finally:
                    ec.codes_release(h)
    return out


def rm(path):
    shutil.rmtree(path, ignore_errors=True)
