#!/usr/bin/env bash
# Soak: the host under a steady, realistic load for a long while. The agent
# simulator ingests at SOAK_RATE events/s, SOAK_SSE_CLIENTS clients follow
# GET /events (curl), /metrics is scraped every SOAK_SCRAPE_SECS, and the
# plugins are reloaded (POST /admin/plugins/reload) every SOAK_RELOAD_SECS.
# Each minute it prints the host's RSS, open descriptors and live SSE
# clients; at the end, the events the simulator had acknowledged against the
# ones the journal holds.
# Targets: RSS grows <= 5% from minute 5 to the end, descriptors flat, zero
# events lost.
#
# Usage: bench/soak.sh [build_dir=build/release]
#   env: SOAK_MINUTES (10) SOAK_RATE (200) SOAK_SSE_CLIENTS (200)
#        SOAK_SCRAPE_SECS (1) SOAK_RELOAD_SECS (60)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
minutes=${SOAK_MINUTES:-10}
rate=${SOAK_RATE:-200}
sse_clients=${SOAK_SSE_CLIENTS:-200}
scrape_secs=${SOAK_SCRAPE_SECS:-1}
reload_secs=${SOAK_RELOAD_SECS:-60}
host_bin=$build/host/tpark-host
sim_bin=$build/examples/agent-sim/tpark-agent-sim
token=soak

for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[[ -x $host_bin && -x $sim_bin ]] || { echo "build tpark-host and tpark-agent-sim in $build first" >&2; exit 1; }

work=$(mktemp -d)
: >"$work/errors.log"
host_pid=""
helper_pids=()
cleanup() {
  for pid in "${helper_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -n $host_pid ]]; then kill "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- the host ------------------------------------------------------------------
printf 'schema: tpark.host/v1\n' >"$work/host.yaml"
ARW_ADMIN_TOKEN=$token ARW_ADMIN_RATE_LIMIT=0 TPARK_BUILTIN_PLUGIN_DIR="$build/plugins" \
  "$host_bin" --listen 127.0.0.1:0 --state-dir "$work/state" --config "$work/host.yaml" \
  >"$work/host.log" 2>&1 &
host_pid=$!
bound=""
for _ in $(seq 1 300); do
  bound=$(grep -o -m1 'listening on [^ ]*' "$work/host.log" | sed 's/^listening on //') || true
  [[ -n $bound ]] && break
  sleep 0.1
done
[[ -n $bound ]] || { cat "$work/host.log" >&2; echo "host did not start" >&2; exit 1; }
base="http://$bound"
auth=(-H "X-ARW-Admin: $token")

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$host_pid/status"; }
fd_count() { ls "/proc/$host_pid/fd" | wc -l; }

# --- the load ------------------------------------------------------------------
seconds=$((minutes * 60))
for i in $(seq 1 "$sse_clients"); do
  curl -sN "${auth[@]}" "$base/events" >/dev/null 2>&1 &
  helper_pids+=($!)
done
sse_first=${#helper_pids[@]}
sse_pids=("${helper_pids[@]}")

ARW_ADMIN_TOKEN=$token "$sim_bin" --target "$base" --rate "$rate" --count $((rate * seconds)) \
  --seed 1 --node soak >"$work/sim.log" 2>&1 &
sim_pid=$!
helper_pids+=("$sim_pid")

( while sleep "$scrape_secs"; do
    curl -sf -o /dev/null "$base/metrics" || echo "scrape failed" >>"$work/errors.log"
  done ) &
helper_pids+=($!)
( while sleep "$reload_secs"; do
    curl -sf -o /dev/null -X POST "${auth[@]}" "$base/admin/plugins/reload" ||
      echo "reload failed" >>"$work/errors.log"
  done ) &
helper_pids+=($!)

sse_alive() {
  local alive=0
  for pid in "${sse_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
  echo "$alive"
}

echo "machine: $(nproc) cores; load:$(uptime | sed 's/.*load average//')"
echo "soak: ${minutes} min, ${rate} events/s, ${sse_first} SSE clients, /metrics every ${scrape_secs}s," \
  "reload every ${reload_secs}s"
printf '%6s %10s %6s %6s\n' minute rss_mb fds sse
declare -a rss_at
for minute in $(seq 1 "$minutes"); do
  sleep 60
  kill -0 "$host_pid" 2>/dev/null || { tail -20 "$work/host.log" >&2; echo "host died" >&2; exit 1; }
  rss=$(rss_kb)
  rss_at[$minute]=$rss
  printf '%6d %10.1f %6d %6d\n' "$minute" "$(awk -v r="$rss" 'BEGIN { printf "%.1f", r / 1024 }')" "$(fd_count)" "$(sse_alive)"
done

# --- the verdict ---------------------------------------------------------------
wait "$sim_pid" || { cat "$work/sim.log" >&2; echo "the simulator failed" >&2; exit 1; }
acknowledged=$(grep -o 'done: sent [0-9]*, accepted [0-9]*' "$work/sim.log" | awk '{ print $5 }')
journaled=0
after=0
while true; do
  page=$(curl -sf "${auth[@]}" "$base/state/events?limit=1000&after=$after")
  count=$(jq '[.items[] | select(.node == "soak")] | length' <<<"$page")
  size=$(jq '.items | length' <<<"$page")
  journaled=$((journaled + count))
  [[ $size -lt 1000 ]] && break
  after=$(jq '.next_after' <<<"$page")
done
failures=$(wc -l <"$work/errors.log")
echo "events: acknowledged $acknowledged, in the journal $journaled, lost $((acknowledged - journaled))"
echo "scrape/reload failures: $failures"
if ((minutes >= 10)); then
  awk -v a="${rss_at[5]}" -v b="${rss_at[$minutes]}" 'BEGIN {
    g = (b - a) * 100.0 / a;
    printf "RSS minute 5 -> %d: %+.1f%% (target <= 5%%) %s\n", '"$minutes"', g, (g <= 5 ? "MET" : "MISSED") }'
fi
[[ $acknowledged -eq $journaled ]]
