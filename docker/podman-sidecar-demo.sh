#!/usr/bin/env bash
# The compose demo without a Docker engine: the simulated vendor and videogate run from the
# images (docker/podman-build.sh) on the host's network, as containers of one pod share
# localhost; the demo app (docker/app, the official openai SDK) runs on the host's Node.js
# against http://localhost:PORT/v1. Then the config is reloaded with SIGHUP while the container
# runs. Stops and removes only the containers and volume it made.
#
#   docker/podman-sidecar-demo.sh          # ports 18080 (videogate) and 19090 (vendor)
set -euo pipefail
cd "$(dirname "$0")/.."
GW_PORT=${GW_PORT:-18080}
VENDOR_PORT=${VENDOR_PORT:-19090}
tag=videogate-demo-$$
conf=$(mktemp /tmp/videogate-containers.XXXXXX.conf)
work=$(mktemp -d /tmp/videogate-demo.XXXXXX)
printf '[containers]\ndefault_ulimits = []\n' > "$conf"
export CONTAINERS_CONF="$conf"
pm() { podman --runtime runc "$@"; }
cleanup() {
  pm rm -f -t 10 "$tag-videogate" "$tag-vendor" >/dev/null 2>&1 || true
  pm volume rm -f "$tag-data" >/dev/null 2>&1 || true
  rm -rf "$conf" "$work"
}
trap cleanup EXIT

pm run -d --name "$tag-vendor" --network host --read-only localhost/videogate-mock:latest \
  --listen "127.0.0.1:$VENDOR_PORT" --complete-after-polls 3 >/dev/null
mkdir -m 0755 "$work/config"
cp docker/config/videogate.yaml "$work/config/videogate.yaml"
chmod a+r "$work/config/videogate.yaml"
chmod a+x "$work"
pm volume create "$tag-data" >/dev/null
pm run -d --name "$tag-videogate" --network host --read-only --cap-drop ALL \
  -v "$work/config:/etc/videogate:ro" -v "$tag-data:/var/lib/videogate" \
  -e VIDEOGATE_LISTEN="127.0.0.1:$GW_PORT" -e VIDEOGATE_HEALTH_URL="http://127.0.0.1:$GW_PORT/healthz" \
  -e VIDEOGATE_VENDOR_URL="http://127.0.0.1:$VENDOR_PORT" -e VENDOR_KEY_1=demo-key-1 -e VENDOR_KEY_2=demo-key-2 \
  -e VIDEOGATE_ADMIN_KEY=demo-admin-key localhost/videogate:latest >/dev/null

for _ in $(seq 1 100); do
  pm healthcheck run "$tag-videogate" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "healthcheck: $(pm healthcheck run "$tag-videogate" >/dev/null 2>&1 && echo healthy || echo unhealthy)"
echo "user in the container: $(pm exec "$tag-videogate" id -u)"

(cd docker/app && npm ci --no-audit --no-fund --silent)
OPENAI_BASE_URL="http://localhost:$GW_PORT/v1" OPENAI_API_KEY=unused DEMO_OUT="$work/video.mp4" node docker/app/demo.mjs
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
