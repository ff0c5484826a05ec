#!/usr/bin/env bash
# Installs the web page's npm packages (uPlot, fast-json-patch, and
# playwright-core for the browser tests) from ui/package-lock.json, only when
# ui/node_modules is missing. The host serves the two libraries from there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -d "$root/ui/node_modules" ]]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm not found: the web page needs Node.js 20 and npm to install ui/node_modules" >&2
  exit 1
fi
echo "installing the web page's npm packages (ui/package-lock.json)"
(cd "$root/ui" && npm ci --no-audit --no-fund)
