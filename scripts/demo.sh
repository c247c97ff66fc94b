#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds, starts the simulated
# vendors on 127.0.0.1:9090 and runs videogate on its embedded demo config on 127.0.0.1:8080.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVIDEOGATE_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target videogate videogate-mock-vendor

mock_listen="${VIDEOGATE_MOCK_LISTEN:-127.0.0.1:9090}"
build/tests/support/mock_vendor/videogate-mock-vendor --listen "$mock_listen" --complete-after-polls 3 &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true' EXIT
export VIDEOGATE_MOCK_URL="http://$mock_listen"
echo "demo: simulated vendors on $mock_listen (pid $mock_pid); videogate follows. Try:"
echo "  curl -s localhost:8080/v1/videos -F prompt='a cat playing piano' -F model=sora-2"
# No config/videogate.yaml: videogate runs its embedded demo config (config/demo.yaml).
build/videogate
