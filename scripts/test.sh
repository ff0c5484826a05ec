#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, builds two configurations
# (Release, and Debug with AddressSanitizer + UndefinedBehaviorSanitizer) and
# runs the whole ctest suite in each. Exit status 0 only if everything passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${TPARK_JOBS:-2}

bash scripts/deps.sh test
bash scripts/ui_deps.sh

run_config() {
  local dir=$1; shift
  echo "== configure $dir ($*)"
  cmake -S . -B "$dir" -G "Unix Makefiles" "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j"$jobs"
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600)
}

start=$(date +%s)
run_config build/release -DCMAKE_BUILD_TYPE=Release
run_config build/asan -DCMAKE_BUILD_TYPE=Debug -DTPARK_SANITIZE=ON -DTPARK_BUILD_BENCH=OFF
echo "== fuzz (bounded)"
bash tests/fuzz/run.sh  # TPARK_FUZZ_BUDGET (150 s) shared by the targets
echo "== all tests passed in $(( $(date +%s) - start )) s"
