#!/usr/bin/env bash
# One command from a fresh Debian 12 clone to a working entropix:
#   scripts/bootstrap.sh quickstart   install what is missing, build (Release), train experiments/quickstart.yaml
#   scripts/bootstrap.sh test         install what is missing, build and run the whole test suite twice:
#                                     against LibTorch 2.x (the wheel) and against Debian's 1.13 (the fallback)
#   scripts/bootstrap.sh build        install what is missing and build only
# LibTorch: by default the one inside the PyPI torch wheel (scripts/python-requirements.txt), in a
# venv cached outside the clone; on a machine without the CUDA toolkit the build is CPU-only against
# the same wheel (cmake/EntropixFindTorch.cmake). ENTROPIX_TORCH=system builds against Debian's
# libtorch-dev 1.13 instead (CPU only; `test` then runs only that build).
# Environment:
#   ENTROPIX_TORCH       wheel (default) | system
#   ENTROPIX_VENV        the venv (default ${XDG_CACHE_HOME:-$HOME/.cache}/entropix/venv); reused while
#                        scripts/python-requirements.txt is unchanged (a stamp holds its hash)
#   ENTROPIX_BUILD_DIR   build directory of the wheel build (default build)
#   ENTROPIX_SYSTEM_BUILD_DIR  build directory of the Debian-1.13 build (default build-system)
#   ENTROPIX_CMAKE_ARGS  extra configure arguments (e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch to use an
#                        unpacked libtorch zip instead of the wheel's; -DENTROPIX_TORCH_CUDA=OFF)
#   ENTROPIX_JOBS        parallel build and test jobs (default: nproc)
set -euo pipefail

mode=${1:-}
case "$mode" in
  quickstart|test|build) ;;
  *) echo "usage: scripts/bootstrap.sh quickstart|test|build" >&2; exit 2 ;;
esac
torch_choice=${ENTROPIX_TORCH:-}
case "$torch_choice" in
  ""|wheel|system) ;;
  *) echo "error: ENTROPIX_TORCH=$torch_choice: expected wheel or system" >&2; exit 2 ;;
esac
# Which builds this call makes: `test` without a choice checks both LibTorch versions.
if [ -n "$torch_choice" ]; then
  flavours=("$torch_choice")
elif [ "$mode" = test ]; then
  flavours=(wheel system)
else
  flavours=(wheel)
fi
want() { local f; for f in "${flavours[@]}"; do [ "$f" = "$1" ] && return 0; done; return 1; }

cd "$(dirname "$0")/.."
jobs=${ENTROPIX_JOBS:-$(nproc)}
venv=${ENTROPIX_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/entropix/venv}
requirements=scripts/python-requirements.txt

# Debian packages entropix builds and runs with, whichever LibTorch: the header-only libraries,
# yaml-cpp, GoogleTest, Gloo's headers (LibTorch's Gloo process group includes them), zlib
# (prepare's gzip JSONL inputs), ccache.
packages=(cmake g++ make libgloo-dev libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libgtest-dev
          libpython3-stdlib zlib1g-dev ccache)
# Debian's LibTorch 1.13; without libopenblas0-pthread it falls back to the reference BLAS and
# multiplies matrices about 50x slower.
want system && packages+=(libtorch-dev libopenblas0-pthread)
# The venv: the wheel's LibTorch, and the outside references the tests check against. The wheel
# build also links libsentencepiece (prepare --tokenizer sentencepiece); the Debian-1.13 build
# does not: that LibTorch loads libprotobuf.so.32, which clashes with sentencepiece's own copy.
{ want wheel || [ "$mode" = test ]; } && packages+=(python3 python3-venv)
want wheel && packages+=(libsentencepiece-dev)
# The test suite also opens `entropix report` output in headless Chromium and reads its SVG and
# PNG files back with Python's standard library (tests/support/svg_inspect.py), captures
# `entropix watch` from a terminal (tmux), and checks summary.json's git fields against a git
# repository it makes (git).
[ "$mode" = test ] && packages+=(chromium python3 tmux git)

install_missing_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# Creates the venv, or reuses it while the requirements are unchanged: the stamp holds the hash of
# the requirements it was last installed from; a changed file reinstalls into the same venv.
ensure_venv() {
  local want_hash stamp="$venv/.entropix-requirements.sha256"
  want_hash=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_hash" ] &&
     "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    return 0
  fi
  echo "setting up the Python venv $venv from $requirements"
  [ -x "$venv/bin/python" ] || { mkdir -p "$(dirname "$venv")" && python3 -m venv "$venv"; }
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$requirements"
  echo "$want_hash" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
}

configure_and_build() {  # <flavour> <build dir>
  local flavour=$1 dir=$2 args=(-DCMAKE_BUILD_TYPE=Release)
  local torch_dir="" site
  if [ "$flavour" = wheel ]; then
    torch_dir=$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
    site=$(dirname "$torch_dir")
    # Name the torch root as well as share/cmake, so CMake cannot pair these headers with Debian's
    # libtorch (CMakeLists.txt refuses that mix). With a CUDA toolkit the wheel's libtorch_cuda
    # links against the wheel's own NCCL, not an older one from the toolkit.
    args+=("-DCMAKE_PREFIX_PATH=$torch_dir/share/cmake;$torch_dir")
    [ -d "$site/nvidia/nccl/lib" ] && args+=("-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$site/nvidia/nccl/lib")
    args+=(-DENTROPIX_WITH_SENTENCEPIECE=ON)
  fi
  # A build directory configured against another LibTorch (e.g. an older Debian-1.13 `build/`)
  # keeps that LibTorch in its cache whatever the prefix path says: configure it afresh.
  if [ -f "$dir/CMakeCache.txt" ]; then
    local cached
    cached=$(sed -n 's/^Torch_DIR:PATH=//p' "$dir/CMakeCache.txt")
    if { [ "$flavour" = wheel ] && [ -n "$cached" ] && [ "${cached#"$torch_dir"}" = "$cached" ]; } ||
       { [ "$flavour" = system ] && [ -n "$cached" ] && [ "${cached#/usr/}" = "$cached" ]; }; then
      echo "$dir was configured against the LibTorch in $cached: configuring it afresh"
      rm -f "$dir/CMakeCache.txt"
    fi
  fi
  # ccache makes a second build of the same sources (another clone, CI) mostly cache hits: paths are
  # taken relative to the clone, and the precompiled header's defines and timestamps are allowed.
  if command -v ccache >/dev/null; then
    export CCACHE_BASEDIR="$PWD" CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
    args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  # The tests check entropix against the venv's PyTorch and transformers in either build.
  [ -x "$venv/bin/python" ] && args+=("-DENTROPIX_PYTHON=$venv/bin/python")
  # shellcheck disable=SC2086
  cmake -S . -B "$dir" "${args[@]}" ${ENTROPIX_CMAKE_ARGS:-}
  cmake --build "$dir" -j "$jobs"
}

build_dir_of() { [ "$1" = wheel ] && echo "${ENTROPIX_BUILD_DIR:-build}" || echo "${ENTROPIX_SYSTEM_BUILD_DIR:-build-system}"; }

install_missing_packages
{ want wheel || [ "$mode" = test ]; } && ensure_venv

for flavour in "${flavours[@]}"; do
  dir=$(build_dir_of "$flavour")
  configure_and_build "$flavour" "$dir"
  case "$mode" in
    quickstart)
      # A fresh run directory each time, so a second quickstart never collides with the first.
      out="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
      "$dir/entropix" run experiments/quickstart.yaml --out "$out"
      ;;
    test)
      echo "== test suite on $("$dir/entropix" --version | head -1) ($dir)"
      # A test that checks against the reference Python fails rather than skips when it is missing.
      (cd "$dir" && ENTROPIX_REQUIRE_REFERENCES=1 ctest --output-on-failure -j "$jobs")
      ;;
  esac
done
