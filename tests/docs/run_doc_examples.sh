#!/usr/bin/env bash
# Runs the commands that README.md and docs/*.md print, as printed, against a
# real tpark-host (docs/plugin-authoring.md has its own test,
# run_doc_commands.sh, which ends in a loaded plugin).
#
# The convention (the same as run_doc_commands.sh): a line `<!-- doc-test -->`
# marks the next ```sh fence as a block to run. A doc's marked blocks run in
# order as one bash script (set -euo pipefail), in an empty directory where
# build/release is the build under test, against a fresh host listening on
# 127.0.0.1:8091 as the docs print it: the host and the commands share a
# private network namespace (unshare), so the port is free whatever else runs
# on the machine. Without unshare the host takes a free port and the commands
# get it in place of 8091. `curl` fails on an HTTP error status
# (--fail-with-body), so a 4xx or 5xx answer fails the test like a non-zero
# exit. A doc whose marked blocks mention ARW_ADMIN_TOKEN runs with a token
# set for the host and the commands; the others with none (loopback is admin).
#
# Blocks left unmarked run for long or need what the tests do not start (the
# Prometheus server, the benchmarks, scripts/run.sh and scripts/test.sh, which
# tests/scripts/run_command_test.sh and the suite itself cover). A ```sh block
# with a curl line must be marked: an unmarked one fails the test.
#
# Usage: run_doc_examples.sh SOURCE_DIR BUILD_DIR
# (TPARK_DOC_TEST_VERBOSE=1 prints every doc's commands and output, not only
# a failing one's.)
set -euo pipefail
source_dir=$(cd "$1" && pwd)
build_dir=$(cd "$2" && pwd)
host_binary=$build_dir/host/tpark-host
[[ -x "$host_binary" ]] || { echo "no $host_binary" >&2; exit 1; }

docs=("$source_dir/README.md")
for doc in "$source_dir"/docs/*.md; do
  [[ "$(basename "$doc")" == plugin-authoring.md ]] && continue
  docs+=("$doc")
done

use_namespace=""
if unshare --user --map-root-user --net true 2>/dev/null; then use_namespace=yes; fi

# One doc: start the host, run the marked blocks, stop the host. Runs inside
# the namespace when there is one. Arguments: WORK_DIR SCRIPT LISTEN
run_one='
set -euo pipefail
work=$1; script=$2; listen=$3
[[ -n "${IN_NAMESPACE:-}" ]] && ip link set lo up
cd "$work"
"$HOST_BINARY" --listen "$listen" --state-dir "$work/state" > "$work/host.log" 2>&1 &
host_pid=$!
trap '"'"'kill "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true'"'"' EXIT
port=""
for _ in $(seq 1 600); do
  port=$(grep -o -m1 "listening on 127.0.0.1:[0-9]*" "$work/host.log" | sed "s/.*://") || true
  [[ -n "$port" ]] && break
  kill -0 "$host_pid" 2>/dev/null || { echo "the host exited:" >&2; cat "$work/host.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "the host did not listen within 60 s" >&2; exit 1; }
if [[ "$port" != 8091 ]]; then sed -i "s/127\.0\.0\.1:8091/127.0.0.1:$port/g" "$script"; fi
bash "$script"
'

failed=0
ran=0
for doc in "${docs[@]}"; do
  name=${doc#"$source_dir"/}
  unmarked=$(awk '
    /<!-- doc-test -->/ { armed = 1; next }
    /^```sh/ { inside = 1; marked = armed; armed = 0; next }
    inside && /^```/ { inside = 0; next }
    inside && !marked && /(^|[ |(])curl / { print FILENAME ":" FNR ": " $0 }
  ' "$doc")
  if [[ -n "$unmarked" ]]; then
    echo "FAIL $name: curl lines in a block without <!-- doc-test -->:" >&2
    echo "$unmarked" >&2
    failed=1
    continue
  fi
  blocks=$(grep -c '^<!-- doc-test -->' "$doc" || true)
  [[ "$blocks" -gt 0 ]] || continue

  work=$(mktemp -d /tmp/tpark-doc-examples-XXXXXX)
  mkdir -p "$work/build"
  ln -s "$build_dir" "$work/build/release"
  script=$work/doc-commands.sh
  {
    echo 'set -euo pipefail'
    echo 'set -x'
    echo 'curl() { command curl --fail-with-body --show-error "$@"; }'
    awk '
      /^<!-- doc-test -->/ { armed = 1; next }
      armed && /^```sh/ { inside = 1; armed = 0; next }
      inside && /^```/ { inside = 0; print ""; next }
      inside { print }
    ' "$doc"
  } > "$script"

  token=()
  if grep -q 'ARW_ADMIN_TOKEN' "$script"; then token=(ARW_ADMIN_TOKEN=doc-test-token); fi
  env_vars=(HOST_BINARY="$host_binary" ARW_TELEMETRY_SECTION_TIMEOUT_MS=5000 "${token[@]}")
  status=0
  if [[ -n "$use_namespace" ]]; then
    env "${env_vars[@]}" IN_NAMESPACE=1 unshare --user --map-root-user --net \
      bash -c "$run_one" run-one "$work" "$script" 127.0.0.1:8091 > "$work/out.log" 2>&1 || status=$?
  else
    env "${env_vars[@]}" bash -c "$run_one" run-one "$work" "$script" 127.0.0.1:0 \
      > "$work/out.log" 2>&1 || status=$?
  fi
  if [[ "$status" -ne 0 ]]; then
    echo "FAIL $name (exit $status); its commands and their output:" >&2
    cat "$work/out.log" >&2
    echo "--- host.log:" >&2
    cat "$work/host.log" >&2 2>/dev/null || true
    failed=1
  else
    echo "ok   $name: $blocks marked blocks ran"
    if [[ -n "${TPARK_DOC_TEST_VERBOSE:-}" ]]; then cat "$work/out.log"; fi
    ran=$((ran + 1))
  fi
  rm -rf "$work"
done
[[ "$ran" -gt 0 || "$failed" -ne 0 ]] || { echo "no marked blocks in any doc" >&2; exit 1; }
exit "$failed"
