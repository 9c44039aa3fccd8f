"""ecCodes' answers for the gik package's tests, run by them under another
Python that has ecCodes (the gik test venv has none): every message of the
given GRIB files decoded by ecCodes, NaN where the bitmap marks a point
missing (ecCodes' missingValue), saved as .npy with an index.

    python eccodes_reference.py [--sha256] OUT_DIR FILE...

writes OUT_DIR/{n}.npy and OUT_DIR/index.json: [{"file", "offset",
"length", "npy", "Ni", "Nj", "shortName", "number", "step", "level"}] in file order
(`number` 0 for the control, which has none in 50r1's oper-fc). With
`--sha256` (large files), no .npy: `sha256` is the hash of the float64
little-endian values (NaN as numpy's NaN), `nan` their count.
"""

import hashlib
import json
import os
import sys

import eccodes
import numpy as np


def values_sha256(values: np.ndarray) -> str:
    """sha256 of float64 little-endian values, every NaN as numpy's NaN."""
    v = np.asarray(values, dtype="<f8").reshape(-1).copy()
    v[np.isnan(v)] = np.nan
    return hashlib.sha256(v.tobytes()).hexdigest()


def main() -> None:
    args = sys.argv[1:]
    hashed = args[:1] == ["--sha256"]
    if hashed:
        args = args[1:]
    out, files = args[0], args[1:]
    os.makedirs(out, exist_ok=True)
    index = []
    for path in files:
        with open(path, "rb") as f:
            while True:
                h = eccodes.codes_grib_new_from_file(f)
                if h is None:
                    break
                try:
                    values = eccodes.codes_get_values(h).astype(np.float64)
                    if eccodes.codes_get(h, "bitmapPresent"):
                        values[values == eccodes.codes_get(h, "missingValue")] = np.nan
                    extra = {}
                    if hashed:
                        npy = None
                        extra = {"sha256": values_sha256(values), "nan": int(np.isnan(values).sum())}
                    else:
                        npy = os.path.join(out, f"{len(index)}.npy")
                        np.save(npy, values)
                    index.append(
                        {
                            **extra,
                            "file": os.path.abspath(path),
                            "offset": int(eccodes.codes_get(h, "offset")),
                            "length": int(eccodes.codes_get(h, "totalLength")),
                            "npy": npy,
                            "Ni": eccodes.codes_get(h, "Ni", ktype=int),
                            "Nj": eccodes.codes_get(h, "Nj", ktype=int),
                            "shortName": eccodes.codes_get(h, "shortName"),
                            "number": eccodes.codes_get(h, "number", ktype=int)
                            if eccodes.codes_is_defined(h, "number")
                            else 0,
                            "step": eccodes.codes_get(h, "endStep", ktype=int),
                            "level": eccodes.codes_get(h, "level", ktype=int),
                        }
                    )
                finally:
                    eccodes.codes_release(h)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)


if __name__ == "__main__":
    main()
