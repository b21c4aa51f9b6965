#!/usr/bin/env bash
# Installs PostgreSQL if missing, starts a throw-away test cluster (idempotent) and prints the
# DATABASE_URL the sync server's tests use. Usage:
#   export DATABASE_URL=$(sync-server/scripts/start-postgres.sh)
# The cluster lives in $POS_PG_DIR (default /tmp/pos-sync-pg), listens on 127.0.0.1:$POS_PG_PORT
# (default 55432) and trusts local connections: for tests only. Each test creates its own
# database in it. Progress goes to stderr; only the URL goes to stdout.
set -euo pipefail

dir="${POS_PG_DIR:-/tmp/pos-sync-pg}"
port="${POS_PG_PORT:-55432}"
url="postgres://postgres@127.0.0.1:${port}/postgres"

log() { echo "start-postgres: $*" >&2; }

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bindir" ]; then
    log "installing PostgreSQL (Debian package postgresql)"
    if [ "$(id -u)" != 0 ]; then
        log "run as root, or install the postgresql package first"
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi

if as_postgres "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    log "already running on port $port"
    echo "$url"
    exit 0
fi

if [ ! -f "$dir/PG_VERSION" ]; then
    log "creating a test cluster in $dir"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    as_postgres "$bindir/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
fi

log "starting on 127.0.0.1:$port"
as_postgres "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c max_connections=200" start >&2

for _ in $(seq 1 60); do
    if as_postgres "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        echo "$url"
        exit 0
    fi
    sleep 0.5
done
log "PostgreSQL did not become ready; see $dir/server.log"
exit 1
