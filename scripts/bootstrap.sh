#!/usr/bin/env bash
# One command from a fresh Debian 12 clone to a working entropix:
#   scripts/bootstrap.sh quickstart   install what is missing, build (Release), train experiments/quickstart.yaml
#   scripts/bootstrap.sh test         install what is missing, build (Release), run the whole test suite
#   scripts/bootstrap.sh build        install what is missing and build only
# Environment: ENTROPIX_BUILD_DIR (default build), ENTROPIX_CMAKE_ARGS (extra configure arguments,
# e.g. -DCMAKE_PREFIX_PATH=/path/to/libtorch for LibTorch 2.x), ENTROPIX_JOBS (default: nproc).
set -euo pipefail

mode=${1:-}
case "$mode" in
  quickstart|test|build) ;;
  *) echo "usage: scripts/bootstrap.sh quickstart|test|build" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
build_dir=${ENTROPIX_BUILD_DIR:-build}
jobs=${ENTROPIX_JOBS:-$(nproc)}

# Debian packages entropix builds and runs with. Without libopenblas0-pthread Debian's LibTorch
# falls back to the reference BLAS and multiplies matrices about 50x slower.
packages=(cmake g++ make libtorch-dev libgloo-dev libopenblas0-pthread libcli11-dev libyaml-cpp-dev
          nlohmann-json3-dev libgtest-dev libpython3-stdlib)
# The test suite also opens `entropix report` output in headless Chromium and reads its SVG and
# PNG files back with Python's standard library (tests/support/svg_inspect.py), captures
# `entropix watch` from a terminal (tmux), and checks summary.json's git fields against a git
# repository it makes (git).
if [ "$mode" = test ]; then
  packages+=(chromium python3 tmux git)
fi

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

build() {
  # shellcheck disable=SC2086
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${ENTROPIX_CMAKE_ARGS:-}
  cmake --build "$build_dir" -j "$jobs"
}

install_missing_packages
build

case "$mode" in
  quickstart)
    # A fresh run directory each time, so a second quickstart never collides with the first.
    out="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
    "$build_dir/entropix" run experiments/quickstart.yaml --out "$out"
    ;;
  test)
    cd "$build_dir"
    ctest --output-on-failure -j "$jobs"
    ;;
esac
