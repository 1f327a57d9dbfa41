#!/usr/bin/env python3
"""make_tutorial_data.py - data for examples/tutorial.yml (Kur's "Tutorial
From Scratch"): random points of the plane, each labelled by whether it lies
above the sine curve.

    python3 make_tutorial_data.py [--seed S] NUM-SAMPLES OUTPUT-FILE
    python3 make_tutorial_data.py --all [--seed S]    # the tutorial's four files

Each file is a Python pickle of a dict, the format of Kur's pickle supplier:
  point: float64 array (N, 2), x uniform in [-pi, pi), y uniform in [-1, 1)
  above: float32 array (N,), +1 where y > sin(x), -1 elsewhere
--all writes train.pkl (10000 points), validate.pkl, test.pkl and
evaluate.pkl (1000 each) in the working directory, each from its own seed.
Needs numpy (Debian: python3-numpy).
"""
import argparse
import pickle
import sys

import numpy


def points(count, rng):
    """count labelled points: (point, above)."""
    point = numpy.empty((count, 2))
    point[:, 0] = rng.uniform(-numpy.pi, numpy.pi, count)
    point[:, 1] = rng.uniform(-1.0, 1.0, count)
    above = numpy.where(point[:, 1] > numpy.sin(point[:, 0]), 1.0, -1.0)
    return point, above.astype(numpy.float32)


def write(path, count, seed):
    point, above = points(count, numpy.random.default_rng(seed))
    with open(path, "wb") as out:
        pickle.dump({"point": point, "above": above}, out)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--all", action="store_true",
                        help="write train.pkl, validate.pkl, test.pkl and evaluate.pkl")
    parser.add_argument("count", nargs="?", type=int, metavar="NUM-SAMPLES")
    parser.add_argument("output", nargs="?", metavar="OUTPUT-FILE")
    args = parser.parse_args(argv)
    if args.all:
        if args.count is not None:
            parser.error("--all takes no NUM-SAMPLES or OUTPUT-FILE")
        for i, (name, count) in enumerate(
                (("train", 10000), ("validate", 1000), ("test", 1000), ("evaluate", 1000))):
            write(name + ".pkl", count, args.seed * 4 + i)
        return 0
    if args.output is None:
        parser.error("give NUM-SAMPLES and OUTPUT-FILE, or --all")
    if args.count < 1:
        parser.error("NUM-SAMPLES must be positive")
    write(args.output, args.count, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
