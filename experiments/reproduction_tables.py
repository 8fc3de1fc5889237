#!/usr/bin/env python3
"""Markdown tables of docs/reproduction.md, read from the run directories of one or more sweeps.

    python3 experiments/reproduction_tables.py runs/reproduction/core-ablation-cpu [more sweep dirs]

Runs that differ only in their seed (run names ending in `_seed=<n>`) are one row: mean and
standard deviation over the seeds (sample std, n-1; 0 with one seed). Reads only summary.json and
metrics.jsonl (docs/logs.md); standard library only.
"""
import csv
import json
import math
import re
import sys
from pathlib import Path

PINNED = 0.95  # a head is "at the ceiling" when its entropy is at least 95% of the causal ceiling


def mean_std(xs):
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    if not xs:
        return None, None
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, s


def fmt(m, s, digits=3):
    if m is None:
        return "-"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def records(run_dir, kind):
    out = []
    with open(run_dir / "metrics.jsonl") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a record still being written
            r = json.loads(line)
            if r.get("kind") == kind:
                out.append(r)
    return out


def load_run(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    entropy = records(run_dir, "entropy")
    train = records(run_dir, "train")
    last = entropy[-1] if entropy else None
    run = {"status": summary["status"], "val_loss": summary.get("final_val_loss"),
           "ppl": summary.get("final_val_ppl"), "first": entropy[0] if entropy else None, "last": last}
    # The regulariser's share of the objective, over the run's train records.
    shares = [r["ereg_loss"] / r["loss"] for r in train if r.get("ereg_loss") is not None and r["loss"]]
    run["ereg_share_max"] = max(shares) if shares else None
    return run


def layer_fractions(record):
    """Per layer: mean headwise entropy / causal ceiling, and the share of heads at the ceiling."""
    ceiling = record["causal_ceiling"]
    fractions, pinned = [], []
    for heads in record["headwise"]:
        finite = [h for h in heads if h is not None]
        fractions.append(sum(finite) / len(finite) / ceiling if finite else None)
        pinned.append(sum(1 for h in finite if h >= PINNED * ceiling) / len(heads))
    return fractions, pinned


def plan_order(sweep):
    """Run name -> its row in the sweep's summary.csv (the sweep's plan order)."""
    try:
        with open(sweep / "summary.csv", newline="") as f:
            return {row["run"]: i for i, row in enumerate(csv.DictReader(f))}
    except FileNotFoundError:
        return {}


def main(sweep_dirs):
    groups = {}
    for sweep in map(Path, sweep_dirs):
        for run_dir in sorted((p for p in sweep.iterdir() if (p / "summary.json").is_file()),
                              key=lambda p: (plan_order(sweep).get(p.name, 1 << 30), p.name)):
            name = re.sub(r"_seed=\d+$", "", run_dir.name)
            groups.setdefault((sweep.name, name), []).append(load_run(run_dir))
    if not groups:
        sys.exit("error: no run directories with a summary.json under " + " ".join(sweep_dirs))

    print("| sweep | variant | seeds | status | final val loss | val ppl | collapse share | overload share |")
    print("|---|---|---|---|---|---|---|---|")
    for (sweep, name), runs in groups.items():
        statuses = ", ".join(sorted({r["status"] for r in runs}))
        bins = [r["last"]["bins"] for r in runs if r["last"]]
        print(f"| {sweep} | {name} | {len(runs)} | {statuses} | {fmt(*mean_std([r['val_loss'] for r in runs]))} "
              f"| {fmt(*mean_std([r['ppl'] for r in runs]), 2)} | {fmt(*mean_std([b[0] for b in bins]), 2)} "
              f"| {fmt(*mean_std([b[3] for b in bins]), 2)} |")

    n_layer = max(len(r["last"]["headwise"]) for runs in groups.values() for r in runs if r["last"])
    print()
    print("Mean headwise entropy per layer as a fraction of the causal ceiling (mean over seeds), at the "
          "first and the last entropy record; in brackets the share of heads at 95% of the ceiling or more.")
    print()
    cols = " | ".join(f"L{l} first | L{l} last" for l in range(n_layer))
    print(f"| sweep | variant | {cols} |")
    print("|---|---|" + "---|" * (2 * n_layer))
    for (sweep, name), runs in groups.items():
        cells = []
        for l in range(n_layer):
            for which in ("first", "last"):
                per_seed = [layer_fractions(r[which]) for r in runs if r[which]]
                frac = mean_std([f[l] for f, _ in per_seed])[0]
                pinned = mean_std([p[l] for _, p in per_seed])[0]
                cells.append("-" if frac is None else f"{frac:.2f} [{pinned:.0%}]")
        print(f"| {sweep} | {name} | " + " | ".join(cells) + " |")

    reg = [(k, runs) for k, runs in groups.items() if any(r["ereg_share_max"] is not None for r in runs)]
    if reg:
        print()
        print("| sweep | variant | regulariser term / cross-entropy, largest over the train records |")
        print("|---|---|---|")
        for (sweep, name), runs in reg:
            m, s = mean_std([r["ereg_share_max"] for r in runs])
            print(f"| {sweep} | {name} | {m:.2e} ± {s:.1e} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
