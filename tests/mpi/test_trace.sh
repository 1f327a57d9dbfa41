#!/usr/bin/env bash
# test_trace.sh BIN_DIR TOOLS_DIR - `kurc-train --trace FILE` on 2 ranks
# with gradient buckets of 64 floats (7 buckets, several in flight during
# backward): FILE is one Trace Event Format file that check_trace.py
# accepts (format, both ranks, forward and backward of every op of the
# model, an all-reduce overlapping a backward op, the optimizer after the
# all-reduces); the checker rejects traces broken on purpose; --trace-steps
# bounds it; `kurc test --trace` traces forward only; a path that cannot
# be written fails before training, naming it.
. "$(dirname "$0")/lib.sh"
CHECK=(/usr/bin/python3 "$(dirname "$0")/check_trace.py")
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"

dir=$WORK/t
mkdir -p "$dir"
gen_data "$dir/data.jsonl" 240 11
cat >"$dir/k.yml" <<'EOF'
settings:
  seed: 7
  buckets: {first_mb: 0.0001, mb: 0.0002}
model:
  - input: x
  - dense: 32
    name: hidden
  - activation: relu
    name: act
  - dense: 3
    name: out
  - activation: softmax
    name: y
loss:
  - target: y
    name: categorical_crossentropy
train:
  data:
    - jsonl: data.jsonl
  provider: {batch_size: 24}
  epochs: 2
  optimizer: {name: sgd, learning_rate: 0.05, momentum: 0.9}
  weights:
    last: last.w
  checkpoint: ck.kurc
validate:
  data:
    - jsonl: data.jsonl
  provider: {batch_size: 48, num_batches: 2}
test:
  data:
    - jsonl: data.jsonl
  provider: {batch_size: 48}
EOF
# the relu runs as the hidden dense op's fused epilogue (core/exec.h)
OPS=dense+activation@hidden,dense@out,softmax@y,categorical_crossentropy@y

# 1. a traced run of 2 epochs of 10 steps
if run 2 "$dir" -v --trace trace.json && [ -f "$dir/trace.json" ]; then
  ok "2 ranks: the trace is written ($(grep -o 'wrote the trace.*' "$dir/out"))"
else
  fail "2 ranks: no trace" "$(why "$dir/out")"
fi
if out=$("${CHECK[@]}" "$dir/trace.json" --ranks 2 --training --overlap --steps 20 --ops "$OPS"); then
  ok "2 ranks: the trace passes the checks: $(echo "$out" | tr '\n' ';')"
else
  fail "2 ranks: $out"
fi
[ ! -e "$dir/trace.json.tmp" ] && ok "no trace.json.tmp left" || fail "trace.json.tmp left behind"
cats=$(/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted({e.get("cat", "") for e in d["traceEvents"] if e["ph"] == "X" and e["pid"] == 0})))
' "$dir/trace.json")
want="allreduce backward data forward loss optimizer pass save setup step sync validation wait"
[ "$cats" = "$want" ] && ok "rank 0's categories: $cats" || fail "rank 0's categories" "$cats, not $want"

# 2. the checker fails traces broken on purpose
broken() { # NAME PYTHON-EXPRESSION-ON-events: the checker must reject the result
  /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
events = d["traceEvents"]
X = [e for e in events if e["ph"] == "X"]
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
' "$dir/trace.json" "$WORK/broken.json" "$2"
  if out=$("${CHECK[@]}" "$WORK/broken.json" --ranks 2 --training --overlap --ops "$OPS"); then
    fail "the checker accepts a trace with $1"
  else
    ok "the checker rejects a trace with $1: $(echo "$out" | tail -1)"
  fi
}
broken "rank 1 missing" 'd["traceEvents"] = [e for e in events if e["pid"] != 1]'
broken "no backward of layer out" 'd["traceEvents"] = [e for e in events if not (e.get("cat") == "backward" and e["args"].get("layer") == "out")]'
broken "all-reduces after backward" 'b = [e for e in X if e["cat"] == "backward"]
for a in X:
    if a["cat"] == "allreduce":
        a["ts"] = max(x["ts"] + x["dur"] for x in b if x["pid"] == a["pid"]) + 1e6; a["dur"] = 1'
broken "an all-reduce ending after the optimizer step" 'o = [e for e in X if e["cat"] == "optimizer" and e["pid"] == 0][3]
a = [e for e in X if e["cat"] == "allreduce" and e["pid"] == 0 and e["ts"] < o["ts"]][-1]
a["dur"] = o["ts"] + o["dur"] - a["ts"] + 5'
broken "an op crossing its pass" 'f = [e for e in X if e["cat"] == "forward"][0]; f["dur"] += 1e7'
broken "a negative ts" 'X[0]["ts"] = -1'
broken "a string pid" 'X[0]["pid"] = "0"'
broken "an unnamed thread" 'd["traceEvents"] = [e for e in events if not (e["ph"] == "M" and e["name"] == "thread_name" and e["tid"] == 2)]'

# 3. --trace-steps: only the first steps (and what comes before them)
rm -f "$dir/ck.kurc"
if run 2 "$dir" --trace short.json --trace-steps 3 &&
  out=$("${CHECK[@]}" "$dir/short.json" --ranks 2 --training --steps 3 --ops "$OPS"); then
  ok "--trace-steps 3: 3 steps per rank, $(wc -c <"$dir/short.json") bytes against $(wc -c <"$dir/trace.json")"
else
  fail "--trace-steps 3" "$out $(why "$dir/out")"
fi

# 4. kurc test --trace on one process: forward only
if (cd "$dir" && "$BIN/kurc" test --trace test.json k.yml) >"$dir/out" 2>&1 &&
  out=$("${CHECK[@]}" "$dir/test.json" --ranks 1 --ops "$OPS") &&
  ! grep -q '"cat":"backward"' "$dir/test.json"; then
  ok "kurc test --trace: forward events of every op, no backward"
else
  fail "kurc test --trace" "$out $(why "$dir/out")"
fi

# 5. a bad path fails at start-up, naming it, before anything trains
rm -f "$dir/last.w" "$dir/ck.kurc"
for bad in "$WORK/no/such/dir/t.json" "$WORK"; do
  for np in 0 2; do
    run "$np" "$dir" --trace "$bad"
    rc=$?
    if [ "$rc" -ne 0 ] && grep -qF "$bad" "$dir/out" && grep -q "trace" "$dir/out" &&
      ! grep -q "Epoch" "$dir/out" && [ ! -e "$dir/last.w" ] && [ ! -e "$dir/ck.kurc" ]; then
      ok "$np ranks, --trace $bad: status $rc before training: $(grep -F "$bad" "$dir/out" | head -1)"
    else
      fail "$np ranks, --trace $bad" "status $rc: $(why "$dir/out")"
    fi
  done
done
if (cd "$dir" && "$BIN/kurc-train" --trace-steps 2 k.yml) >"$dir/out" 2>&1; then
  fail "--trace-steps without --trace is accepted"
else
  ok "--trace-steps without --trace: $(tail -1 "$dir/out")"
fi
finish
