"""export_cases.py CASE DIR KURC EXAMPLES_DIR - writes, in DIR, the Kurfile
kurfile.json of one case of tests/torch/export.sh and its data: data.pkl
(arrays by source name, which the Kurfile trains and evaluates on),
inputs.npz (the same arrays, for PyTorch) and batch.txt (evaluate's batch
size); for speech also data2.pkl and inputs2.npz, utterances of another
length.  Cases: small models that together use every container kurc has,
Kur's "uber" model (uber-kur, as Kur's newest tests have it, and uber, kurc's
port of an earlier one in tests/kurfiles/models/uber.yml), and Kur's examples
(mnist, cifar, speech, language-model), whose settings and model are taken
from `kurc dump` of examples/NAME.yml with smaller sizes and random data."""
import json
import pickle
import subprocess
import sys

import numpy as np

RNG = np.random.default_rng(18)
N = 13  # samples: evaluate's last batch is a partial one


def normal(*shape):
    return RNG.normal(size=(N,) + shape).astype(np.float32)


def one_hot(classes, *shape):
    idx = RNG.integers(0, classes, size=(N,) + shape)
    return np.eye(classes, dtype=np.float32)[idx]


def lengths(lo, hi):
    return RNG.integers(lo, hi + 1, size=(N,)).astype(np.float32)


LAYERS = {
    "model": [
        {"input": "img"},
        {"convolution": {"kernels": 4, "size": [3, 3], "strides": [2, 1], "border": "same"}},
        {"activation": "elu"},
        {"pool": {"size": [2, 2], "strides": 2, "type": "average", "border": "same"}},
        {"convolution": {"kernels": 5, "size": [2, 3], "border": "valid", "activation": "tanh"}},
        {"pool": {"size": [2, 2], "type": "max", "border": "same"}},
        {"batch_normalization": None},
        {"dropout": 0.3},
        {"flatten": None, "name": "img_flat"},
        {"input": "seq"},
        {"convolution": {"kernels": 3, "size": 4, "strides": 2, "border": "same"}},
        {"activation": "selu"},
        {"pool": {"size": 2, "type": "max", "strides": 2}},
        {"flatten": None, "name": "seq_flat"},
        {"input": "vol"},
        {"convolution": {"kernels": 2, "size": [2, 3, 2], "strides": [1, 2, 2]}},
        {"activation": "softplus"},
        {"pool": {"size": [2, 2, 2], "strides": 2, "type": "average"}},
        {"batch_normalization": {"axis": 2}},
        {"flatten": None, "name": "vol_flat"},
        {"merge": "concat", "inputs": ["img_flat", "seq_flat", "vol_flat"]},
        {"dense": [7, 6]},
        {"activation": {"type": "leakyrelu", "alpha": 0.1}},
        {"dense": 5, "name": "logits"},
        {"activation": "softmax", "name": "probs"},
        {"activation": "softsign", "inputs": "logits", "name": "soft"},
        {"activation": "hard_sigmoid", "name": "hard"},
        {"activation": "sigmoid", "name": "sig"},
    ],
    "loss": [{"target": "probs", "name": "categorical_crossentropy"},
             {"target": "sig", "name": "mean_squared_error"}],
}

RECURRENT = {
    "model": [
        {"input": "x"},
        {"recurrent": {"size": 6, "type": "lstm", "bidirectional": True, "merge": "concat"}},
        {"recurrent": {"size": 5, "type": "gru", "bidirectional": True, "merge": "multiply",
                       "outer_activation": "tanh"}},
        {"recurrent": {"size": 4, "type": "rnn", "bidirectional": True, "merge": "add"},
         "name": "simple"},
        {"recurrent": {"size": 4, "type": "gru", "sequence": False, "bidirectional": True,
                       "merge": "average"}},
        {"dense": 2, "name": "last"},
        {"recurrent": {"size": 3, "type": "lstm", "outer_activation": "sigmoid"},
         "inputs": "simple", "name": "steps"},
    ],
    "loss": [{"target": "last", "name": "mean_squared_error"},
             {"target": "steps", "name": "mean_squared_error"}],
}

# (layer names that are Python keywords, torch.nn.Module's own names or not
# identifiers: in, forward, class-1.x, and class_1_x after it)
SHAPES = {
    "model": [
        {"input": "words"},
        {"embedding": {"vocab_size": 11, "size": 4}},
        {"transpose": [1, 0]},
        {"expand": 0},
        {"squeeze": 0},
        {"parallel": {"apply": [{"dense": 3}, {"activation": "relu"}]}, "name": "a"},
        {"parallel": {"apply": [{"dense": 3, "name": "in"}]}, "inputs": "a", "name": "b"},
        {"merge": "add", "inputs": ["a", "b"], "name": "sum"},
        {"merge": "multiply", "inputs": ["a", "b"], "name": "prod"},
        {"merge": {"mode": "average"}, "inputs": ["sum", "prod"], "name": "avg"},
        {"merge": {"mode": "concat", "axis": 0}, "inputs": ["avg", "a"]},
        {"flatten": None},
        {"repeat": 2},
        {"parallel": {"apply": [{"dense": 24, "name": "forward"}]}},
        {"parallel": {"apply": [{"reuse": "forward"}]}},
        {"parallel": {"apply": [{"dense": 24, "name": "class-1.x"}]}},
        {"parallel": {"apply": [{"dense": 24, "name": "class_1_x"}]}},
        {"activation": "tanh", "name": "out"},
    ],
    "loss": [{"target": "out", "name": "mean_squared_error"}],
}


def section(batch):
    data = [{"pickle": "data.pkl"}]
    return {
        "train": {"data": data, "epochs": 1, "provider": {"batch_size": batch},
                  "weights": {"last": "trained.w"},
                  "optimizer": {"name": "adam", "learning_rate": 0.01}},
        "evaluate": {"data": data, "provider": {"batch_size": batch}, "weights": "trained.w",
                     "destination": "result.pkl"},
    }


def from_example(kurc, examples, name, settings):
    """The example's settings (with `settings` merged in), model and loss."""
    dump = json.loads(subprocess.run([kurc, "dump", "%s/%s.yml" % (examples, name)],
                                     check=True, capture_output=True, text=True).stdout)
    out = {k: dump[k] for k in ("settings", "model", "loss", "templates") if k in dump}
    for key, val in settings.items():
        out.setdefault("settings", {}).setdefault(key, {}).update(val)
    return out


FREE = {
    "model": [
        {"input": {"shape": [None, 4]}, "name": "x"},
        {"expand": -1},
        {"convolution": {"kernels": 2, "size": [3, 2]}},
        {"parallel": {"apply": [{"flatten": None}, {"dense": 3}]}},
        {"activation": "relu"},
        {"recurrent": {"size": 3, "sequence": False}},
        {"dense": 2, "name": "y"},
    ],
    "loss": [{"target": "y", "name": "mean_squared_error"}],
}


# Kur's uber model as the newest tests/conftest.py of Kur has it (its input
# shape from the data, `same` convolutions, a reuse outside `parallel`, an
# average merge); tests/kurfiles/models/uber.yml is kurc's port of an
# earlier one.
UBER_KUR = {
    "model": [
        {"input": "TEST_input"},
        {"transpose": [0, 1]},
        {"expand": -1},
        {"debug": "hello world"},
        {"for": {"with_index": "idx", "range": 2, "iterate": [
            {"convolution": {"kernels": "{{ 2*(idx+1) }}", "size": [2, 2]}},
            {"activation": "relu"},
            {"pool": {"size": [2, 2], "strides": 2}},
            {"assert": "{{ idx < 2 }}"}]}},
        {"dropout": 0.2},
        {"parallel": {"apply": ["flatten", {"dense": {"size": 10}, "name": "TEST_reuse"}]}},
        {"recurrent": {"size": 32, "sequence": False}},
        {"repeat": 8},
        "batch_normalization",
        {"reuse": "TEST_reuse"},
        {"flatten": None, "name": "TEST_mark1"},
        {"dense": 80, "name": "TEST_mark2"},
        {"merge": "average", "inputs": ["TEST_mark1", "TEST_mark2"]},
        {"output": "TEST_output"},
    ],
    "loss": [{"target": "TEST_output", "name": "mean_squared_error"}],
}


def free_data(steps):
    return {"x": normal(steps, 4), "y": normal(2)}


def speech_data(frames):
    return {"utterance": normal(frames, 5), "utterance_length": lengths(28, frames),
            "transcript": RNG.integers(0, 28, size=(N, 3)).astype(np.float32),
            "transcript_length": lengths(1, 3)}


def case(name, argv):
    """(kurfile without sections, data, batch size)."""
    if name == "layers":
        return LAYERS, {"img": normal(12, 10, 3), "seq": normal(9, 2), "vol": normal(4, 5, 6, 2),
                        "probs": one_hot(5), "sig": normal(5)}, 5
    if name == "recurrent":
        return RECURRENT, {"x": normal(8, 3), "x_length": lengths(2, 8),
                           "last": normal(2), "steps": normal(8, 3)}, 4
    if name == "shapes":
        words = RNG.integers(0, 11, size=(N, 6)).astype(np.float32)
        return SHAPES, {"words": words, "out": normal(2, 24)}, 6
    if name == "free":
        return FREE, free_data(7), 5
    if name == "uber-kur":
        return UBER_KUR, {"TEST_input": normal(32, 32), "TEST_output": normal(80)}, 5
    if name == "uber":
        kf = {"include": "uber.yml"}
        return kf, {"TEST_input": normal(32, 32), "TEST_output": normal(140)}, 5
    kurc, examples = argv
    if name == "mnist":
        kf = from_example(kurc, examples, name, {})
        return kf, {"images": RNG.random((N, 28, 28, 1), dtype=np.float32),
                    "labels": one_hot(10)}, 8
    if name == "cifar":
        kf = from_example(kurc, examples, name, {"cnn": {"kernels": [6, 5]}})
        return kf, {"images": RNG.random((N, 32, 32, 3), dtype=np.float32),
                    "labels": one_hot(10)}, 8
    if name == "speech":
        kf = from_example(kurc, examples, name, {"cnn": {"kernels": 6}, "rnn": {"size": 7,
                                                                                "depth": 2}})
        return kf, speech_data(40), 4
    if name == "language-model":
        kf = from_example(kurc, examples, name, {"rnn": {"size": 9}})
        return kf, {"in_seq": one_hot(30, 10), "out_char": one_hot(30)}, 4
    raise SystemExit("unknown case " + name)


def main():
    name, out = sys.argv[1], sys.argv[2]
    kf, data, batch = case(name, sys.argv[3:])
    kf = dict(kf, **section(batch))
    with open(out + "/kurfile.json", "w") as f:
        json.dump(kf, f, indent=1)
    with open(out + "/data.pkl", "wb") as f:
        pickle.dump(data, f)
    np.savez(out + "/inputs.npz", **data)
    # sequences of another length, for the same model.py (data2.pkl)
    other = {"speech": lambda: speech_data(33), "free": lambda: free_data(10)}.get(name)
    if other:
        other = other()
        with open(out + "/data2.pkl", "wb") as f:
            pickle.dump(other, f)
        np.savez(out + "/inputs2.npz", **other)
    with open(out + "/batch.txt", "w") as f:
        f.write("%d\n" % batch)


if __name__ == "__main__":
    main()
