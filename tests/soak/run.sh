#!/usr/bin/env bash
# The long fault soak, by hand (CI runs the same test for 60 s in the integration suite):
# builds a Release tree of its own, runs soak.* for SECONDS of faults (default 600) and prints
# the summary block (and the failures, if any). Exit status: the test's.
#
#   tests/soak/run.sh [SECONDS]
#
# Environment: SOAK_BUILD_DIR (default <repo>/build-soak), SOAK_JOBS (build parallelism,
# default 2), VIDEOGATE_SOAK_SEED (the simulated vendor's chaos seed). It stops only the test
# process it started (the gateway and the simulated vendor are that process's children and end
# with it), and removes its temp directory (the test's stores and logs live there) on any exit.
set -euo pipefail

seconds="${1:-600}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
  echo "usage: $0 [SECONDS]   (whole seconds of faults, default 600)" >&2
  exit 2
fi

root="$(cd "$(dirname "$0")/../.." && pwd)"
build_dir="${SOAK_BUILD_DIR:-$root/build-soak}"
jobs="${SOAK_JOBS:-2}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/videogate-soak.XXXXXX")"
child=""
cleanup() {
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "soak: building Release in $build_dir (-j$jobs)" >&2
if ! { cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$build_dir" -j"$jobs" --target videogate videogate-mock-vendor videogate_integration_tests; } \
     >"$tmp/build.log" 2>&1; then
  tail -n 40 "$tmp/build.log" >&2
  echo "soak: build failed" >&2
  exit 1
fi

echo "soak: running $seconds s of faults (log in $tmp until the end)" >&2
# TMPDIR: the test's temp directories and the children's stderr files go under $tmp.
TMPDIR="$tmp" VIDEOGATE_SOAK_SECONDS="$seconds" \
  "$build_dir/tests/videogate_integration_tests" --gtest_filter='soak.*' --gtest_color=no >"$tmp/soak.log" 2>&1 &
child=$!
rc=0
wait "$child" || rc=$?
child=""

if grep -q '^===== videogate fault soak' "$tmp/soak.log"; then
  # The summary block, then whatever gtest said after it (the failures, the verdict).
  sed -n '/^===== videogate fault soak/,$p' "$tmp/soak.log" | { grep -v '^\[----------\]\|^\[==========\]\|^$' || true; }
else
  tail -n 60 "$tmp/soak.log"
fi
echo "soak: exit $rc" >&2
exit "$rc"
