#!/usr/bin/env bash
# Runs the shell blocks of a doc that are marked <!-- doc-test --> (the next
# ```sh fence after the marker), in order, as one script in an empty temp
# directory, with TPARK_BUILD set to a tpark build directory. Then checks that
# the doc's path ended in a loaded plugin.
# Usage: run_doc_commands.sh DOC.md BUILD_DIR
set -euo pipefail
doc=$1
export TPARK_BUILD=$(cd "$2" && pwd)
# A shared, loaded machine must not turn a slow first render into a `timeout`
# section (as in the integration tests' TestHost).
export ARW_TELEMETRY_SECTION_TIMEOUT_MS=5000

work=$(mktemp -d /tmp/tpark-doc-test-XXXXXX)
script=$work/doc-commands.sh
{
  echo 'set -euo pipefail'
  echo 'set -x'
  # A host the doc started is stopped even when a later command fails.
  echo 'trap '"'"'[ -n "${HOST_PID:-}" ] && kill "$HOST_PID" 2>/dev/null || true'"'"' EXIT'
  awk '
    /<!-- doc-test -->/ { armed = 1; next }
    armed && /^```sh/ { inside = 1; armed = 0; next }
    inside && /^```/ { inside = 0; print ""; next }
    inside { print }
  ' "$doc"
} > "$script"
blocks=$(grep -c '<!-- doc-test -->' "$doc")
if [ "$blocks" -lt 1 ]; then
  echo "no <!-- doc-test --> blocks in $doc" >&2
  exit 1
fi

status=0
(cd "$work" && bash "$script") || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- the doc's commands failed (exit $status); host.log if any:" >&2
  cat "$work/host.log" 2>/dev/null >&2 || true
  rm -rf "$work"
  exit 1
fi
# The path must end in a loaded plugin, whatever the doc's own checks say.
if ! grep -q '"state":"loaded"' "$work/plugins.json"; then
  echo "the doc's commands did not end in a loaded plugin" >&2
  rm -rf "$work"
  exit 1
fi
echo "$blocks doc blocks ran; plugin loaded"
rm -rf "$work"
