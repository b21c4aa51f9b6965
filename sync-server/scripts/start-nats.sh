#!/usr/bin/env bash
# Installs nats-server if missing, starts a throw-away JetStream server for tests (idempotent)
# and prints the NATS_URL the sync server's tests use. Usage:
#   export NATS_URL=$(sync-server/scripts/start-nats.sh)
# It listens on 127.0.0.1:$POS_NATS_PORT (default 54222) and keeps its JetStream store in
# $POS_NATS_DIR (default /tmp/pos-sync-nats). Progress goes to stderr; only the URL to stdout.
set -euo pipefail

dir="${POS_NATS_DIR:-/tmp/pos-sync-nats}"
port="${POS_NATS_PORT:-54222}"
url="nats://127.0.0.1:${port}"

log() { echo "start-nats: $*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; }

if ! command -v nats-server >/dev/null 2>&1; then
    log "installing nats-server (Debian package nats-server)"
    if [ "$(id -u)" != 0 ]; then
        log "run as root, or install the nats-server package first"
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >&2
fi

if listening; then
    log "already running on port $port"
    echo "$url"
    exit 0
fi

mkdir -p "$dir"
log "starting on 127.0.0.1:$port with JetStream in $dir"
nohup nats-server -a 127.0.0.1 -p "$port" -js -sd "$dir/store" >"$dir/server.log" 2>&1 &
echo $! >"$dir/pid"

for _ in $(seq 1 60); do
    if listening; then
        echo "$url"
        exit 0
    fi
    sleep 0.25
done
log "nats-server did not start; see $dir/server.log"
exit 1
