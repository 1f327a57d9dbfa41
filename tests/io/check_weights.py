"""check_weights.py DIR - h5py reads io_fixture's weights.h5 and ckpt.h5:
group and dataset names, shapes, float32 values ((k + 1) + i / 64 for
parameter k, plus 1000 (s + 1) in optimizer state s), the root attributes
as str, and the checkpoint's optimizer, training and Kurfile parts."""
import math
import os
import sys

import h5py
import numpy as np

PARAMS = [
    ("conv1", "kernel", (3, 3, 1, 2)),
    ("conv1", "bias", (2,)),
    ("..dense.0", "kernel", (18, 4)),
    ("..dense.0", "bias", (4,)),
    ("norm", "gamma", ()),
]


def expected(k, shape, extra=0.0):
    n = int(np.prod(shape)) if shape else 1
    v = (np.float32(k + 1) + np.arange(n, dtype=np.float32) / np.float32(64)
         + np.float32(extra))
    return v.astype(np.float32).reshape(shape)


def check_params(group, extra, label):
    layers = sorted({layer for layer, _, _ in PARAMS})
    assert sorted(group.keys()) == layers, (label, sorted(group.keys()))
    for k, (layer, weight, shape) in enumerate(PARAMS):
        d = group[layer][weight]
        assert d.shape == shape, (label, layer, weight, d.shape, shape)
        assert d.dtype == np.dtype("<f4"), (label, d.dtype)
        got = d[()]
        want = expected(k, shape, extra)
        assert np.array_equal(got, want), (label, layer, weight, got, want)
    for layer in layers:
        names = sorted(w for l, w, _ in PARAMS if l == layer)
        assert sorted(group[layer].keys()) == names, (label, layer)


def main(d):
    with h5py.File(os.path.join(d, "weights.h5"), "r") as f:
        assert f.attrs["format"] == "kurc-weights", f.attrs["format"]
        assert isinstance(f.attrs["kurc_version"], str)
        assert int(f.attrs["format_version"]) == 1
        check_params(f, 0.0, "weights")

    with h5py.File(os.path.join(d, "ckpt.h5"), "r") as f:
        assert f.attrs["format"] == "kurc-checkpoint"
        params = {k: f[k] for k in f.keys() if k not in ("optimizer", "training", "kurfile")}
        assert sorted(f.keys()) == sorted(list(params) + ["optimizer", "training", "kurfile"])
        check_params(params, 0.0, "checkpoint")
        opt = f["optimizer"]
        assert opt.attrs["name"] == "adam", opt.attrs["name"]
        assert int(opt.attrs["iterations"]) == 7
        assert sorted(opt.keys()) == ["state0", "state1"]
        for s in range(2):
            check_params(opt["state%d" % s], 1000.0 * (s + 1), "state%d" % s)
        t = f["training"].attrs
        assert [int(t[k]) for k in ("epoch", "batch", "batches", "samples")] == [3, 5, 65, 2080]
        assert list(t["clocks"]) == [10.5, 8.25, 2.0, 0.5]
        assert t["best_train_loss"] == 0.25 and math.isinf(t["best_valid_loss"])
        assert int(t["seed"]) == 42
        assert f["kurfile"].asstr()[()] == "model:\n  - dense: 10\n"
    print("weights.h5 and ckpt.h5: ok")


if __name__ == "__main__":
    main(sys.argv[1])
