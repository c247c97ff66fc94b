#!/usr/bin/env bash
# The fleet row of issue 13: retrieve (GET /v1/videos/{id} of a completed job) and create
# (POST /v1/videos, JSON) through
#   (a) one videogate on SQLite (the default store),
#   (b) one videogate on Redis (what the Redis round trips cost one replica),
#   (c) two videogate replicas on one Redis (the fleet),
# measured with wrk in one run on one machine. Run by hand (not part of CTest):
#   tests/bench/fleet.sh [seconds per wrk run, default 10] [connections, default 32]
#   FLEET=1 tests/bench/run.sh ...   runs it after the main table
# Prints requests/s, p50 and p99 per setup, the ratios fleet/single, and the p99 that Redis
# adds over SQLite.
#
# wrk runs two threads with half the connections each; a Lua setup() gives each thread its own
# replica (in (a) and (b) both threads reach the one replica), so one wrk reports one latency
# distribution over the whole fleet. Each setup runs alone: its gateways start before its two
# wrk runs and are stopped (by PID) after them. Redis (appendonly yes, APPENDFSYNC, default
# everysec; no RDB snapshots) runs for the whole script, each setup under its own key prefix.
#
# CPUs: everything on the gateway side (the replicas, Redis) shares GATEWAY_CPUS (default 1);
# wrk and the simulated vendor share LOAD_CPUS (default 0), as in run.sh. On one box the fleet
# gets no more CPU than the single replica, so (c) measures what sharing state through Redis
# costs, not what more machines would add. THREADS (default 1) is each replica's `threads:`.
set -euo pipefail
cd "$(dirname "$0")/../.."
dur="${1:-10}"
conns="${2:-32}"
threads="${THREADS:-1}"
appendfsync="${APPENDFSYNC:-everysec}"
gateway_cpus="${GATEWAY_CPUS:-1}"
load_cpus="${LOAD_CPUS:-0}"
for tool in redis-server redis-cli taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install redis-server util-linux curl python3" >&2; exit 1; }
done
((conns >= 2)) || { echo "connections must be at least 2 (two wrk threads)" >&2; exit 1; }
source tests/bench/common.sh   # wrk, the Release build in build-bench, $tmp, pids, cleanup, wait_port
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# Command prefixes, not functions: `prefix cmd &` must leave $! naming cmd itself (taskset execs
# it), or a kill by PID would stop a subshell and leave the process running.
on_gateway=(taskset -c "$gateway_cpus")
on_load=(taskset -c "$load_cpus")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stop_pid() {  # pid: stop one process this script started, and forget it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local rest=() p
  for p in "${pids[@]}"; do [[ "$p" == "$1" ]] || rest+=("$p"); done
  pids=("${rest[@]}")
}

# ---- the simulated vendor and Redis ------------------------------------------------------------
"${on_load[@]}" build-bench/tests/support/mock_vendor/videogate-mock-vendor --listen 127.0.0.1:0 --complete-after-polls 1 \
  >"$tmp/mock.out" 2>"$tmp/mock.err" &
pids+=($!)
mport=$(wait_port "$tmp/mock.out")

# A free port, then redis-server binds it: another process may take it in between, so a start
# that fails is tried again on another port.
mkdir -p "$tmp/redis"
rport=""
for _ in 1 2 3 4 5; do
  port=$(free_port)
  "${on_gateway[@]}" redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
    --appendfsync "$appendfsync" --save "" --daemonize no >"$tmp/redis.out" 2>&1 &
  redis_pid=$!
  for _ in $(seq 200); do
    if [[ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ]]; then rport=$port; break; fi
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -n "$rport" ]]; then pids+=("$redis_pid"); break; fi
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
done
[[ -n "$rport" ]] || { echo "redis-server did not start:" >&2; cat "$tmp/redis.out" >&2; exit 1; }

# ---- gateways ----------------------------------------------------------------------------------
write_config() {  # file store-yaml: one config for every replica of a setup (listen port 0)
  cat >"$1" <<YAML
listen: "127.0.0.1:0"
threads: $threads
log: { level: warn }
store: $2
ids: { secret: "bench-secret-0123456789abcdef-0123" }
upstreams:
  - name: mock
    dialect: openai
    base_url: "http://127.0.0.1:$mport"
    request_format: json
    keys: ["bench-key"]
    poll_interval: 0ms
YAML
}
gw_pids=()
gw_ports=()
start_gateways() {  # setup-name config count
  gw_pids=()
  gw_ports=()
  local i port
  for ((i = 1; i <= $3; i++)); do
    "${on_gateway[@]}" build-bench/videogate --config "$2" >"$tmp/$1-$i.out" 2>"$tmp/$1-$i.err" &
    pids+=($!)
    gw_pids+=($!)
    port=$(wait_port "$tmp/$1-$i.out")
    gw_ports+=("$port")
  done
}
stop_gateways() { local p; for p in "${gw_pids[@]}"; do stop_pid "$p"; done; gw_pids=(); }

body='{"prompt":"a calico cat playing a piano","model":"sora-2","seconds":"8","size":"1280x720"}'
# One completed job: created through the first replica, polled (the vendor completes it on that
# poll) through the last, then read through every replica.
completed_job() {
  local first="http://127.0.0.1:${gw_ports[0]}" last="http://127.0.0.1:${gw_ports[-1]}" id p
  id=$(curl -sf "$first/v1/videos" -H 'Content-Type: application/json' -d "$body" | grep -oP '"id":"\K[^"]+')
  curl -sf "$last/v1/videos/$id" >/dev/null
  for p in "${gw_ports[@]}"; do
    curl -sf "http://127.0.0.1:$p/v1/videos/$id" | grep -q '"status":"completed"' \
      || { echo "job $id is not completed on port $p" >&2; exit 1; }
  done
  echo "$id"
}

# wrk: thread i connects to replica (i-1) mod n; a create script also sets the POST.
lua() {  # file post|get ports...
  local f=$1 kind=$2; shift 2
  {
    printf 'local ports = {'
    printf ' "%s",' "$@"
    printf ' }\nlocal n = 0\n'
    cat <<'LUA'
function setup(thread)
  n = n + 1
  thread.addr = wrk.lookup("127.0.0.1", ports[(n - 1) % #ports + 1])[1]
end
LUA
    if [[ "$kind" == post ]]; then
      cat <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
    fi
  } >"$f"
}

declare -A R  # name -> "rps p50 p99 non2xx socket-errors"
run() {  # name url lua-script
  local out
  out=$("${on_load[@]}" wrk -t2 -c"$conns" -d"${dur}s" --latency -s "$3" "$2")
  local rps p50 p99 non2xx sockerr
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  sockerr=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
  R[$1]="$rps $p50 $p99 ${non2xx:-0} ${sockerr:-0}"
  printf '  %-20s %10s req/s   p50 %-9s p99 %-9s non-2xx %s, socket errors %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}" "${sockerr:-0}" >&2
}

measure() {  # setup-name store-yaml replicas
  write_config "$tmp/$1.yaml" "$2"
  start_gateways "$1" "$tmp/$1.yaml" "$3"
  local id
  id=$(completed_job)
  lua "$tmp/$1-get.lua" get "${gw_ports[@]}"
  lua "$tmp/$1-post.lua" post "${gw_ports[@]}"
  echo "$1: $3 replica(s), ports ${gw_ports[*]}" >&2
  run "retrieve_$1" "http://127.0.0.1:${gw_ports[0]}/v1/videos/$id" "$tmp/$1-get.lua"
  run "create_$1" "http://127.0.0.1:${gw_ports[0]}/v1/videos" "$tmp/$1-post.lua"
  stop_gateways
}

measure sqlite "{ kind: sqlite, path: \"$tmp/vg.db\" }" 1
measure redis1 "{ kind: redis, url: \"redis://127.0.0.1:$rport/0\", prefix: \"bench-1:\" }" 1
measure fleet "{ kind: redis, url: \"redis://127.0.0.1:$rport/0\", prefix: \"bench-2:\" }" 2

for f in "$tmp"/*.err; do
  if [[ -s "$f" ]]; then
    echo "log $(basename "$f") (distinct lines, most frequent first):" >&2
    sort "$f" | uniq -c | sort -rn | head -5 | cut -c1-200 >&2
  fi
done

# ---- the table -----------------------------------------------------------------------------------
field() { awk -v i="$2" '{print $i}' <<<"${R[$1]:-}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
to_ms() {  # a wrk latency (850.00us, 1.02ms, 1.20s) in ms
  awk -v x="$1" 'BEGIN { if (x == "") { print ""; exit } v = x + 0
    if (x ~ /us$/) v /= 1000; else if (x ~ /ms$/) v = v; else if (x ~ /s$/) v *= 1000; else if (x ~ /m$/) v *= 60000
    printf "%.2f", v }'
}
added() {  # p99 of $1 minus p99 of $2, in ms
  awk -v a="$(to_ms "$(field "$1" 3)")" -v b="$(to_ms "$(field "$2" 3)")" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%+.2f ms", a - b }'
}
echo
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(redis-server --version | grep -oP 'v=\S+' | sed 's/^v=/Redis /'), appendonly yes, appendfsync $appendfsync"
echo "wrk -t2 -c$conns -d${dur}s (one thread per replica); replicas threads: $threads; gateway side (videogate, Redis) on CPU $gateway_cpus, wrk and the vendor on CPU $load_cpus"
echo
echo "| measure | 1 replica, SQLite | 1 replica, Redis | 2 replicas, one Redis | fleet/SQLite | fleet/1 on Redis |"
echo "|---|---|---|---|---|---|"
for m in retrieve create; do
  label="GET /v1/videos/{id} (completed): req/s"; [[ $m == create ]] && label="POST /v1/videos JSON: req/s"
  s=$(field ${m}_sqlite 1); r=$(field ${m}_redis1 1); f=$(field ${m}_fleet 1)
  echo "| $label | ${s:--} | ${r:--} | ${f:--} | $(ratio "$f" "$s") | $(ratio "$f" "$r") |"
  echo "| ↳ p50 / p99 | $(field ${m}_sqlite 2) / $(field ${m}_sqlite 3) | $(field ${m}_redis1 2) / $(field ${m}_redis1 3) | $(field ${m}_fleet 2) / $(field ${m}_fleet 3) | | |"
  echo "| ↳ non-2xx / socket errors | $(field ${m}_sqlite 4) / $(field ${m}_sqlite 5) | $(field ${m}_redis1 4) / $(field ${m}_redis1 5) | $(field ${m}_fleet 4) / $(field ${m}_fleet 5) | | |"
done
echo
echo "p99 added by Redis over SQLite: retrieve $(added retrieve_redis1 retrieve_sqlite) (1 replica), $(added retrieve_fleet retrieve_sqlite) (fleet);" \
  "create $(added create_redis1 create_sqlite) (1 replica), $(added create_fleet create_sqlite) (fleet)"
