"""cfgrib's view of GRIB files, for the `engine="gik"` tests, run under
another Python that has cfgrib and ecCodes (the gik test venv has neither):

    python cfgrib_reference.py OUT.json FILE...

writes, per file, the datasets of `cfgrib.open_datasets` (no index file):
`{file: [{"vars": {name: {"dims", "shape", "attrs"}}, "coords": {name:
{"dims", "values"}}}]}` (times as ISO strings, steps in hours).
"""

import json
import sys

import cfgrib
import numpy as np


def plain(v: np.ndarray) -> list:
    if np.issubdtype(v.dtype, np.datetime64):
        return [str(x) for x in v.astype("datetime64[s]").reshape(-1)]
    if np.issubdtype(v.dtype, np.timedelta64):
        return (v.astype("timedelta64[s]").astype(np.int64).reshape(-1) / 3600).tolist()
    return v.reshape(-1).tolist()


def main() -> None:
    out, files = sys.argv[1], sys.argv[2:]
    result = {}
    for path in files:
        datasets = []
        for ds in cfgrib.open_datasets(path, backend_kwargs={"indexpath": ""}):
            datasets.append(
                {
                    "vars": {
                        n: {"dims": list(v.dims), "shape": list(v.shape), "attrs": {k: a for k, a in v.attrs.items() if k.startswith("GRIB_") and isinstance(a, (str, int, float))}}
                        for n, v in ds.data_vars.items()
                    },
                    "coords": {n: {"dims": list(c.dims), "values": plain(c.values)} for n, c in ds.coords.items()},
                }
            )
        result[path] = datasets
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
