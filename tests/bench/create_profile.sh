#!/usr/bin/env bash
# Where a JSON create's time goes (issue 18): videogate (threads: 1) pinned to CPU 1, the
# simulated vendor and wrk on CPU 0, 32 connections of JSON creates. Run by hand:
#   tests/bench/create_profile.sh [seconds, default 10]
# STORE=memory|sqlite (default sqlite) picks the store; PERF=1 also records `perf record -g`
# over the run and prints the heaviest call paths (needs Debian's linux-perf).
# Prints requests/s, p50, p99 and videogate's RSS at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
dur="${1:-10}"
store="${STORE:-sqlite}"
source tests/bench/common.sh
taskset -c 0 build-bench/tests/support/mock_vendor/videogate-mock-vendor --listen 127.0.0.1:0 --complete-after-polls 1 \
  >"$tmp/mock.out" 2>"$tmp/mock.err" &
pids+=($!)
mport=$(wait_port "$tmp/mock.out")
cat >"$tmp/vg.yaml" <<YAML
listen: "127.0.0.1:0"
threads: 1
log: { level: warn }
store: { kind: $store, path: "$tmp/vg.db" }
ids: { secret: "bench-secret-0123456789abcdef-0123" }
upstreams:
  - name: mock
    dialect: openai
    base_url: "http://127.0.0.1:$mport"
    request_format: multipart
    keys: ["bench-key"]
    poll_interval: 0ms
YAML
taskset -c 1 build-bench/videogate --config "$tmp/vg.yaml" >"$tmp/vg.out" 2>"$tmp/vg.err" &
vg_pid=$!
pids+=($vg_pid)
gport=$(wait_port "$tmp/vg.out")
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt":"a calico cat playing a piano","model":"sora-2","seconds":"8","size":"1280x720"}'
wrk.headers["Content-Type"] = "application/json"
LUA
taskset -c 0 wrk -t1 -c32 -d3s -s "$tmp/post.lua" "http://127.0.0.1:$gport/v1/videos" >/dev/null  # warm up
if [[ "${PERF:-0}" == 1 ]]; then
  perf record -F 2000 -g -o "$tmp/perf.data" -p "$vg_pid" -- sleep "$((dur - 1))" >/dev/null 2>&1 &
  perf_pid=$!
fi
taskset -c 0 wrk -t1 -c32 -d"${dur}s" --latency -s "$tmp/post.lua" "http://127.0.0.1:$gport/v1/videos" |
  grep -E "Requests/sec|^ +50%|^ +99%"
echo "videogate RSS: $(awk '/VmRSS/ {print $2}' "/proc/$vg_pid/status") KiB (store: $store)"
if [[ "${PERF:-0}" == 1 ]]; then
  wait "$perf_pid" || true
  perf report -i "$tmp/perf.data" --children --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -40 | cut -c1-160
fi
