#!/usr/bin/env bash
# examples_elsewhere.sh BIN SRC WORK - Kur's examples run from a copy of
# examples/ whose data paths are absolute, from other working directories
# (one each, as their logs and weights have the same names): the tutorial (pickles), the language model in both its forms (jsonl and
# text), MNIST (Debian's Fashion-MNIST, skipped without it), and Kur's
# speech example with its data at its default place, ~/kur (HOME pointed
# at a scratch directory), as archives that unpack there (the speech part
# is skipped without espeak-ng).  Each trains briefly.  (The CIFAR example
# at an absolute path is integration.cifar.)
. "$(dirname "$0")/lib.sh"
need_python numpy

cp -r "$src/examples" copy
mkdir data elsewhere
(cd data && "$PY" "$src/examples/make_tutorial_data.py" --all >/dev/null) || fail make-data
sed -i -e "s|pickle: \([a-z]*\.pkl\)|pickle: $work/data/\1|" -e 's/epochs: 10/epochs: 1/' \
  copy/tutorial.yml
has tutorial-paths-absolute copy/tutorial.yml "pickle: $work/data/train.pkl"
cd elsewhere || exit 2
kurc_run tutorial-train 0 train "$work/copy/tutorial.yml"
has tutorial-trained tutorial-train.err "Completed 1 epochs."
kurc_run tutorial-evaluate 0 evaluate "$work/copy/tutorial.yml"
check tutorial-output test -s output.pkl
cd "$work" || exit 2

"$PY" "$src/examples/make_language_model_data.py" --out "$work/lm" --chars 300 >/dev/null ||
  fail make-language-model-data
for lm in language-model language-model-text; do
  sed -i -e "s|jsonl: data/|jsonl: $work/lm/|" -e "s|path: data/text/|path: $work/lm/text/|" \
    -e 's/size: 128/size: 8/' -e 's/depth: 3/depth: 1/' -e 's/epochs: 5/epochs: 1/' \
    "copy/$lm.yml"
  has "$lm-paths-absolute" "copy/$lm.yml" "$work/lm/"
  mkdir "elsewhere-$lm" && cd "elsewhere-$lm" || exit 2
  kurc_run "$lm-train" 0 train "$work/copy/$lm.yml"
  has "$lm-trained" "$lm-train.err" "Completed 1 epochs."
  kurc_run "$lm-test" 0 test "$work/copy/$lm.yml"
  has "$lm-tested" "$lm-test.err" "Test loss:"
  cd "$work" || exit 2
done

if [ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  sed -i -e 's/epochs: 10/epochs: 1/' -e 's/num_batches: 100/num_batches: 5/' \
    copy/mnist-defaults.yml
  mkdir elsewhere-mnist && cd elsewhere-mnist || exit 2
  kurc_run mnist-train 0 train "$work/copy/mnist.yml"
  has mnist-trained mnist-train.err "Completed 1 epochs."
  check mnist-weights-here test -s mnist.w
  kurc_run mnist-evaluate 0 evaluate "$work/copy/mnist.yml"
  check mnist-results-here test -s mnist.results.pkl
  cd "$work" || exit 2
else
  ok "mnist: skipped, Debian's dataset-fashion-mnist is not installed"
fi

if command -v espeak-ng >/dev/null 2>&1; then
  export HOME=$work/home
  "$PY" "$src/examples/make_speech_data.py" --out "$HOME/kur" --words 6 --archive >/dev/null ||
    fail make-speech-data
  sed -i -e 's|path: data/\(speech-[a-z]*\.tar\.gz\)|path: "~/kur/\1"|' \
    -e 's/kernels: 1000/kernels: 8/' -e 's/size: 1000/size: 8/' -e 's/depth: 3/depth: 1/' \
    -e 's/batch_size: 16/batch_size: 4/' -e '/^train:/a\  epochs: 1' copy/speech.yml
  has speech-at-home copy/speech.yml 'path: "~/kur/speech-train.tar.gz"'
  cd elsewhere || exit 2
  kurc_run speech-train 0 train "$work/copy/speech.yml"
  has speech-trained speech-train.err "Completed 1 epochs."
  check speech-unpacked-at-home test -e "$HOME/kur/speech-train/.kurc-unpacked"
  kurc_run speech-test 0 test "$work/copy/speech.yml"
  has speech-tested speech-test.err "Test loss:"
else
  ok "speech at ~/kur: skipped, espeak-ng is not installed"
fi
finish
