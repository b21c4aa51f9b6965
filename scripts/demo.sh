#!/usr/bin/env bash
# `make run` at this stage: a short demonstration of the headless till on a fresh ledger.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p pos-till --bin till
TILL=target/debug/till
DIR=out/demo
rm -rf "$DIR" && mkdir -p "$DIR"
DB="$DIR/till.db"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Create the till's ledger and signing key"
$TILL --db "$DB" init --shop "Boutique Paris Opéra" --till "Caisse 1" \
  --address '12 boulevard des Capucines\n75009 Paris' --siret 12345678900011 --vat-number FR32123456789

step "Import the demo catalog of a telecom boutique"
$TILL --db "$DB" catalog demo --out "$DIR/catalog.csv"
$TILL --db "$DB" catalog import "$DIR/catalog.csv"
$TILL --db "$DB" catalog search "cable usb"

step "Open the drawer with a float, then sell: a handset with its IMEI, two cases, a guide"
$TILL --db "$DB" --operator alice cash float --amount 150.00 >/dev/null
cat > "$DIR/sale.json" <<'JSON'
{ "operator": "alice",
  "lines": [
    { "barcode": "3760000010009", "serials": ["490154203237518"], "seller": "S101" },
    { "product_id": "ACC-COQ-IP16", "quantity": 2, "discount": { "percent": "10" } },
    { "product_id": "LIV-GUIDE-5G" } ],
  "tenders": [ { "kind": "card", "amount": "500.00", "reference": "A1B2C3" },
               { "kind": "cash", "amount": "540.00" } ] }
JSON
$TILL --db "$DB" sell < "$DIR/sale.json" > "$DIR/ticket-1.json"
echo "recorded ticket 1: total $(grep -m1 '"total"' "$DIR/ticket-1.json" | tail -1)"
$TILL --db "$DB" receipt 1

step "A second sale, paid in cash, and the return of one case from the first"
echo '{"operator":"bruno","lines":[{"product_id":"ACC-CBL-CC1"},{"product_id":"PRS-01NET","quantity":2}],"tenders":[{"kind":"cash","amount":"30.00"}]}' \
  | $TILL --db "$DB" --json sell >/dev/null
echo '{"operator":"alice","original":1,"lines":[{"line":2,"quantity":1}]}' | $TILL --db "$DB" return > "$DIR/return.json"
$TILL --db "$DB" receipt 3

step "A reprint is recorded and marked DUPLICATA"
$TILL --db "$DB" receipt 1 --duplicate | head -8

step "X report, cash count, then the day closure (Z)"
$TILL --db "$DB" report x
EXPECTED=$($TILL --db "$DB" --json report x | python3 -c 'import json,sys; print(json.load(sys.stdin)["expected_cash"])')
$TILL --db "$DB" cash count --amount "$EXPECTED" --reason "evening count" >/dev/null
echo "counted $EXPECTED in the drawer"

$TILL --db "$DB" close day

step "Verify every chain of the ledger"
$TILL --db "$DB" verify

step "Archive today and verify the archive offline"
TODAY=$(TZ=Europe/Paris date +%F)
$TILL --db "$DB" archive export --from "$TODAY" --to "$TODAY" --out "$DIR/archive.json"
$TILL archive verify "$DIR/archive.json"

step "Done: the ledger is $DB"
