#!/usr/bin/env bash
# Peak memory and start-up time of `entropix run` on a corpus larger than most of the machine's
# memory (docs/data.md, "Corpora: formats, shards and memory mapping").
#
#   benchmarks/corpus-rss.sh                 # 20 GiB training split, build/entropix
#   SIZE_GIB=30 ENTROPIX=/path/entropix WORK=/scratch/x benchmarks/corpus-rss.sh
#
# The training split is a sparse nanoGPT .bin (zeros: token 0), so it costs almost no disk space
# but reads like a real file of that size: the token check maps and scans every page. Three runs
# of one training step each, /usr/bin/time -v around each:
#   small  a 10 MiB training split, for the baseline peak memory;
#   cold   the big split, no sidecar yet: the token check scans all of it and writes one;
#   warm   the big split again: the sidecar answers, nothing is scanned.
# A one-step run's wall time bounds the time to the first step from above (it also covers the
# step-0 and final evaluation and the checkpoint). Everything under WORK is removed at the end.
set -euo pipefail
ENTROPIX=${ENTROPIX:-build/entropix}
WORK=${WORK:-/tmp/entropix-corpus-rss-$$}
SIZE_GIB=${SIZE_GIB:-20}
ENTROPIX=$(realpath "$ENTROPIX")

mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
echo "df before (sparse files need almost no space):"; df -h "$WORK" | tail -1
echo "memory:"; free -g | sed -n 2p
echo "load: $(uptime)"

truncate -s "${SIZE_GIB}G" "$WORK/big.bin"
truncate -s 10M "$WORK/small.bin"
truncate -s 1M "$WORK/val.bin"
cat > "$WORK/spec.yaml" <<YAML
name: corpus-rss
seed: 1
model: {n_layer: 2, n_head: 2, n_embd: 32, context: 128, vocab_size: 256}
train: {steps: 1, batch_size: 8, eval_every: 1, eval_batches: 1, threads: 1}
data: {source: files, format: nanogpt, train: $WORK/train.bin, val: $WORK/val.bin}
log: {every: 1, entropy_every: 1}
YAML

# run NAME TRAIN_FILE: one training step; prints peak RSS (MiB) and wall seconds.
run() {
  ln -sf "$2" "$WORK/train.bin"
  ENTROPIX_CACHE="$WORK/cache" /usr/bin/time -v -o "$WORK/$1.time" \
    "$ENTROPIX" run "$WORK/spec.yaml" --out "$WORK/run-$1" > "$WORK/$1.log" 2>&1 || {
    cat "$WORK/$1.log"; exit 1; }
  local kb wall
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$1.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/$1.time")
  printf '| %-5s | %8s | %6d | %s |\n' "$1" "$(du -h --apparent-size "$2" | cut -f1)" $((kb / 1024)) "$wall"
}

echo
echo "| run   | train    | peak RSS MiB | wall (h:mm:ss or m:ss) |"
echo "|-------|----------|--------------|------------------------|"
run small "$WORK/small.bin"
run cold "$WORK/big.bin"
run warm "$WORK/big.bin"
echo
echo "sidecars: $(ls "$WORK/cache/token-checks" | wc -l) in $WORK/cache/token-checks"
