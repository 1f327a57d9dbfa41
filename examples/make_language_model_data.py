#!/usr/bin/env python3
"""Makes a small character corpus in the format of Kur's language-model example.

    python3 examples/make_language_model_data.py [--out data] [--chars N] [--seed S]

Kur's examples/language-model/make_data.py cut two books into windows of 30
characters, each labelled with the character that follows.  This script
writes the same kind of data from sentences it makes up itself (a small
grammar of nouns, verbs and adjectives, drawn with a seeded random
generator, so the same command makes the same files):

    DIR/train.jsonl, validate.jsonl, test.jsonl, evaluate.jsonl
        Kur's format, for the jsonl supplier (examples/language-model.yml):
        {"in_seq": 30 one-hot rows of 30 ints, "out_char": one-hot row of 30}
        split 80/5/5/5 % of the windows in order, as Kur's data_portions.
    DIR/text/train.jsonl, ...
        the same windows as text, for the text supplier
        (examples/language-model-text.yml): {"in_seq": "30 characters",
        "out_char": "c"}.

The vocabulary is Kur's: the 26 lower-case letters, space, '"', "'" and '.'.
"""

import argparse
import json
import os
import random
import sys

SEQ_LEN = 30
VOCAB = [chr(97 + i) for i in range(26)] + [" ", '"', "'", "."]
CHAR_TO_INT = {c: i for i, c in enumerate(VOCAB)}

NOUNS = "cat dog bird fish king queen ship river house garden child letter friend".split()
VERBS = "sees finds likes keeps reads sends hears paints follows".split()
ADJECTIVES = "red quiet old small happy clever brave green".split()
NAMES = "anna tom lucy mr. bennet jane".split()


def sentence(rng):
    subject = rng.choice(NAMES) if rng.random() < 0.3 else "the %s" % rng.choice(NOUNS)
    obj = "the %s %s" % (rng.choice(ADJECTIVES), rng.choice(NOUNS))
    words = "%s %s %s." % (subject, rng.choice(VERBS), obj)
    if rng.random() < 0.15:
        words = '"%s" she said.' % words[:-1]
    elif rng.random() < 0.1:
        words = words.replace("the ", "the king's ", 1)
    return words


def one_hot(c):
    row = [0] * len(VOCAB)
    row[CHAR_TO_INT[c]] = 1
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data", help="where to write (default: data)")
    parser.add_argument("--chars", type=int, default=4000,
                        help="characters of text to cut into windows (default: 4000)")
    parser.add_argument("--seed", type=int, default=1, help="the random seed (default: 1)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    text = ""
    while len(text) < args.chars + SEQ_LEN + 1:
        text += sentence(rng) + " "
    text = text[: args.chars + SEQ_LEN + 1]
    assert all(c in CHAR_TO_INT for c in text)
    windows = [(text[i : i + SEQ_LEN], text[i + SEQ_LEN]) for i in range(len(text) - SEQ_LEN)]
    portions = [("train", 0.8), ("validate", 0.05), ("test", 0.05), ("evaluate", 0.05)]
    os.makedirs(os.path.join(args.out, "text"), exist_ok=True)
    start = 0
    for name, fraction in portions:
        end = start + int(round(len(windows) * fraction))
        part = windows[start:end]
        with open(os.path.join(args.out, name + ".jsonl"), "w") as hot, open(
            os.path.join(args.out, "text", name + ".jsonl"), "w"
        ) as raw:
            for seq, nxt in part:
                hot.write(json.dumps({"in_seq": [one_hot(c) for c in seq],
                                      "out_char": one_hot(nxt)}) + "\n")
                raw.write(json.dumps({"in_seq": seq, "out_char": nxt}) + "\n")
        print("%s: %d windows" % (name, len(part)))
        start = end
    return 0


if __name__ == "__main__":
    sys.exit(main())
