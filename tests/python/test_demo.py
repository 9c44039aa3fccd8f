#!/usr/bin/env python3
"""`gik demo`, the README's main-job command, as a new user runs it: it must
succeed on the bundled data, write every member's state for both cycles and
both layouts, and print three lines of Python that work as printed."""
import os
import pickle
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gik_testlib import PY, gik, rm, tmpdir  # noqa: E402


def main():
    work = tmpdir("demo")
    try:
        r = gik("demo", "--out", work)
        # the indented Python lines it prints after "Load one in Python"
        lines = [ln[4:] for ln in r.stdout.split("Load one in Python", 1)[1].splitlines() if ln.startswith("    ")]
        assert len(lines) == 3 and lines[0] == "import pickle", r.stdout
        out = subprocess.run([PY, "-c", "\n".join(lines)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert re.match(r"2025-01-01 06:00:00 \(\d+, \d+\) [0-9.]+", out.stdout), out.stdout
        for d, shape_rank in [("states-49r1", 2), ("states-50r1", 2), ("states-50r1-aifs", 2)]:
            files = sorted(os.listdir(os.path.join(work, d)))
            assert files == [f"input_state_member_{m:03d}.pkl" for m in range(4)], (d, files)
            for f in files:
                with open(os.path.join(work, d, f), "rb") as fh:
                    s = pickle.load(fh)
                assert len(s["fields"]) == 92 and s["fields"]["2t"].ndim == shape_rank, (d, f)
        print(f"gik demo: 12 states in 3 sets; the printed Python prints {out.stdout.strip()!r}")
    finally:
        rm(work)
    print("test_demo: ok")


if __name__ == "__main__":
    main()
