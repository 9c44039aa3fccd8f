#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/seeds/<target>/) from
the shared data and the demo ensemble, with `gik scan` for the reference
formats. Deterministic: rerunning gives the same files.

    cargo build -p gik-cli
    python3 fuzz/seeds/make_seeds.py target/debug/gik ../shared

The `grib` seeds are older and hand-picked (see README.md); this script
leaves them alone.
"""

import json
import math
import os
import shutil
import subprocess
import sys

SEP = b"\n--gik-fuzz-part--\n"  # gik_fuzz::SEP
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


def head_lines(path, n):
    with open(path, "rb") as f:
        return b"".join(f.readlines()[:n])


def first_messages(grib, index, n):
    """The first n messages of a GRIB file, by its ECMWF .index."""
    lines = [json.loads(l) for l in open(index) if l.strip()][:n]
    with open(grib, "rb") as f:
        data = f.read()
    return b"".join(data[l["_offset"] : l["_offset"] + l["_length"]] for l in lines)


def scan(gik, grib, out, fmt):
    # from the file's folder, so the references hold its bare name
    gik, out = os.path.abspath(gik), os.path.abspath(out)
    subprocess.run([gik, "scan", "-q", "--mode", "headers", "--format", fmt, "-o", out, os.path.basename(grib)],
                   check=True, cwd=os.path.dirname(grib))


def dir_parts(d):
    """.zmetadata, then the files parquet_dir_files names, in its order
    (an empty part for a file that is absent)."""
    zm = open(os.path.join(d, ".zmetadata"), "rb").read()
    doc = json.loads(zm)
    rs = max(1, doc.get("record_size", 100000))
    parts = [zm]
    for k in sorted(doc["metadata"]):
        if not k.endswith("/.zarray"):
            continue
        za = doc["metadata"][k]
        if isinstance(za, str):
            za = json.loads(za)
        chunks = 1
        for s, c in zip(za["shape"], za["chunks"] or za["shape"]):
            chunks *= math.ceil(s / max(c, 1))
        for i in range(math.ceil(chunks / rs)):
            p = os.path.join(d, k[: -len("/.zarray")], f"refs.{i}.parq")
            parts.append(open(p, "rb").read() if os.path.exists(p) else b"")
    return SEP.join(parts)


def main():
    gik, shared = sys.argv[1], sys.argv[2]
    grib_dir = os.path.join(shared, "data", "grib")
    demo = os.path.join(ROOT, "data", "demo")
    for t in ["index", "refs_json", "zarr", "seed_parquet", "parquet_dir", "reader", "coalescing", "checkpoint", "walker"]:
        d = os.path.join(HERE, t)
        for f in os.listdir(d) if os.path.isdir(d) else []:
            if not f.startswith("hand-"):
                os.remove(os.path.join(d, f))

    # index: the first lines of real ECMWF .index and NOAA .idx files
    for f in sorted(os.listdir(grib_dir)):
        if f.endswith((".index", ".idx")):
            put("index", f, head_lines(os.path.join(grib_dir, f), 12))
    for cycle in ["49r1", "50r1"]:
        put("index", f"demo-{cycle}-enfo-ef.index", head_lines(os.path.join(demo, cycle, "20250101000000-0h-enfo-ef.index"), 8))

    # a fixed folder, so the urls in the references (absolute paths) are the same on every machine
    tmp = "/tmp/gik-fuzz-seeds"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        samples = {}
        # two messages of each demo cycle (CCSDS, an ensemble and a control)
        for cycle, stem in [("49r1", "20250101000000-0h-enfo-ef"), ("50r1", "20250101000000-6h-oper-fc")]:
            g = os.path.join(tmp, f"demo-{cycle}.grib2")
            with open(g, "wb") as f:
                f.write(first_messages(os.path.join(demo, cycle, stem + ".grib2"), os.path.join(demo, cycle, stem + ".index"), 2))
            samples[f"demo-{cycle}"] = g
        # small real files of other centres and packings
        for name in ["gribtract__drt41_png_3x2.grib2", "earthkitdata__chem_ll.grib2", "gribjump__synth11_ccsds_bitmap.grib2"]:
            samples[name.split(".")[0]] = shutil.copy(os.path.join(grib_dir, name), tmp)
        for name, g in sorted(samples.items()):
            j = os.path.join(tmp, name + ".json")
            scan(gik, g, j, "json")
            refs = open(j, "rb").read()
            put("refs_json", name + ".json", refs)
            p = os.path.join(tmp, name + ".parquet")
            scan(gik, g, p, "parquet")
            put("seed_parquet", name + ".parquet", open(p, "rb").read())
            d = os.path.join(tmp, name + ".dir")
            scan(gik, g, d, "parquet-dir")
            put("parquet_dir", name, dir_parts(d))
            # reader: the references, a script, the file they point into
            # (scan wrote the path it was given: that is the url)
            for script in [b"", b"\x00\x01\x02\x03\x04\x05\x06\x07", b"\x09\x11\x1a\x23"]:
                for t in ["reader", "coalescing"]:
                    put(t, f"{name}-{script.hex() or 'honest'}", SEP.join([refs, script, open(g, "rb").read()]))
            # zarr: each coordinate and variable's .zarray, .zattrs, group .zattrs, chunks
            doc = json.loads(refs)["refs"]
            for key in sorted(doc):
                if not key.endswith("/.zarray"):
                    continue
                arr = key[: -len("/.zarray")]
                group = arr.rsplit("/", 1)[0] if "/" in arr else ""
                enc = lambda v: v.encode() if isinstance(v, str) else json.dumps(v).encode()
                chunks = [doc[k] for k in sorted(doc) if k.startswith(arr + "/") and "/." not in k[len(arr):] and isinstance(doc[k], str)]
                chunks = [c.encode() if not c.startswith("base64:") else __import__("base64").b64decode(c[7:]) for c in chunks[:4]]
                gattrs = doc.get((group + "/" if group else "") + ".zattrs", "{}")
                put("zarr", f"{name}-{arr.replace('/', '_')}", SEP.join([enc(doc[key]), enc(doc.get(arr + "/.zattrs", "{}")), enc(gattrs)] + chunks))
    finally:
        shutil.rmtree(tmp)

    # the pandas-written (pyarrow: dictionary-encoded) two-column parquet of the core's tests
    import base64, re
    src = open(os.path.join(ROOT, "core", "tests", "refs_formats.rs")).read()
    body = src[src.index("const PANDAS_SEED: &str = concat!(") :]
    body = body[: body.index(");")]
    put("seed_parquet", "pandas-large-string.parquet", base64.b64decode("".join(re.findall(r'"([^"]*)"', body))))

    # checkpoint: the core's test checkpoints (stored and deflated zip64),
    # with hostile reader scripts, and anemoi metadata JSON
    ck = os.path.join(ROOT, "core", "tests", "data", "checkpoint")
    for f in ["stored.ckpt", "deflated-zip64.ckpt"]:
        b = open(os.path.join(ck, f), "rb").read()
        put("checkpoint", f, b)
        put("checkpoint", f + "-hostile", SEP.join([b, b"\x01\x0a\x02\x03\x04\x05\x06\x07"]))
    put("checkpoint", "metadata.json", open(os.path.join(ck, "metadata.json"), "rb").read())

    walker_seeds(shared)


def walker_seeds(shared):
    """walker: a hostile server's script, then GRIB objects (no gik needed:
    `python3 -c 'import make_seeds; make_seeds.walker_seeds("../shared")'`
    from this folder writes these alone)."""
    grib_dir = os.path.join(shared, "data", "grib")
    demo = os.path.join(ROOT, "data", "demo")
    read = lambda name: open(os.path.join(grib_dir, name), "rb").read()
    objects = {
        "demo-49r1": first_messages(os.path.join(demo, "49r1", "20250101000000-0h-enfo-ef.grib2"),
                                    os.path.join(demo, "49r1", "20250101000000-0h-enfo-ef.index"), 2),
        "drt41_png_3x2": read("gribtract__drt41_png_3x2.grib2"),
        "chem_ll": read("earthkitdata__chem_ll.grib2"),
        "synth11_ccsds_bitmap": read("gribjump__synth11_ccsds_bitmap.grib2"),
        "s2s-pdt9-pdt10-pdt12": read("gribberish__s2s-pdt9-pdt10-pdt12.grib2"),
        # a WMO bulletin header before the message and padding between two
        "bulletin": b"\x01\r\r\n123\r\r\nHTXA50 ECMF 010000\r\r\n" + read("earthkitdata__chem_ll.grib2")
        + b"\0" * 8 + read("gribtract__drt41_png_3x2.grib2") + b"\r\r\n\x03",
    }
    for name, obj in sorted(objects.items()):
        for script in [b"", b"\x00\x01\x02\x03\x04\x05\x06\x07", b"\x09\x11\x1a\x23"]:
            put("walker", f"{name}-{script.hex() or 'honest'}", SEP.join([script, obj]))
    # two objects in one scan
    put("walker", "two-objects-honest", SEP.join([b"", objects["chem_ll"], objects["synth11_ccsds_bitmap"]]))


if __name__ == "__main__":
    main()
