#!/bin/sh
# Starts redis-server for the fleet examples (compose profile "fleet", docker/k8s/videogate-fleet.yaml).
# REDIS_PASSWORD, when set, becomes `requirepass` through standard input, so the password is in no
# process's argument list (ps, /proc/*/cmdline). Use a token without spaces or quotes that is also
# safe in a URL (e.g. `openssl rand -hex 32`): the replicas put it in redis://:PASSWORD@host:port/db.
# Every other argument goes to redis-server as is. exec: redis-server is PID 1 and gets SIGTERM
# itself, so a stop flushes the append-only file before it exits.
set -eu
if [ -n "${REDIS_PASSWORD:-}" ]; then
  exec redis-server - "$@" <<CONF
requirepass ${REDIS_PASSWORD}
CONF
fi
exec redis-server "$@"
