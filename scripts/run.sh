#!/usr/bin/env bash
# Starts tpark-host on its embedded defaults (presets/host.yaml, SQLite in
# ./state, no other server), and once it listens prints its URLs (the address
# it really bound) and starts the agent simulator feeding it (50 events/s,
# following its live config; its progress goes to build/release/agent-sim.log).
# Builds only what it runs (the tpark-run target: host, built-in plugins,
# simulator); the tests and benchmarks build with scripts/test.sh.
# Ctrl+C stops both; the host stops cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${TPARK_JOBS:-2}

bash scripts/deps.sh build
bash scripts/ui_deps.sh || echo "warning: the web page's libraries are missing; the page will not load"
cmake -S . -B build/release -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs" --target tpark-run

echo
echo "tpark-host is starting (state in ${ARW_STATE_DIR:-./state} unless --state-dir says otherwise)"
echo

# The host keeps this script's pid (exec below), so a signal sent to run.sh
# reaches the host itself: a shell that starts run.sh in the background leaves
# SIGINT ignored, and bash cannot trap a signal ignored at entry.
host_pid=$$
run_dir=$(mktemp -d)
host_log="$run_dir/host.log"
sim_log="$root/build/release/agent-sim.log"

# Beside the host: wait for its "listening on" line (--listen with port 0
# picks a port), print the URLs of that address, start the simulator against
# it, and stop it and clean up once the host has exited.
(
  trap '' INT  # Ctrl+C is the host's; this ends when the host does
  bound=""
  while kill -0 "$host_pid" 2>/dev/null; do
    bound=$(grep -o -m1 'listening on [^ ]*' "$host_log" 2>/dev/null | sed 's/^listening on //') || true
    [[ -n "$bound" ]] && break
    sleep 0.1
  done
  if [[ -n "$bound" ]]; then
    live="http://$bound"
    cat <<TXT

  page:      $live/ui/training
  snapshot:  $live/state/training/telemetry
  metrics:   $live/metrics
  plugins:   $live/admin/plugins
  health:    $live/healthz
  ingest:    curl -H 'Content-Type: application/x-ndjson' --data-binary @events.ndjson $live/events/ingest
Without ARW_ADMIN_TOKEN the host binds loopback only and admits loopback clients.
TXT
    build/release/examples/agent-sim/tpark-agent-sim --target "$live" --rate 50 --follow-config "$live" \
      2>>"$sim_log" &
    sim_pid=$!
    echo "  simulator: tpark-agent-sim is feeding $live (50 events/s, following $live/state/config;"
    echo "             progress every 10 s in $sim_log)"
    echo
    while kill -0 "$host_pid" 2>/dev/null; do sleep 0.2; done
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$run_dir"
) &

# tee -i: an interrupt must not cut the host's last lines ("stopped cleanly").
exec build/release/host/tpark-host "$@" > >(tee -i "$host_log") 2>&1
