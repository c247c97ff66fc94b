#!/usr/bin/env bash
# The gateway's own cost: retrieve and create through videogate vs straight at the simulated
# vendor, measured with wrk in one run on one machine. Run by hand (not part of CTest):
#   tests/bench/gateway_cost.sh [seconds per run, default 10] [connections, default 16]
# Builds a Release tree in build-bench. Prints requests/s, p50, p99 and the ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
dur="${1:-10}"
conns="${2:-16}"
source tests/bench/common.sh
start_mock --complete-after-polls 1
cat >"$tmp/vg.yaml" <<YAML
listen: "127.0.0.1:0"
log: { level: warn }
store: { kind: sqlite, path: "$tmp/vg.db" }
ids: { secret: "bench-secret-0123456789abcdef-0123" }
upstreams:
  - name: mock
    dialect: openai
    base_url: "http://127.0.0.1:$mport"
    request_format: json
    keys: ["bench-key"]
    poll_interval: 0ms
YAML
build-bench/videogate --config "$tmp/vg.yaml" >"$tmp/vg.out" 2>"$tmp/vg.err" &
pids+=($!)
gport=$(wait_port "$tmp/vg.out")

body='{"prompt":"a calico cat playing a piano","model":"sora-2","seconds":"8","size":"1280x720"}'
id=$(curl -sf "http://127.0.0.1:$gport/v1/videos" -H 'Content-Type: application/json' -d "$body" | grep -oP '"id":"\K[^"]+')
curl -sf "http://127.0.0.1:$gport/v1/videos/$id" >/dev/null   # the vendor completes it on this poll
curl -sf "http://127.0.0.1:$gport/v1/videos/$id" | grep -q '"status":"completed"'
uid=$(curl -sf "http://127.0.0.1:$mport/v1/videos?limit=1" -H 'Authorization: Bearer bench-key' | grep -oP '"id":"\K[^"]+' | head -1)

cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
LUA

run() {  # name url [script]
  local out
  if [[ -n "${3:-}" ]]; then out=$(wrk -t1 -c"$conns" -d"${dur}s" --latency -s "$3" "$2")
  else out=$(wrk -t1 -c"$conns" -d"${dur}s" --latency -H 'Authorization: Bearer bench-key' "$2"); fi
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-28s %12s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${errs:-0}"
  echo "$rps" >"$tmp/$1.rps"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk -t1 -c$conns -d${dur}s"
run retrieve_direct "http://127.0.0.1:$mport/v1/videos/$uid"
run retrieve_gateway "http://127.0.0.1:$gport/v1/videos/$id"
run create_direct "http://127.0.0.1:$mport/v1/videos" "$tmp/post.lua"
run create_gateway "http://127.0.0.1:$gport/v1/videos" "$tmp/post.lua"
ratio() { awk -v a="$(cat "$tmp/$1.rps")" -v b="$(cat "$tmp/$2.rps")" 'BEGIN { printf "%.2f", a / b }'; }
echo "retrieve: gateway/direct throughput ratio $(ratio retrieve_gateway retrieve_direct)"
echo "create:   gateway/direct throughput ratio $(ratio create_gateway create_direct)"
