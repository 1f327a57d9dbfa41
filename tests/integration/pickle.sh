#!/usr/bin/env bash
# pickle.sh BIN SRC WORK - the pickle supplier on pickles Python and numpy
# wrote (protocols 2 to 4; numpy arrays of many dtypes, both byte orders,
# C and Fortran order; lists and tuples; Python 2 style bytes keys), read
# back through `kurc data` and compared with numpy's values; and a pickle
# that would run code is refused.
. "$(dirname "$0")/lib.sh"
need_python numpy

"$PY" - <<'EOF'
import pickle, numpy as np
rng = np.random.default_rng(5)
n = 6
values = {
    "f64": rng.normal(size=(n, 3)),
    "f32be": rng.normal(size=(n, 2)).astype(">f4"),
    "fortran": np.array([rng.normal(size=n), rng.normal(size=n)]).T,   # (n, 2), F order
    "cube": np.asfortranarray(rng.normal(size=(n, 2, 3)).astype(np.float32)),
    "u8": rng.integers(0, 256, size=(n, 4)).astype(np.uint8),
    "i64": rng.integers(-1000, 1000, size=n),
    "i16be": rng.integers(-300, 300, size=n).astype(">i2"),
    "u32": rng.integers(0, 1 << 20, size=(n, 1)).astype(np.uint32),
    "flags": rng.random(n) > 0.5,
    "listed": [[float(v), int(2 * v)] for v in rng.normal(size=n)],
    "tupled": tuple(int(v) for v in rng.integers(-5, 5, size=n)),
}
assert values["fortran"].flags["F_CONTIGUOUS"] and not values["fortran"].flags["C_CONTIGUOUS"]
for protocol in (2, 3, 4):
    with open("p%d.pkl" % protocol, "wb") as f:
        pickle.dump(values, f, protocol=protocol)
# Python 2's cPickle wrote str keys as bytes
with open("bytes-keys.pkl", "wb") as f:
    pickle.dump({k.encode(): v for k, v in values.items()}, f, protocol=2)
np.save("expected.npy", {k: np.asarray(v, dtype=np.float32) for k, v in values.items()},
        allow_pickle=True)
# a pickle that runs a command when Python loads it
class Evil:
    def __reduce__(self):
        import os
        return (os.system, ("touch pwned",))
with open("evil.pkl", "wb") as f:
    pickle.dump({"x": Evil()}, f, protocol=2)
with open("object.pkl", "wb") as f:
    pickle.dump({"x": np.array([1, "a"], dtype=object)}, f, protocol=2)
with open("text.pkl", "wb") as f:
    pickle.dump({"x": np.zeros(3), "names": ["a", "b", "c"]}, f, protocol=4)
EOF

# kurfile FILE PICKLE
kurfile() {
  cat >"$1" <<EOF
model:
  - input: f64
  - dense: 1
    name: i64
test:
  data:
    - pickle: $2
  provider: {batch_size: 100}
EOF
}

# compare NAME OUT: every source `kurc data` printed in OUT equals numpy's
# float32 values.
compare() {
  pycheck "$1" "$2" <<'EOF'
import json, re, sys
import numpy as np
want = np.load("expected.npy", allow_pickle=True).item()
out = open(sys.argv[1]).read()
entries = re.split(r"^Entry \d+/\d+:\n", out, flags=re.M)[1:]
assert len(entries) == 6, len(entries)
for i, e in enumerate(entries):
    got = dict(re.findall(r"^  (\w+): (.*)$", e, re.M))
    assert sorted(got) == sorted(want), (sorted(got), sorted(want))
    for k, v in got.items():
        sample = np.array(json.loads(v), dtype=np.float32)
        w = want[k][i].reshape(-1) if want[k].ndim == 1 else want[k][i]
        assert sample.shape == w.shape, (k, sample.shape, w.shape)
        assert np.array_equal(sample, w), (k, i, sample, w)
EOF
}

for p in p2 p3 p4 bytes-keys; do
  kurfile "$p.yml" "$p.pkl"
  kurc_run "data-$p" 0 data -t test "$p.yml"
  compare "values-$p" "data-$p.out"
done

# what the reader refuses, naming the file
kurfile evil.yml evil.pkl
kurc_run refuses-code 1 data -t test evil.yml
has refuses-code-message refuses-code.err "pickle: evil.pkl: pickle opcode GLOBAL at offset"
has refuses-code-names-it refuses-code.err "imports posix.system, which is not allowed"
check refuses-code-ran-nothing test ! -e pwned
kurfile object.yml object.pkl
kurc_run refuses-objects 1 data -t test object.yml
has refuses-objects-names-file refuses-objects.err "pickle: object.pkl: malformed pickle: REDUCE at offset"
has refuses-objects-message refuses-objects.err "numpy.dtype(O8) is not a supported numeric dtype"
kurfile text.yml text.pkl
kurc_run refuses-text 1 data -t test text.yml
has refuses-text-message refuses-text.err \
  "pickle: text.pkl: key 'names' holds a str among its numbers"
finish
