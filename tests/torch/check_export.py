"""check_export.py EXPORT_DIR INPUTS.npz RESULT.pkl BATCH - runs the model.py
and weights.pt that `kurc export --pytorch` wrote in PyTorch on the inputs
(arrays by data source name, in evaluate's order), in evaluate's batches of
BATCH samples (batch normalisation uses each batch's statistics), and
compares every output with what `kurc evaluate` wrote to RESULT.pkl:
|torch - kurc| <= 1e-5 |kurc| + 1e-5 max|kurc| (relative, with an absolute
floor of 1e-5 of the output's largest magnitude for values near zero).
Prints the largest error of each output; exits 1 on a mismatch."""
import importlib.util
import pickle
import sys

import numpy as np
import torch

RTOL = 1e-5


def main():
    out_dir, inputs, result, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    spec = importlib.util.spec_from_file_location("exported", out_dir + "/model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.Model()
    model.load_state_dict(torch.load(out_dir + "/weights.pt", weights_only=True))
    model.eval()
    with np.load(inputs) as z:
        data = {k: z[k] for k in z.files}
    with open(result, "rb") as f:
        kurc = pickle.load(f)["result"]
    n = len(next(iter(data.values())))
    got = {}
    with torch.no_grad():
        for s in range(0, n, batch):
            part = model(**{k: torch.from_numpy(v[s:s + batch]) for k, v in data.items()})
            for k, v in part.items():
                got.setdefault(k, []).append(v.numpy())
    bad = False
    if set(got) != set(kurc):
        print("outputs differ: torch %s, kurc %s" % (sorted(got), sorted(kurc)))
        return 1
    for k in sorted(kurc):
        want = np.asarray(kurc[k], dtype=np.float64)
        have = np.concatenate(got[k]).astype(np.float64)
        if have.shape != want.shape:
            print("%s: torch shape %s, kurc %s" % (k, have.shape, want.shape))
            bad = True
            continue
        scale = np.abs(want).max() if want.size else 0.0
        err = np.abs(have - want)
        limit = RTOL * np.abs(want) + RTOL * scale
        worst = float((err / np.maximum(limit, 1e-30)).max()) if want.size else 0.0
        print("%s: shape %s, max |diff| %.3g, max|kurc| %.3g, worst diff/limit %.3g"
              % (k, want.shape, err.max() if want.size else 0.0, scale, worst))
        if not np.all(err <= limit):
            bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
