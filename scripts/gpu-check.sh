#!/usr/bin/env bash
# On a machine with a GPU (CUDA LibTorch 2.x from the python3 torch wheel, CMake, a compiler, no
# package registry): builds entropix against CUDA LibTorch with the dependencies staged by
# scripts/gpu-prepare.sh, runs the whole test suite (the CUDA tests included, they skip without a
# GPU elsewhere), and benchmarks GPT-2 small at T=128 in fp32 and bf16, and the online-entropy
# attention kernel against the explicit one. Results go to $OUT (or
# ./gpu-results): versions and nvidia-smi, configure and build logs, bench JSON, test log (11 files).
# Put the figures in docs/performance.md with the date and the GPU model.
#   scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${OUT:-gpu-results}")
mkdir -p "$out"
jobs=$(nproc)
deps=$PWD/.gpu-deps/usr
[ -d "$deps" ] || { echo "run scripts/gpu-prepare.sh first (no .gpu-deps)" >&2; exit 2; }
nvidia-smi > "$out/versions.txt" 2>&1
torch_dir=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
site=$(dirname "$torch_dir")
echo "torch $(python3 -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0))')" | tee -a "$out/versions.txt"

# GoogleTest from its sources, installed next to the other staged dependencies.
cmake -S "$deps/src/googletest" -B .gpu-deps/gtest-build -DCMAKE_INSTALL_PREFIX="$deps" -DCMAKE_BUILD_TYPE=Release > /dev/null &&
  cmake --build .gpu-deps/gtest-build -j "$jobs" > /dev/null && cmake --install .gpu-deps/gtest-build > /dev/null || exit 1

nccl_lib="$site/nvidia/nccl/lib"
export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu:$deps/lib:${LD_LIBRARY_PATH:-}"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_PREFIX_PATH=$torch_dir/share/cmake;$torch_dir;$deps" \
  "-DCMAKE_CXX_FLAGS=-I$deps/include" \
  "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$nccl_lib -Wl,-rpath,$deps/lib/x86_64-linux-gnu" 2>&1 | tee "$out/configure.log" | tail -3
cmake --build build-gpu -j "$jobs" 2>&1 | tail -20 > "$out/build.log" || { cat "$out/build.log"; exit 1; }
build-gpu/entropix --version | tee -a "$out/versions.txt"

# Benchmarks first, so their figures come back even if the suite runs long.
# GPT-2 small, T=128: fp32 (TF32 off and on) and bf16.
spec=experiments/paper/sm-ln-g.yaml
common="--set train.batch_size=64 --set train.grad_accum=1 --device cuda --steps 20 --warmup 5 --peak-size 8192 --json"
build-gpu/entropix bench $spec $common --set train.precision=fp32 > "$out/bench-fp32.json" 2>> "$out/bench.err"
build-gpu/entropix bench $spec $common --set train.precision=fp32 --set train.tf32=true > "$out/bench-tf32.json" 2>> "$out/bench.err"
build-gpu/entropix bench $spec $common --set train.precision=bf16 > "$out/bench-bf16.json" 2>> "$out/bench.err"
# The online-entropy attention kernel (docs/entropy.md): entropy records every step at T=128, and
# the regulariser on every step at T=1024, against the explicit kernel.
build-gpu/entropix bench $spec $common --set train.precision=bf16 --set train.attention_kernel=online_entropy \
  > "$out/bench-bf16-online.json" 2>> "$out/bench.err"
long="--set model.context=1024 --set train.batch_size=8 --set entropy_reg.enabled=true --entropy none"
for kernel in explicit online_entropy; do
  build-gpu/entropix bench $spec $common $long --set train.precision=bf16 --set train.attention_kernel=$kernel \
    > "$out/bench-bf16-reg-T1024-$kernel.json" 2>> "$out/bench.err"
done
for f in "$out"/bench-*.json; do echo "$f"; head -c 600 "$f"; echo; done

# The whole suite (the browser test needs chromium, absent from GPU images: skipped there).
(cd build-gpu && ENTROPIX_SKIP_BROWSER_TESTS=1 ctest -j 8 --timeout 300 --output-on-failure > "$out/ctest.log" 2>&1)
echo "ctest exit $?" | tee -a "$out/versions.txt"
tail -5 "$out/ctest.log"
