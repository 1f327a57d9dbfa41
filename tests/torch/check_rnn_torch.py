#!/usr/bin/python3
"""check_rnn_torch.py DIR - compares kurc's recurrent op and CTC loss (dumped
by rnn_dump into DIR) with PyTorch in float64.

Recurrent layers: PyTorch's own nn.GRU puts the reset gate after the
recurrent product (r * (h U_h + b)), where Keras 2.0 (Kur's backend) applied
it before (a_h = x W_h + b_h + (r * h) U_h), and nn.LSTM/GRU have no
hard_sigmoid or relu cells; so the reference is a direct transcription of
the Keras 2.0 equations in torch operations, differentiated by autograd:
    SimpleRNN  h = act(x W + b + h U)
    GRU        z = g(a_z + h U_z), r = g(a_r + h U_r),
               hh = act(a_h + (r h) U_h), h = z h + (1 - z) hh
    LSTM       i, f, o = g(a_. + h U_.), c = f c + i act(a_c + h U_c),
               h = o act(c)
with a = x W + b, g = hard_sigmoid = clip(0.2 x + 0.5, 0, 1), zero initial
states, steps t >= len[n] masked (state kept, output 0), reverse scans
written at the step they belong to.  Checked: the output and the gradients
of J = sum r y w.r.t. x, W, U and b.

CTC: kurc's loss on probabilities p is Keras 2.0's ctc_batch_cost, i.e.
tf.nn.ctc_loss on log(p + 1e-8), which renormalises; the reference is
torch.nn.functional.ctc_loss(log_softmax(log(p + 1e-8)), blank = C - 1
(warp: 0, labels + 1), reduction='none'), and the gradient of the sum of
the losses w.r.t. p by autograd.

Tolerance (as check_torch.py): an element passes when its relative error
|kurc - torch| / max(|kurc|, |torch|, 1e-6) is at most 1e-5, or its
absolute error is at most 1e-6 of the tensor's largest magnitude (values
that are small because their terms cancel; kurc computes in float32).
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
    rec = {"tensors": {}}
    with open(path) as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        tok = lines[i].split()
        i += 1
        if not tok:
            continue
        if tok[0] == "case":
            rec["kind"], rec["name"] = tok[1], tok[2]
        elif tok[0] == "tensor":
            nd = int(tok[2])
            dims = [int(d) for d in tok[3:3 + nd]]
            vals = [float(v) for v in lines[i].split()]
            i += 1
            rec["tensors"][tok[1]] = torch.tensor(vals, dtype=torch.float64).reshape(dims)
        else:
            rec[tok[0]] = tok[1]
    return rec


ACTS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0),
    "linear": lambda x: x,
}


def keras_rnn(cell, act, gate, x, w, u, b, lens, reverse, sequence):
    B, T, _ = x.shape
    H = u.shape[0]
    h = torch.zeros(B, H)
    c = torch.zeros(B, H)
    ys = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        valid = (torch.full((B,), float(t)) < lens).unsqueeze(1) if lens is not None \
            else torch.ones(B, 1, dtype=torch.bool)
        a = x[:, t] @ w + b
        cn = c
        if cell == "rnn":
            hn = act(a + h @ u)
        elif cell == "gru":
            zr = a[:, :2 * H] + h @ u[:, :2 * H]
            z, r = gate(zr[:, :H]), gate(zr[:, H:])
            hh = act(a[:, 2 * H:] + (r * h) @ u[:, 2 * H:])
            hn = z * h + (1 - z) * hh
        else:
            g = a + h @ u
            i, f = gate(g[:, :H]), gate(g[:, H:2 * H])
            cc, o = act(g[:, 2 * H:3 * H]), gate(g[:, 3 * H:])
            cn = f * c + i * cc
            hn = o * act(cn)
        h = torch.where(valid, hn, h)
        c = torch.where(valid, cn, c)
        ys[t] = torch.where(valid, hn, torch.zeros_like(hn))
    return torch.stack(ys, 1) if sequence else h


def compare(a, b):
    a = a.reshape(-1)
    b = b.reshape(-1)
    finite = torch.isfinite(b)
    if not torch.equal(finite, torch.isfinite(a)) or not torch.equal(a[~finite], b[~finite]):
        return float("inf"), float("inf"), 0, 1, ["non-finite values differ"]
    a, b = a[finite], b[finite]
    if a.numel() == 0:
        return 0.0, 0.0, 0, 0, []
    diff = (a - b).abs()
    scale = torch.maximum(torch.maximum(a.abs(), b.abs()), torch.full_like(a, FLOOR))
    rel = diff / scale
    big = max(b.abs().max().item(), FLOOR)
    by_scale = (rel > TOL) & (diff <= NORM_TOL * big)
    failed = (rel > TOL) & (diff > NORM_TOL * big)
    notes = ["kurc %.9g torch %.9g (max |torch| %.3g)" % (a[i].item(), b[i].item(), big)
             for i in torch.nonzero(failed).reshape(-1).tolist()[:10]]
    return rel.max().item(), diff.max().item() / big, int(by_scale.sum()), int(failed.sum()), notes


def check_rnn(rec):
    t = rec["tensors"]
    params = {k: t[k].clone().requires_grad_(True) for k in ("x", "w", "u", "b")}
    y = keras_rnn(rec["cell"], ACTS[rec["act"]], ACTS[rec["gate"]], params["x"], params["w"],
                  params["u"], params["b"], t.get("len"), rec["reverse"] == "1",
                  rec["sequence"] == "1")
    (y * t["r"]).sum().backward()
    rows = [("output", *compare(t["y"], y.detach()))]
    for k in ("x", "w", "u", "b"):
        rows.append(("d" + k, *compare(t["d" + k], params[k].grad)))
    return rows


def check_ctc(rec):
    t = rec["tensors"]
    p = t["p"].clone().requires_grad_(True)
    B, T, C = p.shape
    warp = rec["warp"] == "1"
    logp = F.log_softmax(torch.log(p + 1e-8), dim=-1).transpose(0, 1)
    labels = t["labels"].long() + (1 if warp else 0)
    input_len = t["input_len"].long() if "input_len" in t else torch.full((B,), T)
    loss = F.ctc_loss(logp, labels, input_len, t["label_len"].long(), blank=0 if warp else C - 1,
                      reduction="none", zero_infinity=False)
    loss.sum().backward()
    return [("loss", *compare(t["loss"], loss.detach())), ("dp", *compare(t["dp"], p.grad))]


def main():
    if len(sys.argv) != 2:
        print("usage: check_rnn_torch.py DIR", file=sys.stderr)
        return 2
    d = sys.argv[1]
    files = sorted(f for f in os.listdir(d) if f.endswith(".txt"))
    if not files:
        print("no dumps in " + d, file=sys.stderr)
        return 1
    print("PyTorch %s, float64 reference; tolerance %.0e relative (floor %.0e), or %.0e of "
          "the tensor's scale" % (torch.__version__, TOL, FLOOR, NORM_TOL))
    ok = True
    for f in files:
        rec = parse(os.path.join(d, f))
        rows = check_rnn(rec) if rec["kind"] == "rnn" else check_ctc(rec)
        print("%s %s:" % (rec["kind"], rec["name"]))
        for what, rel, norm, by_scale, failed, notes in rows:
            ok = ok and failed == 0
            print("  %-8s rel %.2e  norm %.2e  %s" %
                  (what, rel, norm, "FAIL" if failed else
                   "ok" if not by_scale else "ok (%d by scale)" % by_scale))
            for n in notes:
                print("      " + n)
    print("all within tolerance" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
