#!/usr/bin/env bash
# The second command of the README: installs what is missing, builds everything and runs
# every test (unit, integration, e2e with the official openai npm SDK) through CTest.
# VIDEOGATE_SANITIZE=ON builds with ASan+UBSan (CI does); BUILD_DIR picks the build tree.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
build_dir="${BUILD_DIR:-build-test}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug \
  -DVIDEOGATE_SANITIZE="${VIDEOGATE_SANITIZE:-OFF}" -DVIDEOGATE_WERROR="${VIDEOGATE_WERROR:-OFF}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 600
