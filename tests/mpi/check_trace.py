#!/usr/bin/python3
"""check_trace.py TRACE --ranks N [--ops OP@LAYER,...] [--steps S] [--training [--overlap]]

Checks a `kurc --trace` file against the Chrome Trace Event Format (the JSON
object form that Perfetto opens) and what a trace of kurc must show.

Format: {"traceEvents": [...], "displayTimeUnit": "ms"|"ns"}; every event an
object with a string "ph"; complete events ("X") with a string name and cat,
int pid and tid, numbers ts >= 0 and dur >= 0 (microseconds) and an object
args; metadata events ("M") naming processes and threads (process_name /
thread_name with a string args.name, *_sort_index with an int); each pid
with events named, each (pid, tid) with events named; the events of one
(pid, tid) nested or disjoint.

kurc: pids 0..N-1 named "rank R"; with --ops, a forward and a backward event
of every OP@LAYER on every rank (backward only with --training); with
--training, every optimizer step after the end of every all-reduce that
began before it, and with --overlap too, on every rank an all-reduce that
overlaps a backward op event in time (a trace of a few steps may have none:
when the other rank is ahead, a small bucket completes as it starts); with --steps, exactly S step events per rank, numbered 1..S.
Prints what it checked; exits 1 with the first violation.
"""
import argparse
import json
import sys

EPS = 0.002  # microseconds: ts and dur are printed with 3 decimals


def fail(msg):
    print("trace check failed: " + msg)
    sys.exit(1)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def check_format(doc):
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        fail("the top level is not an object with a traceEvents list")
    if doc.get("displayTimeUnit") not in ("ms", "ns"):
        fail("displayTimeUnit is %r, not ms or ns" % doc.get("displayTimeUnit"))
    spans, procs, threads = [], {}, {}
    for i, e in enumerate(doc["traceEvents"]):
        where = "event %d (%s)" % (i, json.dumps(e)[:120])
        if not isinstance(e, dict) or not isinstance(e.get("ph"), str):
            fail(where + ": not an object with a string ph")
        if not is_int(e.get("pid")) or not is_int(e.get("tid")):
            fail(where + ": pid and tid must be integers")
        if not isinstance(e.get("name"), str):
            fail(where + ": no string name")
        if e["ph"] == "X":
            if not is_num(e.get("ts")) or e["ts"] < 0:
                fail(where + ": ts must be a number >= 0")
            if not is_num(e.get("dur")) or e["dur"] < 0:
                fail(where + ": dur must be a number >= 0")
            if not isinstance(e.get("cat"), str) or not isinstance(e.get("args", {}), dict):
                fail(where + ": cat must be a string and args an object")
            spans.append(e)
        elif e["ph"] == "M":
            args = e.get("args")
            if not isinstance(args, dict):
                fail(where + ": metadata without an args object")
            if e["name"] in ("process_name", "thread_name"):
                if not isinstance(args.get("name"), str):
                    fail(where + ": args.name must be a string")
                if e["name"] == "process_name":
                    procs[e["pid"]] = args["name"]
                else:
                    threads[(e["pid"], e["tid"])] = args["name"]
            elif e["name"] in ("process_sort_index", "thread_sort_index"):
                if not is_int(args.get("sort_index")):
                    fail(where + ": args.sort_index must be an integer")
            elif e["name"] != "process_labels":
                fail(where + ": unknown metadata " + e["name"])
        else:
            fail(where + ": phase %r (kurc writes X and M)" % e["ph"])
    for e in spans:
        if e["pid"] not in procs:
            fail("pid %d has events but no process_name" % e["pid"])
        if (e["pid"], e["tid"]) not in threads:
            fail("pid %d tid %d has events but no thread_name" % (e["pid"], e["tid"]))
    # nesting per lane: sorted by start (longer first), a stack of ends
    lanes = {}
    for e in spans:
        lanes.setdefault((e["pid"], e["tid"]), []).append(e)
    for (pid, tid), evs in lanes.items():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in evs:
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"] - EPS:
                stack.pop()
            if stack and e["ts"] + e["dur"] > stack[-1]["ts"] + stack[-1]["dur"] + EPS:
                fail("pid %d tid %d: %r [%s, +%s] overlaps %r [%s, +%s] without nesting"
                     % (pid, tid, e["name"], e["ts"], e["dur"], stack[-1]["name"],
                        stack[-1]["ts"], stack[-1]["dur"]))
            stack.append(e)
    print("format: %d events, %d complete, %d processes, %d threads, lanes nested or disjoint"
          % (len(doc["traceEvents"]), len(spans), len(procs), len(threads)))
    return spans, procs


def overlaps(a, b):
    return a["ts"] < b["ts"] + b["dur"] and b["ts"] < a["ts"] + a["dur"]


def check_kurc(spans, procs, args):
    ranks = list(range(args.ranks))
    if sorted(procs) != ranks or sorted({e["pid"] for e in spans}) != ranks:
        fail("ranks %s expected, processes %s with events from %s"
             % (ranks, sorted(procs), sorted({e["pid"] for e in spans})))
    for r in ranks:
        if procs[r] != "rank %d" % r:
            fail("pid %d is named %r" % (r, procs[r]))
        mine = [e for e in spans if e["pid"] == r]
        cats = ("forward", "backward") if args.training else ("forward",)
        for op in args.ops:
            name, layer = op.split("@")
            for cat in cats:
                if not any(e["cat"] == cat and e["args"].get("op") == name and
                           e["args"].get("layer") == layer for e in mine):
                    fail("rank %d: no %s event of op %s in layer %s" % (r, cat, name, layer))
        if args.steps is not None:
            steps = sorted(e["args"].get("step") for e in mine if e["cat"] == "step")
            if steps != list(range(1, args.steps + 1)):
                fail("rank %d: steps %s, not 1..%d" % (r, steps, args.steps))
        if not args.training:
            continue
        reduces = [e for e in mine if e["cat"] == "allreduce"]
        backward = [e for e in mine if e["cat"] == "backward"]
        overlap = [(a, b) for a in reduces for b in backward if overlaps(a, b)]
        if args.overlap and not overlap:
            fail("rank %d: no all-reduce overlaps a backward op (%d all-reduces)"
                 % (r, len(reduces)))
        optim = [e for e in mine if e["cat"] == "optimizer"]
        if not optim:
            fail("rank %d: no optimizer step" % r)
        for o in optim:
            for a in reduces:
                if a["ts"] < o["ts"] and a["ts"] + a["dur"] > o["ts"] + EPS:
                    fail("rank %d: optimizer step %s at %s before %r ends at %s"
                         % (r, o["args"].get("step"), o["ts"], a["name"], a["ts"] + a["dur"]))
        example = " (e.g. %s with %s)" % (overlap[0][0]["name"], overlap[0][1]["name"]) \
            if overlap else ""
        print("rank %d: %d all-reduces, %d overlap backward ops%s, "
              "%d optimizer steps after their all-reduces"
              % (r, len(reduces), len({id(x) for x, _ in overlap}), example, len(optim)))
    if args.ops:
        print("every rank: forward%s events of %s"
              % (" and backward" if args.training else "", ", ".join(args.ops)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("trace")
    p.add_argument("--ranks", type=int, required=True)
    p.add_argument("--ops", default="")
    p.add_argument("--steps", type=int)
    p.add_argument("--training", action="store_true")
    p.add_argument("--overlap", action="store_true")
    args = p.parse_args()
    args.ops = [o for o in args.ops.split(",") if o]
    try:
        with open(args.trace) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: %s" % (args.trace, e))
    spans, procs = check_format(doc)
    check_kurc(spans, procs, args)


if __name__ == "__main__":
    main()
