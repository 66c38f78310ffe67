#!/usr/bin/env python3
"""Exit 0 when two negsim results files hold identical tables.

Compares the jobs, outcomes, rounds and transcripts datasets byte for byte
(dtype, shape and every value, NaN included), which is what "a resumed run
equals an uninterrupted run" means. Faster than h5diff on millions of rows.
"""
import sys

import h5py
import numpy as np

TABLES = ("jobs", "outcomes", "rounds", "transcripts")


def main(a_path, b_path):
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        for t in TABLES:
            da, db = a[t], b[t]
            if da.dtype != db.dtype or da.shape != db.shape:
                print(f"{t}: dtype/shape differ: {da.dtype}{da.shape} vs {db.dtype}{db.shape}",
                      file=sys.stderr)
                return 1
            step = 1 << 18
            for lo in range(0, da.shape[0], step):
                xa, xb = da[lo:lo + step], db[lo:lo + step]
                if xa.tobytes() != xb.tobytes():
                    bad = np.nonzero(xa != xb)[0]
                    row = lo + int(bad[0]) if len(bad) else lo
                    print(f"{t}: first difference at row {row}", file=sys.stderr)
                    return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: same_tables.py A.h5 B.h5", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
