#!/usr/bin/env bash
# Runs the videogate image where the test suites expect the videogate binary, to prove the
# container with the same tests:
#
#   VIDEOGATE_BIN=$PWD/docker/run-in-container.sh build/tests/videogate_integration_tests --gtest_filter='reload.*'
#   cd tests/e2e && VIDEOGATE_BIN=$PWD/../../docker/run-in-container.sh node --test
#
# It takes videogate's own arguments. The folder of `--config FILE` is mounted at the same path
# (made writable for the image's non-root user, since the tests keep their store beside the
# config), VIDEOGATE_* variables are passed through, and the container shares the host's
# network, as a sidecar shares its pod's localhost. podman forwards SIGTERM/SIGHUP to videogate;
# SIGKILL stops only the podman client (the container runs on), so the kill -9 test
# (gateway.acknowledged_jobs_survive_kill_9) does not apply through this wrapper.
set -euo pipefail
IMAGE=${VIDEOGATE_IMAGE:-localhost/videogate:latest}

args=(run --rm --network host --log-driver none)
prev=""
for a in "$@"; do
  if [[ "$prev" == "--config" ]]; then
    dir=$(cd "$(dirname "$a")" && pwd)
    # The image's user (uid 10001) writes its store beside the config. Only a test's own
    # temporary folder is opened up for that; any other folder must already allow it.
    if [[ "$dir" == "${TMPDIR:-/tmp}"/* && -O "$dir" ]]; then
      chmod a+rwx "$dir"
      chmod a+r "$a"
    fi
    args+=(-v "$dir:$dir")
  fi
  prev="$a"
done
while IFS='=' read -r name _; do
  [[ "$name" == VIDEOGATE_* && "$name" != VIDEOGATE_BIN && "$name" != VIDEOGATE_IMAGE ]] && args+=(--env "$name")
done < <(env)

if [[ -z "${CONTAINERS_CONF:-}" ]]; then
  # Without it every start fails setting rlimits in this kind of sandbox. One file for every run
  # (this script execs podman, so it could not remove a file of its own afterwards).
  CONTAINERS_CONF="${XDG_RUNTIME_DIR:-/tmp}/videogate-containers-$(id -u).conf"
  [[ -f "$CONTAINERS_CONF" ]] || printf '[containers]\ndefault_ulimits = []\n' > "$CONTAINERS_CONF"
  export CONTAINERS_CONF
fi
exec podman --runtime runc "${args[@]}" "$IMAGE" "$@"
