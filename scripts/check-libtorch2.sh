#!/usr/bin/env bash
# Builds entropix against LibTorch 2.x (the CUDA build inside the PyPI torch wheel) and runs the
# CPU test suite against it. Needs the Debian packages of scripts/bootstrap.sh, python3-venv and,
# for the CUDA parts of LibTorch's CMake config, the CUDA toolkit (nvcc).
#   scripts/check-libtorch2.sh            venv in .venv-torch2, build in build-torch2
# Environment: ENTROPIX_TORCH_VENV (reuse a venv that has torch), ENTROPIX_JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${ENTROPIX_TORCH_VENV:-.venv-torch2}
jobs=${ENTROPIX_JOBS:-$(nproc)}

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import torch' 2>/dev/null || "$venv/bin/pip" install -q torch

torch_dir=$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
site=$(dirname "$torch_dir")
echo "LibTorch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') from $torch_dir"

# The wheel's libtorch_cuda needs the wheel's NCCL, not an older one from the CUDA toolkit:
# -rpath-link makes the linker resolve it there.
nccl_lib="$site/nvidia/nccl/lib"
linker_flags=""
[ -d "$nccl_lib" ] && linker_flags="-Wl,-rpath-link,$nccl_lib"

# Name the torch root as well as share/cmake, so CMake cannot pair these headers with Debian's
# libtorch (CMakeLists.txt refuses that mix).
cmake -S . -B build-torch2 -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_PREFIX_PATH=$torch_dir/share/cmake;$torch_dir" "-DCMAKE_EXE_LINKER_FLAGS=$linker_flags"
cmake --build build-torch2 -j "$jobs"
build-torch2/entropix --version
cd build-torch2
ctest --output-on-failure -j "$jobs"
