#!/bin/sh
# Every check of the cashier UI: npm ci, the type check, the unit tests, the production build,
# then the browser tests that drive the real till engine over its loopback HTTP transport with
# the device simulators. Exits non-zero on the first failure.
#
# Environment: CHROMIUM (default /usr/lib/chromium/chromium); CI=true makes a missing Chromium a
# failure instead of a skip; SKIP_CARGO_BUILD=1 uses the engine binaries already built;
# CARGO_TARGET_DIR as for cargo; TILL_APP_HTTP, TILL_BIN and SYNC_SERVER_BIN name the binaries to use.
set -eu
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# Vite 8 needs Node 20.19 or newer (Debian 12's own nodejs package is 18).
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || {
  echo "FAIL: Node $(node --version) is too old for the UI build: Node 20.19 or newer is needed (NodeSource's nodejs 20 or 22, or Debian 13)" >&2
  exit 1
}

step "npm ci"
npm ci --no-audit --no-fund

step "type check (svelte-check)"
npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings

step "unit tests (vitest)"
npx vitest run

step "build (ui/dist)"
npx vite build

CHROMIUM="${CHROMIUM:-/usr/lib/chromium/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: Chromium not found at $CHROMIUM; the browser tests need it (apt-get install -y chromium, or set CHROMIUM)" >&2
    exit 1
  fi
  echo "SKIPPED: browser tests, Chromium not found at $CHROMIUM (apt-get install -y chromium); under CI=true this fails" >&2
  exit 0
fi

if [ "${SKIP_CARGO_BUILD:-}" != "1" ]; then
  step "engine binaries for the browser tests"
  (cd .. && nice -n 10 cargo build -p pos-till -p pos-till-service -p sync-server --bins)
fi

step "browser tests (playwright-core + Chromium, real engine and simulators)"
CHROMIUM="$CHROMIUM" node --test --test-concurrency=1 tests/browser/
