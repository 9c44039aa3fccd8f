"""Read ecCodes' own definition files out of the pip `eccodeslib` wheel.

The wheel does not ship a `definitions/` directory: ecCodes is built with
its definitions compiled into `libeccodes_memfs.so` (a "MEMFS"; the library
reports `codes_definition_path() == "/MEMFS/definitions"`). That library
exports `codes_memfs_open(path) -> FILE*`, the very function ecCodes uses
to read a definition file, and keeps every path as a plain string in its
read-only data. So we list the paths from the ELF image and read each file
through that function with ctypes: byte-for-byte what ecCodes parses.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import re

PREFIX = "/MEMFS/definitions/"


def memfs_library() -> str:
    """Path of libeccodes_memfs.so inside the installed eccodeslib package."""
    import eccodeslib  # noqa: PLC0415  (installed with `pip install eccodeslib`)

    base = os.path.dirname(eccodeslib.__file__)
    hits = glob.glob(os.path.join(base, "lib*", "libeccodes_memfs.so"))
    if not hits:
        raise SystemExit(f"libeccodes_memfs.so not found under {base}")
    return hits[0]


class Definitions:
    """All definition files of the installed ecCodes, by relative path."""

    def __init__(self, lib_path: str | None = None):
        self.lib_path = lib_path or memfs_library()
        lib = ctypes.CDLL(self.lib_path)
        lib.codes_memfs_open.restype = ctypes.c_void_p
        lib.codes_memfs_open.argtypes = [ctypes.c_char_p]
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.fread.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
        libc.fread.restype = ctypes.c_size_t
        libc.fclose.argtypes = [ctypes.c_void_p]
        with open(self.lib_path, "rb") as f:
            image = f.read()
        paths = sorted({m.group(0).decode() for m in re.finditer(rb"/MEMFS/definitions/[A-Za-z0-9_./+\-]+", image)})
        self.files: dict[str, str] = {}
        buf = ctypes.create_string_buffer(1 << 16)
        for p in paths:
            fp = lib.codes_memfs_open(p.encode())
            if not fp:
                continue
            chunks = []
            while True:
                n = libc.fread(buf, 1, len(buf), fp)
                if n == 0:
                    break
                chunks.append(buf.raw[:n])
            libc.fclose(fp)
            self.files[p[len(PREFIX):]] = b"".join(chunks).decode("utf-8", "replace")

    def get(self, rel: str) -> str | None:
        return self.files.get(rel)

    def __getitem__(self, rel: str) -> str:
        return self.files[rel]

    def dirs_under(self, rel_dir: str) -> list[str]:
        """Immediate sub-directories of `rel_dir` that hold files."""
        pre = rel_dir.rstrip("/") + "/"
        out = set()
        for p in self.files:
            if p.startswith(pre):
                rest = p[len(pre):]
                if "/" in rest:
                    out.add(rest.split("/", 1)[0])
        return sorted(out)
