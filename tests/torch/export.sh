#!/usr/bin/env bash
# export.sh BIN_DIR SOURCE_DIR WORK_DIR CASE... - `kurc export --pytorch`
# and `kurc import --pytorch` against PyTorch, one case of
# tests/torch/export_cases.py at a time: the case's Kurfile trains one epoch
# on its random data, `kurc evaluate` writes its outputs, `kurc export`
# writes model.py and weights.pt, which PyTorch runs on the same inputs in
# evaluate's batches (check_export.py: within 1e-5 relative, with a floor
# of 1e-5 of each output's largest magnitude), and `kurc import` of
# weights.pt writes a weight file bitwise equal to the trained one
# (same_weights.py); speech's model.py also on utterances of another
# length; `layers` also with the initial weights of settings.seed, which
# evaluate and export take without weights.  After the case `recurrent`, state_dicts that PyTorch
# itself saved: re-saved (memo opcodes, _metadata) and with strided views
# import bit for bit; a missing key, a wrong shape, a float64 tensor, an
# unknown key and a file that is not a torch zip are errors naming the file,
# the key and the shapes, and write nothing.  Skipped when /usr/bin/python3 lacks torch, numpy or h5py.
dir=$(cd "$(dirname "$0")" && pwd)
bin_dir=$1 src_dir=$2 work_dir=$3
shift 3
. "$dir/../integration/lib.sh" "$bin_dir" "$src_dir" "$work_dir"
need_python torch numpy h5py

# initial_weights: in a case's directory, the Kurfile without weights (and
# with settings.seed 7): evaluate and export both take the initial weights.
initial_weights() {
  "$PY" -c '
import json
k = json.load(open("kurfile.json"))
del k["evaluate"]["weights"]
k["evaluate"]["destination"] = "result0.pkl"
k.setdefault("settings", {})["seed"] = 7
json.dump(k, open("kurfile0.json", "w"))'
  kurc_run "$name-evaluate-initial" 0 evaluate kurfile0.json
  kurc_run "$name-export-initial" 0 export --pytorch out0 kurfile0.json
  has "$name-export-initial-warns" "$name-export-initial.err" "so the model has its initial weights"
  if "$PY" "$dir/check_export.py" out0 inputs.npz result0.pkl "$(cat batch.txt)" >check0.txt 2>&1; then
    ok "$name: initial weights: PyTorch gives evaluate's outputs"
  else
    fail "$name: initial weights: PyTorch gives evaluate's outputs" "see below"
  fi
  show check0.txt
}

# import_errors: in a case's directory, after its export.
import_errors() {
  "$PY" - <<'PY'
import torch
sd = torch.load("out/weights.pt")
key = "l___recurrent_0.kernel_fwd"
torch.save(sd, "resaved.pt")
views = {k: v.t().contiguous().t() if v.dim() == 2 else v for k, v in sd.items()}
torch.save(views, "strided.pt")
def variant(name, change):
    d = dict(sd)
    change(d)
    torch.save(d, name + ".pt")
variant("missing", lambda d: d.pop(key))
variant("shape", lambda d: d.__setitem__(key, d[key][:2].clone()))
variant("double", lambda d: d.__setitem__(key, d[key].double()))
variant("unknown", lambda d: d.__setitem__("extra.bias", torch.zeros(3)))
PY
  local f
  for f in resaved strided; do
    kurc_run "import-$f" 0 import --pytorch $f.pt kurfile.json $f.w
    if "$PY" "$dir/same_weights.py" trained.w $f.w >same.txt 2>&1; then
      ok "import-$f: bit for bit"
    else
      fail "import-$f: bit for bit" "$(cat same.txt)"
    fi
  done
  kurc_run import-missing 1 import --pytorch missing.pt kurfile.json bad.w
  has import-missing-says import-missing.err "missing.pt: no tensor l___recurrent_0.kernel_fwd (layer ..recurrent.0, kernel_fwd (3, 12)) in the state_dict"
  kurc_run import-shape 1 import --pytorch shape.pt kurfile.json bad.w
  has import-shape-says import-shape.err "shape.pt: tensor l___recurrent_0.kernel_fwd has shape (2, 12); the model's is (3, 12)"
  kurc_run import-double 1 import --pytorch double.pt kurfile.json bad.w
  has import-double-says import-double.err "double.pt: tensor l___recurrent_0.kernel_fwd (3, 12) is a DoubleStorage, not float32"
  kurc_run import-unknown 1 import --pytorch unknown.pt kurfile.json bad.w
  has import-unknown-says import-unknown.err "unknown.pt: tensor extra.bias is not a parameter of the model"
  kurc_run import-not-zip 1 import --pytorch data.pkl kurfile.json bad.w
  has import-not-zip-says import-not-zip.err "data.pkl: not a PyTorch zip file"
  if [ -e bad.w ] || ls bad.w.* >/dev/null 2>&1; then
    fail "import errors write nothing" "$(ls bad.w*)"
  else
    ok "import errors write nothing"
  fi
}

for name in "$@"; do
  mkdir "$name" && cd "$name" || exit 2
  cp "$src/tests/kurfiles/models/uber.yml" .
  if ! "$PY" "$dir/export_cases.py" "$name" . "$KURC" "$src/examples" >make.txt 2>&1; then
    fail "$name: data" "export_cases.py failed"
    show make.txt
    cd .. && continue
  fi
  kurc_run "$name-train" 0 train kurfile.json
  kurc_run "$name-evaluate" 0 evaluate kurfile.json
  kurc_run "$name-export" 0 export --pytorch out kurfile.json
  if "$PY" "$dir/check_export.py" out inputs.npz result.pkl "$(cat batch.txt)" >check.txt 2>&1; then
    ok "$name: PyTorch gives evaluate's outputs"
  else
    fail "$name: PyTorch gives evaluate's outputs" "see below"
  fi
  show check.txt
  if [ -f data2.pkl ]; then
    sed -e 's/data\.pkl/data2.pkl/' -e 's/result\.pkl/result2.pkl/' kurfile.json >kurfile2.json
    kurc_run "$name-evaluate-other-length" 0 evaluate kurfile2.json
    if "$PY" "$dir/check_export.py" out inputs2.npz result2.pkl "$(cat batch.txt)" >check2.txt 2>&1; then
      ok "$name: the same model.py at another length"
    else
      fail "$name: the same model.py at another length" "see below"
    fi
    show check2.txt
  fi
  kurc_run "$name-import" 0 import --pytorch out/weights.pt kurfile.json back.w
  if "$PY" "$dir/same_weights.py" trained.w back.w >same.txt 2>&1; then
    ok "$name: import reproduces the weights bit for bit"
  else
    fail "$name: import reproduces the weights bit for bit" "$(cat same.txt)"
  fi
  [ "$name" = recurrent ] && import_errors
  [ "$name" = layers ] && initial_weights
  cd ..
done
finish
