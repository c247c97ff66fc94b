#!/usr/bin/env bash
# The benchmark of issue 6: videogate against nginx (a plain reverse proxy) and the Portkey
# gateway (1.9.8, passing /v1/videos through), all in front of the same simulated vendor,
# in one run on one machine. Run by hand (not part of CTest):
#   tests/bench/run.sh [seconds per wrk run, default 10] [connections, default 32]
# Each contender runs pinned to CPU 1 with one worker (videogate threads: 1, nginx
# worker_processes 1, Portkey is one Node process); wrk and the simulated vendor share CPU 0.
# Prints a Markdown table with the ratios videogate/nginx and videogate/Portkey.
# FLEET=1 then runs tests/bench/fleet.sh with the same seconds and connections (the fleet row:
# two replicas on one Redis against one on SQLite), once this script's processes are stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
dur="${1:-10}"
conns="${2:-32}"
idle_n="${IDLE_CONNECTIONS:-5000}"
root=$PWD
for tool in wrk nginx node python3 taskset curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install wrk nginx-light nodejs python3 util-linux curl" >&2; exit 1; }
done
[[ -d tests/bench/node_modules/@portkey-ai/gateway ]] || (cd tests/bench && npm ci --no-audit --no-fund --loglevel=error)
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DVIDEOGATE_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target videogate videogate-mock-vendor >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_line() {  # file regex -> first capture group
  for _ in $(seq 400); do
    if v=$(grep -oP "$2" "$1" 2>/dev/null | head -1) && [[ -n "$v" ]]; then echo "$v"; return; fi
    sleep 0.05
  done
  echo "timed out waiting for $2 in $1" >&2; cat "$1" >&2; exit 1
}
wait_http() { for _ in $(seq 400); do curl -s -o /dev/null "$1" && return; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }

video_bytes=$((100 * 1024 * 1024))
taskset -c 0 build-bench/tests/support/mock_vendor/videogate-mock-vendor --listen 127.0.0.1:0 --complete-after-polls 1 \
  --video-bytes "$video_bytes" >"$tmp/mock.out" 2>"$tmp/mock.err" &
pids+=($!)
mport=$(wait_line "$tmp/mock.out" 'listening on [^ ]+:\K[0-9]+')
vendor="http://127.0.0.1:$mport"
key="bench-key"
mock_pid=${pids[-1]}

# The same vendor behind TLS (every real vendor is HTTPS): a self-signed certificate that
# videogate (ca_file) and nginx (proxy_ssl_trusted_certificate) both verify. Its jobs never
# finish, so every retrieve through a gateway is a vendor call.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null
taskset -c 0 build-bench/tests/support/mock_vendor/videogate-mock-vendor --listen 127.0.0.1:0 \
  --complete-after-polls 1000000000 --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" >"$tmp/mock-tls.out" 2>"$tmp/mock-tls.err" &
pids+=($!)
tport=$(wait_line "$tmp/mock-tls.out" 'listening on [^ ]+:\K[0-9]+')
tvendor="https://127.0.0.1:$tport"

cat >"$tmp/vg.yaml" <<YAML
listen: "127.0.0.1:0"
threads: 1
log: { level: warn }
limits: { max_body_bytes: 52428800 }
store: { kind: sqlite, path: "$tmp/vg.db" }
ids: { secret: "bench-secret-0123456789abcdef-0123" }
upstreams:
  - name: mock
    dialect: openai
    base_url: "$vendor"
    request_format: multipart
    keys: ["$key"]
    poll_interval: 0ms
  - name: mock-tls
    dialect: openai
    base_url: "$tvendor"
    ca_file: "$tmp/tls.crt"
    request_format: json
    keys: ["$key"]
    poll_interval: 0ms
    models: { sora-2-tls: sora-2 }
YAML
taskset -c 1 build-bench/videogate --config "$tmp/vg.yaml" >"$tmp/vg.out" 2>"$tmp/vg.err" &
vg_pid=$!
pids+=($vg_pid)
gport=$(wait_line "$tmp/vg.out" 'listening on [^ ]+:\K[0-9]+')

nport=$(free_port)
ntport=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<NGINX
user root;
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  client_max_body_size 64m;
  client_body_buffer_size 1m;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream vendor { server 127.0.0.1:$mport; keepalive 128; }
  upstream vendor_tls { server 127.0.0.1:$tport; keepalive 128; }
  server {
    listen 127.0.0.1:$ntport;
    location / {
      proxy_pass https://vendor_tls;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering on;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $tmp/tls.crt;
      proxy_ssl_name 127.0.0.1;
      proxy_ssl_session_reuse on;
    }
  }
  server {
    listen 127.0.0.1:$nport;
    location / {
      proxy_pass http://vendor;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering on;
    }
  }
}
NGINX
taskset -c 1 nginx -c "$tmp/nginx.conf" -p "$tmp/nginx" >"$tmp/nginx.out" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$nport/_mock/health"
wait_http "http://127.0.0.1:$ntport/_mock/health"
nginx_pids=$(pgrep -d, -f "nginx.*$tmp/nginx.conf" || true)

pport=$(free_port)
NODE_ENV=production taskset -c 1 node tests/bench/node_modules/@portkey-ai/gateway/build/start-server.js --port="$pport" --headless \
  >"$tmp/portkey.out" 2>&1 &
pk_pid=$!
pids+=($pk_pid)
wait_http "http://127.0.0.1:$pport/"

# One completed job, known to the gateway and to the vendor.
body='{"prompt":"a calico cat playing a piano","model":"sora-2","seconds":"8","size":"1280x720"}'
gid=$(curl -sf "http://127.0.0.1:$gport/v1/videos" -H 'Content-Type: application/json' -d "$body" | grep -oP '"id":"\K[^"]+')
curl -sf "http://127.0.0.1:$gport/v1/videos/$gid" >/dev/null
curl -sf "http://127.0.0.1:$gport/v1/videos/$gid" | grep -q '"status":"completed"'
uid=$(curl -sf "$vendor/v1/videos?limit=1" -H "Authorization: Bearer $key" | grep -oP '"id":"\K[^"]+' | head -1)
# One unfinished job on the TLS vendor.
tbody='{"prompt":"a calico cat playing a piano","model":"sora-2-tls","seconds":"8","size":"1280x720"}'
tgid=$(curl -sf "http://127.0.0.1:$gport/v1/videos" -H 'Content-Type: application/json' -d "$tbody" | grep -oP '"id":"\K[^"]+')
tuid=$(curl -sf --cacert "$tmp/tls.crt" "$tvendor/v1/videos?limit=1" -H "Authorization: Bearer $key" | grep -oP '"id":"\K[^"]+' | head -1)

# Request bodies: JSON, and multipart with a 200 KiB PNG (the fixture padded after IEND).
python3 - "$tmp" "$root/tests/fixtures/reference.png" <<'PY'
import sys
tmp, png = sys.argv[1], open(sys.argv[2], "rb").read()
img = png + b"\0" * (200 * 1024 - len(png))
b = "----videogatebench7d3f"
parts = [("model", "sora-2"), ("prompt", "a calico cat playing a piano"), ("seconds", "8"), ("size", "1280x720")]
body = b"".join(f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in parts)
body += f'--{b}\r\nContent-Disposition: form-data; name="input_reference"; filename="ref.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
body += img + f"\r\n--{b}--\r\n".encode()
open(f"{tmp}/multipart.body", "wb").write(body)
open(f"{tmp}/json.body", "wb").write(b'{"prompt":"a calico cat playing a piano","model":"sora-2","seconds":"8","size":"1280x720"}')
open(f"{tmp}/multipart.ct", "w").write(f"multipart/form-data; boundary={b}")
open(f"{tmp}/tls.body", "wb").write(b'{"prompt":"a calico cat playing a piano","model":"sora-2-tls","seconds":"8","size":"1280x720"}')
PY
lua_post() {  # body-file content-type -> script path
  local f="$tmp/post-$(basename "$1").lua"
  cat >"$f" <<LUA
local fh = io.open("$1", "rb")
wrk.method = "POST"
wrk.body = fh:read("*a")
fh:close()
wrk.headers["Content-Type"] = "$2"
LUA
  echo "$f"
}
json_lua=$(lua_post "$tmp/json.body" "application/json")
mp_lua=$(lua_post "$tmp/multipart.body" "$(cat "$tmp/multipart.ct")")

declare -A R   # name -> "rps p50 p99 transfer non2xx requests rss_before rss_after"
declare -A HS  # name -> TLS handshakes at the TLS vendor per 10,000 requests
rss_sum() {  # pids-csv -> summed VmRSS (KiB)
  local t=0 p v
  for p in ${1//,/ }; do v=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); t=$((t + ${v:-0})); done
  echo "$t"
}
pids_of() {  # run name -> the contender's pids
  case $1 in
    *_videogate) echo "$vg_pid" ;;
    *_nginx) echo "$nginx_pids" ;;
    *_portkey) echo "$pk_pid" ;;
    *) echo "$mock_pid" ;;
  esac
}
tls_handshakes() { curl -sfk "$tvendor/_mock/stats" | grep -oP '"tls_handshakes":\K[0-9]+'; }
run() {  # name url [lua] [extra wrk args...]
  local name=$1 url=$2 lua=${3:-}; shift 3 || shift $#
  local rss_before hs_before=0
  rss_before=$(rss_sum "$(pids_of "$name")")
  [[ $name == tls_* ]] && hs_before=$(tls_handshakes)
  local args=(-t1 -c"$conns" -d"${dur}s" --latency -H "Authorization: Bearer $key")
  [[ $name == *_portkey ]] && args+=(-H "x-portkey-provider: openai" -H "x-portkey-custom-host: $vendor/v1")
  [[ -n "$lua" ]] && args+=(-s "$lua")
  local out
  out=$(taskset -c 0 wrk "${args[@]}" "$@" "$url")
  local rps p50 p99 xfer non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  xfer=$(awk '/Transfer\/sec/ {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  local reqs rss_after
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  rss_after=$(rss_sum "$(pids_of "$name")")
  R[$name]="$rps $p50 $p99 $xfer ${non2xx:-0} $reqs $rss_before $rss_after"
  if [[ $name == tls_* ]]; then
    HS[$name]=$(awk -v h="$(( $(tls_handshakes) - hs_before ))" -v n="$reqs" 'BEGIN { printf "%.1f", n ? h * 10000 / n : 0 }')
  fi
  echo "  $name: $rps req/s, p50 $p50, p99 $p99, $xfer/s, non-2xx ${non2xx:-0}, RSS $rss_before -> $rss_after KiB${HS[$name]:+, ${HS[$name]} TLS handshakes per 10k}" >&2
}

# Idle connections first, on fresh processes: later phases leave freed heap behind that
# new connections would reuse without growing RSS.
echo "$idle_n idle keep-alive connections" >&2
idle() {  # name port path pids [headers...]
  local name=$1 port=$2 path=$3 p=$4; shift 4
  local out
  out=$(python3 tests/bench/idle_conns.py 127.0.0.1 "$port" "$idle_n" "$path" "$p" "$@")
  read -r before after alive <<<"$out"
  R[$name]="$before $after $alive"
  echo "  $name: RSS $before -> $after KiB, $alive/$idle_n connections still open" >&2
}
idle idle_videogate "$gport" /healthz "$vg_pid"
idle idle_nginx "$nport" /_mock/health "$nginx_pids"
idle idle_portkey "$pport" / "$pk_pid"

echo "retrieve (GET /v1/videos/{id} of a completed job)" >&2
run retrieve_direct "$vendor/v1/videos/$uid"
run retrieve_videogate "http://127.0.0.1:$gport/v1/videos/$gid"
run retrieve_nginx "http://127.0.0.1:$nport/v1/videos/$uid"
run retrieve_portkey "http://127.0.0.1:$pport/v1/videos/$uid"
echo "create, JSON" >&2
run create_json_direct "$vendor/v1/videos" "$json_lua"
run create_json_videogate "http://127.0.0.1:$gport/v1/videos" "$json_lua"
run create_json_nginx "http://127.0.0.1:$nport/v1/videos" "$json_lua"
run create_json_portkey "http://127.0.0.1:$pport/v1/videos" "$json_lua"
echo "create, multipart with a 200 KiB image" >&2
run create_mp_direct "$vendor/v1/videos" "$mp_lua"
run create_mp_videogate "http://127.0.0.1:$gport/v1/videos" "$mp_lua"
run create_mp_nginx "http://127.0.0.1:$nport/v1/videos" "$mp_lua"
run create_mp_portkey "http://127.0.0.1:$pport/v1/videos" "$mp_lua"

echo "TLS vendor: retrieve of an unfinished job (a vendor call each), create JSON" >&2
tjson_lua=$(lua_post "$tmp/tls.body" "application/json")
run tls_retrieve_direct "$tvendor/v1/videos/$tuid"
run tls_retrieve_videogate "http://127.0.0.1:$gport/v1/videos/$tgid"
run tls_retrieve_nginx "http://127.0.0.1:$ntport/v1/videos/$tuid"
run tls_create_direct "$tvendor/v1/videos" "$json_lua"
run tls_create_videogate "http://127.0.0.1:$gport/v1/videos" "$tjson_lua"
run tls_create_nginx "http://127.0.0.1:$ntport/v1/videos" "$json_lua"

echo "content (100 MiB video), 4 connections" >&2
peak_rss() {  # pids-csv seconds -> max summed VmRSS (KiB) sampled every 50 ms
  python3 - "$1" "$2" <<'PY'
import sys, time
pids = [int(p) for p in sys.argv[1].split(",") if p]
end = time.time() + float(sys.argv[2])
peak = 0
while time.time() < end:
    total = 0
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    peak = max(peak, total)
    time.sleep(0.05)
print(peak)
PY
}
content() {  # name url pids
  local before peak
  before=$(peak_rss "$3" 0.06)
  peak_rss "$3" "$((dur + 1))" >"$tmp/peak.$1" &
  local sampler=$!
  conns_saved=$conns; conns=4
  run "$1" "$2"
  conns=$conns_saved
  wait "$sampler"
  peak=$(cat "$tmp/peak.$1")
  R[$1]="${R[$1]} $before $peak"
}
content content_direct "$vendor/v1/videos/$uid/content?variant=video" "$(pgrep -d, -f videogate-mock-vendor | head -1)"
content content_videogate "http://127.0.0.1:$gport/v1/videos/$gid/content?variant=video" "$vg_pid"
content content_nginx "http://127.0.0.1:$nport/v1/videos/$uid/content?variant=video" "$nginx_pids"
content content_portkey "http://127.0.0.1:$pport/v1/videos/$uid/content?variant=video" "$pk_pid"

# What went wrong, where a contender answered non-2xx (first lines of its own log).
for f in portkey.out nginx/error.log vg.err; do
  if [[ -s "$tmp/$f" ]]; then
    echo "log $f (distinct lines, most frequent first):" >&2
    grep -v '^    at ' "$tmp/$f" | sort | uniq -c | sort -rn | head -5 | cut -c1-200 >&2
  fi
done

# ---- the table ----------------------------------------------------------------------------
f() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%s", a }'; }
field() { awk -v i="$2" '{print $i}' <<<"${R[$1]:-}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
to_mib() { awk -v x="$1" 'BEGIN { u = substr(x, length(x) - 1); v = substr(x, 1, length(x) - 2) + 0;
  if (u == "GB") v *= 1024; else if (u == "KB") v /= 1024; else if (u != "MB") v = x / 1048576; printf "%.0f", v }'; }
echo
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); nginx $(nginx -v 2>&1 | cut -d/ -f2); portkey 1.9.8 on node $(node --version)"
echo "wrk -t1 -c$conns -d${dur}s (content: -c4); contenders pinned to CPU 1 with one worker; wrk and the vendor on CPU 0"
echo
echo "| measure | direct to vendor | videogate | nginx | Portkey | videogate/nginx | videogate/Portkey |"
echo "|---|---|---|---|---|---|---|"
for m in retrieve create_json create_mp; do
  label=$m; [[ $m == retrieve ]] && label="GET /v1/videos/{id}: req/s"; [[ $m == create_json ]] && label="POST /v1/videos JSON: req/s"
  [[ $m == create_mp ]] && label="POST /v1/videos multipart 200 KiB: req/s"
  d=$(field ${m}_direct 1); v=$(field ${m}_videogate 1); n=$(field ${m}_nginx 1); p=$(field ${m}_portkey 1)
  echo "| $label | $(f "$d") | $(f "$v") | $(f "$n") | $(f "$p") | $(ratio "$v" "$n") | $(ratio "$v" "$p") |"
  echo "| ↳ p50 / p99 | $(field ${m}_direct 2) / $(field ${m}_direct 3) | $(field ${m}_videogate 2) / $(field ${m}_videogate 3) | $(field ${m}_nginx 2) / $(field ${m}_nginx 3) | $(field ${m}_portkey 2) / $(field ${m}_portkey 3) | | |"
  echo "| ↳ non-2xx | $(field ${m}_direct 5) | $(field ${m}_videogate 5) | $(field ${m}_nginx 5) | $(field ${m}_portkey 5) | | |"
  echo "| ↳ RSS before → after (KiB) | $(field ${m}_direct 7) → $(field ${m}_direct 8) | $(field ${m}_videogate 7) → $(field ${m}_videogate 8) | $(field ${m}_nginx 7) → $(field ${m}_nginx 8) | $(field ${m}_portkey 7) → $(field ${m}_portkey 8) | | |"
done
for m in tls_retrieve tls_create; do
  label="TLS vendor, GET /v1/videos/{id} unfinished: req/s"; [[ $m == tls_create ]] && label="TLS vendor, POST /v1/videos JSON: req/s"
  d=$(field ${m}_direct 1); v=$(field ${m}_videogate 1); n=$(field ${m}_nginx 1)
  echo "| $label | $(f "$d") | $(f "$v") | $(f "$n") | - | $(ratio "$v" "$n") | - |"
  echo "| ↳ p50 / p99 | $(field ${m}_direct 2) / $(field ${m}_direct 3) | $(field ${m}_videogate 2) / $(field ${m}_videogate 3) | $(field ${m}_nginx 2) / $(field ${m}_nginx 3) | | | |"
  echo "| ↳ non-2xx | $(field ${m}_direct 5) | $(field ${m}_videogate 5) | $(field ${m}_nginx 5) | | | |"
  echo "| ↳ TLS handshakes per 10,000 requests | ${HS[${m}_direct]:-} | ${HS[${m}_videogate]:-} | ${HS[${m}_nginx]:-} | | | |"
  echo "| ↳ RSS before → after (KiB) | | $(field ${m}_videogate 7) → $(field ${m}_videogate 8) | $(field ${m}_nginx 7) → $(field ${m}_nginx 8) | | | |"
done
cd_=$(to_mib "$(field content_direct 4)"); cv=$(to_mib "$(field content_videogate 4)"); cn=$(to_mib "$(field content_nginx 4)"); cp=$(to_mib "$(field content_portkey 4)")
echo "| content 100 MiB: MiB/s | $cd_ | $cv | $cn | $cp | $(ratio "$cv" "$cn") | $(ratio "$cv" "$cp") |"
echo "| ↳ RSS before → peak while streaming (KiB) | $(field content_direct 9) → $(field content_direct 10) | $(field content_videogate 9) → $(field content_videogate 10) | $(field content_nginx 9) → $(field content_nginx 10) | $(field content_portkey 9) → $(field content_portkey 10) | | |"
per() { awk -v b="$(field "$1" 1)" -v a="$(field "$1" 2)" -v n="$idle_n" 'BEGIN { if (b == "") print "-"; else printf "%.1f", (a - b) / n }'; }
echo "| $idle_n idle keep-alive connections: KiB each | - | $(per idle_videogate) | $(per idle_nginx) | $(per idle_portkey) | | |"
echo "| ↳ still open after 1 s | - | $(field idle_videogate 3) | $(field idle_nginx 3) | $(field idle_portkey 3) | | |"

if [[ "${FLEET:-0}" == 1 ]]; then
  cleanup
  trap - EXIT
  echo
  tests/bench/fleet.sh "$dur" "$conns"
fi
