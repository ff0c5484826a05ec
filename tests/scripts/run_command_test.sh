#!/usr/bin/env bash
# The README's run command on the embedded defaults: it prints the URLs, the
# host logs "listening on", and /healthz answers 200. Then Ctrl+C (SIGINT)
# stops it cleanly.
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

for url in "/state/training/telemetry" "/metrics" "/healthz"; do
  grep -q "$url" "$work/out.log" || { cat "$work/out.log"; echo "URL $url not printed"; exit 1; }
done
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
[[ "$status" == "200" ]] || { echo "/healthz answered $status"; exit 1; }

kill -INT "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "host did not stop on SIGINT within 10 s"; exit 1; fi
grep -q "stopped cleanly" "$work/out.log" || { cat "$work/out.log"; echo "no clean stop"; exit 1; }
echo "run command OK on port $port"
