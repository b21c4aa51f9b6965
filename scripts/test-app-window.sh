#!/usr/bin/env bash
# Smoke test of the real Tauri window under Xvfb, through tauri-driver and WebKitWebDriver: the
# built app opens on a demo till with the printer and terminal simulators; through the window's
# IPC (the same `call` command the UI uses) a cashier logs in and records a cash sale, and the
# receipt must appear in the printer simulator's output directory.
# Needs: cargo build -p pos-cashier, tauri-driver (cargo install tauri-driver --locked),
# webkit2gtk-driver and xvfb (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

APP=${POS_CASHIER:-$PWD/target/debug/pos-cashier}
[ -x "$APP" ] || { echo "test-app-window: $APP is missing: cargo build -p pos-cashier" >&2; exit 1; }
command -v tauri-driver >/dev/null || { echo "test-app-window: tauri-driver is missing: cargo install tauri-driver --locked" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DRIVER_PORT=${TAURI_DRIVER_PORT:-4444}
export APP WORK DRIVER_PORT

cat > "$WORK/smoke.py" <<'PY'
import json, os, pathlib, time, urllib.error, urllib.request

base = "http://127.0.0.1:" + os.environ["DRIVER_PORT"]
work = pathlib.Path(os.environ["WORK"])

def request(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return json.load(answer)["value"]
    except urllib.error.HTTPError as error:
        raise SystemExit(f"test-app-window: {method} {path}: {error.code} {error.read().decode()}")

for _ in range(100):
    try:
        urllib.request.urlopen(base + "/status", timeout=1)
        break
    except Exception:
        time.sleep(0.1)

session = request("POST", "/session", {"capabilities": {"alwaysMatch": {"tauri:options": {
    "application": os.environ["APP"],
    "args": ["--demo", "--db", str(work / "till.db"),
             "--printer", "sim:" + str(work / "receipts"), "--terminal", "sim:amount-rule"],
}}}})["sessionId"]
try:
    def call(command, payload):
        script = ("const done = arguments[arguments.length - 1];"
                  "window.__TAURI_INTERNALS__.invoke('call', {command: arguments[0], request: arguments[1]})"
                  ".then(r => done({ok: r}), e => done({error: e}));")
        return request("POST", f"/session/{session}/execute/async",
                       {"script": script, "args": [command, payload]})

    login = call("login", {"pin": "1234"})
    assert login.get("ok", {}).get("staff", {}).get("name") == "Alice", login
    sale = call("sell", {"cart": {"lines": [{"product_id": "ACC-CBL-CC1"}]},
                         "tenders": [{"kind": "cash", "amount": "20.00"}]})
    assert sale.get("ok", {}).get("ticket", {}).get("total") == "14.90", sale
    refused = call("product_by_barcode", {"barcode": "0"})
    assert refused.get("error", {}).get("code") == "unknown_barcode", refused
    deadline = time.time() + 10
    while time.time() < deadline and not list((work / "receipts").glob("*.txt")):
        time.sleep(0.2)
    texts = [p.read_text() for p in (work / "receipts").glob("*.txt")]
    assert any("Ticket n° 1" in t and "14.90" in t for t in texts), texts
    print("test-app-window: login, cash sale and printed receipt through the real window: ok")
finally:
    request("DELETE", f"/session/{session}")
PY

xvfb-run -a bash -c '
  set -euo pipefail
  XDG_DATA_HOME="$WORK/data" tauri-driver --port "$DRIVER_PORT" --native-port "$((DRIVER_PORT + 1))" >"$WORK/driver.log" 2>&1 &
  DRIVER=$!
  # SIGTERM, never SIGKILL: tauri-driver must stop its WebKitWebDriver too.
  trap "kill -TERM $DRIVER 2>/dev/null; wait $DRIVER 2>/dev/null || true" EXIT
  python3 "$WORK/smoke.py"
'
