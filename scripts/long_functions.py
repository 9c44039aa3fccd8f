#!/usr/bin/env python3
"""List every Rust `fn` longer than a limit (default 120 lines).

A function's length runs from its `fn` line to the closing brace at the
same indentation (inclusive). Functions inside a `#[cfg(test)]` module are
reported in a separate section. The scan is textual: it expects rustfmt'd
code (one `fn` per line start, the closing brace alone at the `fn` line's
indentation), which is what this workspace has.

Usage: scripts/long_functions.py [--limit N] [DIR ...]
(default dirs: core/src native-cli/src wasm/src, relative to the repo root)
"""

import argparse
import os
import re
import sys

FN_RE = re.compile(
    r"^(?P<indent>\s*)(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?"
    r"(?:unsafe\s+)?(?:extern\s+\"[^\"]*\"\s+)?fn\s+(?P<name>\w+)"
)
MOD_RE = re.compile(r"^(?P<indent>\s*)(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")


def scan(path):
    """Yield (name, start, end, in_test) for each fn body in one file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    test_mod_ends = []  # (indent, closing line index) of open #[cfg(test)] mods
    pending_cfg_test = False
    i = 0
    n = len(lines)
    results = []
    while i < n:
        line = lines[i]
        stripped = line.strip()
        # leave test modules whose closing brace we passed
        test_mod_ends = [(ind, end) for ind, end in test_mod_ends if end >= i]
        if stripped.startswith("#[cfg(test)]"):
            pending_cfg_test = True
        elif stripped.startswith("#[") or stripped.startswith("//") or not stripped:
            pass
        else:
            m = MOD_RE.match(line)
            if m and pending_cfg_test:
                end = closing(lines, i, m.group("indent"))
                if end is not None:
                    test_mod_ends.append((m.group("indent"), end))
            pending_cfg_test = False
        m = FN_RE.match(line)
        if m:
            # a declaration without body (trait item) ends with `;` before any `{`
            end = closing(lines, i, m.group("indent"))
            if end is not None:
                results.append((m.group("name"), i + 1, end + 1, bool(test_mod_ends)))
        i += 1
    return results


def closing(lines, start, indent):
    """Index of the line closing the item opened at `start`, or None."""
    # the body opens on the signature line or a later one; a `;` first means no body
    j = start
    while j < len(lines):
        s = lines[j].rstrip()
        if s.endswith("{") or s.endswith("{}") or "{" in s and s.endswith("}"):
            break
        if s.endswith(";"):
            return None
        j += 1
    else:
        return None
    s = lines[j].rstrip()
    if s.endswith("}") and lines[j].startswith(indent) and j >= start:
        # one-line body like `fn f() {}` or `fn f() { x }`
        if s.count("{") == s.count("}"):
            return j
    close = indent + "}"
    for k in range(j + 1, len(lines)):
        if lines[k].rstrip() == close or lines[k].startswith(close + " "):
            return k
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=120)
    ap.add_argument("dirs", nargs="*")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dirs = args.dirs or [
        os.path.join(root, d) for d in ("core/src", "native-cli/src", "wasm/src")
    ]
    found, tests = [], []
    for d in dirs:
        for dirpath, _, files in os.walk(d):
            for name in sorted(files):
                if not name.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                for fname, start, end, in_test in scan(path):
                    length = end - start + 1
                    if length > args.limit:
                        (tests if in_test else found).append((length, rel, start, fname))
    for title, rows in (("functions", found), ("test-module functions", tests)):
        print(f"{title} over {args.limit} lines: {len(rows)}")
        for length, rel, start, fname in sorted(rows, reverse=True):
            print(f"  {length:5d}  {rel}:{start}  {fname}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
