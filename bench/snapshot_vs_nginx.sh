#!/usr/bin/env bash
# GET /state/training/telemetry under wrk, against nginx serving the same bytes
# as a static file: same run, same wrk threads, connections and duration.
# Targets: host requests/s >= 0.8x nginx's, host p99 <= 2x nginx's.
#
# The host runs on a temp state dir with ARW_ADMIN_RATE_LIMIT=0 and is fed by
# the agent simulator first; nginx runs from a temp prefix on loopback (no
# root needed) with as many workers as the host has I/O threads.
#
# Usage: bench/snapshot_vs_nginx.sh [build_dir=build/release]
#   env: BENCH_EVENTS (20000) BENCH_DURATION (10s) BENCH_THREADS (1)
#        BENCH_CONNECTIONS (16) BENCH_WORKERS (2, the host's I/O threads)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
events=${BENCH_EVENTS:-20000}
duration=${BENCH_DURATION:-10s}
threads=${BENCH_THREADS:-1}
connections=${BENCH_CONNECTIONS:-16}
workers=${BENCH_WORKERS:-2}
host_bin=$build/host/tpark-host
sim_bin=$build/examples/agent-sim/tpark-agent-sim
token=bench

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/deps.sh bench" >&2; exit 1; }
done
[[ -x $host_bin && -x $sim_bin ]] || { echo "build tpark-host and tpark-agent-sim in $build first" >&2; exit 1; }

work=$(mktemp -d)
host_pid=""
nginx_pid_file="$work/nginx/nginx.pid"
cleanup() {
  if [[ -f $nginx_pid_file ]]; then kill "$(cat "$nginx_pid_file")" 2>/dev/null || true; fi
  if [[ -n $host_pid ]]; then kill "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A loopback port nobody listens on, for nginx (the host picks its own with port 0).
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}

# --- the host, fed by the simulator -----------------------------------------
printf 'schema: tpark.host/v1\n' >"$work/host.yaml"
ARW_ADMIN_TOKEN=$token ARW_ADMIN_RATE_LIMIT=0 ARW_PUBLIC_RATE_LIMIT=0 TPARK_BUILTIN_PLUGIN_DIR="$build/plugins" \
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
ARW_ADMIN_TOKEN=$token "$sim_bin" --target "$base" --rate 0 --count "$events" --seed 1 \
  >"$work/sim.log" 2>&1 || { cat "$work/sim.log" >&2; exit 1; }
url="$base/state/training/telemetry"

# --- nginx serving the same bytes ---------------------------------------------
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
curl -sf -H "X-ARW-Admin: $token" "$url" >"$work/nginx/www/telemetry.json"
bytes=$(wc -c <"$work/nginx/www/telemetry.json")
# Workers may run as another user when started as root: everything readable.
chmod -R a+rX "$work"
nginx_port=$(free_port)
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $workers;
pid $nginx_pid_file;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/nginx/www;
    location = /state/training/telemetry {
      default_type application/json;
      add_header Cache-Control no-store;
      try_files /telemetry.json =404;
    }
  }
}
CONF
nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf"
for _ in $(seq 1 50); do [[ -f $nginx_pid_file ]] && break; sleep 0.1; done
nginx_url="http://127.0.0.1:$nginx_port/state/training/telemetry"
cmp -s <(curl -sf "$nginx_url") "$work/nginx/www/telemetry.json" ||
  { cat "$work/nginx/error.log" >&2; echo "nginx does not serve the snapshot" >&2; exit 1; }

# --- wrk, the same settings for both ------------------------------------------
# Prints "<requests/s> <p99 in ms>" from wrk --latency output.
run_wrk() {
  wrk -t"$threads" -c"$connections" -d"$duration" --latency -H "X-ARW-Admin: $token" "$1" |
    awk '
      function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0;
                       if (v ~ /s$/) return v*1000; return v+0 }
      /Requests\/sec:/ { rps = $2 }
      /^ *99%/ { p99 = ms($2) }
      /Non-2xx/ { bad = $NF }
      END { if (bad > 0) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 }
            printf "%s %s\n", rps, p99 }'
}

echo "machine: $(nproc) cores; load:$(uptime | sed 's/.*load average//')"
echo "snapshot: $bytes bytes after $events simulator events; wrk -t$threads -c$connections -d$duration;" \
  "host I/O threads 2, nginx workers $workers"
read -r host_rps host_p99 < <(run_wrk "$url")
read -r nginx_rps nginx_p99 < <(run_wrk "$nginx_url")
awk -v hr="$host_rps" -v hp="$host_p99" -v nr="$nginx_rps" -v np="$nginx_p99" 'BEGIN {
  rr = hr / nr; pr = (np > 0) ? hp / np : 0;
  printf "host  /state/training/telemetry: %10.0f req/s   p99 %8.3f ms\n", hr, hp;
  printf "nginx static file             : %10.0f req/s   p99 %8.3f ms\n", nr, np;
  printf "ratio req/s host/nginx: %.2fx (target >= 0.8x) %s\n", rr, (rr >= 0.8 ? "MET" : "MISSED");
  printf "ratio p99   host/nginx: %.2fx (target <= 2x)   %s\n", pr, (pr <= 2.0 ? "MET" : "MISSED");
}'
