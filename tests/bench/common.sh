# Sourced by the bench scripts (from the repository root): the Release build in build-bench,
# a temporary folder, the processes the script starts (stopped by PID at exit) and the wait
# for a "listening on HOST:PORT" line.
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DVIDEOGATE_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target videogate videogate-mock-vendor >/dev/null

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

wait_port() {  # file -> port, once the process printed its "listening on" line
  for _ in $(seq 400); do
    if p=$(grep -oP 'listening on [^ ]+:\K[0-9]+' "$1" 2>/dev/null); then echo "$p"; return; fi
    sleep 0.05
  done
  echo "no listening line in $1" >&2; exit 1
}

start_mock() {  # args... -> $mport; the simulated vendor on a free port
  build-bench/tests/support/mock_vendor/videogate-mock-vendor --listen 127.0.0.1:0 "$@" >"$tmp/mock.out" 2>"$tmp/mock.err" &
  pids+=($!)
  mport=$(wait_port "$tmp/mock.out")
}
