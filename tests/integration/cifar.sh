#!/usr/bin/env bash
# cifar.sh BIN SRC WORK - examples/cifar.yml, Kur's CIFAR-10 example, run
# as it is (only its data location changed: the path and the checksum of a
# small archive this test makes in the exact format of
# cifar-10-python.tar.gz): train 2 epochs of 2 batches, test, evaluate, and
# read cifar.results.pkl back.
. "$(dirname "$0")/lib.sh"
need_python numpy

# The archive: cifar-10-batches-py/ with data_batch_1..5, test_batch and
# batches.meta, each a pickle as Python 2's cPickle wrote them (protocol 2,
# bytes keys): {batch_label, labels: [int], data: uint8 (n, 3072) planar
# RGB, filenames}.  80 images per training batch, 350 in the test batch.
"$PY" - <<'EOF'
import io, pickle, tarfile
import numpy as np
rng = np.random.default_rng(10)
def batch(label, n):
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    data = rng.integers(0, 256, size=(n, 3072)).astype(np.uint8)
    return {b"batch_label": label.encode(), b"labels": labels, b"data": data,
            b"filenames": [b"img_%04d.png" % i for i in range(n)]}
members = {"data_batch_%d" % i: batch("training batch %d of 5" % i, 80) for i in range(1, 6)}
members["test_batch"] = batch("testing batch 1 of 1", 350)
members["batches.meta"] = {b"num_cases_per_batch": 80, b"num_vis": 3072,
                           b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                                            b"dog", b"frog", b"horse", b"ship", b"truck"]}
with tarfile.open("cifar-10-python.tar.gz", "w:gz") as tar:
    for name, d in members.items():
        blob = pickle.dumps(d, protocol=2)
        info = tarfile.TarInfo("cifar-10-batches-py/" + name)
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
np.save("test_labels.npy", np.array(members["test_batch"][b"labels"]))
EOF
sum=$(sha256sum cifar-10-python.tar.gz | cut -c1-64)
sed -e "s|^    path: \"~/kur/cifar-10-python.tar.gz\"$|    path: \"$work/cifar-10-python.tar.gz\"|" \
    -e "s|^    checksum: \"6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce\"$|    checksum: \"$sum\"|" \
    "$src/examples/cifar.yml" >cifar.yml
# the Kurfile is the example's, but for those two lines
diff "$src/examples/cifar.yml" cifar.yml >kurfile.diff
check only-data-location-changed [ "$(grep -c '^[<>]' kurfile.diff)" -eq 4 ]

kurc_run cifar-train 0 train cifar.yml
has cifar-epoch-2 cifar-train.err "Epoch 2/2, loss="
# num_batches 2 of 32: 64 samples per epoch, and 64 validation samples
count cifar-train-samples cifar-train.err ": 64 samples in" 4
has cifar-completes cifar-train.err "Completed 2 epochs."
for w in cifar.best.valid.w cifar.best.train.w cifar.last.w; do
  check "cifar-wrote-$w" test -s "$w"
done
check cifar-log test -s cifar-log/summary.yml
kurc_run cifar-test 0 test cifar.yml
has cifar-test-samples cifar-test.err "Testing, loss="
has cifar-test-320 cifar-test.err ": 320 samples in"
has cifar-test-loss cifar-test.err "Test loss: "
kurc_run cifar-evaluate 0 evaluate cifar.yml
pycheck cifar-results <<'EOF'
import pickle, numpy as np
with open("cifar.results.pkl", "rb") as f:
    out = pickle.load(f)
assert sorted(out) == ["result", "truth"], out.keys()
r, t = out["result"]["labels"], out["truth"]["labels"]
# the test provider's 10 batches of 32, in the archive's order
assert r.shape == (320, 10) and t.shape == (320, 10), (r.shape, t.shape)
assert r.dtype == np.float32
assert np.allclose(r.sum(axis=1), 1, atol=1e-5) and np.all(r >= 0)
labels = np.load("test_labels.npy")[:320]
assert np.array_equal(t, np.eye(10, dtype=np.float32)[labels])
EOF
# a second run starts from the best validation weights
kurc_run cifar-train-again 0 -v train cifar.yml
has cifar-again-loads cifar-train-again.err "loaded initial weights from cifar.best.valid.w"
has cifar-again-numbering cifar-train-again.err "Epoch 4/4, loss="
# a wrong checksum is refused
sed "s|checksum: \"$sum\"|checksum: \"6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce\"|" \
  cifar.yml >wrongsum.yml
kurc_run cifar-wrong-checksum 1 test wrongsum.yml
has cifar-wrong-checksum-message cifar-wrong-checksum.err \
  "cifar: data file $work/cifar-10-python.tar.gz failed its checksum: expected 6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce, found $sum"
# an archive whose gzip CRC fails (no checksum to catch it) is refused
"$PY" - <<'EOF'
b = bytearray(open("cifar-10-python.tar.gz", "rb").read())
b[-8] ^= 0xFF  # the gzip trailer's CRC-32
open("damaged.tar.gz", "wb").write(bytes(b))
EOF
sed -e "s|cifar-10-python.tar.gz\"$|damaged.tar.gz\"|" -e "/checksum: \"$sum\"/d" cifar.yml >damaged.yml
kurc_run cifar-damaged 1 test damaged.yml
has cifar-damaged-message cifar-damaged.err "cifar: $work/damaged.tar.gz: corrupt gzip data after"
finish
