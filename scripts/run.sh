#!/usr/bin/env bash
# Starts tpark-host on its embedded defaults (presets/host.yaml, SQLite in
# ./state, no other server) and prints its URLs. Ctrl+C stops it cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${TPARK_JOBS:-2}

bash scripts/deps.sh build
cmake -S . -B build/release -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs" --target tpark-host all

base="http://${ARW_BIND:-127.0.0.1}:${ARW_PORT:-8091}"
cat <<TXT

tpark-host is starting on $base (state in ${ARW_STATE_DIR:-./state})
  snapshot:  $base/state/training/telemetry
  metrics:   $base/metrics
  plugins:   $base/admin/plugins
  health:    $base/healthz
  ingest:    curl -X POST --data-binary @events.ndjson $base/events/ingest
Without ARW_ADMIN_TOKEN the host binds loopback only and admits loopback clients.

TXT
exec build/release/host/tpark-host "$@"
