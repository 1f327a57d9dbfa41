"""same_weights.py A B - two kurc weight files hold the same parameters with
bitwise equal float32 values (h5py); exits 1 naming the first difference."""
import sys

import h5py
import numpy as np


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def main():
    a, b = datasets(sys.argv[1]), datasets(sys.argv[2])
    if set(a) != set(b):
        print("different parameters: %s vs %s" % (sorted(a), sorted(b)))
        return 1
    for k in sorted(a):
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.dtype != np.float32 or y.dtype != np.float32 or x.shape != y.shape or \
                x.tobytes() != y.tobytes():
            print("%s differs: %s %s vs %s %s" % (k, x.dtype, x.shape, y.dtype, y.shape))
            return 1
    print("%d parameters, bitwise equal" % len(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
