#!/usr/bin/env bash
# Checks docker/observability/alerts.yml (syntax, PromQL) and runs its unit tests
# (alerts_test.yml). Exit 77 (CTest's skip code) when promtool is not installed.
set -euo pipefail

cd "$(dirname "$0")/../.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool is not on PATH: skipping the alert rule checks (install prometheus, or put promtool on PATH)"
  exit 77
fi

promtool --version 2>&1 | head -n 1
promtool check rules docker/observability/alerts.yml
promtool test rules docker/observability/alerts_test.yml
