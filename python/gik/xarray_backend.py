"""The xarray backend ``engine="gik"``: GRIB2 files (local paths or
``s3://``, ``gs://``, ``az://``, ``http(s)://`` urls) and reference files
opened as xarray datasets and trees, lazily, without ecCodes.

    ds = xr.open_dataset("20250101000000-0h-enfo-ef.grib2", engine="gik",
                         filter_by_keys={"typeOfLevel": "isobaricInhPa"})
    tree = xr.open_datatree("20250101000000-0h-enfo-ef.grib2", engine="gik")
    ds = xr.open_dataset("refs.json", engine="gik", group="t/instant/isobaricInhPa")

A GRIB file is scanned by gik-core (``gik.scan``: its ``.index`` when one
sits beside it, else the message headers) into the references ``gik scan``
writes; a reference file (kerchunk JSON, two-column parquet, fsspec parquet
directory) is opened as it is (``gik.open_references``); a
:class:`gik.References` may be passed directly. The layout is the
references': one group per variable, step type and level type
(``t/instant/isobaricInhPa``) with cfgrib's names and attributes
(``time``, ``step``, ``number``, the level, ``latitude``, ``longitude``,
``valid_time``; ``GRIB_*`` attributes). Each GRIB message is one chunk,
read and decoded by gik-core when indexed (many at once, concurrently, with
the GIL released); ``chunks={}`` makes one Dask chunk per message.

cfgrib's keyword arguments, where meaningful:

- ``filter_by_keys``: a dict of GRIB keys → a value or a list of values.
  ``shortName``, ``cfVarName``, ``paramId``, ``typeOfLevel``, ``stepType``,
  ``name``, ``units``, ``gridType`` (and any other ``GRIB_<key>`` attribute
  of the variables) choose variables; ``level``, ``number``, ``step``
  (hours) and ``time`` select along those coordinates; ``dataType`` ``cf``
  / ``pf`` selects the control (number 0) / the perturbed members of an
  ensemble (the references hold both in ``number``), other types (``fc``,
  ``an``) choose variables.
- ``indexpath``: accepted and ignored (gik writes no index file).
- ``read_keys``, ``errors``, ``cache_geo_coords``, ``lock``: accepted and
  ignored; ``squeeze`` (cfgrib's default ``True``) drops the length-1
  dimensions ``time``, ``step``, ``number`` and the level, as cfgrib does;
  ``squeeze=False`` keeps the references' layout.
- ``time_dims``, ``extra_coords``, ``encode_cf`` other than the default:
  :class:`ValueError` (not supported).

Without ``group`` or filters, ``open_dataset`` merges the groups into one
dataset when they agree (as cfgrib does); when they do not (e.g. ``2t`` at
2 m and ``10u`` at 10 m), it raises a :class:`ValueError` that lists the
groups and the ``filter_by_keys`` that would open each. gik's own keyword:
``references`` (``True``/``False``) says whether the path is a reference
file or GRIB (default: reference files end in ``.json``, ``.parquet``,
``.parq`` or ``/``, or are directories with ``.zmetadata``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from . import _gik
from ._gik import References
from .errors import GikError, SelectionError

__all__ = ["GikBackendEntrypoint", "GikBackendArray", "open_refs"]

_CFGRIB_IGNORED = {"indexpath", "read_keys", "errors", "cache_geo_coords", "lock"}
_CFGRIB_UNSUPPORTED = {"time_dims", "extra_coords"}
_SELECT_KEYS = {"level", "number", "step", "time", "dataType"}

# References by their JSON's digest, per process: a Dask worker parses the
# references once, not once per chunk.
_PARSED: dict[str, References] = {}
_PARSED_LOCK = threading.Lock()


def _is_references(path: str) -> bool:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if path.endswith("/") or last == ".zmetadata" or last.endswith((".json", ".parquet", ".parq")):
        return True
    return "://" not in path and os.path.isdir(path) and os.path.exists(os.path.join(path, ".zmetadata"))


def open_refs(source: Any, references: bool | None = None, codec: str = "gik") -> References:
    """A :class:`References` for ``source``: itself; a reference file
    opened; GRIB files (a path, url or a list of them) scanned by gik-core."""
    from . import open_references, scan

    if isinstance(source, References):
        return source
    if isinstance(source, (list, tuple)):
        return scan([os.fspath(s) for s in source], codec=codec)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"engine='gik' opens a path, a url, a list of them or gik.References, not {type(source).__name__}")
    path = os.fspath(source)
    if path.startswith("reference://"):
        raise ValueError("engine='gik' opens the reference file itself: pass its path, not reference://")
    if references is None:
        references = _is_references(path)
    return open_references(path) if references else scan([path], codec=codec)


class GikBackendArray(BackendArray):
    """A data array of references: one GRIB message per chunk (the leading
    dimensions), a whole field per message (the trailing ones). Indexing
    reads and decodes the messages it needs, all at once."""

    def __init__(self, refs: References, path: str, shape: tuple[int, ...], chunks: tuple[int, ...], dtype: np.dtype) -> None:
        self.refs = refs
        self.path = path
        self.shape = shape
        self.dtype = dtype
        # the leading dimensions, chunked by 1, index the messages; the rest is one field
        leads = [n for n in range(len(shape) + 1) if all(c == 1 for c in chunks[:n]) and tuple(chunks[n:]) == tuple(shape[n:])]
        if not leads:
            raise GikError(f"{path}: chunks {chunks} of shape {shape} are not one GRIB message per chunk")
        lead = max(leads)
        self.lead = lead

    # -- pickling: the references travel as their JSON, parsed once per process
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["refs"] = self.refs.to_json()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        data: bytes = state.pop("refs")
        digest = hashlib.sha256(data).hexdigest()
        with _PARSED_LOCK:
            refs = _PARSED.get(digest)
            if refs is None:
                refs = _PARSED[digest] = _gik.references_from_bytes(data, f"references of {state['path']}")
        self.__dict__.update(state, refs=refs)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._read)

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        lead_keys, field_keys = key[: self.lead], key[self.lead :]
        lead_idx = [np.arange(n)[k] for k, n in zip(lead_keys, self.shape[: self.lead])]
        lens = [np.size(i) for i in lead_idx]
        combos = [list(map(int, c)) for c in itertools.product(*(np.atleast_1d(i) for i in lead_idx))]
        decode_as = "float32" if self.dtype == np.float32 else "float64"
        if combos:
            values = _gik.read_chunks(self.refs, self.path, combos, decode_as)
        else:
            values = np.empty((0, int(np.prod(self.shape[self.lead :], dtype=np.int64))), dtype=decode_as)
        out = values.reshape(tuple(lens) + tuple(self.shape[self.lead :]))
        # outer indexing of the field's dimensions, one axis at a time
        for axis, k in enumerate(field_keys, start=self.lead):
            if isinstance(k, slice):
                if k != slice(None):
                    out = out[(slice(None),) * axis + (k,)]
            elif isinstance(k, (int, np.integer)):
                out = out[(slice(None),) * axis + (slice(int(k), int(k) + 1),)]
            else:
                out = np.take(out, np.asarray(k), axis=axis)
        # integer keys drop their dimension
        drop = tuple(i for i, k in enumerate(key) if isinstance(k, (int, np.integer)))
        if drop:
            out = out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in drop))
        return out.astype(self.dtype, copy=False)


def _variable(refs: References, array: dict[str, Any]) -> xr.Variable:
    dims = tuple(array["dims"])
    shape = tuple(int(n) for n in array["shape"])
    dtype = np.dtype(array["dtype"])
    attrs = dict(array["attrs"])
    encoding: dict[str, Any] = {"source_path": array["path"]}
    if array["data"]:
        data = indexing.LazilyIndexedArray(GikBackendArray(refs, array["path"], shape, tuple(array["chunks"]), dtype))
        encoding["preferred_chunks"] = {d: 1 for d, c, n in zip(dims, array["chunks"], shape) if c == 1 and n > 1}
        fill = array["fill_value"]
        if fill is not None:
            attrs["_FillValue"] = np.nan if fill == "NaN" else fill
    else:
        data = _gik.read_coordinate(refs, array["path"]).astype(dtype, copy=False).reshape(shape)
    return xr.Variable(dims, data, attrs, encoding=encoding)


def _group_dataset(refs: References, group: dict[str, Any], drop_variables: Iterable[str] | None, decode: dict[str, Any]) -> xr.Dataset:
    drop = set(drop_variables or ())
    variables = {a["name"]: _variable(refs, a) for a in group["arrays"] if a["name"] not in drop}
    attrs = dict(group["attrs"])
    coords = set(attrs.pop("coordinates", "").split())
    coords |= {a["name"] for a in group["arrays"] if not a["data"]}
    ds = xr.Dataset(variables, attrs=attrs)
    ds = ds.set_coords([c for c in coords if c in ds.variables])
    return xr.decode_cf(ds, **decode)


def _as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, (list, tuple, set)) else [v]


def _matches(array: dict[str, Any], group: dict[str, Any], key: str, want: Any) -> bool:
    attrs = array["attrs"]
    if f"GRIB_{key}" in attrs:
        have = attrs[f"GRIB_{key}"]
    elif key == "typeOfLevel":
        have = group["attrs"].get("typeOfLevel")
    elif key == "cfVarName":
        have = array["name"]
    else:
        return False
    return any(str(have) == str(w) for w in _as_list(want))


def _select(ds: xr.Dataset, key: str, want: Any, level_name: str | None) -> xr.Dataset | None:
    """``ds`` cut to ``key`` (level, number, step, time) ∈ ``want``; None when nothing is left."""
    if key == "dataType":
        # the control (cf, number 0) and perturbed members (pf) share `number`
        # in the references; other types (fc, an) are the variables' attribute
        wanted = {str(w) for w in _as_list(want)}
        if wanted <= {"cf", "pf"} and "number" in ds.dims:
            number = ds["number"].values
            keep = np.zeros(number.shape, dtype=bool)
            if "cf" in wanted:
                keep |= number == 0
            if "pf" in wanted:
                keep |= number > 0
            return ds.isel(number=keep) if keep.any() else None
        types = {str(v.attrs.get("GRIB_dataType")) for v in ds.data_vars.values()}
        return ds if types & wanted else None
    name = level_name if key == "level" else key
    if name is None or name not in ds.coords:
        # (a group without members has the control only: number 0)
        return ds if key == "number" and 0 in [int(w) for w in _as_list(want)] else None
    c = ds[name]
    values = _as_list(want)
    if key == "step":
        values = [np.timedelta64(int(v), "h") if not isinstance(v, np.timedelta64) else v for v in values]
    elif key == "time":
        values = [np.datetime64(v, "ns") for v in values]
    if c.ndim == 0:
        return ds if any(c.values == v for v in values) else None
    if c.dims != (name,):
        return None
    keep = np.isin(c.values, np.asarray(values, dtype=c.dtype))
    return ds.isel({name: keep}) if keep.any() else None


def _squeeze(ds: xr.Dataset, level_name: str | None) -> xr.Dataset:
    """cfgrib's layout: length-1 time, step, number and level dropped, and
    ``valid_time`` over (time, step) only where it does not vary along the
    level or the member (it never does: it is time + step)."""
    names = {"time", "step", "number", *([level_name] if level_name else [])}
    ds = ds.squeeze([d for d in ds.dims if d in names and ds.sizes[d] == 1])
    if "valid_time" in ds.coords:
        vt = ds["valid_time"]
        extra = [d for d in vt.dims if d not in ("time", "step")]
        if extra:
            first = vt.isel({d: 0 for d in extra})
            if bool((vt == first).all()):
                ds = ds.assign_coords(valid_time=first.drop_vars([c for c in first.coords if c != "valid_time" and c not in first.dims]))
    return ds


class GikBackendEntrypoint(BackendEntrypoint):
    """``engine="gik"``: see the module's documentation."""

    description = "GRIB2 files and kerchunk references through gik (no ecCodes)"
    url = "https://github.com/ecmwf/gik"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "group", "filter_by_keys", "squeeze", "references")

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        if isinstance(filename_or_obj, References):
            return True
        try:
            path = os.fspath(filename_or_obj)
        except TypeError:
            return False
        return isinstance(path, str) and path.lower().endswith((".grib2", ".grb2", ".grib", ".grb"))

    def _groups(self, filename_or_obj: Any, kwargs: dict[str, Any]) -> tuple[References, list[dict[str, Any]]]:
        for k in _CFGRIB_UNSUPPORTED & set(kwargs):
            raise ValueError(f"engine='gik' does not support cfgrib's `{k}`: gik's layout is the references' (time, step, number, level)")
        if kwargs.get("encode_cf", ("parameter", "time", "geography", "vertical")) != ("parameter", "time", "geography", "vertical"):
            raise ValueError("engine='gik' does not support cfgrib's `encode_cf`: coordinates are always CF-encoded")
        unknown = set(kwargs) - _CFGRIB_IGNORED - _CFGRIB_UNSUPPORTED - {"encode_cf"}
        if unknown:
            raise TypeError(f"engine='gik' got unknown keyword arguments {sorted(unknown)}")
        refs = open_refs(filename_or_obj, kwargs.get("references"))
        return refs, list(_gik.store_layout(refs))

    def _datasets(
        self,
        filename_or_obj: Any,
        drop_variables: Iterable[str] | None,
        group: str | None,
        filter_by_keys: Mapping[str, Any] | None,
        squeeze: bool,
        references: bool | None,
        decode: dict[str, Any],
        kwargs: dict[str, Any],
    ) -> dict[str, xr.Dataset]:
        refs, groups = self._groups(filename_or_obj, {**kwargs, "references": references} if references is not None else kwargs)
        wanted = group.strip("/") if group else None
        filters = dict(filter_by_keys or {})
        chooses = {k: v for k, v in filters.items() if k not in _SELECT_KEYS}
        selects = {k: v for k, v in filters.items() if k in _SELECT_KEYS}
        out: dict[str, xr.Dataset] = {}
        for g in groups:
            path = g["path"]
            if wanted is not None and path != wanted:
                continue
            data = [a for a in g["arrays"] if a["data"]]
            if chooses and data:
                keep = [a["name"] for a in data if all(_matches(a, g, k, v) for k, v in chooses.items())]
                if not keep:
                    continue
                dropped = [a["name"] for a in data if a["name"] not in keep]
            elif chooses:
                continue
            else:
                dropped = []
            ds = _group_dataset(refs, g, [*(drop_variables or ()), *dropped], decode)
            level_name = g["attrs"].get("typeOfLevel")
            for k, v in selects.items():
                cut = _select(ds, k, v, level_name)
                if cut is None:
                    break
                ds = cut
            else:
                if squeeze:
                    ds = _squeeze(ds, level_name)
                out[path] = ds
        if wanted is not None and wanted not in {g["path"] for g in groups}:
            raise SelectionError(f"{_origin(filename_or_obj)}: no group `{wanted}`; groups with data: {', '.join(_data_groups(groups))}")
        return out

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: Any,
        *,
        drop_variables: Iterable[str] | None = None,
        group: str | None = None,
        filter_by_keys: Mapping[str, Any] | None = None,
        squeeze: bool = True,
        references: bool | None = None,
        mask_and_scale: bool = True,
        decode_times: bool = True,
        decode_timedelta: bool | None = None,
        use_cftime: bool | None = None,
        concat_characters: bool = True,
        decode_coords: bool = True,
        **kwargs: Any,
    ) -> xr.Dataset:
        decode = {
            "mask_and_scale": mask_and_scale,
            "decode_times": decode_times,
            "decode_timedelta": decode_timedelta,
            "use_cftime": use_cftime,
            "concat_characters": concat_characters,
            "decode_coords": decode_coords,
        }
        datasets = self._datasets(filename_or_obj, drop_variables, group, filter_by_keys, squeeze, references, decode, kwargs)
        datasets = {p: ds for p, ds in datasets.items() if ds.data_vars}
        if not datasets:
            what = f"group `{group}`" if group else f"filter_by_keys={dict(filter_by_keys or {})!r}"
            raise SelectionError(f"{_origin(filename_or_obj)}: no data variable matches {what}")
        if len(datasets) == 1:
            return next(iter(datasets.values()))
        try:
            return xr.merge(list(datasets.values()), compat="no_conflicts", join="exact", combine_attrs="drop_conflicts")
        except (ValueError, xr.MergeError) as e:
            hints = "; ".join(f"{p}: filter_by_keys={_hint(ds, p)!r}" for p, ds in datasets.items())
            raise ValueError(
                f"{_origin(filename_or_obj)}: its variables do not fit one dataset ({e}). "
                f"Open one group with group=… or filter_by_keys=…, or all with xr.open_datatree(…, engine='gik'). Groups: {hints}"
            ) from None

    def open_groups_as_dict(  # type: ignore[override]
        self,
        filename_or_obj: Any,
        *,
        drop_variables: Iterable[str] | None = None,
        filter_by_keys: Mapping[str, Any] | None = None,
        squeeze: bool = False,
        references: bool | None = None,
        mask_and_scale: bool = True,
        decode_times: bool = True,
        decode_timedelta: bool | None = None,
        use_cftime: bool | None = None,
        concat_characters: bool = True,
        decode_coords: bool = True,
        group: str | None = None,
        **kwargs: Any,
    ) -> dict[str, xr.Dataset]:
        decode = {
            "mask_and_scale": mask_and_scale,
            "decode_times": decode_times,
            "decode_timedelta": decode_timedelta,
            "use_cftime": use_cftime,
            "concat_characters": concat_characters,
            "decode_coords": decode_coords,
        }
        datasets = self._datasets(filename_or_obj, drop_variables, None, filter_by_keys, squeeze, references, decode, kwargs)
        out: dict[str, xr.Dataset] = {"/": datasets.pop("", xr.Dataset())}
        for path, ds in datasets.items():
            # every ancestor is a node of the tree
            parts = path.split("/")
            for i in range(1, len(parts)):
                out.setdefault("/" + "/".join(parts[:i]), xr.Dataset())
            out["/" + path] = ds
        if group:
            prefix = "/" + group.strip("/")
            out = {("/" + p[len(prefix) :].lstrip("/")): ds for p, ds in out.items() if p == prefix or p.startswith(prefix + "/")}
        return out

    def open_datatree(self, filename_or_obj: Any, **kwargs: Any) -> xr.DataTree:  # type: ignore[override]
        return xr.DataTree.from_dict(self.open_groups_as_dict(filename_or_obj, **kwargs))


def _origin(source: Any) -> str:
    if isinstance(source, References):
        return repr(source)
    try:
        return os.fspath(source)
    except TypeError:
        return repr(source)


def _data_groups(groups: list[dict[str, Any]]) -> list[str]:
    return [g["path"] for g in groups if any(a["data"] for a in g["arrays"])]


def _hint(ds: xr.Dataset, path: str) -> dict[str, Any]:
    var = next(iter(ds.data_vars.values()))
    keys = {"shortName": var.attrs.get("GRIB_shortName"), "typeOfLevel": var.attrs.get("GRIB_typeOfLevel")}
    return {k: v for k, v in keys.items() if v is not None}
