#!/usr/bin/env bash
# The GPU figures of docs/performance.md in one run of at most 9 minutes, on a machine with an
# NVIDIA GPU, CUDA, CMake, a compiler and a CUDA torch wheel in python3, and no package registry.
# Before: scripts/gpu-prepare.sh on a machine with the Debian packages of scripts/bootstrap.sh
# stages CLI11, nlohmann-json, yaml-cpp, Gloo's headers and GoogleTest's sources in .gpu-deps/
# (git-ignored); copy the tree with it. Then:
#   scripts/gpu-bench.sh              build against the wheel's CUDA LibTorch (build-gpu), then
#                                     1. GPT-2 small (experiments/paper/sm-ln-g.yaml), bf16, T=128, the
#                                        papers' per-device batch of 128 sequences: entropix bench
#                                        (MFU against its measured bf16 matmul peak, entropy every
#                                        step with the explicit and the online-entropy kernel), and
#                                        benchmarks/reference_pytorch.py eager and torch.compile,
#                                        alternating, 2 rounds
#                                     2. the test suite on the GPU machine (the CUDA paths run there)
#   scripts/gpu-bench.sh --dry-run    everything except the CUDA parts, on this CPU: no build of its
#                                     own (the entropix target of ENTROPIX_BUILD_DIR, default build, is
#                                     brought up to date), the same commands with --device cpu at
#                                     batch 2 and 1-2 steps, the step's unit tests when entropix_tests
#                                     is built; checks the script, not the figures
# Results: $OUT (or ./gpu-results): versions.txt, configure/build logs, one JSON per measurement,
# summary.md (the table for docs/performance.md), ctest.log.
# Environment: ENTROPIX_GPU_BATCH (default 128), ENTROPIX_GPU_ROUNDS (default 2).
set -uo pipefail
cd "$(dirname "$0")/.."
dry=0
[ "${1:-}" = "--dry-run" ] && dry=1
out=$(realpath -m "${OUT:-gpu-results}")
mkdir -p "$out"
jobs=$(nproc)
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start ))s; }
python=${ENTROPIX_GPU_PYTHON:-python3}

# ---- build ------------------------------------------------------------------------------------
if [ $dry = 1 ]; then
  bdir=${ENTROPIX_BUILD_DIR:-build}
  [ -d "$bdir" ] || { echo "error: --dry-run needs a configured build in $bdir (scripts/bootstrap.sh build)" >&2; exit 2; }
  python=$(sed -n 's/^ENTROPIX_PYTHON:FILEPATH=//p' "$bdir/CMakeCache.txt")
  python=${python:-python3}
  cmake --build "$bdir" -j "$jobs" --target entropix > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
  # The CPU is ~1000x slower: one step of each kind, no time limits (they are for the GPU run).
  device=cpu; batch=2; rounds=1; steps=1; warmup=0; peak=512; limit=0
else
  bdir=build-gpu
  deps=$PWD/.gpu-deps/usr
  [ -d "$deps" ] || { echo "error: no .gpu-deps: run scripts/gpu-prepare.sh first and copy it here" >&2; exit 2; }
  nvidia-smi > "$out/versions.txt" 2>&1
  torch_dir=$($python -c 'import os, torch; print(os.path.dirname(torch.__file__))')
  site=$(dirname "$torch_dir")
  # GoogleTest from its sources, installed next to the other staged dependencies.
  if [ ! -f "$deps/lib/libgtest.a" ] && [ ! -f "$deps/lib64/libgtest.a" ]; then
    cmake -S "$deps/src/googletest" -B .gpu-deps/gtest-build -DCMAKE_INSTALL_PREFIX="$deps" -DCMAKE_BUILD_TYPE=Release > /dev/null &&
      cmake --build .gpu-deps/gtest-build -j "$jobs" > /dev/null && cmake --install .gpu-deps/gtest-build > /dev/null || exit 1
  fi
  export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu:$deps/lib:${LD_LIBRARY_PATH:-}"
  cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DENTROPIX_TORCH_CUDA=ON "-DENTROPIX_PYTHON=$(command -v $python)" \
    "-DCMAKE_PREFIX_PATH=$torch_dir/share/cmake;$torch_dir;$deps" "-DCMAKE_CXX_FLAGS=-I$deps/include" \
    "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$site/nvidia/nccl/lib -Wl,-rpath,$deps/lib/x86_64-linux-gnu" \
    > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  timeout 300 cmake --build "$bdir" -j "$jobs" > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
  device=cuda; batch=${ENTROPIX_GPU_BATCH:-128}; rounds=${ENTROPIX_GPU_ROUNDS:-2}; steps=20; warmup=5; peak=8192; limit=1
fi
{ echo "torch $($python -c 'import torch; print(torch.__version__, torch.version.cuda)')"
  "$bdir/entropix" --version; uptime; } | tee -a "$out/versions.txt"
echo "built in $(elapsed)"

# A command under a time limit of $1 seconds on the GPU run (so the whole stays within 9 minutes).
limited() { local s=$1; shift; if [ "$limit" = 1 ]; then timeout "$s" "$@"; else "$@"; fi; }

# ---- GPT-2 small, bf16, T=128 ------------------------------------------------------------------
spec=experiments/paper/sm-ln-g.yaml
ex=("$bdir/entropix" bench "$spec" --set "train.batch_size=$batch" --set train.grad_accum=1 --set train.precision=bf16
    --device "$device" --steps "$steps" --warmup "$warmup" --peak-size "$peak" --peak-repeats 3 --json)
ref=("$python" benchmarks/reference_pytorch.py --shape gpt2 --batch-size "$batch" --device "$device" --precision bf16
     --steps "$steps" --warmup "$warmup")
for r in $(seq 1 "$rounds"); do
  # Within 9 minutes on the GPU: a further round only while at least 4 are left for it and the suite.
  if [ "$limit" = 1 ] && [ "$r" -gt 1 ] && [ $(( $(date +%s) - start )) -gt 300 ]; then
    echo "round $r skipped: $(elapsed) gone"; rounds=$((r - 1)); break
  fi
  echo "round $r, load $(cut -d' ' -f1-3 /proc/loadavg), $(elapsed)"
  limited 120 "${ex[@]}" --entropy step > "$out/entropix-r$r.json" 2>> "$out/bench.err"
  limited 120 "${ref[@]}" > "$out/reference-eager-r$r.json" 2>> "$out/bench.err"
  # torch.compile: its first steps compile (warm-up); counted like the other warm-up steps.
  limited 240 "${ref[@]}" --compile > "$out/reference-compile-r$r.json" 2>> "$out/bench.err"
  # The online kernel keeps no probabilities to drop out: this row runs without attention dropout.
  limited 120 "${ex[@]}" --entropy step --set train.attention_kernel=online_entropy --set model.dropout.attention=0 \
    > "$out/entropix-online-r$r.json" 2>> "$out/bench.err"
done

$python - "$out" "$rounds" > "$out/summary.md" <<'EOF'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    try:
        with open(f"{out}/{name}") as f:
            return json.load(f)
    except Exception:
        return None
print("| round | entropix tok/s | MFU | entropy overhead (explicit) | entropy overhead (online, no attention dropout) | PyTorch eager tok/s | PyTorch compile tok/s | entropix / eager | entropix / compile |")
print("|---|---|---|---|---|---|---|---|---|")
for r in range(1, rounds + 1):
    ex, on = load(f"entropix-r{r}.json"), load(f"entropix-online-r{r}.json")
    eager, comp = load(f"reference-eager-r{r}.json"), load(f"reference-compile-r{r}.json")
    if not ex:
        print(f"| {r} | failed (bench.err) | | | | | | | |"); continue
    tps, mfu = ex["tokens_per_s"], ex["mfu"]
    cell = lambda j: f"{j['tokens_per_s']:.0f}" if j else "failed"
    ratio = lambda j: f"{tps / j['tokens_per_s']:.3f}" if j else "-"
    oh = lambda j: f"x{j['entropy']['overhead_ratio']:.3f}" if j else "failed"
    print(f"| {r} | {tps:.0f} | {100 * mfu:.1f}% | {oh(ex)} | {oh(on)} | {cell(eager)} | {cell(comp)} | {ratio(eager)} | {ratio(comp)} |")
ex = load("entropix-r1.json")
if ex:
    per_token = ex["flops"]["train_per_step"] / ex["batch"]["tokens_per_step"]
    print(f"\npeak (bf16 {ex['peak']['matmul'][0]}^3 matmul): {ex['peak']['flops_per_s'] / 1e12:.1f} TFLOP/s; "
          f"training FLOPs per token {per_token / 1e9:.3f} GFLOP; reference MFU = its tokens/s x that / the peak")
    for name in ("reference-eager", "reference-compile"):
        j = load(f"{name}-r1.json")
        if j:
            print(f"{name} MFU (round 1): {100 * j['tokens_per_s'] * per_token / ex['peak']['flops_per_s']:.1f}%")
EOF
cat "$out/summary.md"
echo "benchmarks done at $(elapsed)"

# ---- the test suite ----------------------------------------------------------------------------
# Browser tests need chromium, absent from GPU images. The dry run takes the quick unit suites only.
if [ $dry = 1 ]; then
  if [ -x "$bdir/entropix_tests" ]; then
    "$bdir/entropix_tests" --gtest_filter='AttentionPaths.*:TrainStep.*:FusedAdamW.*:LmHeadLoss.*:CausalSoftmaxEntropy.*:GradClip.*:HashedDropout.*' > "$out/ctest.log" 2>&1
  else
    echo "no $bdir/entropix_tests: the test step is skipped in this dry run" | tee "$out/ctest.log"
  fi
else
  left=$(( 530 - ($(date +%s) - start) ))
  [ "$left" -lt 60 ] && left=60
  (cd "$bdir" && ENTROPIX_SKIP_BROWSER_TESTS=1 timeout "$left" ctest -j "$jobs" --timeout 150 --output-on-failure > "$out/ctest.log" 2>&1)
fi
echo "tests exit $? at $(elapsed)" | tee -a "$out/versions.txt"
tail -5 "$out/ctest.log"
