#!/usr/bin/env bash
# Runs a command with ARW_NATS_URL pointing at a fresh nats-server (JetStream,
# temporary store) on a free loopback port, and stops the server after. Used
# for plugins whose start needs their NATS server, e.g. tp.orchestrator.nats,
# which creates its streams and consumers when it starts.
# Usage: with_nats_server.sh [--worker TPARK_WORKER PLUGIN_DIR] COMMAND...
# With --worker, a tpark-worker serves the job queue meanwhile (restarted
# until the command under test has created the streams it binds to).
set -euo pipefail
worker=()
if [[ ${1:-} == --worker ]]; then worker=("$2" --plugin-dir "$3"); shift 3; fi
server=$(command -v nats-server || echo /usr/bin/nats-server)
[[ -x $server ]] || { echo "nats-server not found: install the Debian package nats-server" >&2; exit 1; }
dir=$(mktemp -d)
"$server" -a 127.0.0.1 -p -1 -js -sd "$dir/js" >"$dir/nats.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 400); do
  grep -q "Server is ready" "$dir/nats.log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/nats.log" >&2; exit 1; }
  sleep 0.05
done
port=$(sed -n 's/.*Listening for client connections on [0-9.]*:\([0-9]*\).*/\1/p' "$dir/nats.log" | head -n 1)
[[ -n $port ]] || { echo "nats-server did not report its port:" >&2; cat "$dir/nats.log" >&2; exit 1; }
export ARW_NATS_URL="nats://127.0.0.1:$port"
if ((${#worker[@]})); then
  (while :; do "${worker[@]}" >>"$dir/worker.log" 2>&1 || true; sleep 0.2; done) &
  loop=$!
  trap 'kill -STOP "$loop" 2>/dev/null || true; pkill -P "$loop" 2>/dev/null || true; kill -9 "$loop" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
fi
"$@"
