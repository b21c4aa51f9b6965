#!/bin/sh
# Every check of the head-office web app: npm ci, the type check, the unit tests, the production
# build, then the browser tests driving the built app served by a real `sync-server serve` on
# SQLite, then on PostgreSQL (DATABASE_URL), with real tills (the `till` CLI) recording and
# uploading. Screenshots of the main screens go to docs/ (from the SQLite run). Exits non-zero
# on the first failure.
#
# Environment: CHROMIUM (default /usr/bin/chromium); CI=true makes a missing Chromium a failure
# instead of a skip; SKIP_CARGO_BUILD=1 uses the binaries already built; SYNC_SERVER_BIN and
# TILL_BIN name the binaries to use.
set -eu
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# The shared sources (../src/lib) compile with the cashier app's tsconfig, which extends a
# package of ui/node_modules.
if [ ! -d ../node_modules ]; then
  step "npm ci (ui, for the shared sources)"
  (cd .. && npm ci --no-audit --no-fund)
fi

step "npm ci"
npm ci --no-audit --no-fund

step "type check (svelte-check)"
npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings

step "unit tests (vitest)"
npx vitest run

step "build (ui/head-office/dist)"
npx vite build

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: Chromium not found at $CHROMIUM; the browser tests need it (apt-get install -y chromium, or set CHROMIUM)" >&2
    exit 1
  fi
  echo "SKIPPED: browser tests, Chromium not found at $CHROMIUM (apt-get install -y chromium); under CI=true this fails" >&2
  exit 0
fi

if [ "${SKIP_CARGO_BUILD:-}" != "1" ]; then
  step "binaries for the browser tests"
  (cd ../.. && nice -n 10 cargo build -p pos-till -p sync-server --bins)
fi

step "browser tests on SQLite (playwright-core + Chromium, real sync server and tills)"
CHROMIUM="$CHROMIUM" HQ_BACKEND=sqlite node --test --test-concurrency=1 tests/browser/

if [ -n "${DATABASE_URL:-}" ]; then
  step "browser tests on PostgreSQL ($DATABASE_URL, a fresh database)"
  CHROMIUM="$CHROMIUM" HQ_BACKEND=postgres node --test --test-concurrency=1 tests/browser/
elif [ "${CI:-}" = "true" ]; then
  echo "FAIL: CI=true but DATABASE_URL is not set: the browser tests must run on PostgreSQL too" >&2
  exit 1
else
  echo "SKIPPED: browser tests on PostgreSQL, DATABASE_URL is not set (sync-server/scripts/start-postgres.sh)" >&2
fi
