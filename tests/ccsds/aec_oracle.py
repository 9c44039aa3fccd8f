"""Thin ctypes wrapper around the C libaec that ecCodes ships (eccodeslib),
used as the independent oracle for gik's pure-Rust CCSDS decoder.

imagecodecs (also C libaec) is used for encoding; this wrapper gives exact
control of avail_out and reports status / total_in / total_out, which
imagecodecs hides.
"""
import ctypes
import glob
import os

import eccodeslib  # noqa: F401  (only to locate its bundled libaec)

AEC_DATA_SIGNED = 1
AEC_DATA_3BYTE = 2
AEC_DATA_MSB = 4
AEC_DATA_PREPROCESS = 8
AEC_RESTRICTED = 16
AEC_PAD_RSI = 32
AEC_NOT_ENFORCE = 64
AEC_FLUSH = 1


class AecStream(ctypes.Structure):
    _fields_ = [
        ("next_in", ctypes.c_void_p),
        ("avail_in", ctypes.c_size_t),
        ("total_in", ctypes.c_size_t),
        ("next_out", ctypes.c_void_p),
        ("avail_out", ctypes.c_size_t),
        ("total_out", ctypes.c_size_t),
        ("bits_per_sample", ctypes.c_uint),
        ("block_size", ctypes.c_uint),
        ("rsi", ctypes.c_uint),
        ("flags", ctypes.c_uint),
        ("state", ctypes.c_void_p),
    ]


def _load():
    base = os.path.dirname(eccodeslib.__file__)
    cands = sorted(glob.glob(os.path.join(base, "lib*", "libaec.so*")))
    return ctypes.CDLL(cands[0])


_lib = _load()


def bytes_per_sample(bits, flags):
    if bits > 16:
        return 3 if (bits <= 24 and flags & AEC_DATA_3BYTE) else 4
    if bits > 8:
        return 2
    return 1


def decode(data, bits, flags, block_size, rsi, n_samples):
    """Returns (status, total_in, samples_out_bytes) from aec_buffer_decode
    with avail_out = exactly n_samples samples."""
    bps = bytes_per_sample(bits, flags)
    out = ctypes.create_string_buffer(max(1, n_samples * bps))
    inp = ctypes.create_string_buffer(bytes(data), max(1, len(data)))
    s = AecStream()
    s.next_in = ctypes.cast(inp, ctypes.c_void_p)
    s.avail_in = len(data)
    s.next_out = ctypes.cast(out, ctypes.c_void_p)
    s.avail_out = n_samples * bps
    s.bits_per_sample = bits
    s.block_size = block_size
    s.rsi = rsi
    s.flags = flags
    st = _lib.aec_buffer_decode(ctypes.byref(s))
    return st, s.total_in, out.raw[: s.total_out]


def encode(raw, bits, flags, block_size, rsi):
    """aec_buffer_encode through ctypes (used only to cross-check imagecodecs)."""
    cap = len(raw) * 2 + 1024
    out = ctypes.create_string_buffer(cap)
    inp = ctypes.create_string_buffer(bytes(raw), max(1, len(raw)))
    s = AecStream()
    s.next_in = ctypes.cast(inp, ctypes.c_void_p)
    s.avail_in = len(raw)
    s.next_out = ctypes.cast(out, ctypes.c_void_p)
    s.avail_out = cap
    s.bits_per_sample = bits
    s.block_size = block_size
    s.rsi = rsi
    s.flags = flags
    st = _lib.aec_buffer_encode(ctypes.byref(s))
    if st != 0:
        raise RuntimeError(f"aec_buffer_encode failed: {st}")
    return out.raw[: s.total_out]
