#!/usr/bin/python3
"""check_torch.py DIR - compares kurc's forward outputs, loss and parameter
gradients (written by torch_dump into DIR/*.txt) with the same models built
in PyTorch, in float64, from the same float32 weights and inputs.

Conventions reproduced here (kurc follows Kur's Keras backend):
  - channels last: inputs (N, H, W, C) and (N, L, C); conv kernels
    (kh, kw, cin, cout) and (k, cin, cout), so PyTorch gets x permuted to
    NCHW and the kernel to (cout, cin, kh, kw);
  - 'same' borders pad TensorFlow's way: out = ceil(in / s), total padding
    max((out - 1) s + k - in, 0), the odd cell after;
  - flatten is row-major over (H, W, C);
  - dense is x @ W + b over the last axis, W (in, out);
  - categorical_crossentropy (Keras 2.0): p = y / sum(y) over the last axis,
    clipped to [1e-7, 1 - 1e-7] (float32 values), loss = -sum(t log p) per
    row, mean over rows and batch;
  - mean_squared_error: mean over the last axis, then over rows and batch.

Measures, per quantity (output, loss, each parameter gradient):
  rel  = max |kurc - torch| / max(|kurc|, |torch|, 1e-6) over the elements
         (relative, floor 1e-6);
  norm = max |kurc - torch| / max |torch|   (relative to the tensor's scale).
An element passes when its relative error is at most TOL = 1e-5, or when
its absolute error is at most NORM_TOL = 1e-6 of the tensor's largest
magnitude; the second clause is for values that are small because their
terms cancel (an output of 2e-3 summed from terms of 0.3): kurc computes in
float32, and the rounding of those terms (about 6e-8 relative to them) is
then a large fraction of the small result, which no float32 computation
avoids.  The elements that pass only by the second clause are counted
("by scale") and printed.
"""
import os
import sys

import torch
import torch.nn.functional as F

TOL = 1e-5
FLOOR = 1e-6
NORM_TOL = 1e-6

torch.set_default_dtype(torch.float64)


def parse(path):
    rec = {"params": [], "grads": [], "input": {}, "truth": {}, "output": {}, "lossfn": {}}
    with open(path) as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        tok = lines[i].split()
        i += 1
        if not tok:
            continue
        if tok[0] == "model":
            rec["model"] = tok[1]
        elif tok[0] == "batch":
            rec["batch"] = int(tok[1])
        elif tok[0] == "lossfn":
            rec["lossfn"][tok[1]] = tok[2]
        elif tok[0] == "loss":
            rec["loss"] = float(tok[1])
        elif tok[0] == "tensor":
            kind, name, nd = tok[1], tok[2], int(tok[3])
            dims = [int(d) for d in tok[4:4 + nd]]
            vals = [float(v) for v in lines[i].split()]
            i += 1
            t = torch.tensor(vals, dtype=torch.float64).reshape(dims)
            if kind in ("param", "grad"):
                rec[kind + "s"].append((name, t))
            else:
                rec[kind][name] = t
        else:
            raise ValueError("%s: unknown record %r" % (path, tok[0]))
    return rec


def tf_padding(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv2d(x, w, b, stride, same):
    xt = x.permute(0, 3, 1, 2)
    if same:
        ph = tf_padding(x.shape[1], w.shape[0], stride)
        pw = tf_padding(x.shape[2], w.shape[1], stride)
        xt = F.pad(xt, (pw[0], pw[1], ph[0], ph[1]))
    y = F.conv2d(xt, w.permute(3, 2, 0, 1), b, stride=stride)
    return y.permute(0, 2, 3, 1)


def conv1d(x, w, b, stride, same):
    xt = x.permute(0, 2, 1)
    if same:
        xt = F.pad(xt, tf_padding(x.shape[1], w.shape[0], stride))
    y = F.conv1d(xt, w.permute(2, 1, 0), b, stride=stride)
    return y.permute(0, 2, 1)


def dense(x, w, b):
    return x @ w + b


def model_dense(p, x):
    h = torch.relu(dense(x, p[0], p[1]))
    return torch.softmax(dense(h, p[2], p[3]), dim=-1)


def conv_model(stride, same):
    def run(p, x):
        h = torch.relu(conv2d(x, p[0], p[1], stride, same))
        h = h.reshape(h.shape[0], -1)
        return torch.softmax(dense(h, p[2], p[3]), dim=-1)
    return run


def model_conv1d(p, x):
    h = torch.tanh(conv1d(x, p[0], p[1], 2, True))
    return dense(h, p[2], p[3])


MODELS = {
    "dense": model_dense,
    "conv2d_same": conv_model(1, True),
    "conv2d_valid_stride2": conv_model(2, False),
    "conv1d_mse": model_conv1d,
}

# Keras clips with float32 constants.
EPS = torch.tensor(1e-7, dtype=torch.float32).item()
ONE_MINUS_EPS = torch.tensor(1 - 1e-7, dtype=torch.float32).item()


def loss_fn(kind, y, t):
    if kind == "categorical_crossentropy":
        p = y / y.sum(dim=-1, keepdim=True)
        p = torch.clamp(p, EPS, ONE_MINUS_EPS)
        return (-(t * torch.log(p)).sum(dim=-1)).mean()
    if kind == "mean_squared_error":
        return ((y - t) ** 2).mean(dim=-1).mean()
    raise ValueError("unknown loss " + kind)


def compare(a, b):
    """rel (floor FLOOR), norm, and the elements that pass only by scale
    and those that fail (see the module's comment); b is the reference."""
    a = a.reshape(-1)
    b = b.reshape(-1)
    diff = (a - b).abs()
    scale = torch.maximum(torch.maximum(a.abs(), b.abs()), torch.full_like(a, FLOOR))
    rel = diff / scale
    big = max(b.abs().max().item(), FLOOR)
    by_scale = (rel > TOL) & (diff <= NORM_TOL * big)
    failed = (rel > TOL) & (diff > NORM_TOL * big)
    notes = ["kurc %.9g torch %.9g (max |torch| %.3g)" % (a[i].item(), b[i].item(), big)
             for i in torch.nonzero(by_scale | failed).reshape(-1).tolist()]
    return rel.max().item(), diff.max().item() / big, int(by_scale.sum()), int(failed.sum()), notes


def check(path):
    rec = parse(path)
    name = rec["model"]
    params = [t.clone().requires_grad_(True) for _, t in rec["params"]]
    (xname, x), = rec["input"].items()
    (yname, kind), = rec["lossfn"].items()
    y = MODELS[name](params, x)
    loss = loss_fn(kind, y, rec["truth"][yname])
    loss.backward()

    rows = [("output " + yname, *compare(rec["output"][yname], y.detach()))]
    rows.append(("loss", *compare(torch.tensor([rec["loss"]]), loss.detach().reshape(1))))
    for (pname, g), q in zip(rec["grads"], params):
        rows.append(("grad " + pname, *compare(g, q.grad)))
    ok = True
    print("%s (%s, batch %d):" % (name, kind, rec["batch"]))
    for what, rel, norm, by_scale, failed, notes in rows:
        ok = ok and failed == 0
        print("  %-30s rel %.2e  norm %.2e  %s" %
              (what, rel, norm, "FAIL" if failed else
               "ok" if not by_scale else "ok (%d by scale)" % by_scale))
        for n in notes:
            print("      " + n)
    return ok


def main():
    if len(sys.argv) != 2:
        print("usage: check_torch.py DIR", file=sys.stderr)
        return 2
    d = sys.argv[1]
    files = sorted(f for f in os.listdir(d) if f.endswith(".txt"))
    if len(files) != len(MODELS):
        print("expected %d dumps in %s, found %d" % (len(MODELS), d, len(files)), file=sys.stderr)
        return 1
    print("PyTorch %s, float64 reference; tolerance %.0e relative (floor %.0e), or %.0e of "
          "the tensor's scale" % (torch.__version__, TOL, FLOOR, NORM_TOL))
    ok = True
    for f in files:
        ok = check(os.path.join(d, f)) and ok
    print("all within tolerance" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
