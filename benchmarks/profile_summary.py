#!/usr/bin/env python3
"""Self time per operator from a Chrome trace written by `entropix bench --profile FILE`.

    python3 benchmarks/profile_summary.py FILE [--top N] [--steps 2]

An operator's self time is its duration minus the durations of the operators nested directly
inside it on the same thread (aten::matmul -> aten::mm: the time lands on aten::mm). Prints one
line per operator, largest first: self ms per step, share of the total, calls per step.
"""
import argparse
import collections
import json
import sys


def self_times(events):
    by_thread = collections.defaultdict(list)
    for e in events:
        # Kineto (LibTorch 2.x) adds one "PyTorch Profiler (n)" span over the whole recording:
        # not an operator, and its self time would be every gap between operators.
        if e.get("ph") == "X" and "dur" in e and not str(e.get("name", "")).startswith("PyTorch Profiler"):
            by_thread[e.get("tid")].append(e)
    totals = collections.Counter()
    calls = collections.Counter()
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [event, time of its direct children]
        def close(entry):
            ev, child = entry
            totals[ev["name"]] += ev["dur"] - child
            calls[ev["name"]] += 1
        for e in evs:
            while stack and stack[-1][0]["ts"] + stack[-1][0]["dur"] <= e["ts"]:
                close(stack.pop())
            if stack:
                stack[-1][1] += e["dur"]
            stack.append([e, 0.0])
        while stack:
            close(stack.pop())
    return totals, calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--steps", type=int, default=2, help="steps in the trace (bench --profile records 2)")
    a = ap.parse_args()
    with open(a.trace) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    totals, calls = self_times(events)
    whole = sum(totals.values())
    if whole <= 0:
        sys.exit("no timed events in " + a.trace)
    print(f"{'operator':44s} {'ms/step':>9s} {'share':>7s} {'calls/step':>10s}")
    for name, us in totals.most_common(a.top):
        print(f"{name[:44]:44s} {us / 1000 / a.steps:9.2f} {100 * us / whole:6.1f}% {calls[name] / a.steps:10.1f}")
    print(f"{'total (operators)':44s} {whole / 1000 / a.steps:9.2f}")


if __name__ == "__main__":
    main()
