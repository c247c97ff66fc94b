#!/usr/bin/env bash
# Installs the Debian 12 packages videogate needs to build and test, only those missing.
# Usage: scripts/install-deps.sh [--tests]   (--tests adds GoogleTest, Node.js for the e2e suite,
# redis-server, which the fleet tests start on a free loopback port, chromium for the status
# page's browser test and prometheus for promtool)
set -euo pipefail

pkgs=(build-essential cmake ccache pkg-config
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
      libyaml-cpp-dev libspdlog-dev libssl-dev libsqlite3-dev libhiredis-dev ca-certificates curl openssl)
if [[ "${1:-}" == "--tests" ]]; then
  pkgs+=(libgtest-dev libgmock-dev)
  # The fleet tests (store.kind: redis) start their own redis-server in a temp dir; the package's
  # own service is not used by them.
  pkgs+=(redis-server)
  # The e2e suite runs the official openai SDK on Node.js; keep a Node that is already there.
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
  # The status page's browser test (headless Chromium) and the alert rules' check (promtool,
  # from Debian's prometheus package; its service is not started by the tests).
  pkgs+=(chromium prometheus)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: everything is installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The tests need promtool only. On a machine run by systemd, the prometheus package starts its
# server on :9090 (the demo's simulated vendor port): stop and disable the one it brought.
if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
