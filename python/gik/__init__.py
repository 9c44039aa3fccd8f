"""gik: ECMWF open-data GRIB2 → kerchunk references and AIFS input states,
in Rust, bit-identical to ecCodes.

- :func:`decode` — one GRIB2 message's values as a numpy array;
- :func:`scan` — GRIB2 files → :class:`References` (as ``gik scan``);
- :func:`open_references` — kerchunk JSON, two-column parquet or an fsspec
  parquet directory, local or remote;
- :func:`extract_state` — one member's AIFS input state (as ``gik extract``);
- :func:`request` / :func:`resolve_request` — ECMWF open-data requests
  (ecmwf-opendata's keywords, ``date="latest"``, any mirror) → References
  (as ``gik scan --source … --date …``);
- the ``gik`` codec for Zarr v2 (numcodecs) and v3 (zarr-python), registered
  through entry points: references written with ``gik scan --codec gik`` open
  in xarray without ecCodes.

Reads go through object_store (S3 anonymous unless AWS credentials are set,
GCS, Azure, HTTP) with retries; the GIL is released while reading and
decoding.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from . import _gik
from ._gik import References, __version__
from . import errors
from .errors import (
    GikError,
    GribError,
    NotFoundError,
    ReadError,
    ReferencesError,
    SelectionError,
)

from .request import ResolvedRequest, request, resolve_request

__all__ = ["References", "decode", "open_references", "scan", "extract_state", "__version__", *errors.__all__,
           "request", "resolve_request", "ResolvedRequest"]


def _as_bytes(message: Any) -> bytes:
    """bytes as they are; any other buffer (memoryview, numpy array) copied."""
    if isinstance(message, (bytes, bytearray)):
        return message  # type: ignore[return-value]
    try:
        return memoryview(message).cast("B").tobytes()
    except TypeError as e:
        raise TypeError(f"a GRIB message must be bytes or a buffer, not {type(message).__name__}") from e


def decode(message: bytes | bytearray | memoryview, dtype: Literal["float32", "float64"] = "float64") -> np.ndarray:
    """The values of the first GRIB2 message in ``message``, as ecCodes
    gives them (NaN where the bitmap marks a point missing): shape
    ``(Nj, Ni)`` for a grid of rows and columns (regular lat/lon, regular
    Gaussian, projections), 1-D otherwise (reduced grids, spherical
    harmonics). Raises :class:`GribError` for bytes that are not a
    (supported) GRIB2 message."""
    return _gik.decode(_as_bytes(message), dtype, True)


def open_references(location: str | os.PathLike[str]) -> References:
    """References from ``location``: kerchunk JSON, the two-column parquet of
    the original pipeline, or an fsspec parquet reference directory; a local
    path or an ``s3://``, ``gs://``, ``az://`` or ``http(s)://`` url."""
    return _gik.open_references(os.fspath(location))


def scan(
    urls: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    mode: Literal["auto", "index", "headers"] = "auto",
    verify: Literal["all", "sample", "none"] = "all",
    codec: Literal["grib", "gik"] = "grib",
    concurrency: int = 64,
) -> References:
    """Scans GRIB2 files into references, exactly as ``gik scan`` does
    (``References.to_json()`` is the file ``gik scan --out x.json`` writes).
    ``codec="gik"`` makes the data arrays name gik's codec (as ``gik scan
    --codec gik``); the default ``grib`` is kerchunk's, readable wherever
    kerchunk is installed."""
    if isinstance(urls, (str, os.PathLike)):
        urls = [urls]
    return _gik.scan([os.fspath(u) for u in urls], mode, verify, codec, concurrency)


def _date_arg(date: _dt.datetime | _dt.date | str | None) -> str | None:
    if date is None or isinstance(date, str):
        return date
    if isinstance(date, _dt.datetime):
        if date.tzinfo is not None:
            date = date.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return date.strftime("%Y-%m-%dT%H:%M")
    if isinstance(date, _dt.date):
        return date.strftime("%Y-%m-%dT00")
    raise TypeError(f"date must be a datetime or a string such as 2025-01-01T06, not {type(date).__name__}")


def extract_state(
    refs: References | str | os.PathLike[str],
    member: int,
    params: str | None = None,
    layout: Literal["grid", "aifs"] | None = None,
    grid: str | None = None,
    date: _dt.datetime | str | None = None,
    dtype: Literal["float32", "float64"] = "float32",
    steps: Sequence[int] | None = None,
    inputs: Literal["forecast", "analyses"] = "forecast",
    allow_missing: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """One member's AIFS input state, ``{"date": datetime, "fields": {name:
    ndarray}}`` (plus ``latitudes``/``longitudes`` on a reduced Gaussian grid,
    ``grid="n320"``, ``"O96"``, …): the arrays ``gik extract`` writes into that
    member's pickle, without writing one. The options are ``gik extract``'s
    (``--params`` [default ``aifs-ens``], ``--layout`` [``grid``], ``--grid``
    [``0.25``], ``--date``, ``--dtype``, ``--steps``, ``--inputs``,
    ``--allow-missing``, ``--checkpoint``). With ``checkpoint`` (an anemoi
    ``.ckpt`` path or url, read by range, or its metadata ``.json``) the state
    holds exactly that model's inputs and input times (layout ``aifs``) on its
    grid, with its own ``latitudes``/``longitudes`` when the checkpoint stores
    them."""
    if not isinstance(refs, References):
        refs = open_references(refs)
    return _gik.extract_state(
        refs,
        member,
        params=params,
        layout=layout,
        grid=grid,
        date=_date_arg(date),
        dtype=dtype,
        steps=None if steps is None else [int(s) for s in steps],
        inputs=inputs,
        allow_missing=allow_missing,
        checkpoint=None if checkpoint is None else os.fspath(checkpoint),
    )
