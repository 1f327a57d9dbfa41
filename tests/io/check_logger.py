"""check_logger.py DIR - python3 reads io_fixture's binary log (DIR/log) the
way Kur's BinaryLogger does: column names parsed back with Kur's escaping
rules, IDX columns read as kur.utils.idx.load reads them, and summary.yml
loaded with PyYAML (that part is skipped when yaml is missing)."""
import os
import re
import struct
import sys

import numpy as np

OUTPUTS = {"labels": "labels", "out__char": "out_char"}


def idx_load(path):
    """kur/utils/idx.py's load, for uncompressed files."""
    with open(path, "rb") as fh:
        raw = fh.read()
    assert raw[0] == 0 and raw[1] == 0, path
    kind = {0x0C: ">i4", 0x0D: ">f4"}[raw[2]]
    ndim = raw[3]
    shape = struct.unpack(">%dI" % ndim, raw[4:4 + 4 * ndim])
    count = int(np.prod(shape))
    data = np.frombuffer(raw[4 + 4 * ndim:], dtype=kind, count=count)
    assert len(raw) == 4 + 4 * ndim + 4 * count, path  # no trailing bytes
    return data.reshape(shape), raw[2]


def parse_name(filename):
    """BinaryLogger.get_statistic_from_filename for v3 names."""
    parts = re.split(r"(?<=[^_])_(?=[^_])", filename)
    assert len(parts) == 3, filename
    parts = [p.replace("__", "_") for p in parts]
    tags = [t.replace("..", ".") for t in re.split(r"(?<=[^.])\.(?=[^.])", parts[1])]
    return parts[0], tuple(tags), parts[2]


def expected():
    """Column -> values, from io_fixture's write_log."""
    cols = {}

    def record(kind, tag, labels, out_char, batch, time):
        prefix = kind + "_loss" + ("." + tag if tag else "") + "_"
        for stat, v in (("labels", labels), ("out__char", out_char),
                        ("total", labels + out_char), ("batch", batch), ("time", time)):
            cols.setdefault(prefix + stat, []).append(v)

    for b in (1, 2, 3):
        record("batch", None, b / 2, b / 4, b, b)
    record("training", None, 1.0, 0.5, 3, 3.5)
    record("validation", None, 1.5, 0.25, 3, 3.75)
    record("validation", "default", 1.5, 0.25, 3, 3.75)
    record("batch", None, 2.0, 1.0, 4, 4.0)
    record("training", None, 0.75, 0.5, 4, 4.5)
    return cols


def main(d):
    log = os.path.join(d, "log")
    want = expected()
    files = sorted(os.listdir(log))
    assert files == sorted(list(want) + ["summary.yml"]), files
    for column, values in want.items():
        data, kind = idx_load(os.path.join(log, column))
        kind_name, tags, stat = parse_name(column)
        assert kind_name in ("batch", "training", "validation"), column
        assert tags[0] == "loss" and tags[1:] in ((), ("default",)), (column, tags)
        assert stat in ("labels", "out_char", "total", "batch", "time"), (column, stat)
        assert kind == (0x0C if stat == "batch" else 0x0D), (column, kind)
        assert data.shape == (len(values),), (column, data.shape)
        assert np.array_equal(data, np.array(values, dtype=data.dtype)), (column, data, values)

    try:
        import yaml
    except ImportError:
        print("summary.yml: skipped: /usr/bin/python3 has no yaml")
    else:
        with open(os.path.join(log, "summary.yml")) as fh:
            summary = yaml.safe_load(fh)
        assert summary == {
            "version": 3, "epochs": 2, "batches": 4, "samples": 128, "sessions": 2,
            "clocks": {"all": 1.0, "train": 2.0, "validate": 3.0, "batch": 4.0},
        }, summary
        assert all(isinstance(v, float) for v in summary["clocks"].values())
        with open(os.path.join(log, "summary.yml")) as fh:
            text = fh.read()
        assert text == yaml.dump(summary), (text, yaml.dump(summary))
    print("binary log: ok")


if __name__ == "__main__":
    main(sys.argv[1])
