#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (default 1200), two at a time, each on a copy of
# its committed corpus in a temp folder, and prints per target: runs, corpus size, and whether
# any sanitizer report or crash happened. By hand only (not CI): needs clang-14 and
# libclang-rt-14-dev. Builds build-fuzz (the parsing code only, ASan+UBSan, halting on the first
# report). Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-1200}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(vendor_url http_head vendor create multipart config ids)
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DVIDEOGATE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 $(printf -- '--target fuzz_%s ' "${targets[@]}") >/dev/null
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
run_one() {
  local t="$1"
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$work/$t/corpus/" 2>/dev/null || true
  build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" >"$work/$t/log" 2>&1 || true
}
report() {
  local t="$1" log="$work/$1/log"
  local runs; runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  local files; files=$(find "$work/$t/corpus" -type f | wc -l)
  local bytes; bytes=$(du -sk "$work/$t/corpus" | cut -f1)
  local errs; errs=$(grep -c -E 'runtime error|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|deadly signal' "$log" || true)
  local found; found=$(find "$work/$t/artifacts" -type f | wc -l)
  printf '%-12s %5ss  runs %12s  corpus %6s files %7s KiB  sanitizer/crash reports %s  artifacts %s\n' \
    "fuzz_$t" "$secs" "$runs" "$files" "$bytes" "$errs" "$found"
  if ((errs > 0 || found > 0)); then
    grep -m5 -E 'runtime error|ERROR:|SUMMARY' "$log" || true
    cp "$work/$t/artifacts/"* tests/fuzz/corpus/"$t"/ 2>/dev/null || true
  fi
}
echo "fuzz: ${#targets[@]} target(s), ${secs}s each, two at a time ($(nproc) cores)"
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  batch=("${targets[@]:i:2}")
  pids=()
  for t in "${batch[@]}"; do run_one "$t" & pids+=($!); done
  wait "${pids[@]}"
  for t in "${batch[@]}"; do report "$t"; done
done
