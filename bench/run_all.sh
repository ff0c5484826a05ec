#!/usr/bin/env bash
# Every benchmark, one after the other, each printing its figure beside its
# target and the reference it measured in the same run (raw SQLite, nginx,
# prometheus-cpp's Exposer, a virtual call...). Ends with a summary: the
# figure lines of every benchmark, and the benchmarks that failed to run.
# Default durations are short (about 8 minutes in all on a 2-core machine);
# BENCH_SCALE=long runs the issue-sized variants (30 s SSE phases, 7M-row
# journal growth: about an hour).
#
# Build first: cmake --build build/release -j2 --target tpark-run all
# Usage: bench/run_all.sh [build_dir=build/release]
#   env: BENCH_SCALE (short|long), BENCH_ONLY (a regex of benchmark names)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
bench=$build/bench
scale=${BENCH_SCALE:-short}
only=${BENCH_ONLY:-.}

if [[ $scale == long ]]; then
  sse_seconds=30 growth_rows=7000000 growth_round=5 nginx_duration=10s ingest_events=1000000
else
  sse_seconds=8 growth_rows=600000 growth_round=3 nginx_duration=5s ingest_events=400000
fi

# name | command (run from the repository root) | lines of its output that carry figures
benchmarks=(
  "section_dispatch|$bench/bench_section_dispatch 300000|target|raw SQLite|events/s"
  "sse_fanout|$bench/bench_sse_fanout 1000 $sse_seconds 200|p99|RSS|patch bytes|breakdown"
  "sse_context_patches|$bench/bench_sse_context_patches $sse_seconds 100|lower bound|per patch"
  "http_ingest|$bench/bench_http_ingest $ingest_events 4 1000|ratio"
  "ingest_growth|$bench/bench_ingest_growth $growth_rows $growth_round 4 1000|target"
  "journal_ingest|$bench/bench_journal_ingest|x|events/s"
  "ingest_parse|$bench/bench_ingest_parse|per event"
  "snapshot_vs_nginx|env BENCH_CONNECTIONS=64 BENCH_DURATION=$nginx_duration $root/bench/snapshot_vs_nginx.sh $build|ratio|p99|req/s"
  "metrics_host_vs_exposer|$bench/bench_metrics_host_vs_exposer|ratio|host    :|Exposer :"
  "metrics_vs_exposer|$bench/bench_metrics_vs_exposer|ratio"
  "abi_call|$bench/bench_abi_call --benchmark_min_time=0.2|abi_call"
  "startup_readyz|$bench/bench_startup_readyz 10|readyz|ms"
  "bus_dispatch|$bench/bench_bus_dispatch|events/s"
  "exporter_queue|$bench/bench_exporter_queue|items/s|offer"
  "actions_pipeline|$bench/bench_actions_pipeline|/s|p99"
  "config_actions|$bench/bench_config_actions|ms|/s"
  "training_job|$bench/bench_training_job 20000|target"
)

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
failed=()
summary=()
started=$(date +%s)
for entry in "${benchmarks[@]}"; do
  IFS='|' read -r name command patterns <<<"$entry"
  [[ $name =~ $only ]] || continue
  echo "=== $name: $command"
  program=${command%% *}
  if [[ $program == /* && ! -x $program ]]; then
    echo "=== $name: not built ($program); build with: cmake --build $build --target tpark-run all"
    failed+=("$name")
    summary+=("--- $name (not built)")
    continue
  fi
  begin=$(date +%s)
  if (cd "$root" && $command) >"$log/$name.out" 2>&1; then
    status=ok
  else
    status=failed
    failed+=("$name")
  fi
  cat "$log/$name.out"
  echo "=== $name: $status in $(( $(date +%s) - begin )) s"
  # The figure lines: those naming a target, and those the entry lists
  # (its references, printed on lines of their own by some benchmarks).
  figures=$(grep -E "target|MET|MISSED|$patterns" "$log/$name.out" | grep -v '^-' | tail -n 12 || true)
  summary+=("--- $name ($status)" "$figures")
done

echo
echo "=== summary ($(( $(date +%s) - started )) s, scale $scale)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}"
  exit 1
fi
