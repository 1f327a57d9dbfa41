"""check_destination.py DIR - python3 reads io_fixture's evaluation
results back: out.* (with truth) and result_only.* (without) as pickle,
HDF5 and npz, named.bin (format given, not implied) and wide.* (a
dimension of 300).  Arrays must be
float32 of the right shapes with the values of io_fixture's formulas."""
import io
import os
import pickle
import pickletools
import sys
import zipfile

import h5py
import numpy as np

RESULT = {
    "labels": (np.arange(6, dtype=np.float32) / 2 - 1).reshape(3, 2),
    "out_char": (np.arange(12, dtype=np.float32) / 4).reshape(3, 2, 2),
}
TRUTH = {"labels": (100 + np.arange(6, dtype=np.float32)).reshape(3, 2)}


def same(got, want, label):
    assert sorted(got) == sorted(want), (label, sorted(got))
    for k, v in want.items():
        g = got[k]
        assert isinstance(g, np.ndarray), (label, k, type(g))
        assert g.dtype == np.float32 and g.shape == v.shape, (label, k, g.dtype, g.shape)
        assert np.array_equal(g, v), (label, k, g, v)


def check_pickle(path, truth):
    with open(path, "rb") as fh:
        raw = fh.read()
    pickletools.dis(raw, out=io.StringIO())  # every opcode is well formed
    data = pickle.loads(raw)
    assert sorted(data) == (["result", "truth"] if truth else ["result"]), sorted(data)
    same(data["result"], RESULT, path)
    if truth:
        same(data["truth"], TRUTH, path)
    # what numpy itself pickles reads back the same
    again = pickle.loads(pickle.dumps(data, protocol=4))
    same(again["result"], RESULT, path)


def check_h5(path, truth):
    with h5py.File(path, "r") as f:
        assert sorted(f.keys()) == (["result", "truth"] if truth else ["result"])
        same({k: f["result"][k][()] for k in f["result"]}, RESULT, path)
        if truth:
            same({k: f["truth"][k][()] for k in f["truth"]}, TRUTH, path)


def check_npz(path, truth):
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None  # every CRC matches
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
    with np.load(path) as npz:
        names = sorted(npz.files)
        want = sorted(["result/" + k for k in RESULT] + (["truth/labels"] if truth else []))
        assert names == want, names
        same({k[len("result/"):]: npz[k] for k in names if k.startswith("result/")}, RESULT, path)
        if truth:
            same({k[len("truth/"):]: npz[k] for k in names if k.startswith("truth/")}, TRUTH, path)


def main(d):
    for stem, truth in (("out", True), ("result_only", False)):
        check_pickle(os.path.join(d, stem + ".pkl"), truth)
        check_h5(os.path.join(d, stem + ".h5"), truth)
        check_npz(os.path.join(d, stem + ".npz"), truth)
    check_pickle(os.path.join(d, "named.bin"), True)
    wide = {"wide": (np.arange(600, dtype=np.float32) / 8).reshape(2, 300)}
    with open(os.path.join(d, "wide.pkl"), "rb") as fh:
        same(pickle.load(fh)["result"], wide, "wide.pkl")
    with h5py.File(os.path.join(d, "wide.h5"), "r") as f:
        same({"wide": f["result/wide"][()]}, wide, "wide.h5")
    with np.load(os.path.join(d, "wide.npz")) as npz:
        same({"wide": npz["result/wide"]}, wide, "wide.npz")
    assert not [n for n in os.listdir(d) if n.endswith(".tmp")]
    print("pickle, HDF5 and npz destinations: ok")


if __name__ == "__main__":
    main(sys.argv[1])
