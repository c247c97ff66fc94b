#!/usr/bin/env bash
# Polling at scale (issue 18): N unfinished jobs over three upstreams of the simulated vendor,
# with no client polling, then with C clients each polling one job every second. Run by hand:
#   tests/bench/polling.sh [jobs, default 100000] [max_polls_per_second per upstream, default 1000]
#                          [poll_interval, default 2s] [clients, default 1000]
# Reports, from the vendor's own counters (GET /_mock/stats):
#   - status calls per second per upstream (most in any one second, and the mean) against
#     max_polls_per_second, and how evenly they fall on the three upstreams;
#   - the lag from a job finishing at the vendor to videogate knowing it (p50/p99), for a
#     sample finished by flag at the vendor while the watcher cycles;
#   - videogate's RSS per unfinished job and the store's size on disk;
#   - with C clients polling: vendor status calls per client poll (the coalescing figure).
# The vendor never finishes a job by itself (--complete-after-polls is huge): every job stays
# unfinished until the sample is finished by flag.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs="${1:-100000}"
cap="${2:-1000}"
interval="${3:-2s}"
clients="${4:-1000}"
source tests/bench/common.sh
for tool in python3 curl taskset; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The vendor and the load on CPU 0, videogate on CPU 1 (as run.sh).
taskset -c 0 build-bench/tests/support/mock_vendor/videogate-mock-vendor --listen 127.0.0.1:0 \
  --complete-after-polls 1000000000 >"$tmp/mock.out" 2>"$tmp/mock.err" &
pids+=($!)
mport=$(wait_port "$tmp/mock.out")
vendor="http://127.0.0.1:$mport"
{
  cat <<YAML
listen: "127.0.0.1:0"
threads: 1
log: { level: warn }
store: { kind: sqlite, path: "$tmp/vg.db" }
ids: { secret: "bench-secret-0123456789abcdef-0123" }
upstreams:
YAML
  for u in a b c; do cat <<YAML
  - name: up-$u
    dialect: openai
    base_url: "$vendor"
    request_format: json
    keys: ["key-$u"]
    poll_interval: $interval
    max_polls_per_second: $cap
    models: { model-$u: sora-2 }
YAML
  done
} >"$tmp/vg.yaml"
taskset -c 1 build-bench/videogate --config "$tmp/vg.yaml" >"$tmp/vg.out" 2>"$tmp/vg.err" &
vg_pid=$!
pids+=($vg_pid)
gport=$(wait_port "$tmp/vg.out")
gw="http://127.0.0.1:$gport"
rss() { awk '/VmRSS/ {print $2}' "/proc/$vg_pid/status"; }
stats() { curl -sf "$vendor/_mock/stats"; }
now_ms() { date +%s%3N; }

rss0=$(rss)
echo "creating $jobs jobs over up-a, up-b, up-c (32 keep-alive connections)" >&2
t0=$(now_ms)
taskset -c 0 python3 - "$gport" "$jobs" >"$tmp/create.txt" <<'PY'
import asyncio, sys
port, total = int(sys.argv[1]), int(sys.argv[2])
models = ["model-a", "model-b", "model-c"]
sent = failed = 0
async def worker():
    global sent, failed
    r, w = await asyncio.open_connection("127.0.0.1", port)
    while sent < total:
        n = sent
        sent += 1
        body = ('{"prompt":"a lighthouse at dusk","seconds":"4","model":"%s"}' % models[n % 3]).encode()
        w.write(b"POST /v1/videos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
        await r.readexactly(length)
        failed += head.split(b" ", 2)[1] != b"200"
    w.close()
async def main():
    await asyncio.gather(*(worker() for _ in range(32)))
asyncio.run(main())
print(sent, failed)
PY
t1=$(now_ms)
made=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"])')
echo "  $made jobs at the vendor in $(( (t1 - t0) / 1000 )) s (sent, non-200: $(cat "$tmp/create.txt"))" >&2

# Let the watcher cycle with nobody polling: sample the vendor's counters over a window.
window="${POLL_WINDOW:-30}"
echo "watcher only, ${window} s" >&2
s0=$(stats); w0=$(now_ms)
sleep "$window"
s1=$(stats); w1=$(now_ms)
rss1=$(rss)
store_kib=$(du -sk "$tmp"/vg.db* | awk '{s += $1} END {print s}')

# The lag: finish a sample at the vendor (by flag) while the watcher cycles, then wait until
# every one of them has been read as finished (or 3 full cycles pass).
sample="${LAG_SAMPLE:-300}"
curl -sf "$vendor/_mock/jobs" >"$tmp/jobs.json"
python3 - "$tmp/jobs.json" "$sample" >"$tmp/sample.txt" <<'PY'
import json, random, sys
jobs = json.load(open(sys.argv[1]))
random.seed(7)
by_key = {}
for j in jobs:
    by_key.setdefault(j["key"], []).append(j["id"])
n = int(sys.argv[2]) // max(1, len(by_key))
for key, ids in sorted(by_key.items()):
    for i in random.sample(ids, min(n, len(ids))):
        print(i)
PY
echo "lag: finishing $(wc -l <"$tmp/sample.txt") jobs at the vendor" >&2
while read -r id; do curl -sf -X POST "$vendor/_mock/jobs/$id/complete" >/dev/null; done <"$tmp/sample.txt"
want=$(wc -l <"$tmp/sample.txt")
deadline=$(( $(date +%s) + 3 * jobs / (3 * cap) + 30 ))
while :; do
  seen=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["lag_ms"]["n"])')
  [[ $seen -ge $want || $(date +%s) -ge $deadline ]] && break
  sleep 1
done
s2=$(stats)

# C clients, each polling one job every second.
echo "$clients clients polling one job each, every second, ${window} s" >&2
python3 - "$gw" "$clients" >"$tmp/ids.txt" <<'PY'
import json, sys, urllib.request
gw, want = sys.argv[1], int(sys.argv[2])
ids, after = [], None
while len(ids) < want:
    url = f"{gw}/v1/videos?limit=100&order=asc" + (f"&after={after}" if after else "")
    page = json.load(urllib.request.urlopen(url))
    ids += [v["id"] for v in page["data"] if v["status"] not in ("completed", "failed")]
    if not page["has_more"]: break
    after = page["last_id"]
print("\n".join(ids[:want]))
PY
# The clients' own jobs' vendor reads, before and after (the mock counts every status read of a job).
vendor_reads_of_clients() {  # -> summed `polls` of the clients' jobs at the vendor
  curl -sf "$vendor/_mock/jobs" | python3 -c '
import base64, json, sys
ids = open(sys.argv[1]).read().split()
def vendor_id(gid):
    t = base64.urlsafe_b64decode(gid[len("video_"):] + "=" * (-len(gid[len("video_"):]) % 4))
    pos, fields = 1, []
    for _ in range(4):
        n = t[pos]; fields.append(t[pos + 1:pos + 1 + n].decode()); pos += 1 + n
    return fields[2]  # upstream, key fingerprint, vendor id, client: the id is signed, not secret
want = {vendor_id(g) for g in ids}
print(sum(j["polls"] for j in json.load(sys.stdin) if j["id"] in want))' "$tmp/ids.txt"
}
p0=$(vendor_reads_of_clients)
s3=$(stats); c0=$(now_ms)
taskset -c 0 python3 - "$gport" "$tmp/ids.txt" "$window" >"$tmp/clients.txt" <<'PY'
import asyncio, sys, time
port, ids, window = int(sys.argv[1]), open(sys.argv[2]).read().split(), float(sys.argv[3])
done = errors = 0
async def client(vid):
    global done, errors
    r, w = await asyncio.open_connection("127.0.0.1", port)
    req = f"GET /v1/videos/{vid} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    end = time.monotonic() + window
    nxt = time.monotonic()
    while time.monotonic() < end:
        w.write(req); await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
        await r.readexactly(length)
        done += 1
        errors += status != 200
        nxt += 1.0
        await asyncio.sleep(max(0.0, nxt - time.monotonic()))
    w.close()
async def main():
    await asyncio.gather(*(client(v) for v in ids))
asyncio.run(main())
print(done, errors)
PY
s4=$(stats); c1=$(now_ms)
p1=$(vendor_reads_of_clients)
rss2=$(rss)

python3 - "$jobs" "$cap" "$interval" "$clients" "$made" "$w0" "$w1" "$c0" "$c1" "$rss0" "$rss1" "$rss2" "$store_kib" \
  "$(cat "$tmp/clients.txt")" "$s0" "$s1" "$s2" "$s3" "$s4" "$((p1 - p0))" <<'PY'
import json, sys
a = sys.argv[1:]
jobs, cap, interval, clients, made = int(a[0]), int(a[1]), a[2], int(a[3]), int(a[4])
w0, w1, c0, c1 = (int(x) for x in a[5:9])
rss0, rss1, rss2, store_kib = (int(x) for x in a[9:13])
polls, poll_errors = (int(x) for x in a[13].split())
s0, s1, s2, s3, s4 = (json.loads(x) for x in a[14:19])
client_job_reads = int(a[19])
def reads(s, k): return s["status_reads"].get(k, {}).get("total", 0)
keys = ["key-a", "key-b", "key-c"]
secs = (w1 - w0) / 1000
print(f"{made} unfinished jobs over 3 upstreams; poll_interval {interval}, max_polls_per_second {cap} per upstream; videogate threads: 1")
print()
print("| upstream | status calls/s (mean over the watcher window) | most in one second (whole run) | cap |")
print("|---|---|---|---|")
means = []
for k in keys:
    m = (reads(s1, k) - reads(s0, k)) / secs
    means.append(m)
    print(f"| up-{k[-1]} | {m:,.0f} | {s4['status_reads'].get(k, {}).get('max_per_second', 0):,} | {cap:,} |")
print(f"| fairness (min/max of the means) | {min(means) / max(means) if max(means) else 0:.2f} | | |")
lag = s2["lag_ms"]
print()
print(f"- a full cycle over every job at these rates: {made / max(sum(means), 1):,.0f} s (poll_interval {interval})")
print(f"- lag from finishing at the vendor to videogate knowing it: n {lag['n']}, p50 {lag['p50']} ms, p99 {lag['p99']} ms, max {lag['max']} ms")
print(f"- videogate RSS: {rss0:,} KiB at start, {rss1:,} KiB with the jobs (+{(rss1 - rss0) * 1024 / max(made, 1):,.0f} bytes per unfinished job), {rss2:,} KiB after the client phase")
print(f"- store on disk (db + wal): {store_kib:,} KiB ({store_kib * 1024 / max(made, 1):,.0f} bytes per job)")
csecs = (c1 - c0) / 1000
vendor_calls = sum(reads(s4, k) - reads(s3, k) for k in keys)
watcher_rate = sum(means)
print(f"- {clients} clients polling one job each every second for {csecs:.0f} s: {polls:,} client polls ({poll_errors} non-200); "
      f"the vendor got {client_job_reads:,} status calls for those {clients} jobs (watcher and clients together): "
      f"{client_job_reads / max(polls, 1):.2f} vendor calls per client poll; all status calls {vendor_calls / csecs:,.0f}/s "
      f"(the watcher alone {watcher_rate:,.0f}/s)")
PY
