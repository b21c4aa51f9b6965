#!/usr/bin/env bash
# Runs every test suite (the workspace's cargo tests, then each conformance script) and ends
# with one summary line counting the tests of all of them.
set -uo pipefail
cd "$(dirname "$0")/.."

# The sync server's scenario tests run on PostgreSQL too: start a throw-away cluster unless
# one is given. Under CI=true a test that cannot reach it fails.
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(sync-server/scripts/start-postgres.sh) || { echo "run-tests: PostgreSQL did not start" >&2; exit 1; }
  export DATABASE_URL
fi

# The NATS JetStream publisher is tested against a real nats-server: start one unless given.
if [ -z "${NATS_URL:-}" ]; then
  NATS_URL=$(sync-server/scripts/start-nats.sh) || { echo "run-tests: NATS did not start" >&2; exit 1; }
  export NATS_URL
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

# How long each suite took, printed at the end: CI's time budget is spent here.
timings=""
suite_started=$SECONDS
suite_name="cargo test --workspace"
next_suite() {
  timings+="$(printf '%6ds  %s' $((SECONDS - suite_started)) "$suite_name")"$'\n'
  suite_started=$SECONDS
  suite_name=$1
  echo "== $1"
}

# --no-fail-fast: one failing test binary does not hide the results of the others.
cargo test --workspace --no-fail-fast 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# The cashier app's UI: type check, unit tests, and browser tests driving the real till over the
# loopback HTTP transport (`till-app-http`, built here) with the device simulators.
# (The workspace tests above build the Tauri app with src-tauri/fallback when ui/dist is not
# built yet; `cargo build -p pos-cashier` after this embeds the built UI.)
if [ -x ui/scripts/test.sh ]; then
  next_suite ui/scripts/test.sh
  if cargo build -p pos-till -p pos-till-service -p sync-server --bins 2>&1 | tee -a "$log"; then
    export TILL_APP_HTTP="$PWD/target/debug/till-app-http" TILL_BIN="$PWD/target/debug/till"
    ui/scripts/test.sh 2>&1 | tee -a "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  else
    status=1
  fi
fi

# The head-office web app: type check, unit tests, build, and browser tests against a real
# `sync-server serve` with real tills (the `till` CLI); screenshots of its screens go to docs/.
if [ -x ui/head-office/scripts/test.sh ]; then
  next_suite ui/head-office/scripts/test.sh
  if cargo build -p pos-till -p sync-server --bins 2>&1 | tee -a "$log"; then
    SKIP_CARGO_BUILD=1 TILL_BIN="$PWD/target/debug/till" SYNC_SERVER_BIN="$PWD/target/debug/sync-server" \
      ui/head-office/scripts/test.sh 2>&1 | tee -a "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  else
    status=1
  fi
fi

# The real app window (Xvfb + tauri-driver + WebKitWebDriver), through its screens: login, a
# cash sale, its receipt in the printer simulator; screenshots go to target/window-screenshots.
next_suite scripts/test-window.sh
SCREENSHOTS_DIR="$PWD/target/window-screenshots" scripts/test-window.sh 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# The sync server's HTTP API against its OpenAPI document (sync-server/openapi.json):
# schemathesis with every check over every operation, against a server with data.
next_suite scripts/test-openapi-fuzz.sh
scripts/test-openapi-fuzz.sh 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

for script in scripts/test-*-conformance.sh; do
  [ -x "$script" ] || continue
  next_suite "$script"
  "$script" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

passed=$(grep -hoE '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -hoE '; [0-9]+ failed' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
py_passed=$(grep -hoE '^[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
py_failed=$(grep -hE '^(=+ )?[0-9]+ (passed|failed)' "$log" | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
total_passed=$((passed + py_passed))
total_failed=$((failed + py_failed))
if [ "$status" -ne 0 ] && [ "$total_failed" -eq 0 ]; then
  total_failed=1 # a suite failed to build or run: never report that as green
fi
next_suite "(end)" >/dev/null
echo
echo "time per suite (build included where the suite builds):"
printf '%s' "$timings"
echo "summary: ${total_passed} passed, ${total_failed} failed"
exit "$status"
