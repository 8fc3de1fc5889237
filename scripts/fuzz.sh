#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (AddressSanitizer and UBSan on) and runs
# each for a while, seeded from the repository's own specs and docs. A finding stops its target,
# leaves the input in build-fuzz/<target>/ (crash-*, timeout-*, oom-*) and makes the script exit 1.
# Not part of the test suite: fuzzing wants minutes per target; docs/reliability.md ("Fuzzing").
#   scripts/fuzz.sh [SECONDS per target, default 300] [TARGET ...]   (targets: spec tokenizer)
# Needs clang++ (Debian: apt-get install clang) and the Debian packages of scripts/bootstrap.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec tokenizer)
cxx=$(command -v clang++ || true)
[ -n "$cxx" ] || { echo "scripts/fuzz.sh: needs clang++ (apt-get install clang)" >&2; exit 2; }
src=lib/entropix
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Ilib)

sources_of() {  # the library files each target needs (the spec and data modules build without LibTorch)
  case $1 in
    spec) echo "$src"/spec/*.cpp "$src"/util/error.cpp "$src"/util/fs.cpp -lyaml-cpp ;;
    tokenizer) echo "$src"/data/bpe.cpp "$src"/data/pretokenize.cpp "$src"/data/utf8.cpp \
                    "$src"/data/unicode_tables.cpp "$src"/util/error.cpp "$src"/util/fs.cpp ;;
    *) echo "scripts/fuzz.sh: unknown target '$1' (valid: spec tokenizer)" >&2; return 2 ;;
  esac
}

seed() {  # <target> <corpus folder>: files named after their paths (experiments/ repeats names)
  local f
  case $1 in
    spec) for f in experiments/*.yaml experiments/*/*.yaml; do cp "$f" "$2/${f//\//_}"; done ;;
    tokenizer) for f in README.md docs/data.md; do cp "$f" "$2/${f//\//_}"; done ;;
  esac
}

status=0
for t in "${targets[@]}"; do
  libs=$(sources_of "$t") || exit 2
  dir=build-fuzz/$t
  mkdir -p "$dir/corpus"
  echo "== $t: building"
  # shellcheck disable=SC2086
  "$cxx" "${flags[@]}" "tests/fuzz/fuzz_$t.cpp" $libs -o "$dir/fuzz_$t"
  [ -n "$(ls -A "$dir/corpus")" ] || seed "$t" "$dir/corpus"
  echo "== $t: fuzzing for $seconds s (log: $dir/fuzz.log)"
  if (cd "$dir" && ./"fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=8192 \
        -print_final_stats=1 corpus > fuzz.log 2>&1); then
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$dir/fuzz.log" | sed "s/^/   /"
    echo "   no finding"
  else
    status=1
    grep -E "finding:|ERROR:|SUMMARY:|Test unit written to" "$dir/fuzz.log" | head -5 | sed "s/^/   /"
  fi
done
exit $status
