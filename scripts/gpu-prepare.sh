#!/usr/bin/env bash
# Stages, on a machine with the Debian packages of scripts/bootstrap.sh, what scripts/gpu-bench.sh and gpu-check.sh
# needs on a GPU machine that has CUDA, CMake and a torch wheel but no package registry: the
# header-only dependencies (CLI11, nlohmann-json), yaml-cpp (headers, library, CMake config),
# Gloo's headers and GoogleTest's sources, in the same layout under .gpu-deps/usr (git-ignored).
#   scripts/gpu-prepare.sh && <copy the tree, .gpu-deps included, to the GPU machine>
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.gpu-deps/usr
rm -rf .gpu-deps
mkdir -p "$dest/lib/x86_64-linux-gnu" "$dest/share/cmake" "$dest/include" "$dest/src"
cp -a /usr/include/CLI /usr/include/nlohmann /usr/include/yaml-cpp /usr/include/gloo "$dest/include/"
cp -a /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json "$dest/share/cmake/"
mkdir -p "$dest/lib/x86_64-linux-gnu/cmake"
cp -a /usr/lib/x86_64-linux-gnu/libyaml-cpp.so* "$dest/lib/x86_64-linux-gnu/"
cp -a /usr/lib/x86_64-linux-gnu/cmake/yaml-cpp "$dest/lib/x86_64-linux-gnu/cmake/"
cp -a /usr/src/googletest "$dest/src/"
du -sh .gpu-deps
