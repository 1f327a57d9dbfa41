#!/usr/bin/env bash
# language_model.sh BIN_DIR EXAMPLES_DIR KURFILE - Kur's language-model
# example (examples/language-model.yml, jsonl data) or its text-supplier
# version (examples/language-model-text.yml) on a small made-up corpus
# (examples/make_language_model_data.py), shrunk to 16 GRU units and two
# epochs: train (the loss falls), test, evaluate, and the evaluation file
# read back; then the training on 2 MPI ranks (skipped without mpirun).
# Skipped (77) when /usr/bin/python3 cannot import numpy.
set -u
bin=$(cd "$1" && pwd) examples=$(cd "$2" && pwd) kurfile=$3
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/../harness.sh" "$tmp"
"$py" -c "import numpy" 2>/dev/null || skip "$py cannot import numpy"
cd "$tmp" || exit 1

"$py" "$examples/make_language_model_data.py" --out data --chars 600 >make.txt 2>&1 || {
  cat make.txt
  exit 1
}
sed -e 's/size: 128/size: 16/' -e 's/depth: 3/depth: 2/' -e 's/epochs: 5/epochs: 2/' \
  "$examples/$kurfile" >small.yml
expect train 0 '' 'Completed 2 epochs' -- "$bin/kurc" train small.yml
expect_loss_lowers loss-falls "$tmp/err"
expect test 0 '' 'Test loss: [0-9.]+' -- "$bin/kurc" test small.yml
expect evaluate 0 '' '' -- "$bin/kurc" evaluate small.yml
if grep -q '^ *- text$' small.yml; then
  # the text hook printed the first evaluation window and its next
  # character, as written in the data file, and a prediction from the
  # vocabulary
  cp "$tmp/out" evaluate.out
  expect text-hook 0 'ok' '' -- "$py" -c '
import json, sys
d = json.loads(open(sys.argv[1]).readline())
want = ["Input:", "in_seq: \"%s\"" % d["in_seq"], "Prediction:", None, "Truth:",
        "out_char: \"%s\"" % d["out_char"]]
got = open(sys.argv[2]).read().splitlines()
assert len(got) == 6 and all(w is None or g == w for g, w in zip(got, want)), got
p = got[3]
assert p.startswith("out_char: \"") and p.endswith("\"") and len(p) == len("out_char: \"x\""), p
print("ok")' data/text/evaluate.jsonl evaluate.out
else
  # the one-hot jsonl data has no raw text for the text hook
  printf '  hooks:\n    - text\n' >hook.yml
  cat small.yml hook.yml >text-hook.yml
  expect text-hook-needs-text 1 '' "text-hook.yml:[0-9]+:[0-9]+: the text hook needs the raw text of the data's 'in_seq' source" \
    -- "$bin/kurc" evaluate text-hook.yml
fi
out=$(sed -n 's/^ *destination: *//p' small.yml)
expect output 0 'ok' '' -- "$py" -c '
import pickle, sys, numpy
d = pickle.load(open(sys.argv[1], "rb"))
r, t = d["result"]["out_char"], d["truth"]["out_char"]
assert r.shape[0] == t.shape[0] == 30 and r.shape[-1] == 30, (r.shape, t.shape)
assert numpy.isfinite(r).all() and abs(r.sum(axis=-1) - 1).max() < 1e-4
print("ok")' "$out"
if command -v mpirun >/dev/null 2>&1; then
  mkdir ranks2 && cp -r small.yml data ranks2/
  expect train-2-ranks 0 '' 'Completed 2 epochs' -- sh -c "cd ranks2 && $(declare -f mpirun_np); mpirun_np 2 '$bin/kurc-train' small.yml"
  expect_loss_lowers loss-falls-2-ranks "$tmp/err"
fi
finish
