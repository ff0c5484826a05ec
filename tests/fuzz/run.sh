#!/usr/bin/env bash
# Builds every libFuzzer target in tests/fuzz with clang and runs each for a
# bounded time (TPARK_FUZZ_SECONDS, default 20) from its seed corpus in
# tests/fuzz/corpus/<target>/. Exit status non-zero on any crash or finding.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${TPARK_FUZZ_SECONDS:-20}
build="$root/build/fuzz"
CC=clang CXX=clang++ cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${TPARK_JOBS:-2}"
for src in "$root"/tests/fuzz/*_fuzz.cpp; do
  name=$(basename "$src" .cpp)
  seeds="$root/tests/fuzz/corpus/$name"
  work=$(mktemp -d)
  [[ -d "$seeds" ]] && cp -r "$seeds"/. "$work"/
  echo "== fuzz $name for ${seconds}s"
  (cd "$build" && "./$name" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$work")
  rm -rf "$work"
done
echo "== fuzz targets ran clean"
