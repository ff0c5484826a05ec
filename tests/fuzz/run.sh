#!/usr/bin/env bash
# Builds every libFuzzer target in tests/fuzz with clang and runs each for a
# bounded time from its seed corpus in tests/fuzz/corpus/<target>/. Exit
# status non-zero on any crash or finding.
#
# Time: TPARK_FUZZ_SECONDS per target if set; otherwise TPARK_FUZZ_BUDGET
# seconds (default 150) shared between the targets, at least 5 s each.
# Input size: each target states its route's body limit in a comment in its
# first 20 lines, `// fuzz-max-len: N` (default 4096), passed to libFuzzer as -max_len.
# Extra libFuzzer flags (e.g. -runs=10000000 for the long run in docs/ops.md)
# come from TPARK_FUZZ_FLAGS.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build/fuzz"
CC=clang CXX=clang++ cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${TPARK_JOBS:-2}"
targets=("$root"/tests/fuzz/*_fuzz.cpp)
if [[ -n "${TPARK_FUZZ_SECONDS:-}" ]]; then
  seconds=$TPARK_FUZZ_SECONDS
else
  seconds=$(( ${TPARK_FUZZ_BUDGET:-150} / ${#targets[@]} ))
  (( seconds < 5 )) && seconds=5
fi
for src in "${targets[@]}"; do
  name=$(basename "$src" .cpp)
  max_len=$(head -n 20 "$src" | sed -n 's|^// fuzz-max-len: *\([0-9][0-9]*\).*|\1|p' | head -n 1)
  max_len=${max_len:-4096}
  seeds="$root/tests/fuzz/corpus/$name"
  work=$(mktemp -d)
  [[ -d "$seeds" ]] && cp -r "$seeds"/. "$work"/
  # The shipped presets seed the preset loader.
  if [[ "$name" == preset_loader_fuzz ]]; then cp "$root"/presets/perf/*.yaml "$root"/presets/context/*.yaml "$work"/; fi
  echo "== fuzz $name for ${seconds}s, max_len $max_len"
  # shellcheck disable=SC2086
  (cd "$build" && "./$name" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 \
     ${TPARK_FUZZ_FLAGS:-} "$work")
  rm -rf "$work"
done
echo "== fuzz targets ran clean"
