#!/usr/bin/env bash
# resume.sh BIN SRC WORK - interrupting and resuming training: a run
# stopped after 2 epochs and continued to 4 ends with the same weights, byte
# for byte, as a run of 4; so does a run continued from batch checkpoints;
# a finished run started again does nothing but say so;
# and a real SIGTERM stops training at a batch boundary (exit 3) with the
# last weights and the checkpoint saved, from which a rerun resumes.
. "$(dirname "$0")/lib.sh"
need_python h5py numpy

points 50 train.jsonl 5

# kurfile FILE STOP_WHEN CHECKPOINT [DATA]: Adam (state that must survive),
# dropout (random numbers that must continue) and shuffling (the order of
# each epoch must not depend on where a run started).
kurfile() {
  cat >"$1" <<EOF
settings: {seed: 2024}
model:
  - input: x
  - dense: ${HIDDEN:-16}
    name: hidden
  - activation: tanh
  - dropout: 0.25
  - dense: 2
    name: logits
  - activation: softmax
    name: y
train:
  data:
    - jsonl: ${4:-train.jsonl}
  provider: {batch_size: ${BATCH:-8}}
  stop_when: $2
  optimizer: {name: adam, learning_rate: 0.02}
  checkpoint: $3
  weights: {last: ${1%.yml}.w}
loss:
  - target: y
    name: categorical_crossentropy
EOF
}

# --- (a) 4 epochs against 2 + 2 ----------------------------------------------
kurfile a.yml "{epochs: 4}" a.ck
kurc_run a-four-epochs 0 train a.yml
kurfile b.yml "{epochs: 2}" b.ck
kurc_run b-first-two 0 train b.yml
kurfile b.yml "{epochs: 4, mode: total}" b.ck
kurc_run b-resumed 0 train b.yml
has b-resumes b-resumed.err "resuming from checkpoint b.ck (2 epochs and 0 batches done)"
has b-numbering b-resumed.err "Epoch 3/4, loss="
lacks b-no-epoch-1-again b-resumed.err "Epoch 1/4"
has b-completes b-resumed.err "Completed 4 epochs."
same_weights resumed-equals-uninterrupted a.w b.w
same_weights checkpoint-equals-last b.ck b.w
# and the loss of the resumed epochs is the uninterrupted run's
check resumed-epoch-4-loss [ "$(loss_of a-four-epochs.err 'Epoch 4/4')" = \
  "$(loss_of b-resumed.err 'Epoch 4/4')" ]
# a finished run asked for 4 in total has nothing left to do
kurc_run b-nothing-left 0 train b.yml
lacks b-nothing-left-trains b-nothing-left.err "Epoch 5"
same_weights nothing-left-unchanged a.w b.w
# mode additional: the same Kurfile run again trains 2 more epochs
kurfile c.yml "{epochs: 2}" c.ck
kurc_run c-first 0 train c.yml
kurc_run c-again 0 train c.yml
has c-again-numbering c-again.err "Epoch 3/4, loss="
same_weights additional-equals-uninterrupted a.w c.w

# --- (b) checkpoints every 3 batches: the same Kurfile run twice -------------
# (50 samples in batches of 8: 7 batches per epoch, so no checkpoint falls
# on the end of the first run; the checkpoint must still hold where it
# ended, or the second run would redo batches and stop an epoch short)
kurfile d.yml "{epochs: 2}" "{path: d.ck, batches: 3}"
kurc_run d-first 0 train d.yml
kurc_run d-again 0 train d.yml
has d-resumes d-again.err "resuming from checkpoint d.ck (2 epochs and 0 batches done)"
has d-numbering d-again.err "Epoch 3/4, loss="
has d-completes d-again.err "Completed 4 epochs."
same_weights batch-checkpoints-resume-exactly a.w d.w

# --- (b') the last batch checkpoint falls on the final batch -----------------
# (7 batches per epoch, a checkpoint every 7): the finished run started again
# only says so, with no epoch replayed and nothing saved or validated again
kurfile e.yml "{epochs: 2, mode: total}" "{path: e.ck, batches: 7}"
kurc_run e-first 0 train e.yml
cp e.w e-first.w
kurc_run e-again 0 train e.yml
has e-again-finished e-again.err "Training is already finished: 2 epochs done. Nothing to do."
lacks e-again-no-epoch e-again.err "Epoch "
lacks e-again-no-save e-again.err "saved"
same_weights e-again-unchanged e-first.w e.w

# --- (c) a real SIGTERM ------------------------------------------------------
# More data and a wider layer, so that an epoch lasts long enough (about a
# tenth of a second) to be interrupted in the middle of the run: the signal
# is sent once the first epoch's progress line is out, and training stops
# at the next batch boundary.
points 12000 big.jsonl 77
HIDDEN=256 BATCH=10 kurfile sig.yml "{epochs: 4, mode: total}" sig.ck big.jsonl
HIDDEN=256 BATCH=10 kurfile ref.yml "{epochs: 4, mode: total}" ref.ck big.jsonl
"$KURC" train sig.yml >sig.out 2>sig.err </dev/null &
pid=$!
for _ in $(seq 1 3000); do
  grep -q '^Epoch 1/4, loss=' sig.err && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
kill -TERM "$pid"
wait "$pid"
status=$?
if [ "$status" -eq 3 ]; then
  ok "sigterm-exit-3"
else
  fail "sigterm-exit-3" "exit $status"
  show sig.err
fi
has sigterm-message sig.err "stopped by signal 15 after epoch"
has sigterm-message-saved sig.err "; saved the last weights to sig.w and the checkpoint to sig.ck"
lacks sigterm-not-completed sig.err "Completed 4 epochs"
check sigterm-last-saved test -s sig.w
check sigterm-checkpoint-saved test -s sig.ck
pycheck sigterm-files-loadable <<'EOF'
import h5py, numpy as np
with h5py.File("sig.ck", "r") as f:
    t = f["training"].attrs
    epoch, batch, batches = int(t["epoch"]), int(t["batch"]), int(t["batches"])
    # stopped inside the run, after the first epoch
    assert 1 <= epoch < 4 and batches == 1200 * epoch + batch, (epoch, batch, batches)
    assert int(f["optimizer"].attrs["iterations"]) == batches
    ck = {k: f["hidden"][k][()] for k in ("kernel", "bias")}
with h5py.File("sig.w", "r") as f:
    for k in ("kernel", "bias"):
        assert np.all(np.isfinite(f["hidden"][k][()]))
        assert np.array_equal(f["hidden"][k][()], ck[k])
print("interrupted at epoch", epoch, "batch", batch)
EOF
cat pycheck.log
kurc_run sigterm-rerun 0 train sig.yml
has sigterm-rerun-resumes sigterm-rerun.err "resuming from checkpoint sig.ck"
has sigterm-rerun-completes sigterm-rerun.err "Completed 4 epochs."
# the interrupted and resumed run ends where an uninterrupted one does
kurc_run sigterm-reference 0 train ref.yml
same_weights sigterm-resume-exact ref.w sig.w
finish
