"""The exceptions gik raises. Every message names where it went wrong (a
path or url, a byte range, a variable)."""

from __future__ import annotations

__all__ = [
    "GikError",
    "GribError",
    "ReferencesError",
    "SelectionError",
    "ReadError",
    "NotFoundError",
]


class GikError(Exception):
    """Base class of gik's exceptions."""


class GribError(GikError, ValueError):
    """Bytes that are not GRIB2, or a malformed or unsupported message."""


class ReferencesError(GikError, ValueError):
    """Malformed or inconsistent references, or an unknown variable."""


class SelectionError(GikError, ValueError):
    """Something asked for that the references cannot give (a member, step,
    date or input), or an unknown option value."""


class ReadError(GikError, OSError):
    """A read that failed (a local file, an object store, HTTP)."""


class NotFoundError(ReadError, FileNotFoundError):
    """An object or file that does not exist."""
