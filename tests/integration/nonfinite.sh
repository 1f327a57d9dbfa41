#!/usr/bin/env bash
# nonfinite.sh BIN SRC WORK - a loss that becomes infinite or NaN stops
# training (Kur: NaN or Inf in any output is fatal) with a message naming
# the output, before the update, so the `last` weights are the last good
# ones.  (A NaN in the data itself is refused when it loads.)
. "$(dirname "$0")/lib.sh"
need_python h5py numpy

# Two outputs, a from x and b from z, each a linear regression; in the 4th
# batch (of 2 samples, unshuffled) z is so large that b's squared error
# overflows float32.
{
  echo "x,z,a,b"
  echo "0.5,1,1.5,2"
  echo "-1,0.5,-2,1"
  echo "0.25,-1,0.75,-2"
  echo "2,0.25,4,0.5"
  echo "1,1,2,2"
  echo "-0.5,2,-1,4"
  echo "1.5,3e38,3,1"
  echo "1,1,2,2"
} >bad.csv
head -n 7 bad.csv >good.csv

kurfile() {
  cat >"$1" <<EOF
settings: {seed: 13}
model:
  - input: x
  - input: z
  - dense: 1
    inputs: x
    name: a
  - dense: 1
    inputs: z
    name: b
train:
  data:
    - csv: $2
  provider: {batch_size: 2, randomize: no}
  stop_when: {epochs: $3}
  optimizer: {name: adam, learning_rate: 0.05}
  weights: {last: ${1%.yml}.w}
  checkpoint: ${1%.yml}.ck
evaluate:
  data:
    - csv: good.csv
  weights: ${1%.yml}.w
  destination: ${1%.yml}.out.h5
loss:
  - target: a
    name: mean_squared_error
  - target: b
    name: mean_squared_error
EOF
}

kurfile inf.yml bad.csv 2
kurc_run infinite 1 train inf.yml
has infinite-message infinite.err "kurc: the loss of output 'b' became infinite at epoch 1, batch 4; training stopped before that update, so the weights kept are the last good ones"
lacks infinite-not-completed infinite.err "Completed"
check infinite-last-saved test -s inf.w
check infinite-no-checkpoint test ! -e inf.ck
pycheck infinite-last-finite <<'EOF'
import h5py, numpy as np
with h5py.File("inf.w", "r") as f:
    for layer in ("a", "b"):
        for k in ("kernel", "bias"):
            assert np.all(np.isfinite(f[layer][k][()])), (layer, k, f[layer][k][()])
EOF
# the weights after the 3 good batches, exactly: an epoch on those alone
kurfile ref.yml good.csv 1
kurc_run reference 0 train ref.yml
same_weights infinite-kept-last-good ref.w inf.w
# and they load
kurc_run infinite-last-loads 0 evaluate inf.yml
check infinite-last-evaluates test -s inf.out.h5

# NaN: a value the csv file spells nan is refused when the data loads,
# naming the place, before anything trains or is written
sed '5s/^2,/nan,/' good.csv >nan.csv
kurfile nan.yml nan.csv 1
kurc_run nan 1 train nan.yml
has nan-message nan.err "csv: nan.csv:5: column 1 ('x'): 'nan' is NaN, infinite or beyond the float32 range"
check nan-nothing-written test ! -e nan.w -a ! -e nan.ck

# later in training: two good epochs, then the run continued (from its
# checkpoint) on the data with the bad row
kurfile good.yml good.csv 2
kurc_run good-two-epochs 0 train good.yml
cp good.ck resumed.ck
kurfile resumed.yml bad.csv 4
kurc_run resumed-infinite 1 train resumed.yml
has resumed-infinite-message resumed-infinite.err "became infinite at epoch 3, batch 4"
pycheck resumed-last-finite <<'EOF'
import h5py, numpy as np
with h5py.File("resumed.w", "r") as f, h5py.File("good.w", "r") as g:
    changed = False
    for layer in ("a", "b"):
        for k in ("kernel", "bias"):
            w = f[layer][k][()]
            assert np.all(np.isfinite(w)), (layer, k)
            changed |= not np.array_equal(w, g[layer][k][()])
    # three good batches of epoch 3 were trained on after the checkpoint
    assert changed
EOF
finish
