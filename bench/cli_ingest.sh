#!/usr/bin/env bash
# The CLI against curl, same run, same host build:
#  1. `tpark ingest` of a simulator capture (1,000,000 lines by default) vs
#     curl --data-binary posting the same chunks (whole lines, at most the
#     4 MiB ingest limit, split with `split -C`) on one kept-alive connection
#     (curl --next). Each side gets a fresh host and state dir. Target:
#     tpark events/s >= 0.9x curl's.
#  2. `tpark context telemetry --json` start to output vs `curl` of the same
#     route (GET /state/training/telemetry, then printing the context with
#     jq would only add to curl's side, so curl prints the raw snapshot):
#     mean wall time over N runs of each, interleaved. Target: <= 2x.
#
# Usage: bench/cli_ingest.sh [lines=1000000] [build_dir=build/release]
#   env: BENCH_TELEMETRY_RUNS (50)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
lines=${1:-1000000}
build=${2:-$root/build/release}
runs=${BENCH_TELEMETRY_RUNS:-50}
host_bin=$build/host/tpark-host
sim_bin=$build/examples/agent-sim/tpark-agent-sim
cli_bin=$build/cli/tpark
limit=4194304
for tool in curl split; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }; done
for bin in "$host_bin" "$sim_bin" "$cli_bin"; do [[ -x $bin ]] || { echo "build $bin first" >&2; exit 1; }; done

work=$(mktemp -d)
host_pid=""
stop_host() {
  if [[ -n $host_pid ]]; then kill "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true; fi
  host_pid=""
}
trap 'stop_host; rm -rf "$work"' EXIT

# Starts a fresh host (loopback, no token: loopback clients are admin); sets $base.
start_host() {
  local name=$1
  printf 'schema: tpark.host/v1\n' >"$work/host.yaml"
  ARW_ADMIN_RATE_LIMIT=0 ARW_PUBLIC_RATE_LIMIT=0 TPARK_BUILTIN_PLUGIN_DIR="$build/plugins" \
    "$host_bin" --listen 127.0.0.1:0 --state-dir "$work/state-$name" --config "$work/host.yaml" \
    >"$work/host-$name.log" 2>&1 &
  host_pid=$!
  local bound=""
  for _ in $(seq 1 300); do
    bound=$(grep -o -m1 'listening on [^ ]*' "$work/host-$name.log" | sed 's/^listening on //') || true
    [[ -n $bound ]] && break
    sleep 0.1
  done
  [[ -n $bound ]] || { echo "the host did not start" >&2; cat "$work/host-$name.log" >&2; exit 1; }
  base="http://$bound"
}

now() { date +%s.%N; }

echo "== capture: $lines simulator lines"
"$sim_bin" --stdout --count "$lines" --seed 16 >"$work/capture.ndjson"
bytes=$(stat -c %s "$work/capture.ndjson")
mkdir "$work/chunks"
split -C "$limit" -d -a 5 "$work/capture.ndjson" "$work/chunks/c"
chunks=$(ls "$work/chunks" | wc -l)
echo "   $bytes bytes, $chunks chunks of at most $limit bytes"

echo "== ingest"
start_host curl
curl_args=()
for chunk in "$work"/chunks/c*; do
  [[ ${#curl_args[@]} -gt 0 ]] && curl_args+=(--next)
  curl_args+=(-s -o /dev/null -H 'Content-Type: application/x-ndjson' --data-binary "@$chunk" "$base/events/ingest")
done
t0=$(now)
curl "${curl_args[@]}"
t1=$(now)
curl_rate=$(echo "$lines / ($t1 - $t0)" | bc -l)
stop_host

start_host cli
t0=$(now)
"$cli_bin" --base "$base" ingest "$work/capture.ndjson" >"$work/cli-ingest.txt"
t1=$(now)
cli_rate=$(echo "$lines / ($t1 - $t0)" | bc -l)
cat "$work/cli-ingest.txt"
printf '   curl: %.0f events/s   tpark: %.0f events/s   ratio %.2fx (target >= 0.9x)\n' \
  "$curl_rate" "$cli_rate" "$(echo "$cli_rate / $curl_rate" | bc -l)"

echo "== context telemetry, start to output ($runs runs each)"
curl_total=0
cli_total=0
for _ in $(seq 1 "$runs"); do
  t0=$(now); curl -s "$base/state/training/telemetry" >/dev/null; t1=$(now)
  curl_total=$(echo "$curl_total + $t1 - $t0" | bc -l)
  t0=$(now); "$cli_bin" --base "$base" context telemetry --json >/dev/null; t1=$(now)
  cli_total=$(echo "$cli_total + $t1 - $t0" | bc -l)
done
printf '   curl: %.1f ms   tpark: %.1f ms   ratio %.2fx (target <= 2x)\n' \
  "$(echo "$curl_total * 1000 / $runs" | bc -l)" "$(echo "$cli_total * 1000 / $runs" | bc -l)" \
  "$(echo "$cli_total / $curl_total" | bc -l)"
