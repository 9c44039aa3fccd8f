"""The package is tested as a user without ecCodes has it: none of the
tools it replaces may be importable here (their answers come from another
Python, see conftest.py)."""

import importlib.util

import pytest


@pytest.mark.parametrize("module", ["eccodes", "gribapi", "cfgrib", "kerchunk"])
def test_the_tools_gik_replaces_are_not_installed(module: str) -> None:
    assert importlib.util.find_spec(module) is None, f"{module} is installed in the gik test venv"


@pytest.mark.parametrize("group", ["numcodecs.codecs", "zarr.codecs"])
def test_the_codec_is_registered_through_entry_points(group: str) -> None:
    from importlib.metadata import entry_points

    import gik.codec
    import gik.zarr3

    (ep,) = [e for e in entry_points(group=group) if e.name == "gik"]
    want = gik.codec.GikCodec if group == "numcodecs.codecs" else gik.zarr3.GikCodec
    assert ep.load() is want


def test_zarr_and_numcodecs_hand_out_the_codec_by_name() -> None:
    import numcodecs
    from zarr.registry import get_codec_class

    import gik.codec
    import gik.zarr3

    assert type(numcodecs.get_codec({"id": "gik", "var": "t2m", "dtype": "float64"})) is gik.codec.GikCodec
    assert get_codec_class("gik") is gik.zarr3.GikCodec


def test_the_xarray_engine_and_the_virtualizarr_name_are_registered() -> None:
    import xarray as xr
    from zarr.registry import get_codec_class

    import gik.xarray_backend
    import gik.zarr3

    assert isinstance(xr.backends.list_engines()["gik"], gik.xarray_backend.GikBackendEntrypoint)
    # (a subclass that keeps VirtualiZarr's name when it writes the codec back)
    assert get_codec_class("numcodecs.gik") is gik.zarr3.NumcodecsGikCodec
    assert issubclass(gik.zarr3.NumcodecsGikCodec, gik.zarr3.GikCodec)
