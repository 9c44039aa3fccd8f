#!/usr/bin/env python3
"""Generates CCSDS/AEC unit fixtures for gik's pure-Rust decoder.

Encoder: imagecodecs.aec_encode (C libaec 1.1.x). Oracle: C libaec's
aec_buffer_decode (the copy ecCodes ships), called through ctypes with an
output buffer of exactly n samples, which also yields the shortest input
prefix libaec decodes all n samples from ("min_len").

Output: core/tests/data/ccsds/aec_fixtures.bin (little-endian)
  b"GIKAEC01", u32 n_records, then per record:
  u8 bits, u8 kind, u16 flags, u16 block_size, u16 rsi,
  u32 n_samples, u32 enc_len, u32 min_len,
  enc_len bytes of AEC stream,
  ceil(n_samples*bits/8) bytes: the expected samples (libaec's output masked
  to `bits`, i.e. n-bit two's complement for signed data), packed MSB-first.

Usage: .venv/bin/python tests/ccsds/gen_aec_fixtures.py [--out PATH] [--seed N]
"""
import argparse
import os
import struct
import sys

import numpy as np
import imagecodecs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aec_oracle as aec  # noqa: E402

KINDS = ["random", "smooth", "constant", "zeroruns", "extreme", "lowent", "edgewalk"]


def value_range(bits, signed):
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def make_samples(rng, kind, n, bits, signed):
    lo, hi = value_range(bits, signed)
    span = hi - lo

    def uni(size):
        # uniform over [lo, hi] also for 32 bits
        return lo + (rng.integers(0, 1 << 62, size=size, dtype=np.int64) % (span + 1))

    if kind == "random":
        x = uni(n)
    elif kind == "smooth":
        scale = 1 << int(rng.integers(0, max(1, bits - 1)))
        steps = np.round(rng.normal(0, scale, size=n)).astype(np.int64)
        x = int(uni(1)[0]) + np.cumsum(steps)
        x = np.clip(x, lo, hi)
    elif kind == "constant":
        x = np.full(n, int(uni(1)[0]), dtype=np.int64)
    elif kind == "zeroruns":
        x = np.empty(n, dtype=np.int64)
        i = 0
        while i < n:
            ln = int(rng.choice([1, 3, 8, 16, 40, 64, 100, 200, 333, 600, 1500]))
            ln = min(ln, n - i)
            if rng.random() < 0.15:
                x[i:i + ln] = uni(ln)
            else:
                x[i:i + ln] = int(uni(1)[0])
            i += ln
    elif kind == "extreme":
        choices = np.array([lo, lo + 1, hi, hi - 1, lo + span // 2, lo + span // 2 + 1],
                           dtype=np.int64)
        x = np.where(rng.random(n) < 0.8, choices[rng.integers(0, len(choices), n)], uni(n))
        x = np.clip(x, lo, hi)
    elif kind == "lowent":
        x = int(uni(1)[0]) + rng.integers(0, 3, size=n)
        x = np.clip(x, lo, hi)
    elif kind == "edgewalk":
        # random walk reflecting at the edges: exercises the preprocessor's
        # boundary branch (|delta| > theta)
        scale = max(1, span >> int(rng.integers(1, max(2, bits))))
        x = np.empty(n, dtype=np.int64)
        v = lo if rng.random() < 0.5 else hi
        for i in range(n):
            v += int(rng.integers(-scale, scale + 1))
            if v < lo:
                v = lo + (lo - v) % (span + 1)
            if v > hi:
                v = hi - (v - hi) % (span + 1)
            v = min(max(v, lo), hi)
            x[i] = v
    else:
        raise ValueError(kind)
    return x.astype(np.int64)


def to_raw(x, bits, flags):
    # libaec's encoder expects signed samples as n-bit two's complement
    # (not sign-extended to the byte width)
    bps = aec.bytes_per_sample(bits, flags)
    u = (x & ((1 << bits) - 1)).astype(np.uint64)
    shifts = np.arange(bps, dtype=np.uint64) * np.uint64(8)
    if flags & aec.AEC_DATA_MSB:
        shifts = shifts[::-1]
    b = ((u[:, None] >> shifts[None, :]) & np.uint64(0xFF)).astype(np.uint8)
    return b.tobytes()


def from_raw(raw, bits, flags):
    bps = aec.bytes_per_sample(bits, flags)
    b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, bps).astype(np.uint64)
    shifts = np.arange(bps, dtype=np.uint64) * np.uint64(8)
    if flags & aec.AEC_DATA_MSB:
        shifts = shifts[::-1]
    return (b << shifts[None, :]).sum(axis=1, dtype=np.uint64)


def pack_msb(values, bits):
    v = values.astype(np.uint64)
    sh = np.arange(bits - 1, -1, -1, dtype=np.uint64)
    bitarr = ((v[:, None] >> sh[None, :]) & np.uint64(1)).astype(np.uint8)
    return np.packbits(bitarr.reshape(-1)).tobytes()


def flag_sets(bits):
    P, M, B3, S, R, PAD = (aec.AEC_DATA_PREPROCESS, aec.AEC_DATA_MSB, aec.AEC_DATA_3BYTE,
                           aec.AEC_DATA_SIGNED, aec.AEC_RESTRICTED, aec.AEC_PAD_RSI)
    sets = [0, P, P | M, P | M | B3, S | P, S | M, P | PAD, S | P | PAD | M]
    if bits <= 4:
        sets += [R | P, R, R | P | PAD, R | S | P]
    if bits > 8:
        sets += [R | P]  # RESTRICTED is ignored above 8 bits
    return sets


def min_len_for(enc, bits, flags, bs, rsi, n, full):
    def ok(L):
        st, _, out = aec.decode(enc[:L], bits, flags, bs, rsi, n)
        return st == 0 and out == full

    lo, hi = 0, len(enc)  # ok(hi) is True
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    assert ok(lo) and (lo == 0 or not ok(lo - 1))
    return lo


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "core", "tests", "data",
                                                  "ccsds", "aec_fixtures.bin"))
    ap.add_argument("--seed", type=int, default=20240521)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    block_sizes = [8, 16, 32, 64]
    rsis = [1, 2, 3, 7, 64, 128, 4096]
    records = []
    counter = 0
    for bits in range(1, 33):
        for flags in flag_sets(bits):
            for ki, kind in enumerate(KINDS):
                counter += 1
                bs = block_sizes[counter % 4]
                rsi = rsis[int(rng.integers(0, len(rsis)))]
                rsi_len = bs * rsi
                r = rng.random()
                if r < 0.15:
                    n = int(rng.integers(1, 4)) * bs  # whole blocks
                elif r < 0.3 and rsi_len <= 512:
                    n = rsi_len * int(rng.integers(1, 4)) + int(rng.integers(0, 2))
                elif r < 0.4:
                    n = int(rng.integers(1, 8))  # tiny
                else:
                    n = int(rng.integers(1, 200 if bits > 16 else 400))
                if kind == "zeroruns" and rng.random() < 0.3:
                    n = int(rng.integers(600, 2000))
                # occasionally a non-standard even block size (AEC_NOT_ENFORCE)
                fl = flags
                if rng.random() < 0.04:
                    bs = int(rng.choice([2, 10, 24, 100, 256]))
                    fl |= aec.AEC_NOT_ENFORCE
                signed = bool(fl & aec.AEC_DATA_SIGNED)
                x = make_samples(rng, kind, n, bits, signed)
                raw = to_raw(x, bits, fl)
                if 8 <= bs <= 64:
                    enc = bytes(imagecodecs.aec_encode(raw, bitspersample=bits, flags=fl,
                                                       blocksize=bs, rsi=rsi))
                    if not fl & aec.AEC_PAD_RSI:
                        # (the eccodeslib build of libaec does not pad RSIs when
                        # encoding; imagecodecs' build does, and both decoders agree)
                        e2 = aec.encode(raw, bits, fl, bs, rsi)
                        assert enc == e2, ("imagecodecs != libaec", bits, fl, bs, rsi, n)
                else:  # imagecodecs clamps block sizes to 8..64
                    fl &= ~aec.AEC_PAD_RSI
                    enc = aec.encode(raw, bits, fl, bs, rsi)
                st, _, full = aec.decode(enc, bits, fl, bs, rsi, n)
                assert st == 0 and len(full) == len(raw), (bits, fl, bs, rsi, st)
                mask = (1 << bits) - 1
                got = from_raw(full, bits, fl) & np.uint64(mask)
                want = (x & mask).astype(np.uint64)
                assert np.array_equal(got, want), f"libaec roundtrip mismatch {bits} {fl} {kind}"
                ml = min_len_for(enc, bits, fl, bs, rsi, n, full)
                records.append((bits, ki, fl, bs, rsi, n, enc, ml, pack_msb(got, bits)))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(b"GIKAEC01")
        f.write(struct.pack("<I", len(records)))
        for bits, ki, fl, bs, rsi, n, enc, ml, packed in records:
            f.write(struct.pack("<BBHHHIII", bits, ki, fl, bs, rsi, n, len(enc), ml))
            f.write(enc)
            f.write(packed)
    print(f"{len(records)} records, {os.path.getsize(args.out)} bytes -> {args.out}")


if __name__ == "__main__":
    main()
