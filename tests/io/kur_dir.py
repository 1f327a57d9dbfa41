#!/usr/bin/python3
"""kur_dir.py - an independent writer and reader of Kur's weight
directories (one IDX file per tensor, LAYER+WEIGHT.kur), for
tests/io/kur_dir.sh.  It restates Kur's rules (kur/utils/idx.py, the Keras
and PyTorch backends' save) with struct and numpy; kurc's weights come and
go as kurc's HDF5 weight files (h5py).

  kur_dir.py data FILE                 samples for the test's model (jsonl)
  kur_dir.py write SHAPES REF FLAVOUR:DIR... [parallel=CHILD:PARALLEL...]
        random weights with the names and shapes of the kurc weight file
        SHAPES: written to REF (kurc's HDF5) and to each DIR in FLAVOUR's
        naming and layouts (tf, tf1: Keras 1, theano, torch); CHILD is a layer of the
        `parallel` PARALLEL (Kur's Keras named its layers PARALLEL_CHILD_I_J)
  kur_dir.py read DIR WEIGHTS          DIR (Keras/TF naming, as kurc writes
        it) holds exactly the tensors of the kurc weight file WEIGHTS
  kur_dir.py same A B                  two evaluation outputs (HDF5) are equal
  kur_dir.py differ A B                they are not
  kur_dir.py break MODE DIR            damages DIR (see breakers below)
"""
import gzip
import json
import os
import re
import struct
import sys

import h5py
import numpy as np

IDX_TYPES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
IDX_DTYPES = {v: ">" + k for k, v in IDX_TYPES.items()}


def idx_bytes(array, kind="f4"):
    """An IDX image: 00 00 TYPE NDIM, big-endian uint32 dims, big-endian data."""
    array = np.asarray(array)
    head = bytes([0, 0, IDX_TYPES[kind], array.ndim])
    head += b"".join(struct.pack(">I", d) for d in array.shape)
    return head + array.astype(">" + kind).tobytes()


def idx_write(path, array, kind="f4", gz=False):
    data = idx_bytes(array, kind)
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)


def idx_read(path):
    """(type byte, array) of an IDX file, plain or gzip (by its magic)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    assert data[0] == 0 and data[1] == 0, path
    kind, ndim = data[2], data[3]
    shape = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    dtype = np.dtype(IDX_DTYPES[kind])
    count = int(np.prod(shape)) if ndim else 1
    body = data[4 + 4 * ndim:]
    assert len(body) == count * dtype.itemsize, (path, len(body))
    return kind, np.frombuffer(body, dtype=dtype).reshape(shape)


def kurc_weights(path):
    """{(layer, weight): float32 array} of a kurc weight file."""
    out = {}
    with h5py.File(path, "r") as f:
        for layer in f:
            for weight in f[layer]:
                out[(layer, weight)] = f[layer][weight][()]
    return out


def write_kurc(path, weights):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "kurc-weights"
        f.attrs["format_version"] = np.int32(1)
        for (layer, weight), value in weights.items():
            f.require_group(layer)[weight] = value.astype(np.float32)


def keras_layer(layer, weight):
    """Kur's Keras layer and weight for a kurc parameter: bidirectional
    directions are layers NAME_fwd/NAME_rev, a dense stack's hidden layers
    NAME_hiddenI."""
    m = re.fullmatch(r"(.*)_(fwd|rev)", weight)
    if m:
        return layer + "_" + m.group(2), m.group(1)
    m = re.fullmatch(r"(kernel|bias)_(\d+)", weight)
    if m:
        return "%s_hidden%s" % (layer, m.group(2)), m.group(1)
    return layer, weight


# kurc layer -> the `parallel` it is the child of (`write ... parallel=C:P`)
PARALLEL = {}


def keras_file_layer(layer, weight, weights):
    """keras_layer, but a child C of a parallel P is Kur's Keras layer
    P_C_0_J, J counting the child's layers (a dense stack's hidden ones
    first)."""
    kl, role = keras_layer(layer, weight)
    if layer not in PARALLEL:
        return kl, role
    hidden = sum(1 for (l, w) in weights if l == layer and re.fullmatch(r"kernel_\d+", w))
    j = int(kl[len(layer) + 7:]) if kl.startswith(layer + "_hidden") else hidden
    return "%s_%s_0_%d" % (PARALLEL[layer], layer, j), role


def kinds(weights):
    """kurc layer -> dense, conv, bn, emb or rnn (with its gate count)."""
    out = {}
    for (layer, weight), v in weights.items():
        if weight.startswith("recurrent_kernel"):
            out[layer] = ("rnn", v.shape[1] // v.shape[0])
        elif weight == "gamma":
            out[layer] = ("bn", 0)
        elif weight == "embeddings":
            out[layer] = ("emb", 0)
        elif weight == "kernel" and v.ndim >= 3:
            out[layer] = ("conv", 0)
        else:
            out.setdefault(layer, ("dense", 0))
    return out


def draw(shapes, torch):
    """Random weights of the given names and shapes (REF), and for PyTorch
    each recurrent bias as the two PyTorch adds: {(layer, weight): (ih, hh)}."""
    rng = np.random.default_rng(2024)
    kind = kinds(shapes)
    ref, split = {}, {}
    for (layer, weight), v in sorted(shapes.items()):
        if weight == "embeddings" or weight == "beta":
            value = rng.integers(-3, 4, size=v.shape).astype(np.float32)  # int16 / int8 on disk
        elif weight == "gamma":
            value = rng.integers(1, 4, size=v.shape).astype(np.float32)  # uint8 on disk
        else:
            value = (rng.normal(size=v.shape) * 0.5).astype(np.float32)
        if torch and kind[layer][0] == "rnn" and weight.startswith("bias"):
            ih = (rng.normal(size=v.shape) * 0.5).astype(np.float32)
            hh = (rng.normal(size=v.shape) * 0.5).astype(np.float32)
            split[(layer, weight)] = (ih, hh)
            value = ih + hh  # float32 + float32: what kurc's sum must give
        ref[(layer, weight)] = value
    return ref, split


def write_tf(d, ref):
    """Keras on TensorFlow: LAYER+LAYER_WEIGHT:0.kur, Keras layouts; batch
    norm's moving statistics too (kurc ignores them)."""
    kind = kinds(ref)
    rng = np.random.default_rng(5)
    for (layer, weight), v in ref.items():
        kl, role = keras_file_layer(layer, weight, ref)
        idx_write(os.path.join(d, "%s+%s_%s:0.kur" % (kl, kl, role)), v)
        if kind[layer][0] == "bn" and weight == "gamma":
            for stat in ("moving_mean", "moving_variance"):
                idx_write(os.path.join(d, "%s+%s_%s:0.kur" % (kl, kl, stat)),
                          rng.uniform(0.5, 2, size=v.shape))


KERAS1 = {"kernel": "W", "embeddings": "W", "recurrent_kernel": "U", "bias": "b"}


def write_tf1(d, ref):
    """Keras 1 on TensorFlow: LAYER+LAYER_W:0.kur (W kernels and embedding
    tables, U recurrent kernels, b biases, batch norm's running_mean and
    running_std)."""
    kind = kinds(ref)
    for (layer, weight), v in ref.items():
        kl, role = keras_file_layer(layer, weight, ref)
        idx_write(os.path.join(d, "%s+%s_%s:0.kur" % (kl, kl, KERAS1.get(role, role))), v)
        if kind[layer][0] == "bn" and weight == "gamma":
            for stat in ("running_mean", "running_std"):
                idx_write(os.path.join(d, "%s+%s_%s:0.kur" % (kl, kl, stat)), np.ones(v.shape))


def write_theano(d, ref):
    """Keras on Theano: LAYER+WEIGHT.kur (or LAYER+LAYER_WEIGHT.kur, as
    Keras with name scopes wrote it), convolution kernels flipped in every
    spatial axis; some files gzip, float64, int16 and int8, some in a
    subdirectory."""
    kind = kinds(ref)
    os.makedirs(os.path.join(d, "sub"), exist_ok=True)
    for i, ((layer, weight), v) in enumerate(sorted(ref.items())):
        kl, role = keras_file_layer(layer, weight, ref)
        name = "%s+%s.kur" % (kl, role) if i % 2 else "%s+%s_%s.kur" % (kl, kl, role)
        if kind[layer][0] == "conv" and role == "kernel":
            spatial = v.ndim - 2
            v = v[(slice(None, None, -1),) * spatial]
        fmt = {"embeddings": "i2", "beta": "i1"}.get(role, "f8" if i % 3 == 0 else "f4")
        where = os.path.join(d, "sub") if i % 4 == 1 else d
        idx_write(os.path.join(where, name), v, fmt, gz=i % 3 == 1)


def torch_name(name):
    return "layer_" + re.sub(r"^[^a-zA-Z_]|[^a-zA-Z0-9_]", "_", name)


def write_torch(d, ref, split):
    """Kur's PyTorch backend: layer_NAME+STATE_DICT_NAME.kur, (out, in) and
    (cout, cin, k...) layouts, two biases per recurrent layer."""
    kind = kinds(ref)
    rng = np.random.default_rng(6)
    for (layer, weight), v in ref.items():
        kl, role = keras_layer(layer, weight)
        k = kind[layer][0] if not kl.startswith(layer + "_hidden") else "dense"
        tl = torch_name(layer if kl in (layer + "_fwd", layer + "_rev") else kl)
        out = {}
        if k == "dense":
            out = {"weight": v.T} if role == "kernel" else {"bias": v}
        elif k == "conv":
            n = v.ndim - 2
            out = {"weight": np.transpose(v, (n + 1, n) + tuple(range(n)))} if role == "kernel" \
                else {"bias": v}
        elif k == "bn":
            if role == "gamma":
                out = {"weight": (v, "u1"), "running_mean": rng.normal(size=v.shape),
                       "running_var": rng.uniform(0.5, 2, size=v.shape),
                       "num_batches_tracked": (np.array(7), "i4")}
            else:
                out = {"bias": v}
        elif k == "emb":
            out = {"weight": v}
        else:
            rev = "_reverse" if kl.endswith("_rev") else ""
            if role == "bias":
                ih, hh = split[(layer, weight)]
                out = {"bias_ih_l0" + rev: ih, "bias_hh_l0" + rev: hh}
            else:
                out = {("weight_ih_l0" if role == "kernel" else "weight_hh_l0") + rev: v.T}
        for name, value in out.items():
            value, fmt = value if isinstance(value, tuple) else (value, "f4")
            idx_write(os.path.join(d, "%s+%s.kur" % (tl, name)), value, fmt)


def cmd_write(shapes_path, ref_path, *targets):
    for t in targets:
        if t.startswith("parallel="):
            child, parent = t[9:].split(":")
            PARALLEL[child] = parent
    targets = [t for t in targets if not t.startswith("parallel=")]
    shapes = kurc_weights(shapes_path)
    torch = any(t.startswith("torch:") for t in targets)
    ref, split = draw(shapes, torch)
    write_kurc(ref_path, ref)
    for target in targets:
        flavour, d = target.split(":", 1)
        os.makedirs(d, exist_ok=True)
        if flavour == "tf":
            write_tf(d, ref)
        elif flavour == "tf1":
            write_tf1(d, ref)
        elif flavour == "theano":
            write_theano(d, ref)
        else:
            write_torch(d, ref, split)


def cmd_read(d, weights_path):
    """The directory kurc wrote holds exactly the tensors of WEIGHTS, in
    Keras/TF naming, float32 IDX, bit for bit, and batch norm's moving mean
    (zeros) and variance (ones)."""
    want = kurc_weights(weights_path)
    kind = kinds(want)
    found = {}
    for root, _, files in os.walk(d):
        for name in files:
            m = re.fullmatch(r"(.*?)\+(.*?)\.kur", name)
            assert m, name
            found[m.groups()] = idx_read(os.path.join(root, name))
    expect = set()
    for (layer, weight), v in want.items():
        kl, role = keras_layer(layer, weight)
        key = (kl, "%s_%s:0" % (kl, role))
        expect.add(key)
        kind_byte, got = found[key]
        assert kind_byte == 0x0D, (key, kind_byte)
        got = got.astype(np.float32)
        assert got.shape == v.shape and got.tobytes() == v.tobytes(), (key, got, v)
        if kind[layer][0] == "bn" and weight == "gamma":
            for stat, fill in (("moving_mean", 0), ("moving_variance", 1)):
                skey = (kl, "%s_%s:0" % (kl, stat))
                expect.add(skey)
                assert (found[skey][1] == fill).all() and found[skey][1].shape == v.shape, skey
    assert set(found) == expect, (sorted(set(found) ^ expect))
    print("%s: %d files, equal to %s" % (d, len(found), weights_path))


def outputs(path):
    with h5py.File(path, "r") as f:
        out = {}
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def cmd_same(a, b, equal=True):
    x, y = outputs(a), outputs(b)
    assert x and sorted(x) == sorted(y), (sorted(x), sorted(y))
    same = all(x[k].dtype == y[k].dtype and x[k].tobytes() == y[k].tobytes() for k in x)
    assert same == equal, ("equal" if equal else "different") + " outputs expected"


def breaker(mode, d):
    """Damages the Keras/TF directory d."""
    if mode == "shape":  # y2's kernel (3, 5) written as (5, 3)
        _, v = idx_read(os.path.join(d, "y2+y2_kernel:0.kur"))
        idx_write(os.path.join(d, "y2+y2_kernel:0.kur"), v.T)
    elif mode == "name":
        idx_write(os.path.join(d, "y2+y2_weights:0.kur"), np.zeros(5))
    elif mode == "truncate":
        path = os.path.join(d, "lstm+lstm_kernel:0.kur")
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:-10])
    elif mode == "nan":
        _, v = idx_read(os.path.join(d, "conv+conv_kernel:0.kur"))
        v = v.astype(np.float32).copy()
        v[1, 0, 1, 2] = np.nan
        idx_write(os.path.join(d, "conv+conv_kernel:0.kur"), v)
    elif mode == "missing":
        os.unlink(os.path.join(d, "y2+y2_bias:0.kur"))
    elif mode == "absent":
        for name in os.listdir(d):
            if name.startswith("lstm+"):
                os.unlink(os.path.join(d, name))
    else:
        raise SystemExit("unknown mode " + mode)


def cmd_data(path):
    rng = np.random.default_rng(1)
    with open(path, "w") as f:
        for _ in range(8):
            f.write(json.dumps({
                "img": rng.normal(size=(6, 6, 2)).round(3).tolist(),
                "seq": rng.integers(0, 7, size=5).tolist(),
                "y1": rng.normal(size=5).round(3).tolist(),
                "y2": rng.normal(size=5).round(3).tolist()}) + "\n")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"data": cmd_data, "write": cmd_write, "read": cmd_read, "same": cmd_same,
     "differ": lambda a, b: cmd_same(a, b, False), "break": breaker}[cmd](*args)
