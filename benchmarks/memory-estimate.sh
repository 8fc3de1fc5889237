#!/usr/bin/env bash
# The memory estimate `run` checks before it starts (docs/reliability.md, "Memory") against what
# training really takes: for a few shapes, the estimate printed by `validate --max-memory 1K` and
# the peak resident set of `bench` (read after its timed steps, before its peak matmul), minus the
# peak of a tiny model (LibTorch's own footprint). The estimate is meant as a floor.
#   benchmarks/memory-estimate.sh            (ENTROPIX=build/entropix; a few minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
entropix=${ENTROPIX:-build/entropix}
spec=experiments/quickstart.yaml
common="--set train.threads=1 --set train.grad_accum=1"

peak_mib() {  # bench's max RSS in MiB for the --set arguments given
  "$entropix" bench "$spec" $common "$@" --steps 1 --warmup 1 --entropy none --peak-size 64 --peak-repeats 1 --json |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["memory"]["peak_bytes"] / 2**20, 1))'
}
estimate_mib() {  # the estimate in MiB, from validate's refusal line
  { "$entropix" validate "$spec" $common "$@" --max-memory 1K 2>&1 || true; } |  # refused: exit 2
    sed -nE 's/.*training needs at least ([0-9.]+) (MiB|GiB).*/\1 \2/p' |
    awk '{ print ($2 == "GiB") ? $1 * 1024 : $1 }'
}
to_sets() { local s=""; for kv in $1; do s+=" --set $kv"; done; echo "$s"; }

tiny="model.n_layer=1 model.n_head=1 model.n_embd=16 model.context=8 train.batch_size=1"
base=$(peak_mib $(to_sets "$tiny"))
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); baseline (tiny model) peak RSS: $base MiB"
echo
echo "| shape | estimate MiB | peak RSS - baseline MiB | estimate / measured |"
echo "|---|---|---|---|"
for shape in \
    "model.n_layer=4 model.n_head=4 model.n_embd=128 model.context=128 train.batch_size=16" \
    "model.n_layer=8 model.n_head=8 model.n_embd=512 model.context=256 train.batch_size=16" \
    "model.n_layer=4 model.n_head=12 model.n_embd=768 model.context=128 model.vocab_size=50257 train.batch_size=8"; do
  sets=$(to_sets "$shape")
  est=$(estimate_mib $sets)
  peak=$(peak_mib $sets)
  python3 -c "import sys; e, p, b = map(float, sys.argv[1:4]); print(f'| {sys.argv[4]} | {e:.1f} | {p - b:.1f} | {e / (p - b):.2f} |')" \
    "$est" "$peak" "$base" "$shape"
done
