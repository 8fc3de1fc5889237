#!/usr/bin/env python3
"""Explicit against online-entropy attention (train.attention_kernel), through `entropix bench`.

For each context length it times, alternating the two kernels round by round:
  - "reg": the entropy regulariser on, so every training forward needs entropy (plain steps);
  - "rec": no regulariser, an entropy record every step (--entropy step, overhead_ratio);
and reports median ms/step, the overhead ratio and the process's peak memory.

  python3 benchmarks/attention_kernels.py [--entropix build/entropix] [--spec experiments/quickstart.yaml]
      [--contexts 128,512] [--rounds 2] [--steps 6] [--set key=value ...]
"""
import argparse
import json
import os
import subprocess
import sys


def bench(entropix, spec, kernel, context, mode, steps, extra):
    cmd = [entropix, "bench", spec, "--json", "--steps", str(steps), "--warmup", "1",
           "--set", f"model.context={context}", "--set", f"train.attention_kernel={kernel}"]
    if mode == "reg":
        cmd += ["--entropy", "none", "--set", "entropy_reg.enabled=true"]
    else:
        cmd += ["--entropy", "step"]
    for s in extra:
        cmd += ["--set", s]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--entropix", default=os.path.join(root, "build", "entropix"))
    ap.add_argument("--spec", default=os.path.join(root, "experiments", "quickstart.yaml"))
    ap.add_argument("--contexts", default="128,512")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--set", action="append", default=[], help="extra spec override, repeatable")
    args = ap.parse_args()

    print("| T | mode | kernel | round | ms/step (median) | entropy overhead | peak memory MiB | load |")
    print("|---|---|---|---|---|---|---|---|")
    for context in [int(c) for c in args.contexts.split(",")]:
        for mode in ("reg", "rec"):
            for r in range(args.rounds):
                # Alternate which kernel goes first, so a change in load hits both alike.
                kernels = ["explicit", "online_entropy"] if r % 2 == 0 else ["online_entropy", "explicit"]
                for kernel in kernels:
                    res = bench(args.entropix, args.spec, kernel, context, mode, args.steps, args.set)
                    ratio = res["entropy"]["overhead_ratio"] if mode == "rec" else None
                    mib = res["memory"]["peak_bytes"] / 2**20 if res["memory"]["peak_bytes"] else float("nan")
                    print(f"| {context} | {mode} | {kernel} | {r + 1} | {res['ms_per_step']['median']:.1f} | "
                          f"{'' if ratio is None else f'{ratio:.3f}'} | {mib:.0f} | "
                          f"{res['device']['load_average'][0]:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
