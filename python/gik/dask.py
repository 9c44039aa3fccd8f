"""Scale-out on Dask: AIFS input states of many (references, member) pairs
as one Dask graph, run on whatever cluster the ``Client`` points at.

    from distributed import Client
    import gik.dask

    client = Client("tcp://scheduler:8786")        # or LocalCluster(), Coiled, Dask-Gateway…
    states = gik.dask.extract_states(
        ["s3://bucket/20250101T00/refs.json", "s3://bucket/20250102T00/refs.json"],
        members=range(1, 51), params="aifs-ens", layout="aifs", grid="n320",
    )
    # [{"refs": …, "member": 1, "date": datetime, "fields": {name: ndarray}}, …]

Each task is one ``gik.extract_state`` (gik-core's plan and extraction
engine, the arrays ``gik extract`` pickles), reading through object_store on
the worker. A worker opens each reference file once (a per-process cache),
not once per task. Nothing but the ``Client`` address changes between a
laptop and a remote cluster, as long as the workers have ``gik`` installed
and can read the references and the GRIB files (a shared filesystem or an
object store).

Reductions over members through xarray need no helper: open the references
(``gik scan --codec gik``) with ``chunks={}`` and reduce, e.g.
``xr.open_dataset("refs.json", engine="gik", chunks={}).t2m.mean("number").compute()``.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from . import References, extract_state, open_references

__all__ = ["extract_states", "extract_one"]

_LOCK = threading.Lock()


@functools.lru_cache(maxsize=64)
def _references(location: str) -> References:
    return open_references(location)


def _open_once(location: str) -> References:
    # one parse per process, even when several threads of a worker ask at once
    with _LOCK:
        return _references(location)


def extract_one(location: str, member: int, options: dict[str, Any]) -> dict[str, Any]:
    """One task: member ``member``'s state from the references at
    ``location``, ``{"refs", "member", "date", "fields"}`` (plus
    ``latitudes``/``longitudes`` on N320)."""
    state = extract_state(_open_once(location), member, **options)
    return {"refs": location, "member": member, **state}


def extract_states(
    refs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    members: Iterable[int],
    *,
    client: Any = None,
    compute: bool = True,
    **options: Any,
) -> list[Any]:
    """The states of every member in ``members`` for every reference file in
    ``refs`` (one per forecast run/date), refs-major, as a Dask graph of one
    task per (refs, member). ``options`` are :func:`gik.extract_state`'s
    (``params``, ``layout``, ``grid``, ``date``, ``dtype``, ``steps``,
    ``inputs``, ``allow_missing``).

    Runs on ``client`` (a ``distributed.Client``), else on the current
    client if there is one, else on Dask's default scheduler. With
    ``compute=False``, returns the ``dask.delayed`` objects instead."""
    import dask

    if isinstance(refs, (str, os.PathLike)):
        refs = [refs]
    locations = [os.fspath(r) for r in refs]
    members = [int(m) for m in members]
    task = dask.delayed(extract_one, pure=True)
    graph = [task(loc, m, dict(options), dask_key_name=f"gik-extract-{i}-{m}") for i, loc in enumerate(locations) for m in members]
    if not compute:
        return graph
    if client is None:
        try:
            from distributed import get_client

            client = get_client()
        except (ImportError, ValueError):
            client = None
    if client is not None:
        return list(client.gather(client.compute(graph)))
    return list(dask.compute(*graph))
