#!/usr/bin/env bash
# checkpoint.sh BIN SRC WORK - train.checkpoint: a path (every epoch),
# {epochs}, {batches}, {samples}, {validation: yes/N}, the default path, and
# what the HDF5 checkpoint holds (read with h5py).
. "$(dirname "$0")/lib.sh"
need_python h5py numpy

# 30 training samples in batches of 4: 8 batches per epoch (the last of 2)
points 30 train.jsonl 3
points 20 valid.jsonl 4

# kurfile FILE CHECKPOINT EPOCHS [MORE TRAIN KEYS]
kurfile() {
  cat >"$1" <<EOF
settings: {seed: 9}
model:
  - input: x
  - dense: 6
    name: hidden
  - activation: relu
  - dense: 2
    name: logits
  - activation: softmax
    name: y
train:
  data:
    - jsonl: train.jsonl
  provider: {batch_size: 4}
  stop_when: {epochs: $3}
  optimizer: {name: adam, learning_rate: 0.01}
  checkpoint: $2
  weights: {last: ${1%.yml}.last.w}
  log: ${1%.yml}-log
${4:-}
validate:
  data:
    - jsonl: valid.jsonl
  provider: {batch_size: 4}
  weights: ${1%.yml}.best.w
loss:
  - target: y
    name: categorical_crossentropy
EOF
}

# events NAME FILE WANT: the order of epoch ends (E1, E2, ...) and checkpoint
# saves (C) in a `kurc -v train` stderr.
events() {
  local got
  got=$(awk '/^Epoch [0-9]+\/[0-9]+, loss=/ { split($2, e, "/"); printf "%sE%s", sep, e[1]; sep = " " }
             /saved checkpoint/ { printf "%sC", sep; sep = " " }' "$2")
  if [ "$got" = "$3" ]; then
    ok "$1"
  else
    fail "$1" "events '$got', want '$3'"
  fi
}

# logged_batches NAME LOG WANT...: the batch counters of the log's
# validation records (validation at checkpoints shows when they fired).
logged_batches() {
  local name=$1 log=$2
  shift 2
  pycheck "$name" "$log/validation_loss.default_batch" "$@" <<'EOF'
import struct, sys
with open(sys.argv[1], "rb") as f:
    f.read(4)
    n = struct.unpack(">I", f.read(4))[0]
    got = list(struct.unpack(">%di" % n, f.read(4 * n)))
want = [int(v) for v in sys.argv[2:]]
assert got == want, (got, want)
EOF
}

# counters NAME FILE EPOCH BATCH BATCHES SAMPLES: the checkpoint's training
# position, and the optimizer's iterations (one per batch).
counters() {
  pycheck "$1" "$2" "$3" "$4" "$5" "$6" <<'EOF'
import sys, h5py
path, want = sys.argv[1], [int(v) for v in sys.argv[2:]]
with h5py.File(path, "r") as f:
    t = f["training"].attrs
    got = [int(t[k]) for k in ("epoch", "batch", "batches", "samples")]
    assert got == want, ("epoch, batch, batches, samples", got, want)
    assert int(f["optimizer"].attrs["iterations"]) == want[2], dict(f["optimizer"].attrs)
EOF
}

# --- a path: every epoch ---------------------------------------------------
kurfile every.yml ckpt.h5 3
kurc_run every-epoch 0 -v train every.yml
count every-epoch-saves every-epoch.err "saved checkpoint ckpt.h5" 3
events every-epoch-order every-epoch.err "E1 C E2 C E3 C"
pycheck checkpoint-contents <<'EOF'
import h5py, json, numpy as np
with h5py.File("ckpt.h5", "r") as f:
    assert f.attrs["format"] in ("kurc-checkpoint", b"kurc-checkpoint"), dict(f.attrs)
    assert int(f.attrs["format_version"]) >= 1
    # the weights, one group per layer
    for layer, shapes in (("hidden", {"kernel": (2, 6), "bias": (6,)}),
                          ("logits", {"kernel": (6, 2), "bias": (2,)})):
        for name, shape in shapes.items():
            d = f[layer][name]
            assert d.shape == shape and d.dtype == np.float32, (layer, name, d)
            assert np.all(np.isfinite(d[()]))
    # Adam's state: first and second moments for every weight
    opt = f["optimizer"]
    assert opt.attrs["name"] in ("adam", b"adam"), dict(opt.attrs)
    assert int(opt.attrs["iterations"]) == 24
    states = sorted(k for k in opt if k.startswith("state"))
    assert states == ["state0", "state1"], states
    for s in states:
        assert opt[s]["hidden"]["kernel"].shape == (2, 6)
        assert np.any(opt[s]["hidden"]["kernel"][()] != 0)
    # second moments are squares: never negative
    assert np.all(opt["state1"]["logits"]["kernel"][()] >= 0)
    t = f["training"].attrs
    assert [int(t[k]) for k in ("epoch", "batch", "batches", "samples")] == [3, 0, 24, 90]
    assert int(t["seed"]) == 9
    assert len(t["clocks"]) == 4 and np.all(t["clocks"] >= 0)
    assert np.isfinite(t["best_train_loss"]) and np.isfinite(t["best_valid_loss"])
    # the resolved Kurfile
    k = f["kurfile"][()]
    k = json.loads(k.decode() if isinstance(k, bytes) else k)
    assert k["train"]["checkpoint"] == "ckpt.h5", k["train"]
EOF
# written with the last epoch: its weights are the `last` weights
same_weights checkpoint-is-last-state ckpt.h5 every.last.w

# --- {epochs: 2}: epochs 2 and 4 of 5, then where training ended -----------
kurfile e2.yml "{path: e2.ck, epochs: 2}" 5
kurc_run epochs-2 0 -v train e2.yml
events epochs-2-order epochs-2.err "E1 E2 C E3 E4 C E5 C"
counters epochs-2-position e2.ck 5 0 40 150

# --- {batches: 5}: after batches 5, 10 and 15 of 16, no epoch checkpoint,
# and at the end of training (so that a rerun resumes from there) ----------
kurfile b5.yml "{path: b5.ck, batches: 5}" 2
kurc_run batches-5 0 -v train b5.yml
events batches-5-order batches-5.err "C E1 C C E2 C"
counters batches-5-position b5.ck 2 0 16 60

# --- {samples: 11}: batch sizes 4 4 4 4 4 4 4 2 | 4 ...: after batches 3, 6,
# 10 (4+2+4+4) and 13 -------------------------------------------------------
kurfile s11.yml "{path: s11.ck, samples: 11, validation: yes}" 2
kurc_run samples-11 0 -v train s11.yml
events samples-11-order samples-11.err "C C E1 C C E2 C"
logged_batches samples-11-when s11-log 3 6 8 10 13 16
counters samples-11-position s11.ck 2 0 16 60

# --- no path: the file is called "checkpoint" -------------------------------
kurfile nopath.yml "{batches: 100}" 1
kurc_run default-path 0 -v train nopath.yml
has default-path-saved default-path.err "saved checkpoint checkpoint"
counters default-path-file checkpoint 1 0 8 30

# --- {validation: yes}: a full validation run at each batch checkpoint ------
kurfile vy.yml "{path: vy.ck, batches: 5, validation: yes}" 2
kurc_run validation-yes 0 train vy.yml
# 3 checkpoint validations and 2 at the epochs' ends, all 20 samples
count validation-yes-runs validation-yes.err "Validating, loss=" 5
count validation-yes-full validation-yes.err ": 20 samples in" 5
# the validations of checkpoints come after batches 5, 10 and 15
logged_batches validation-yes-logged vy-log 5 8 10 15 16
pycheck validation-yes-columns <<'EOF'
import os, struct
def count(name):
    with open(os.path.join("vy-log", name), "rb") as f:
        f.read(4)
        return struct.unpack(">I", f.read(4))[0]
for name, n in (("batch_loss_y", 16), ("batch_loss_total", 16), ("training_loss_total", 2),
                ("training_loss_y", 2), ("validation_loss.default_total", 5),
                ("validation_loss.default_y", 5), ("validation_loss_total", 5)):
    assert count(name) == n, (name, count(name), n)
EOF

# --- {validation: 2}: two batches (8 samples) of validation at checkpoints --
kurfile v2.yml "{path: v2.ck, batches: 5, validation: 2}" 2
kurc_run validation-2 0 -v train v2.yml
count validation-2-partial validation-2.err ": 8 samples in" 3
count validation-2-epochs validation-2.err ": 20 samples in" 2
check validation-2-best-saved test -s v2.best.w

# --- no validation at checkpoints by default ---------------------------------
count validation-default-none batches-5.err "Validating, loss=" 2

# --- a position past an epoch of this data is refused (nothing written) -----
cp ckpt.h5 far.ck
pycheck far-position <<'EOF'
import h5py
with h5py.File("far.ck", "r+") as f:
    f["training"].attrs["batch"] = 20  # of 24 batches in all; an epoch has 8
EOF
kurfile far.yml far.ck 5
kurc_run far-position-refused 1 train far.yml
has far-position-message far-position-refused.err "far.ck: the checkpoint is at batch 20 of an epoch, but an epoch of this data has 8 batches"
check far-nothing-written test ! -e far.last.w -a ! -e far-log
finish
