#!/usr/bin/env bash
# kur_dir.sh BIN SRC WORK [NO_EXCHANGE] - Kur's weight directories
# (src/io/kur_dir.h), against kur_dir.py, an independent writer and reader
# of Kur's format:
# directories in Keras-on-TensorFlow, Keras-on-Theano and PyTorch naming
# load, and `kurc evaluate` gives exactly the outputs of the same weights
# as kurc's HDF5; kurc writes a directory that the reader finds equal to
# the HDF5 weights; damaged directories are refused with the file named;
# saving replaces the old weights and keeps other files (also through two
# renames, with the shim NO_EXCHANGE preloaded).
. "$(dirname "$0")/../integration/lib.sh"
need_python numpy h5py
H="$src/tests/io/kur_dir.py"
"$PY" "$H" data data.jsonl || exit 1

# kurfile FILE TYPE TRAIN_WEIGHTS EVALUATE_WEIGHTS: dense (a stack), 2-D
# convolution, batch norm, embedding, 1-D convolution, a parallel dense
# stack (its child is ..dense.0), a bidirectional recurrent layer of
# TYPE and an LSTM; two outputs.
kurfile() {
  cat >"$1" <<EOF
settings: {seed: 3}
model:
  - input: img
  - convolution: {kernels: 3, size: [3, 2]}
    name: conv
  - batch_normalization:
    name: bn
  - activation: relu
  - flatten:
  - dense: [6, 5]
    name: y1
  - input: seq
  - embedding: {vocab_size: 7, size: 4}
    name: emb
  - convolution: {kernels: 3, size: 2}
    name: conv1
  - parallel:
      apply:
        - dense: [4, 3]
    name: par
  - recurrent: {size: 4, type: $2, bidirectional: yes, merge: concat}
    name: gru
  - recurrent: {size: 3, type: lstm, sequence: no}
    name: lstm
  - dense: 5
    name: y2
train:
  data:
    - jsonl: data.jsonl
  provider: {batch_size: 4, randomize: no}
  stop_when: {epochs: 1}
  optimizer: {name: sgd, learning_rate: 0.1}
  weights: {last: $3}
evaluate:
  data:
    - jsonl: data.jsonl
  weights: $4
  destination: ${1%.yml}.out.h5
loss:
  - target: y1
    name: mean_squared_error
  - target: y2
    name: mean_squared_error
EOF
}

# evaluate NAME TYPE WEIGHTS STATUS: `kurc evaluate` with WEIGHTS, outputs
# in NAME.out.h5.
evaluate() {
  kurfile "$1.yml" "$2" unused.w "$3"
  rm -f "$1.out.h5"
  kurc_run "$1" "$4" evaluate "$1.yml"
}

# --- the models' names and shapes, from kurc ---------------------------------
kurfile shapes-gru.yml gru shapes-gru.w none
kurc_run shapes-gru 0 train shapes-gru.yml
kurfile shapes-lstm.yml lstm shapes-lstm.w none
kurc_run shapes-lstm 0 train shapes-lstm.yml

# --- (a) directories written by kur_dir.py load exactly ------------------------
# (Keras 2 on TensorFlow and on Theano, Keras 1 on TensorFlow, PyTorch)
check write-keras "$PY" "$H" write shapes-gru.w ref-gru.w tf:tf.kur theano:theano tf1:keras1.kur \
  parallel=..dense.0:par
check write-torch "$PY" "$H" write shapes-lstm.w ref-lstm.w torch:torch.kur
evaluate ref-gru gru ref-gru.w 0
evaluate init-gru gru shapes-gru.w 0
check weights-matter "$PY" "$H" differ ref-gru.out.h5 init-gru.out.h5
evaluate tf gru tf.kur 0
check tf-outputs-equal "$PY" "$H" same ref-gru.out.h5 tf.out.h5
lacks tf-no-warning tf.err "WARNING"
evaluate theano gru theano 0
check theano-outputs-equal "$PY" "$H" same ref-gru.out.h5 theano.out.h5
lacks theano-no-warning theano.err "WARNING"
evaluate keras1 gru keras1.kur 0
check keras1-outputs-equal "$PY" "$H" same ref-gru.out.h5 keras1.out.h5
lacks keras1-no-warning keras1.err "WARNING"
evaluate ref-lstm lstm ref-lstm.w 0
evaluate torch lstm torch.kur 0
check torch-outputs-equal "$PY" "$H" same ref-lstm.out.h5 torch.out.h5
kurc_run torch-verbose 0 -v evaluate torch.yml
has torch-flavour torch-verbose.err "torch.kur: loaded Kur weights (PyTorch naming)"

# train.weights: PATH loads a directory (the Theano one, copied) as the
# initial weights and saves the best ones there (Keras/TF naming now):
# what training from the same weights as HDF5 saves
cp -r theano start.kur
kurfile start.yml gru unused.w none
sed -i 's/weights: {last: unused.w}/weights: start.kur/' start.yml
kurc_run start 0 -v train start.yml
has start-loaded start.err "loaded initial weights from start.kur"
has start-saved start.err "saved best training weights to start.kur"
kurfile start-h5.yml gru unused.w none
sed -i 's/weights: {last: unused.w}/weights: {initial: ref-gru.w, best: start-h5.w}/' start-h5.yml
kurc_run start-h5 0 train start-h5.yml
check start-saved-equal "$PY" "$H" read start.kur start-h5.w
if "$PY" "$H" read start.kur ref-gru.w >/dev/null 2>&1; then
  fail start-trained "start.kur holds the weights before training"
else
  ok start-trained
fi

# kurc export --pytorch takes evaluate's weights from a Kur directory, and
# kurc import --pytorch writes one when OUT ends in .kur: the same weights
rm -rf exported imported.kur
kurc_run export 0 export --pytorch exported tf.yml
kurc_run import 0 import --pytorch exported/weights.pt tf.yml imported.kur
check import-kur-equal "$PY" "$H" read imported.kur ref-gru.w

# --- (b) kurc writes a directory the reader finds equal to its HDF5 ----------
# (two epochs: not the shapes' weights, which had one)
kurfile save-kur.yml gru saved.kur none
sed -i 's/epochs: 1/epochs: 2/' save-kur.yml
kurc_run save-kur 0 train save-kur.yml
kurfile save-h5.yml gru saved.w none
sed -i 's/epochs: 1/epochs: 2/' save-h5.yml
kurc_run save-h5 0 train save-h5.yml
check saved-dir-equals-hdf5 "$PY" "$H" read saved.kur saved.w
if "$PY" "$H" read saved.kur shapes-gru.w >/dev/null 2>&1; then
  fail saved-trained "saved.kur equals the weights of another run"
else
  ok saved-trained
fi
evaluate saved-kur gru saved.kur 0
evaluate saved-h5 gru saved.w 0
check saved-outputs-equal "$PY" "$H" same saved-h5.out.h5 saved-kur.out.h5

# saving again replaces the weights, keeps other files, and removes what an
# interrupted save left
mkdir -p saved.kur/sub saved.kur.tmp
echo keep >saved.kur/notes.txt
cp saved.kur/y2+y2_bias:0.kur saved.kur/old+stale:0.kur
cp saved.kur/y2+y2_bias:0.kur saved.kur/sub/old+stale:0.kur
cp saved.kur/y2+y2_bias:0.kur saved.kur.tmp/y2+y2_bias:0.kur
kurc_run save-again 0 train save-kur.yml
has save-again-cleans save-again.err "removed saved.kur.tmp, left by a run stopped while saving saved.kur"
check save-again-keeps-notes grep -qx keep saved.kur/notes.txt
check save-again-keeps-sub test -d saved.kur/sub
check save-again-no-stale test ! -e saved.kur/old+stale:0.kur -a ! -e saved.kur/sub/old+stale:0.kur
check save-again-no-tmp test ! -e saved.kur.tmp
rm saved.kur/notes.txt && rmdir saved.kur/sub
check save-again-equal "$PY" "$H" read saved.kur saved.w
# a leftover that holds more than weights is the user's: refused
mkdir saved.kur.tmp && echo mine >saved.kur.tmp/mine.txt
kurc_run save-leftover 1 train save-kur.yml
has save-leftover-message save-leftover.err "saved.kur.tmp, left by an interrupted save, holds more than weights"
rm -r saved.kur.tmp
# a .kur name that is a file is not overwritten
echo data >file.kur
kurfile save-file.yml gru file.kur none
kurc_run save-file 1 train save-file.yml
has save-file-message save-file.err "file.kur: exists and is not a directory"
check save-file-kept grep -qx data file.kur

# where the file system cannot exchange names (renameat2 failing with
# EINVAL, from the no_exchange shim): two renames, the same result
if [ -n "${4:-}" ]; then
  echo keep >saved.kur/notes.txt
  LD_PRELOAD=$4 ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    kurc_run save-renames 0 train save-kur.yml
  has save-renames-shim save-renames.err "no_exchange: renameat2 refused"
  check save-renames-keeps-notes grep -qx keep saved.kur/notes.txt
  check save-renames-no-old test ! -e saved.kur.old -a ! -e saved.kur.tmp
  rm saved.kur/notes.txt
  check save-renames-equal "$PY" "$H" read saved.kur saved.w
fi

# a link to a directory saves into that directory, and a trailing '/' is
# the directory itself
rm -rf target.kur && mkdir target.kur && ln -s target.kur link.kur
sed 's/saved.kur/link.kur/' save-kur.yml >save-link.yml
kurc_run save-link 0 train save-link.yml
check save-link-kept test -L link.kur
check save-link-target "$PY" "$H" read target.kur saved.w
sed 's|saved.kur|slash.kur/|' save-kur.yml >save-slash.yml
kurc_run save-slash 0 train save-slash.yml
check save-slash-saved "$PY" "$H" read slash.kur saved.w
check save-slash-no-tmp test ! -e slash.kur/.tmp -a ! -e slash.kur.tmp

# a directory that cannot be made: an error, nothing left behind
kurfile save-nodir.yml gru nodir/w.kur none
kurc_run save-nodir 1 train save-nodir.yml
has save-nodir-message save-nodir.err "nodir/w.kur: cannot create nodir/w.kur.tmp: No such file or directory"

# --- (c) damaged directories: an error naming the file, nothing evaluated ----
# broken MODE EXIT TEXT...: a copy of tf.kur damaged by kur_dir.py break MODE
broken() {
  local mode=$1 want=$2
  shift 2
  rm -rf "$mode.kur" && cp -r tf.kur "$mode.kur"
  "$PY" "$H" break "$mode" "$mode.kur"
  evaluate "$mode" gru "$mode.kur" "$want"
  local text
  for text in "$@"; do
    has "$mode-message" "$mode.err" "$text"
  done
  if [ "$want" -ne 0 ]; then
    check "$mode-nothing-written" test ! -e "$mode.out.h5"
  fi
}
broken shape 1 "shape.kur: y2+y2_kernel:0.kur: layer 'y2' weight 'y2_kernel:0' has shape (5, 3) on disk, but the model's layer 'y2' weight 'kernel' has shape (3, 5)"
broken name 1 "y2+y2_weights:0.kur: layer 'y2' weight 'y2_weights:0' is none of the Keras weights kurc knows"
broken truncate 1 "lstm+lstm_kernel:0.kur: truncated IDX file: expected 192 data bytes for shape (4, 12) of float32, found 182"
broken nan 1 "conv+conv_kernel:0.kur: layer 'conv' weight 'conv_kernel:0' holds NaN at index [1, 0, 1, 2]"
broken missing 1 "layer 'y2' (the model's 'y2', Keras on TensorFlow naming): its weights on disk differ from the model's: on disk only: none; in the model only: 'bias'"
broken absent 0 "absent.kur: no weights for layer(s) 'lstm' of the model (Kur's Keras on TensorFlow naming); they keep their values"
# a PyTorch GRU is not kurc's (Keras's) GRU
check write-torch-gru "$PY" "$H" write shapes-gru.w ref-torch-gru.w torch:torch-gru.kur
evaluate torch-gru gru torch-gru.kur 1
has torch-gru-message torch-gru.err "layer_gru+bias_hh_l0.kur: cannot load layer 'layer_gru': a PyTorch GRU applies its reset gate after the recurrent product"
# a directory of another model
mkdir other.kur && cp tf.kur/y2+* other.kur/ && for f in other.kur/y2+*; do mv "$f" "${f/y2+y2_/z+z_}"; done
evaluate other gru other.kur 1
has other-message other.err "other.kur: none of its layers is a layer of this model"
mkdir empty.kur
evaluate empty gru empty.kur 1
has empty-message empty.err "empty.kur: a directory, but it holds no Kur weight files"
finish
