"""Type stubs of the native module (``gik._gik``); the public API is
re-exported, with wrappers, by ``gik``."""

import datetime
import os
from typing import Any, Literal

import numpy as np

__version__: str

class References:
    """Kerchunk references (any format, local or remote) and the reader their
    chunks are read through."""

    def to_json(self) -> bytes:
        """kerchunk JSON (version 1): the bytes ``gik scan --out x.json`` writes."""
    def write(
        self,
        path: str | os.PathLike[str],
        format: Literal["json", "parquet", "parquet-dir"] | None = None,
    ) -> None:
        """Writes the references; the format from the extension by default
        (``.json``, ``.parquet``, anything else a parquet directory)."""
    def variables(self) -> list[dict[str, Any]]:
        """One dict per data variable: ``path``, ``name``, ``dims``,
        ``shape``, ``attrs``, ``level_name``, ``levels``, ``steps`` (hours),
        ``times`` (datetimes, UTC) and ``members``."""
    def read_field(
        self,
        variable: str,
        member: int | None = None,
        step: int | None = None,
        level: float | None = None,
        time: datetime.datetime | str | int | None = None,
    ) -> np.ndarray:
        """One field (float64, NaN where missing) of ``variable`` (a path or
        a unique name); each coordinate defaults to the first on its axis."""
    def ensemble_stats(
        self,
        variable: str,
        stats: list[str] = ["mean"],
        step: int | None = None,
        level: float | None = None,
        time: datetime.datetime | str | int | None = None,
        members: list[int] | None = None,
        from_step: int | None = None,
        concurrency: int = 16,
    ) -> dict[str, np.ndarray]:
        """Ensemble statistics per grid point (float32, (nlat, nlon)), in the
        order of ``stats``: mean, std, min, max, median, q<percent>, p>t, p<t;
        the numbers ``gik stats`` writes. ``from_step`` subtracts each
        member's field at that step first (accumulations)."""

def decode(message: bytes | bytearray, dtype: str = "float64", shaped: bool = True) -> np.ndarray: ...
def open_references(location: str) -> References: ...
def scan(
    urls: list[str],
    mode: str = "auto",
    verify: str = "all",
    codec: str = "grib",
    concurrency: int = 64,
) -> References: ...
def extract_state(
    refs: References,
    member: int,
    params: str | None = None,
    layout: str | None = None,
    grid: str | None = None,
    date: str | None = None,
    dtype: str = "float32",
    steps: list[int] | None = None,
    inputs: str = "forecast",
    allow_missing: bool = False,
    checkpoint: str | None = None,
) -> dict[str, Any]: ...

# what the xarray engine (gik.xarray_backend) reads of references
def store_layout(refs: References) -> list[dict[str, Any]]:
    """The groups, in key order: ``{"path", "attrs", "arrays": [{"name",
    "path", "dims", "shape", "chunks", "dtype", "fill_value", "attrs",
    "data"}]}`` (``data``: a data variable, else a coordinate)."""
def read_coordinate(refs: References, path: str) -> np.ndarray:
    """The inline coordinate array at ``path``, 1-D, int64 or float64."""
def read_chunks(refs: References, path: str, indices: list[list[int]], dtype: str = "float64") -> np.ndarray:
    """Chunks of the data array at ``path`` by their leading indices, read
    and decoded concurrently with the GIL released: ``(len(indices),
    values per field)``, NaN where a chunk has no reference."""
def references_from_bytes(data: bytes, origin: str) -> References:
    """References parsed from a reference file's bytes (JSON or two-column parquet)."""
def resolve_request(pairs: list[tuple[str, str]], source: str) -> tuple[str, list[str], list[str]]:
    """(run, urls, indexes) of an open-data request on ``source``."""
def scan_request(pairs: list[tuple[str, str]], source: str, codec: str = "grib", concurrency: int = 64) -> tuple[References, str]:
    """The references of an open-data request on ``source``, and its run."""
