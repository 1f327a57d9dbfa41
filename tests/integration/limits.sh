#!/usr/bin/env bash
# limits.sh BIN SRC WORK - small inputs that ask for huge sizes are refused
# at once, with a message that says what they need and what there is, and
# nothing is written (issue 14): a layer whose size overflows, a model that
# cannot fit in the memory available.
. "$(dirname "$0")/lib.sh"

echo '{"x": [1, 2, 3, 4, 5, 6, 7, 8], "y": [1]}' >d.jsonl
# wide KURFILE SIZE: a dense layer of SIZE units on d.jsonl
wide() {
  printf '%s\n' "model:" "  - input: x" "  - dense: $2" "    name: y" "loss:" "  - target: y" \
    "    name: mean_squared_error" "train:" "  data:" "    - jsonl: d.jsonl" "  epochs: 1" \
    "  weights: {last: last.w}" >"$1"
}

# --- class 6: shape products that overflow, models larger than memory -----------
wide overflow.yml 9223372036854775807
kurc_run overflow 2 train overflow.yml
has "overflow: the layer and shape are named" overflow.err \
  "y (dense): its parameter 'kernel' of shape (8, 9223372036854775807) has too many elements"
wide huge.yml 100000000000
t0=$(date +%s)
kurc_run huge 2 train huge.yml
has "huge: need and have are said" huge.err \
  "not enough memory for the model's parameters and gradients: 6.71e+03 GiB needed"
[ $(($(date +%s) - t0)) -lt 20 ] && ok "huge: refused at once" || fail "huge: took $(($(date +%s) - t0)) s"
[ ! -e last.w ] && ok "nothing written" || fail "weights were written"
finish
