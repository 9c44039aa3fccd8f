"""The ``gik`` codec for Zarr v2 (numcodecs): each chunk is one GRIB2
message, decoded by gik-core (no ecCodes), NaN where the bitmap marks a point
missing, with the GIL released. References written by ``gik scan --codec
gik`` name it as their data arrays' filter, ``{"id": "gik", "var": …,
"dtype": "float64"}``, the configuration kerchunk's ``grib`` filter has.

numcodecs finds it through the ``numcodecs.codecs`` entry point of the
``gik`` package (importing ``gik.codec`` also registers it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray
from numcodecs.registry import register_codec

from . import _gik
from .errors import GribError

__all__ = ["GikCodec"]


def decode_chunk(buf: Any, dtype: str = "float64") -> np.ndarray:
    """One GRIB2 message (any buffer) → its values, 1-D."""
    if isinstance(buf, bytes):
        data = buf
    else:
        data = ensure_contiguous_ndarray(buf).view(np.uint8).tobytes()
    return _gik.decode(data, dtype, False)


class GikCodec(Codec):
    """Decodes a chunk holding one GRIB2 message (decode only)."""

    codec_id = "gik"

    def __init__(self, var: str | None = None, dtype: str = "float64") -> None:
        self.var = var
        self.dtype = str(np.dtype(dtype))

    def encode(self, buf: Any) -> Any:
        raise NotImplementedError("the gik codec only decodes: chunks are GRIB2 messages written by other tools")

    def decode(self, buf: Any, out: Any = None) -> Any:
        values = decode_chunk(buf, self.dtype)
        if out is None:
            return values
        dest = ensure_contiguous_ndarray(out).view(values.dtype)
        if dest.size != values.size:
            raise GribError(f"GRIB message of {values.size} values for a chunk of {dest.size}")
        dest[...] = values.reshape(dest.shape)
        return out

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"id": self.codec_id, "dtype": self.dtype}
        if self.var is not None:
            config["var"] = self.var
        return config

    def __repr__(self) -> str:
        return f"GikCodec(var={self.var!r}, dtype={self.dtype!r})"


register_codec(GikCodec)
