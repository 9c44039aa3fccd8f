"""gik's Python `References.read_field` on one 0.25° CCSDS field (tcc) against
`gik.decode` of the same message's bytes: what reading through references
costs beyond decoding (the mean of 20 runs each, after 2 warm-up runs).

    gik scan data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2 --out /tmp/refs.json -q
    .venv-gik/bin/python scripts/bench_read_field.py /tmp/refs.json data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2
"""
import json, sys, time, gik
refs_path, grib = sys.argv[1], sys.argv[2]
refs = gik.open_references(refs_path)
var = "tcc/instant/entireAtmosphere/tcc"
keys = [k for k, v in json.load(open(refs_path))["refs"].items() if k.startswith(var + "/") and isinstance(v, list)]
_, off, length = json.load(open(refs_path))["refs"][keys[0]]
msg = open(grib, "rb").read()[off:off + length]
def per(f, n=20):
    for _ in range(2): f()
    t = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter() - t) / n * 1e3
rf = per(lambda: refs.read_field(var))
dec = per(lambda: gik.decode(msg))
print(f"read_field {rf:.1f} ms; gik.decode of its message {dec:.1f} ms")
