#!/usr/bin/env bash
# Builds the videogate and mock-vendor images with podman on a machine without a Docker engine
# or a registry: makes the local base image first (make-base-image.sh), builds with chroot
# isolation in the docker image format (OCI images drop HEALTHCHECK), and prints the image sizes.
#
#   docker/podman-build.sh            # tags localhost/videogate:latest and localhost/videogate-mock:latest
#   FORCE=1 docker/podman-build.sh    # also makes the base image again
set -euo pipefail
cd "$(dirname "$0")/.."

command -v podman >/dev/null || { echo "podman is missing: apt-get install podman buildah runc debootstrap" >&2; exit 1; }
# Without this, every container start fails setting rlimits in this kind of sandbox.
conf=$(mktemp /tmp/videogate-containers.XXXXXX.conf)
trap 'rm -f "$conf"' EXIT
printf '[containers]\ndefault_ulimits = []\n' > "$conf"
export CONTAINERS_CONF="$conf"

docker/make-base-image.sh   # skipped when the base image exists; FORCE=1 makes it again
jobs=$(nproc)
podman build --format docker --isolation chroot --network host --build-arg JOBS="$jobs" -f docker/Dockerfile --target videogate -t localhost/videogate:latest .
podman build --format docker --isolation chroot --network host --build-arg JOBS="$jobs" -f docker/Dockerfile --target mock-vendor -t localhost/videogate-mock:latest .
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'videogate|debian'
