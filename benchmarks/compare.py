#!/usr/bin/env python3
"""entropix against the PyTorch 2.x reference (benchmarks/reference_pytorch.py), alternating in one run.

Each round runs `entropix bench` and the reference once each on the same shape, in alternating
order (entropix first in odd rounds, the reference first in even ones), so that a change in the
machine's load hits both alike; with --entropy, entropix's bench also times a step with an entropy
record against a plain one (it alternates those itself). Prints the load before each round, a line
per round and a markdown summary: tokens/s of each, the ratio entropix / reference per round and
its median, and the median entropy overhead.

    python benchmarks/compare.py --shape quickstart --rounds 5
    python benchmarks/compare.py --shape gpt2 --rounds 3 --steps 4 --warmup 1
    python benchmarks/compare.py --shape quickstart --entropy step --rounds 5
Run it with the venv's Python (scripts/bootstrap.sh; the reference needs its torch) and the build
against that venv's LibTorch (build/entropix), so both use the same LibTorch.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# entropix's side of each shape of reference_pytorch.py.
ENTROPIX_SHAPES = {
    "quickstart": ["experiments/quickstart.yaml"],
    "gpt2": ["experiments/paper/sm-ln-g.yaml", "--set", "train.batch_size=8", "--set", "train.grad_accum=1"],
}


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_json(cmd, env):
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited {p.returncode}:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", choices=sorted(ENTROPIX_SHAPES), default="quickstart")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10, help="measured steps per program and round")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="both programs; 0: each one's default (every core)")
    ap.add_argument("--entropy", choices=["none", "step", "forward"], default="none",
                    help="entropix bench --entropy: also time steps with an entropy record")
    ap.add_argument("--entropix", default=os.path.join(ROOT, "build", "entropix"))
    ap.add_argument("--python", default=sys.executable, help="the Python that runs the reference")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra entropix override")
    ap.add_argument("--wait", choices=["spin", "passive", "default"], default="spin",
                    help="how both programs' OpenMP threads wait: spin (OMP_WAIT_POLICY=PASSIVE with "
                         "GOMP_SPINCOUNT=10000, what entropix sets itself when its CPUs are idle), passive "
                         "(GOMP_SPINCOUNT=0, what it sets when other processes keep them busy), or default "
                         "(each as installed: entropix chooses by the load, PyTorch keeps libgomp's default "
                         "of spinning for milliseconds)")
    a = ap.parse_args()

    env = dict(os.environ)
    for var in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        env.pop(var, None)
    if a.wait != "default":
        env.update(OMP_WAIT_POLICY="PASSIVE", GOMP_SPINCOUNT="10000" if a.wait == "spin" else "0")
    ref_env = dict(env)
    ex_cmd = [a.entropix, "bench", *ENTROPIX_SHAPES[a.shape], "--steps", str(a.steps), "--warmup", str(a.warmup),
              "--entropy", a.entropy, "--peak-size", "256", "--peak-repeats", "1", "--json"]
    ref_cmd = [a.python, os.path.join(HERE, "reference_pytorch.py"), "--shape", a.shape,
               "--steps", str(a.steps), "--warmup", str(a.warmup)]
    for kv in a.set:
        ex_cmd += ["--set", kv]
    if a.threads:
        ex_cmd += ["--set", f"train.threads={a.threads}"]
        ref_cmd += ["--threads", str(a.threads)]
    print(f"entropix:  {' '.join(ex_cmd)}")
    print(f"reference: {' '.join(ref_cmd)}")
    print(f"OpenMP waiting ({a.wait}): OMP_WAIT_POLICY {env.get('OMP_WAIT_POLICY', 'unset')}, "
          f"GOMP_SPINCOUNT {env.get('GOMP_SPINCOUNT', 'unset')} for both")

    rows = []
    for r in range(a.rounds):
        before = load()
        results = {}
        order = ["entropix", "reference"] if r % 2 == 0 else ["reference", "entropix"]
        for who in order:
            results[who] = run_json(ex_cmd, env) if who == "entropix" else run_json(ref_cmd, ref_env)
        ex, ref = results["entropix"], results["reference"]
        row = {"round": r + 1, "load": before, "first": order[0],
               "entropix_tok_s": ex["tokens_per_s"], "reference_tok_s": ref["tokens_per_s"],
               "entropix_ms": ex["ms_per_step"]["median"], "reference_ms": ref["ms_per_step"]["median"],
               "ratio": ex["tokens_per_s"] / ref["tokens_per_s"],
               "entropy_overhead": ex["entropy"]["overhead_ratio"]}
        rows.append(row)
        ent = "" if row["entropy_overhead"] is None else f", entropy x{row['entropy_overhead']:.3f}"
        print(f"round {r + 1} (load {before}, {order[0]} first): entropix {row['entropix_tok_s']:.0f} tok/s "
              f"({row['entropix_ms']:.1f} ms), reference {row['reference_tok_s']:.0f} tok/s ({row['reference_ms']:.1f} ms), "
              f"ratio {row['ratio']:.3f}{ent}", flush=True)

    print()
    print(f"shape {a.shape}; entropix LibTorch {ex['versions']['libtorch']}, reference torch {ref['torch']}; "
          f"threads {ex['device']['threads']} / {ref['threads']}; OMP_WAIT_POLICY {ex['device']['openmp_wait_policy']} / "
          f"{ref_env.get('OMP_WAIT_POLICY', 'unset')}; GOMP_SPINCOUNT {ex['device'].get('openmp_spin_count')} / "
          f"{ref_env.get('GOMP_SPINCOUNT', 'unset')}; {a.steps} steps after {a.warmup} warm-up per program and round")
    print()
    print("| round | load (1/5/15 min) | entropix tok/s | reference tok/s | ratio | entropy overhead |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        ent = "-" if row["entropy_overhead"] is None else f"x{row['entropy_overhead']:.3f}"
        print(f"| {row['round']} | {row['load']} | {row['entropix_tok_s']:.0f} | {row['reference_tok_s']:.0f} | "
              f"{row['ratio']:.3f} | {ent} |")
    ratios = [row["ratio"] for row in rows]
    summary = f"median ratio entropix/reference {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})"
    overheads = [row["entropy_overhead"] for row in rows if row["entropy_overhead"] is not None]
    if overheads:
        summary += f"; median entropy overhead x{statistics.median(overheads):.3f}"
    print()
    print(summary)


if __name__ == "__main__":
    main()
