#!/usr/bin/env bash
# Fuzzes the sync server's HTTP API against its own OpenAPI document (sync-server/openapi.json)
# with schemathesis (PyPI, pinned in scripts/openapi-fuzz/requirements.txt), every check on,
# over every operation: no 5xx, every status code and body the server answers is documented,
# every request the document allows is accepted and every one it forbids is refused.
#
# The server is the real `sync-server serve` on a fresh SQLite database with data: a shop and
# its catalog, an enrolled till that sold, closed its day and uploaded it all, a head-office
# admin, a web shop with an order, a webhook. Each operation is called with the credential it is meant for (see
# scripts/openapi-fuzz/schemathesis.toml). Exits non-zero when schemathesis finds anything.
#
# Usage: scripts/test-openapi-fuzz.sh [schemathesis run options...]
#   FUZZ_MAX_EXAMPLES  generated cases per operation (default 30: the run stays under 3 minutes)
#   SYNC_SERVER_BIN, TILL_BIN  the binaries to use (default: built here, debug)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
die() { echo "test-openapi-fuzz: $*" >&2; exit 1; }

# The fuzzer, in the repository's virtual environment (scripts/install-deps.sh installs it).
venv=$root/.venv
requirements=scripts/openapi-fuzz/requirements.txt
stamp=$venv/.openapi-fuzz-requirements
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || die "cannot create $venv: install python3-venv"
fi
if ! cmp -s "$requirements" "$stamp"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" \
    || die "pip install -r $requirements failed (PyPI must be reachable)"
  cp "$requirements" "$stamp"
fi

# The binaries: built here, unless given (SYNC_SERVER_BIN and TILL_BIN, as scripts/run-tests.sh
# builds them once for every suite).
if [ -z "${SYNC_SERVER_BIN:-}" ] || [ -z "${TILL_BIN:-}" ]; then
  cargo build --quiet -p sync-server --bin sync-server -p pos-till --bin till \
    || die "cargo build of sync-server and till failed"
  target_dir=$(cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
fi
server_bin=${SYNC_SERVER_BIN:-$target_dir/debug/sync-server}
till_bin=${TILL_BIN:-$target_dir/debug/till}

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
chmod 700 "$work"

# --- the data ---------------------------------------------------------------------------------
db="sqlite:$work/head-office.sqlite"
admin=("$server_bin" --db "$db" --json admin)
json() { "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
shop=PARIS-OPERA
till_id=PARIS-OPERA-CAISSE-1
"${admin[@]}" entity create --name "Acme Télécom" --siren 123456789 >/dev/null
"${admin[@]}" shop create --entity ACME-TELECOM --name "Paris Opéra" --territory metropole \
  --timezone Europe/Paris --address "12 boulevard des Capucines, 75009 Paris" >/dev/null
"${admin[@]}" catalog import crates/till/fixtures/demo-catalog.csv >/dev/null
echo 1234 | "${admin[@]}" staff add --shop "$shop" --id alice --name "Alice Martin" --role cashier >/dev/null
admin_token=$("${admin[@]}" user create --name "Head office" --role admin | json token)
logout_token=$("${admin[@]}" user create --name "Logging out" --role admin | json token)
code=$("${admin[@]}" till create --shop "$shop" --name "Caisse 1" --id "$till_id" | json enrollment_code)
webshop_key=$("${admin[@]}" webshop add --name "Boutique en ligne" --id WEB | json api_key)
# What the revocation routes revoke: spares, so the credentials above keep working.
spare_user=$("${admin[@]}" user create --name "Spare" --role accountant | json id)
"${admin[@]}" till create --shop "$shop" --name "Spare" --id SPARE-TILL >/dev/null
"${admin[@]}" webshop add --name "Spare web shop" --id SPARE-WEB >/dev/null
# Nothing listens there: deliveries fail and are retried, as with a receiver that is down.
"${admin[@]}" webhook add --id erp --url http://127.0.0.1:9/events --secret "a-secret-of-sixteen-chars" >/dev/null

"$server_bin" --db "$db" --log-format json serve --listen 127.0.0.1:0 >"$work/server.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 100); do
  url=$(grep -m1 '"serving"' "$work/server.log" 2>/dev/null \
    | "$venv/bin/python" -c 'import json,sys; print("http://" + json.loads(sys.stdin.read())["address"])' 2>/dev/null) && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server did not start"; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/server.log" >&2; die "the server did not say where it listens"; }

ledger=$work/till.db
"$till_bin" --db "$ledger" init --shop "Boutique Paris Opéra" --till "Caisse 1" --till-id "$till_id" \
  --address '12 boulevard des Capucines\n75009 Paris' --siret 12345678900011 --vat-number FR32123456789 >/dev/null
"$till_bin" --db "$ledger" enroll --server "$url" --code "$code" >/dev/null
"$till_bin" --db "$ledger" demo --tickets 30 >/dev/null
"$till_bin" --db "$ledger" sync >/dev/null
# The web shop's order, placed as a web shop places it (a web shop sees its own orders only).
order_id=$(curl -sf -X POST "$url/api/v1/web-orders" -H "Authorization: Bearer $webshop_key" \
  -H "Idempotency-Key: fuzz-order-1" -H "Content-Type: application/json" \
  -d "{\"shop\": \"$shop\", \"payment\": \"paid_online\", \"customer\": \"Chloé Bernard\", \"lines\": [{\"product_id\": \"ACC-COQ-IP16\", \"label\": \"Coque silicone iPhone 16\", \"quantity\": 1, \"unit_price\": \"29.99\"}]}" \
  | json id) || die "the web shop could not place its order"
till_token=$("$venv/bin/python" - "$ledger" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT token FROM sync_server WHERE id = 1").fetchone()[0])
EOF
) || die "cannot read the till's token from its ledger"

# --- the run ----------------------------------------------------------------------------------
export FUZZ_ADMIN_TOKEN=$admin_token FUZZ_LOGOUT_TOKEN=$logout_token FUZZ_TILL_TOKEN=$till_token \
  FUZZ_TILL_ID=$till_id FUZZ_SHOP_ID=$shop FUZZ_WEBSHOP_KEY=$webshop_key FUZZ_ORDER_ID=$order_id \
  FUZZ_SPARE_USER=$spare_user FUZZ_YEAR=$(date +%Y)
echo "test-openapi-fuzz: schemathesis over $url/openapi.json (server log: kept on failure)"
status=0
# Run from the scratch folder: schemathesis keeps its example database in ./.schemathesis. One
# worker: with two threads, CPython 3.11's parser sometimes fails inside the tool itself
# ("AST constructor recursion depth mismatch"), failing a run that found nothing.
(cd "$work" && "$venv/bin/schemathesis" --no-color --config-file "$root/scripts/openapi-fuzz/schemathesis.toml" \
  run "$url/openapi.json" --checks all --max-examples "${FUZZ_MAX_EXAMPLES:-30}" --seed 1 \
  --workers 1 "$@") || status=$?
if [ "$status" -ne 0 ]; then
  echo "test-openapi-fuzz: schemathesis failed (exit $status); the server's log:" >&2
  grep -E '"level":"(ERROR|WARN)"' "$work/server.log" | tail -20 >&2 || true
  echo "1 failed, 0 passed"
  exit 1
fi
echo "1 passed, 0 failed"
