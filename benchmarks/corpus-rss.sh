#!/usr/bin/env bash
# Peak memory and start-up time of `entropix run` on a corpus larger than most of the machine's
# memory (docs/data.md, "Corpora: formats, shards and memory mapping").
#
#   benchmarks/corpus-rss.sh                 # 20 GiB training split, build/entropix
#   SIZE_GIB=30 ENTROPIX=/path/entropix WORK=/scratch/x benchmarks/corpus-rss.sh
#
# The training split is a sparse nanoGPT .bin (zeros: token 0), so it costs almost no disk space
# but reads like a real file of that size: the token check maps and scans every page. Four runs,
# /usr/bin/time -v around each:
#   small  a 10 MiB training split, one step, for the baseline peak memory;
#   cold   the big split, no sidecar yet, one step: training starts at once, the token check runs
#          beside it and is stopped when the run ends (no sidecar);
#   scan   the big split, no sidecar, training until the background check has scanned all of it
#          and written the sidecar (then SIGTERM: exit 4); its peak memory covers the whole scan;
#   warm   the big split again, one step: the sidecar answers.
# A one-step run's wall time bounds the time to the first step from above (it also covers the
# step-0 and final evaluation and the checkpoint). Everything under WORK is removed at the end.
set -euo pipefail
ENTROPIX=${ENTROPIX:-build/entropix}
WORK=${WORK:-/tmp/entropix-corpus-rss-$$}
SIZE_GIB=${SIZE_GIB:-20}
ENTROPIX=$(realpath "$ENTROPIX")

mkdir -p "$WORK"
# signal_runs SIG [NAME]: sends SIG to the entropix runs of this script (of run NAME), not to the
# time(1) around them.
signal_runs() {
  local p
  for p in $(pgrep -f -- "--out $WORK/run-${2:-}"); do
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" != time ]; then kill "-$1" "$p" 2>/dev/null || true; fi
  done
}
trap 'signal_runs KILL; sleep 1; rm -rf "$WORK"' EXIT
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

# run NAME TRAIN_FILE [until-sidecar]: one training step (or, with until-sidecar, steps until the
# background check has written the sidecar, then SIGTERM); prints peak RSS (MiB) and wall time.
run() {
  ln -sf "$2" "$WORK/train.bin"
  if [ "${3:-}" = until-sidecar ]; then
    ENTROPIX_CACHE="$WORK/cache" /usr/bin/time -v -o "$WORK/$1.time" \
      "$ENTROPIX" run "$WORK/spec.yaml" --out "$WORK/run-$1" --set train.steps=100000000 > "$WORK/$1.log" 2>&1 &
    local pid=$!
    until compgen -G "$WORK/cache/token-checks/*.json" > /dev/null; do
      kill -0 "$pid" 2>/dev/null || { cat "$WORK/$1.log"; exit 1; }
      sleep 1
    done
    signal_runs TERM "$1"
    local code=0; wait "$pid" || code=$?
    [ "$code" -eq 4 ] || { echo "scan run: exit $code, expected 4 (interrupted)"; cat "$WORK/$1.log"; exit 1; }
  else
    ENTROPIX_CACHE="$WORK/cache" /usr/bin/time -v -o "$WORK/$1.time" \
      "$ENTROPIX" run "$WORK/spec.yaml" --out "$WORK/run-$1" > "$WORK/$1.log" 2>&1 || {
      cat "$WORK/$1.log"; exit 1; }
  fi
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
[ ! -e "$WORK/cache/token-checks" ] || { echo "cold: a sidecar was written by a check cut short"; exit 1; }
run scan "$WORK/big.bin" until-sidecar
run warm "$WORK/big.bin"
echo
echo "sidecars: $(ls "$WORK/cache/token-checks" | wc -l) in $WORK/cache/token-checks"
