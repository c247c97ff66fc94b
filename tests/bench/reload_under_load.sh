#!/usr/bin/env bash
# Config reloads under load: wrk keeps retrieving and creating through videogate (keep-alive
# connections) while the config is rewritten and reloaded every 100 ms, alternately by SIGHUP
# and POST /admin/reload. Prints wrk's totals, non-2xx answers and socket errors, and the
# reloads /metrics counted. Run by hand (not part of CTest):
#   tests/bench/reload_under_load.sh [seconds, default 10] [connections per wrk, default 16]
#   VIDEOGATE_BIN=$PWD/docker/run-in-container.sh tests/bench/reload_under_load.sh   # the image
set -euo pipefail
cd "$(dirname "$0")/../.."
dur="${1:-10}"
conns="${2:-16}"
source tests/bench/common.sh
bin="${VIDEOGATE_BIN:-build-bench/videogate}"
start_mock --complete-after-polls 1
write_config() {  # keys (a YAML list) -> the config file, replaced whole (rename)
  cat >"$tmp/vg.yaml.new" <<YAML
listen: "127.0.0.1:0"
log: { level: warn }
store: { kind: sqlite, path: "$tmp/vg.db" }
ids: { secret: "bench-secret-0123456789abcdef-0123" }
admin: { key: "bench-admin-key" }
upstreams:
  - name: mock
    dialect: openai
    base_url: "http://127.0.0.1:$mport"
    request_format: json
    keys: $1
    poll_interval: 0ms
YAML
  chmod a+r "$tmp/vg.yaml.new"
  mv "$tmp/vg.yaml.new" "$tmp/vg.yaml"
}
write_config '["bench-key-1", "bench-key-2"]'
"$bin" --config "$tmp/vg.yaml" >"$tmp/vg.out" 2>"$tmp/vg.err" &
vgpid=$!
pids+=($vgpid)
gport=$(wait_port "$tmp/vg.out")
gw="http://127.0.0.1:$gport"

body='{"prompt":"a calico cat playing a piano","model":"sora-2","seconds":"8","size":"1280x720"}'
id=$(curl -sf "$gw/v1/videos" -H 'Content-Type: application/json' -d "$body" | grep -oP '"id":"\K[^"]+')
curl -sf "$gw/v1/videos/$id" >/dev/null
cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA

wrk -t1 -c"$conns" -d"${dur}s" "$gw/v1/videos/$id" >"$tmp/get.txt" &
w1=$!
pids+=($w1)
wrk -t1 -c"$conns" -d"${dur}s" -s "$tmp/post.lua" "$gw/v1/videos" >"$tmp/post.txt" &
w2=$!
pids+=($w2)
n=0
end=$((SECONDS + dur - 1))
while ((SECONDS < end)); do
  if ((n % 2 == 0)); then write_config '["bench-key-2", "bench-key-1", "bench-key-3"]'; else write_config '["bench-key-1", "bench-key-2"]'; fi
  if ((n % 4 < 2)); then
    kill -HUP "$vgpid"
  else
    curl -sf -o /dev/null -X POST -H 'Authorization: Bearer bench-admin-key' "$gw/admin/reload" || echo "POST /admin/reload failed" >&2
  fi
  n=$((n + 1))
  sleep 0.1
done
wait "$w1" "$w2"
reloads() { curl -sf "$gw/metrics" | grep -oP '^videogate_config_reloads_total\{result="ok"\} \K[0-9]+' || echo 0; }
for _ in $(seq 100); do [[ $(reloads) -ge $n ]] && break; sleep 0.05; done  # the last SIGHUP's reload
report() {
  local f=$1 name=$2
  local reqs non2xx sock
  reqs=$(awk '/requests in/ {print $1}' "$f")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$f")
  sock=$(grep -o 'Socket errors:.*' "$f" || true)
  printf '%-22s %9s requests  %8s req/s  non-2xx %s  %s\n' "$name" "$reqs" "$(awk '/Requests\/sec/ {print $2}' "$f")" "${non2xx:-0}" "${sock:-socket errors 0}"
}
echo "machine: $(nproc) cores; wrk -t1 -c$conns -d${dur}s twice at once; reloads asked for: $n (SIGHUP and POST, alternating)"
report "$tmp/get.txt" "GET /v1/videos/{id}"
report "$tmp/post.txt" "POST /v1/videos"
curl -sf "$gw/metrics" | grep '^videogate_config_reloads_total' || echo "videogate_config_reloads_total: none"
grep -c 'reload refused' "$tmp/vg.err" | sed 's/^/reload refused lines in the log: /' || true
