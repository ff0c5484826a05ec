#!/usr/bin/env bash
# The README's run command on the embedded defaults: it prints the URLs of the
# address the host bound, the host logs "listening on", /healthz answers 200,
# the printed ingest command works as printed, and the agent simulator's
# events reach the journal within 10 s. Then Ctrl+C (SIGINT) stops the host
# cleanly and the simulator with it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill -9 "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

cd "$work"
bash "$root/scripts/run.sh" --listen 127.0.0.1:0 --state-dir "$work/state" >"$work/out.log" 2>&1 &
pid=$!

port=""
for _ in $(seq 1 600); do
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/out.log" | head -1 | sed 's/.*://') || true
  [[ -n "$port" ]] && break
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/out.log"; echo "run.sh exited early"; exit 1; fi
  sleep 0.5
done
[[ -n "$port" ]] || { cat "$work/out.log"; echo "no 'listening on' line"; exit 1; }
# run.sh prints its banner once it has seen that line: wait for it too.
for _ in $(seq 1 100); do
  grep -q "http://127.0.0.1:$port/healthz" "$work/out.log" && break
  sleep 0.1
done

for url in "/ui/training" "/state/training/telemetry" "/metrics" "/healthz"; do
  grep -q "$url" "$work/out.log" || { cat "$work/out.log"; echo "URL $url not printed"; exit 1; }
done
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
[[ "$status" == "200" ]] || { echo "/healthz answered $status"; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ui/vendor/uPlot.esm.js")
[[ "$status" == "200" ]] || { echo "the page's uPlot answered $status (ui/node_modules missing?)"; exit 1; }

# The simulator starts once the host listens and posts a batch a second.
admin=()
if [[ -n "${ARW_ADMIN_TOKEN:-}" ]]; then admin=(-H "X-ARW-Admin: $ARW_ADMIN_TOKEN"); fi
fed=""
for _ in $(seq 1 100); do
  events=$(curl -s "${admin[@]}" "http://127.0.0.1:$port/state/events?after=0&limit=1000") || true
  if [[ "$events" == *'"node":"agent-sim"'* ]]; then
    fed=yes
    break
  fi
  sleep 0.1
done
[[ -n "$fed" ]] || { cat "$work/out.log"; echo "no simulator events in /state/events within 10 s"; exit 1; }
grep -q "simulator: tpark-agent-sim is feeding http://127.0.0.1:$port" "$work/out.log" ||
  { cat "$work/out.log"; echo "simulator line not printed"; exit 1; }
grep -q "progress every 10 s in $root/build/release/agent-sim.log" "$work/out.log" ||
  { cat "$work/out.log"; echo "the simulator's log is not named"; exit 1; }

# The printed URLs are those of the address the host bound (port 0 here), and
# the printed ingest command works as printed on a file of simulator events.
for url in "/state/training/telemetry" "/metrics" "/healthz"; do
  grep -q "http://127.0.0.1:$port$url" "$work/out.log" ||
    { cat "$work/out.log"; echo "URL $url not printed with the bound port $port"; exit 1; }
done
"$root/build/release/examples/agent-sim/tpark-agent-sim" --stdout --count 20 --seed 3 > "$work/events.ndjson"
ingest=$(grep -o "ingest: .*" "$work/out.log" | head -1 | sed 's/^ingest: *//')
[[ "$ingest" == curl* ]] || { cat "$work/out.log"; echo "no ingest command printed"; exit 1; }
with_checks='curl -sS --fail-with-body "${admin[@]}" '
command=${ingest/curl /$with_checks}
reply=$(cd "$work" && eval "$command") ||
  { echo "the printed ingest command failed: $ingest -> ${reply:-}"; exit 1; }
[[ "$reply" == *'"accepted":20'* ]] || { echo "the printed ingest command answered $reply"; exit 1; }

kill -INT "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "host did not stop on SIGINT within 10 s"; exit 1; fi
# The host's output reaches the log through a pipe: allow it a moment.
for _ in $(seq 1 20); do grep -q "stopped cleanly" "$work/out.log" && break; sleep 0.1; done
grep -q "stopped cleanly" "$work/out.log" || { cat "$work/out.log"; echo "no clean stop"; exit 1; }
for _ in $(seq 1 50); do
  pgrep -f "tpark-agent-sim --target http://127.0.0.1:$port" >/dev/null || break
  sleep 0.1
done
if pgrep -f "tpark-agent-sim --target http://127.0.0.1:$port" >/dev/null; then
  echo "the simulator outlived the host by more than 5 s"; exit 1
fi
echo "run command OK on port $port"
