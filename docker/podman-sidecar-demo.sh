#!/usr/bin/env bash
# docker/compose.yaml without a Docker engine, with podman and the images of
# docker/podman-build.sh: the simulated vendor and videogate on one network (videogate reaches
# the vendor as http://vendor:9090), and the demo app (docker/app, the official openai SDK) in
# videogate's network namespace — compose's `network_mode: service:videogate`, a pod's shared
# localhost — reaching it at http://localhost:8080/v1. Then the config is edited and reloaded
# with SIGHUP while the container runs. Stops and removes only what it made.
#
#   docker/podman-sidecar-demo.sh
#
# The app image: `podman build --build-arg NODE_IMAGE=<a Node 22 image> -t
# localhost/videogate-demo-app docker/app`; without it the app runs on this host's Node.js
# against the published port instead.
set -euo pipefail
cd "$(dirname "$0")/.."
GW_PORT=${GW_PORT:-18080}   # published on 127.0.0.1 for the checks from the host
APP_IMAGE=${APP_IMAGE:-localhost/videogate-demo-app:latest}
tag=videogate-demo-$$
conf=$(mktemp /tmp/videogate-containers.XXXXXX.conf)
work=$(mktemp -d /tmp/videogate-demo.XXXXXX)
printf '[containers]\ndefault_ulimits = []\n' > "$conf"
export CONTAINERS_CONF="$conf"
pm() { podman --runtime runc "$@"; }
cleanup() {
  pm rm -f -t 10 "$tag-videogate" "$tag-vendor" >/dev/null 2>&1 || true
  pm volume rm -f "$tag-data" >/dev/null 2>&1 || true
  pm network rm -f "$tag-net" >/dev/null 2>&1 || true
  rm -rf "$conf" "$work"
}
trap cleanup EXIT

pm network create "$tag-net" >/dev/null
pm run -d --name "$tag-vendor" --network "$tag-net" --network-alias vendor --read-only \
  localhost/videogate-mock:latest --listen 0.0.0.0:9090 --complete-after-polls 3 >/dev/null
mkdir -m 0755 "$work/config"
cp docker/config/videogate.yaml "$work/config/videogate.yaml"
chmod a+r "$work/config/videogate.yaml"
chmod a+rwx "$work"
pm volume create "$tag-data" >/dev/null
# The healthcheck's systemd timer cannot start without systemd (a harmless error here); the
# check itself runs below with `podman healthcheck run`.
pm run -d --name "$tag-videogate" --network "$tag-net" -p "127.0.0.1:$GW_PORT:8080" --read-only --cap-drop ALL \
  -v "$work/config:/etc/videogate:ro" -v "$tag-data:/var/lib/videogate" \
  -e VIDEOGATE_VENDOR_URL=http://vendor:9090 -e VENDOR_KEY_1=demo-key-1 -e VENDOR_KEY_2=demo-key-2 \
  -e VIDEOGATE_ADMIN_KEY=demo-admin-key localhost/videogate:latest >/dev/null 2>"$work/run.err" || { cat "$work/run.err"; exit 1; }

for _ in $(seq 1 100); do
  pm healthcheck run "$tag-videogate" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "healthcheck: $(pm healthcheck run "$tag-videogate" >/dev/null 2>&1 && echo healthy || echo unhealthy)"
echo "user in the container: $(pm exec "$tag-videogate" id -u)"

if pm image exists "$APP_IMAGE"; then
  echo "app: $APP_IMAGE in videogate's network namespace, OPENAI_BASE_URL=http://localhost:8080/v1"
  pm run --rm --network "container:$tag-videogate" -v "$work:/out" -e OPENAI_BASE_URL=http://localhost:8080/v1 \
    -e OPENAI_API_KEY=unused -e DEMO_OUT=/out/video.mp4 "$APP_IMAGE"
else
  echo "app: this host's Node.js, OPENAI_BASE_URL=http://localhost:$GW_PORT/v1 (no $APP_IMAGE)"
  cp -r docker/app "$work/app"   # installs into the temporary copy, not the work tree
  (cd "$work/app" && npm ci --no-audit --no-fund --silent)
  OPENAI_BASE_URL="http://localhost:$GW_PORT/v1" OPENAI_API_KEY=unused DEMO_OUT="$work/video.mp4" node "$work/app/demo.mjs"
fi
cmp -s "$work/video.mp4" tests/fixtures/sample.mp4 && echo "the download is byte-identical to tests/fixtures/sample.mp4"

# Reload: add a key, SIGHUP the container, see it in /admin/keys.
sed -i 's/keys: \["${VENDOR_KEY_1}", "${VENDOR_KEY_2}"\]/keys: ["${VENDOR_KEY_1}", "${VENDOR_KEY_2}", "demo-key-3"]/' "$work/config/videogate.yaml"
pm kill -s HUP "$tag-videogate" >/dev/null
for _ in $(seq 1 100); do
  n=$(curl -fsS -H "Authorization: Bearer demo-admin-key" "http://127.0.0.1:$GW_PORT/admin/keys" | grep -o '"fingerprint"' | wc -l)
  [[ "$n" == 3 ]] && break
  sleep 0.1
done
echo "keys after SIGHUP: $n"
curl -fsS "http://127.0.0.1:$GW_PORT/metrics" | grep '^videogate_config_reloads_total'
pm logs "$tag-videogate" 2>&1 | grep -c '"level":"info","msg":"access ' | sed 's/^/JSON access lines in the container log: /'
[[ "$n" == 3 ]]
