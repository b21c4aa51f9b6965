#!/usr/bin/env bash
# `make run`: the whole system on its embedded defaults. Head office (the sync server on a SQLite
# file, with a legal entity, a shop, its staff, the demo catalog and two web orders for pickup,
# and on the first run a demo chain: two regions, four shops, four more tills with four weeks of
# sales by sellers, returns, exchanges, a commission plan and one alarm)
# on 127.0.0.1:8780; the demo till, enrolled with it, with the printer and payment terminal
# simulators and the customer display simulator (its screens in out/app/display/display.log);
# the loopback HTTP transport (API + built UI) on 127.0.0.1:8787; and, when a
# display is available, the app window on the same ledger and simulators. Log in as Alice
# (PIN 1234, cashier) or Bruno (PIN 9999, manager). Receipts land in out/app/receipts.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=out/app
PORT=${TILL_HTTP_PORT:-8787}
mkdir -p "$DIR"

if [ -f ui/package.json ] && [ ! -f ui/dist/index.html ]; then
  echo "run-app: building the UI"
  (cd ui && npm ci --no-audit --no-fund && npm run build)
fi
UI_ARGS=()
[ -f ui/dist/index.html ] && UI_ARGS=(--ui ui/dist)

# The head-office web app: sync-server serves ui/head-office/dist under /hq/ when it is built.
if [ -f ui/head-office/package.json ] && [ ! -f ui/head-office/dist/index.html ]; then
  echo "run-app: building the head-office app"
  (cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; }) # shared sources compile with ui's tsconfig
  (cd ui/head-office && npm ci --no-audit --no-fund && npm run build)
fi

. scripts/lib/head-office.sh
head_office_start "$DIR" "${HEAD_OFFICE_PORT:-8780}"
trap 'kill $HEAD_OFFICE_PID 2>/dev/null' EXIT INT TERM
head_office_till "$DIR" "$DIR/till.db"
head_office_demo "$DIR"
echo "run-app: head office on $HEAD_OFFICE_URL (admin token in $DIR/head-office-admin.json)"
# A demo password for the head-office admin, for the web app's login (on standard input).
HQ_USER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$DIR/head-office-admin.json")
HQ_PASSWORD=${HQ_DEMO_PASSWORD:-demo-siege-2026}
echo "$HQ_PASSWORD" | target/debug/sync-server --db "sqlite:$DIR/head-office.sqlite" admin user password --id "$HQ_USER" >/dev/null
echo "run-app: head-office app on $HEAD_OFFICE_URL/hq/ (log in as $HQ_USER, password $HQ_PASSWORD)"
echo "run-app: head office holds 2 regions, 4 shops, 5 tills, four weeks of sales, commissions (#/commissions) and one alarm"

cargo build --quiet -p pos-till-service --bin till-app-http -p pos-cashier
# The launch secret also goes to a 0600 file, for `npm run dev`'s proxy (ui/vite.config.ts).
target/debug/till-app-http --db "$DIR/till.db" --demo --listen "127.0.0.1:$PORT" "${UI_ARGS[@]}" \
  --secret-file "$DIR/http.secret" --printer "sim:$DIR/receipts" --terminal sim:amount-rule \
  --display "sim:$DIR/display" > "$DIR/http.json" &
SERVER=$!
trap 'kill $SERVER $HEAD_OFFICE_PID 2>/dev/null; [ -n "${APP:-}" ] && kill $APP 2>/dev/null; wait' EXIT INT TERM
for _ in $(seq 100); do [ -s "$DIR/http.json" ] && break; sleep 0.1; done
[ -s "$DIR/http.json" ] || { echo "run-app: the HTTP transport did not start" >&2; exit 1; }
read -r URL PRINTER TERMINAL < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["url"], d["printer"], d["terminal"])' "$DIR/http.json")
echo "run-app: API and UI on $URL (printer $PRINTER, terminal $TERMINAL, receipts in $DIR/receipts)"
echo "run-app: log in as Alice (PIN 1234) or Bruno (PIN 9999); the terminal declines amounts ending in .13"
echo "run-app: the customer display shows in $DIR/display/display.log (tail -f it)"

APP_BIN=target/debug/pos-cashier
if [ -x "$APP_BIN" ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  "$APP_BIN" --db "$DIR/till.db" --printer "$PRINTER" --terminal "$TERMINAL" &
  APP=$!
  echo "run-app: the app window is open (pid $APP)"
else
  echo "run-app: no display for the app window: open $URL in a browser (same engine and UI)"
fi
echo "run-app: Ctrl-C to stop"
wait $SERVER
