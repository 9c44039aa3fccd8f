"""`gik.decode` on the real samples of the shared data: every GRIB2
message's values hash as ecCodes' do (`sha256_float32_le` in
eccodes_expected/*.json: float32 little-endian, 9999 where missing), and an
edition 1 message is a GribError naming it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import gik


def expectations(shared: Path) -> list[Path]:
    files = sorted((shared / "eccodes_expected").glob("*.json"))
    assert files, f"no ecCodes expectations in {shared / 'eccodes_expected'}"
    return files


def test_every_sample_message_equals_eccodes(shared: Path) -> None:
    checked, grib1 = 0, 0
    for exp in expectations(shared):
        doc = json.loads(exp.read_text())
        path = shared / doc["file"]
        if not path.exists():
            pytest.fail(f"{exp.name} describes {path}, which is missing")
        data = path.read_bytes()
        offsets = set()
        for m in doc["messages"]:
            offset = int(m["offset"])
            if offset in offsets:
                continue  # later fields of a multi-field message: gik.decode gives the first
            offsets.add(offset)
            message = data[offset : offset + int(m["totalLength"])]
            if m["edition"] == 1:
                with pytest.raises(gik.GribError, match="edition 1"):
                    gik.decode(message)
                grib1 += 1
                continue
            assert "sha256_float32_le" in m, f"{exp.name}: no hash for the message at byte {offset}"
            values = gik.decode(message, dtype="float32")
            assert values.dtype == np.float32
            if values.ndim == 2:
                assert values.shape == (m["Nj"], m["Ni"]), f"{path.name} @ {offset}"
            flat = np.where(np.isnan(values), np.float32(m.get("missingValue", 9999)), values).reshape(-1)
            assert flat.size == m["n_values"], f"{path.name} @ {offset}"
            digest = hashlib.sha256(flat.astype("<f4").tobytes()).hexdigest()
            assert digest == m["sha256_float32_le"], f"{path.name} message at byte {offset} ({m.get('shortName')}, {m.get('packingType')})"
            checked += 1
    assert checked >= 200, f"only {checked} messages checked"
    assert grib1 > 0, "the samples include GRIB1 messages, which must be refused"


def test_float64_and_float32_are_the_same_values(shared: Path) -> None:
    message = (shared / "DERIVED__ens_50_grib2_ccsds.grib2").read_bytes()
    f64 = gik.decode(message)
    f32 = gik.decode(memoryview(message), dtype="float32")
    assert f64.dtype == np.float64
    np.testing.assert_array_equal(f64.astype(np.float32), f32)
