"""ECMWF open-data requests: ask for forecasts the way ``ecmwf-opendata``
users do (``model``, ``date``, ``time``, ``step``, ``stream``, ``type``,
``number``, ``param``, ``levelist``, ``resol`` and a ``source``), resolved
by gik's core exactly as ``gik scan --source … --date …`` resolves them: the
objects of both IFS cycles' naming (the ENS control in ``oper-fc`` since
50r1, ``scda``/``scwv`` for 06/18 UTC before it), on ECMWF's server, AWS,
Azure, Google or any root laid out like ECMWF's, and ``date="latest"``: the
newest run whose objects all exist (checked with their ``.index`` files)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

from . import _gik

__all__ = ["request", "resolve_request", "ResolvedRequest"]

_KEYWORDS = ("model", "resol", "date", "time", "step", "stream", "type", "number", "param", "levelist")


class ResolvedRequest(NamedTuple):
    """The run a request names on its mirror, and its objects."""

    run: str
    """``2026-06-01 00z``."""
    urls: list[str]
    """The GRIB objects, in request order."""
    indexes: list[str]
    """Their ``.index`` files."""


def _text(key: str, value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "/".join(_text(key, v) for v in value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"{key}: expected a string, a number or a list of them, not {type(value).__name__}")
    return str(value)


def _pairs(keywords: dict[str, Any]) -> list[tuple[str, str]]:
    unknown = sorted(set(keywords) - set(_KEYWORDS))
    if unknown:
        raise TypeError(f"unknown request keyword(s) {', '.join(unknown)} (known: {', '.join(_KEYWORDS)}, source)")
    return [(k, _text(k, v)) for k, v in keywords.items() if v is not None]


def resolve_request(source: str | os.PathLike[str] = "ecmwf", **keywords: Any) -> ResolvedRequest:
    """The run and objects of a request on ``source`` (``ecmwf``, ``aws``,
    ``azure``, ``google``, a url or a local root), without scanning them.
    Raises :class:`gik.NotFoundError` naming the first missing object when
    the run asked for is incomplete (or no run is, for ``date="latest"``),
    :class:`gik.SelectionError` for a keyword it cannot take."""
    run, urls, indexes = _gik.resolve_request(_pairs(keywords), os.fspath(source))
    return ResolvedRequest(run, urls, indexes)


def request(
    source: str | os.PathLike[str] = "ecmwf",
    *,
    codec: Literal["grib", "gik"] = "grib",
    concurrency: int = 64,
    **keywords: Any,
) -> Any:
    """The references of a request: its objects on ``source`` scanned with
    its ``param``/``levelist``/``number`` selecting fields by their
    ``.index`` lines, as ``gik scan --source SOURCE --date … --out x.json``
    writes them (``.to_json()`` gives the same bytes). Keywords take
    ecmwf-opendata's values: strings (``"0/to/144/by/6"``, ``"2t/msl"``,
    ``"latest"``), numbers, or lists (``step=[0, 6]``)::

        refs = gik.request("aws", date="latest", time=0, step="0/to/12/by/6",
                           stream="enfo", param=["2t", "msl"])
        state = gik.extract_state(refs, member=1, params="2t,msl")

    ``repr(refs)`` names the run. Errors as :func:`resolve_request`;
    a selection no field matches raises :class:`gik.SelectionError` naming it."""
    refs, _ = _gik.scan_request(_pairs(keywords), os.fspath(source), codec, concurrency)
    return refs
