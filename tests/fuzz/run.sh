#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build/fuzz) and runs each from its
# seed corpus for a bounded time: FUZZ_SECONDS in total (default 60), split
# evenly between the targets. Exit status 0 only if no target found a crash.
#
# Adding a target: drop tests/fuzz/<name>_fuzz.cpp (LLVMFuzzerTestOneInput)
# here; CMake picks it up. Seeds come from tests/fuzz/corpus/<name>/ when that
# directory exists, plus whatever seed_corpus() below adds for the target.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build/fuzz
total=${FUZZ_SECONDS:-60}
jobs=${TPARK_JOBS:-2}

CC=clang CXX=clang++ cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs"

# Extra seeds generated from the tree, per target.
seed_corpus() {
  local name=$1 dir=$2
  case "$name" in
    preset_loader_fuzz) cp "$root"/presets/perf/*.yaml "$root"/presets/context/*.yaml "$dir"/ ;;
  esac
}

mapfile -t targets < <(cd "$root/tests/fuzz" && ls *_fuzz.cpp | sed 's/\.cpp$//')
per_target=$(( total / ${#targets[@]} ))
(( per_target >= 1 )) || per_target=1
status=0
for name in "${targets[@]}"; do
  corpus=$build/corpus/$name
  mkdir -p "$corpus"
  if [[ -d "$root/tests/fuzz/corpus/$name" ]]; then cp -r "$root/tests/fuzz/corpus/$name"/. "$corpus"/; fi
  seed_corpus "$name" "$corpus"
  echo "== fuzz $name for ${per_target}s"
  if ! (cd "$build" && "./$name" -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 \
          -print_final_stats=1 "$corpus"); then
    echo "== fuzz $name FAILED (the crashing input is in $build)"
    status=1
  fi
done
exit $status
