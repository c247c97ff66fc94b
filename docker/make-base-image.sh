#!/usr/bin/env bash
# Makes a local debian:bookworm-slim base image for podman on a machine that reaches Debian's
# package archive but no container registry: debootstrap a minimal bookworm into a temporary
# folder and import it under the name the Dockerfile's FROM lines use.
#
#   docker/make-base-image.sh            # mirror taken from the apt sources, else deb.debian.org
#   MIRROR=http://host/debian docker/make-base-image.sh
#
# Needs root (debootstrap), debootstrap and podman. Skips the work when the image exists
# (FORCE=1 makes it again).
set -euo pipefail

IMAGE=${IMAGE:-docker.io/library/debian:bookworm-slim}

if [[ -z "${FORCE:-}" ]] && podman image exists "$IMAGE"; then
  echo "$IMAGE already exists (FORCE=1 to make it again)"
  exit 0
fi

mirror_from_sources() {
  # deb822 files (URIs: ...) first, then one-line sources (deb URL suite ...); the main archive only.
  local f u
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
    [[ -r "$f" ]] || continue
    while read -r u; do
      [[ "$u" == *debian-security* ]] && continue
      [[ "$u" == */debian || "$u" == */debian/ ]] && { echo "${u%/}"; return; }
    done < <(sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$f" | tr ' ' '\n')
  done
  echo "http://deb.debian.org/debian"
}

MIRROR=${MIRROR:-$(mirror_from_sources)}
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
command -v podman >/dev/null || { echo "podman is missing: apt-get install podman" >&2; exit 1; }

DIR=$(mktemp -d /tmp/videogate-rootfs.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
echo "debootstrap --variant=minbase bookworm $DIR $MIRROR"
debootstrap --variant=minbase bookworm "$DIR" "$MIRROR"
# What the official slim image also drops: apt lists, caches, docs, man pages.
rm -rf "$DIR"/var/lib/apt/lists/* "$DIR"/var/cache/apt/*.bin "$DIR"/var/cache/apt/archives/*.deb \
       "$DIR"/usr/share/doc/* "$DIR"/usr/share/man/* "$DIR"/usr/share/info/* "$DIR"/var/log/*.log
tar -C "$DIR" -c . | podman import - "$IMAGE"
podman image ls "$IMAGE"
