"""Bad input raises a Python exception that says what and where — never a
crash or a PanicException: bytes that are not GRIB, truncated messages,
missing objects and files, malformed references; and a fuzz-style loop
feeding byte-flipped real messages to the codec."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import gik
from gik.codec import GikCodec

from conftest import ROOT, demo_files

SAMPLE = ROOT / "data" / "samples" / "ecmwf-ifs-oper-20260310-00z-0h-surface.grib2"


def first_message(path: Path) -> bytes:
    data = path.read_bytes()
    length = int.from_bytes(data[8:16], "big")
    return data[:length]


def test_bytes_that_are_not_grib() -> None:
    with pytest.raises(gik.GribError, match="do not start with `GRIB`") as e:
        gik.decode(b"<html>404</html>")
    assert isinstance(e.value, ValueError)
    with pytest.raises(TypeError, match="bytes or a buffer"):
        gik.decode(42)  # type: ignore[arg-type]
    with pytest.raises(gik.SelectionError, match="dtype `int8`"):
        gik.decode(first_message(SAMPLE), dtype="int8")  # type: ignore[arg-type]


def test_a_truncated_message_names_what_is_missing() -> None:
    message = first_message(SAMPLE)
    for cut in (10, 100, len(message) // 2, len(message) - 4):
        with pytest.raises(gik.GribError, match="byte 0") as e:
            gik.decode(message[:cut])
        assert "truncated" in str(e.value) or "section" in str(e.value), str(e.value)


def test_missing_files_and_objects_are_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "refs.json"
    with pytest.raises(gik.NotFoundError, match="nowhere/refs.json") as e:
        gik.open_references(missing)
    assert isinstance(e.value, FileNotFoundError)
    with pytest.raises(FileNotFoundError, match="missing.grib2"):
        gik.scan([str(tmp_path / "missing.grib2")])
    with pytest.raises(gik.ReadError):
        gik.open_references("http://127.0.0.1:9/refs.json")  # nothing listens on port 9


def test_references_to_a_missing_grib_file_name_it(tmp_path: Path) -> None:
    grib = tmp_path / "copy.grib2"
    grib.write_bytes(Path(demo_files("50r1")[0]).read_bytes())
    gik.scan([str(grib)]).write(tmp_path / "refs.json")
    grib.unlink()
    refs = gik.open_references(tmp_path / "refs.json")
    with pytest.raises(gik.NotFoundError, match="copy.grib2"):
        refs.read_field(refs.variables()[0]["path"])
    with pytest.raises(gik.NotFoundError, match="copy.grib2"):
        gik.extract_state(refs, 1, params="2t")


def test_malformed_references_are_references_errors(tmp_path: Path) -> None:
    bad = tmp_path / "refs.json"
    bad.write_text('{"version": 1, "refs": {".zgroup": 7')
    with pytest.raises(gik.ReferencesError, match="refs.json"):
        gik.open_references(bad)
    bad.write_text(json.dumps({"version": 1, "refs": {".zgroup": '{"zarr_format": 2}'}}))
    refs = gik.open_references(bad)
    assert refs.variables() == []
    with pytest.raises(gik.ReferencesError, match="t2m"):
        refs.read_field("t2m")


def test_byte_flipped_messages_never_crash_the_codec() -> None:
    """Every outcome is values or a GikError: a panic would surface as
    PanicException (a BaseException, not caught here) and a crash would end
    the test run."""
    rng = random.Random(14)
    messages = [first_message(Path(f)) for f in (demo_files("50r1")[0], demo_files("49r1")[0])]
    messages.append(first_message(SAMPLE))
    codec = GikCodec()
    outcomes = {"values": 0, "error": 0}
    for i in range(3000):
        message = bytearray(rng.choice(messages))
        for _ in range(rng.randint(1, 8)):
            # mostly the headers (first 200 bytes), sometimes the data
            at = rng.randrange(min(len(message), 200)) if rng.random() < 0.8 else rng.randrange(len(message))
            message[at] = rng.randrange(256)
        if rng.random() < 0.1:
            message = message[: rng.randrange(1, len(message))]
        try:
            values = codec.decode(bytes(message))
        except gik.GikError:
            outcomes["error"] += 1
        else:
            assert isinstance(values, np.ndarray) and values.ndim == 1, i
            outcomes["values"] += 1
    assert outcomes["values"] > 100 and outcomes["error"] > 100, outcomes


def with_template(message: bytes, section: int, template: int) -> bytes:
    """`message` with the template number of `section` (3, 4 or 5) replaced."""
    out = bytearray(message)
    at = 16
    while at + 5 <= len(out):
        length, number = int.from_bytes(out[at : at + 4], "big"), out[at + 4]
        if number == section:
            pos = {3: 12, 4: 7, 5: 9}[section]
            out[at + pos : at + pos + 2] = template.to_bytes(2, "big")
            return bytes(out)
        at += length
    raise AssertionError(f"no section {section}")


def test_unsupported_templates_name_the_template(tmp_path: Path) -> None:
    """A data representation template gik cannot decode (5.99) is a
    GribError naming it; through engine="gik" the chunk, file and byte range
    are named too. (An unknown grid template, 3.999, still decodes: the
    values need only section 5; the field is then 1-D.)"""
    message = first_message(SAMPLE)
    with pytest.raises(gik.GribError, match=r"byte 0: unsupported packing 5\.99"):
        gik.decode(with_template(message, 5, 99))
    with pytest.raises(gik.GribError, match=r"unsupported packing 5\.99"):
        GikCodec().decode(with_template(message, 5, 99))
    assert gik.decode(with_template(message, 3, 999)).shape == (721 * 1440,)
    bad = tmp_path / "unsupported.grib2"
    bad.write_bytes(with_template(message, 5, 99))
    import xarray as xr

    ds = xr.open_dataset(bad, engine="gik")
    with pytest.raises(gik.GribError, match=r"asn/instant/surface/asn/0\.0\.0\.0: .*unsupported.grib2 bytes 0\+\d+: .*unsupported packing 5\.99"):
        ds.load()
