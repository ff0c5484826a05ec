#!/usr/bin/env bash
# Installs the Debian packages tpark needs, only those that are missing.
# Usage: scripts/deps.sh [build|test|bench]   (test adds the servers the tests start,
# bench the load generator and the reference server of bench/snapshot_vs_nginx.sh)
set -euo pipefail

build_packages=(
  build-essential cmake pkg-config ccache
  libboost-dev libboost-filesystem-dev libyaml-cpp-dev libsimdjson-dev libspdlog-dev
  nlohmann-json3-dev prometheus-cpp-dev libsqlite3-dev libsodium-dev libnats-dev libcli11-dev
  catch2 libbenchmark-dev
)
test_packages=(prometheus prometheus-pushgateway nats-server chromium tmux curl jq clang libclang-rt-14-dev python3)
bench_packages=(wrk nginx curl)

wanted=("${build_packages[@]}")
case "${1:-build}" in
  test) wanted+=("${test_packages[@]}") ;;
  bench) wanted+=("${bench_packages[@]}") ;;
esac

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
