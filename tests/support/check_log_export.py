"""Reads an `entropix logs` export back with outside readers and checks every value against
metrics.jsonl, read here independently of entropix.

    check_log_export.py csv RUN_DIR EXPORT_DIR          # Python's csv module
    check_log_export.py tensorboard RUN_DIR EXPORT_DIR  # tbparse (TensorBoard's event reader)

Prints one summary line and exits 0 when everything matches; prints each mismatch and exits 1.
The expected columns and tags follow docs/logs.md ("Exporting"); this file restates that mapping
rather than calling entropix's code.
"""
import csv
import json
import math
import os
import sys


def records(run_dir):
    out = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            if line.endswith("\n") and line.strip():
                out.append(json.loads(line))
    return out


def flatten(name, value, out):
    if isinstance(value, list):
        for i, v in enumerate(value):
            flatten(f"{name}_{i}", v, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{name}_{k}", v, out)
    else:
        out[name] = value


def flat_record(r):
    out = {}
    for key, value in r.items():
        if key == "headwise":
            for l, row in enumerate(value):
                for h, v in enumerate(row):
                    out[f"layer{l}_head{h}"] = v
        elif key == "layerwise":
            for l, v in enumerate(value):
                out[f"layer{l}"] = v
        else:
            flatten(key, value, out)
    return out


def same_cell(cell, value):
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == ("true" if value else "false")
    if isinstance(value, (int, float)):
        return cell != "" and float(cell) == float(value)  # exact: the text must read back to the same double
    return cell == value


def check_csv(run_dir, export_dir):
    recs = records(run_dir)
    problems, cells = [], 0
    kinds = sorted({r["kind"] for r in recs})
    files = sorted(os.listdir(export_dir))
    if files != sorted(k + ".csv" for k in kinds):
        problems.append(f"files {files}, expected one per kind {kinds}")
    for kind in kinds:
        want = [flat_record(r) for r in recs if r["kind"] == kind]
        with open(os.path.join(export_dir, kind + ".csv"), newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames
            rows = list(reader)
        columns = []
        for w in want:
            columns += [c for c in w if c not in columns]
        if header != columns:
            problems.append(f"{kind}.csv header {header} != {columns}")
        if len(rows) != len(want):
            problems.append(f"{kind}.csv has {len(rows)} rows, metrics.jsonl {len(want)} {kind} records")
        for n, (row, w) in enumerate(zip(rows, want), 2):
            for col in columns:
                value = w.get(col)
                cells += 1
                if not same_cell(row.get(col), value):
                    problems.append(f"{kind}.csv line {n} column {col}: {row.get(col)!r} != {value!r}")
    return problems, f"csv: {len(recs)} records, {cells} cells checked, kinds {kinds}"


def expected_scalars(recs):
    want = []
    def add(step, tag, v):
        want.append((step, tag, float("nan") if v is None else v))
    for r in recs:
        k, s = r["kind"], r["step"]
        if k == "train":
            for f in ["loss", "lr", "grad_norm", "tokens_per_s", "ms_per_step", "tokens", "ereg_loss"]:
                if f in r:
                    add(s, "train/" + f, r[f])
        elif k == "eval":
            for f in ["val_loss", "val_ppl"]:
                add(s, "eval/" + f, r[f])
        elif k == "entropy":
            p = f"entropy/{r['split']}/"
            for l, v in enumerate(r["layerwise"]):
                add(s, f"{p}layer{l}", v)
            for l, row in enumerate(r["headwise"]):
                for h, v in enumerate(row):
                    add(s, f"{p}layer{l}/head{h}", v)
            for l, v in enumerate(r["nan_counts"]):
                add(s, f"{p}nan_count/layer{l}", v)
            for f in ["overload_fraction", "collapse_fraction"]:
                add(s, p + f, r[f])
    return want


def check_tensorboard(run_dir, export_dir):
    import numpy as np
    from tbparse import SummaryReader

    recs = records(run_dir)
    df = SummaryReader(export_dir, pivot=False).scalars
    got = {}
    for step, tag, value in zip(df["step"], df["tag"], df["value"]):
        got.setdefault((int(step), tag), []).append(float(value))
    want = expected_scalars(recs)
    problems = []
    seen = set()
    for step, tag, v in want:
        key = (step, tag)
        if key in seen:
            problems.append(f"{key} expected twice")
        seen.add(key)
        values = got.get(key)
        if values is None:
            problems.append(f"missing scalar {tag} at step {step}")
            continue
        if len(values) != 1:
            problems.append(f"{tag} at step {step} read {len(values)} times")
        # simple_value is a 32-bit float: the value must be exactly the float32 nearest the logged double.
        expect = float(np.float32(v))
        if not (values[0] == expect or (math.isnan(expect) and math.isnan(values[0]))):
            problems.append(f"{tag} at step {step}: {values[0]!r} != float32({v!r}) = {expect!r}")
    for key in got:
        if key not in seen:
            problems.append(f"unexpected scalar {key}")
    tags = sorted({t for _, t, _ in want})
    head_tags = [t for t in tags if "/head" in t]
    return problems, (f"tensorboard: {len(want)} scalars at {len({s for s, _, _ in want})} steps, {len(tags)} tags "
                      f"({len(head_tags)} per-head: {', '.join(head_tags)})")


def main():
    fmt, run_dir, export_dir = sys.argv[1:4]
    problems, summary = (check_csv if fmt == "csv" else check_tensorboard)(run_dir, export_dir)
    for p in problems[:50]:
        print("MISMATCH", p)
    print(summary, "|", len(problems), "problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
