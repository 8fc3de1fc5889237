#!/usr/bin/env bash
# Regenerates the CPU-scale reproduction of docs/reproduction.md: the core ablation of
# experiments/small (six rows) and the regulariser off/on at its defaults (and at 100x lambda), each
# with two seeds, then the reports (--group-by seed) and the Markdown tables.
#   experiments/reproduce-cpu.sh [OUT_DIR]        (default runs/reproduction; about 30 min on 2 cores)
# Running it again continues an interrupted reproduction (a sweep resumes its runs) and rebuilds
# the reports. ENTROPIX=path/to/entropix picks the binary (default build/entropix).
set -euo pipefail
cd "$(dirname "$0")/.."
entropix=${ENTROPIX:-build/entropix}
out=${1:-runs/reproduction}
seeds=1337,1338

for sweep in core-ablation-cpu regulariser-cpu; do
  "$entropix" sweep "experiments/sweeps/$sweep.yaml" --grid "seed=$seeds" --jobs 2 --out "$out/$sweep"
  # The run directories in the sweep's order (summary.csv), so the groups are numbered as planned.
  mapfile -t runs < <(python3 -c 'import csv, sys; [print(r["run_dir"]) for r in csv.DictReader(open(sys.argv[1]))]' \
                        "$out/$sweep/summary.csv")
  "$entropix" report "${runs[@]}" --group-by seed --out "$out/report-$sweep" --overwrite
done
python3 experiments/reproduction_tables.py "$out/core-ablation-cpu" "$out/regulariser-cpu" | tee "$out/tables.md"
