# Head office for `make run`, on its embedded defaults: the sync server on a SQLite file with the
# demo data (a legal entity, a shop, its staff, the demo catalog, two web orders for pickup and
# an enrolled till, then a demo chain of shops and trading tills), sourced by scripts/run-app.sh.
#
#   head_office_start DIR PORT   starts `sync-server serve` on 127.0.0.1:PORT with its database
#                                in DIR (created with the demo data on the first run); sets
#                                HEAD_OFFICE_URL and HEAD_OFFICE_PID
#   head_office_till DIR LEDGER  creates the till's ledger LEDGER enrolled with head office (on
#                                the first run) and syncs it: the catalog, staff and web orders
#                                come down, its records go up
#   head_office_demo DIR         on the first run, the rest of the demo chain for the head-office
#                                app (scripts/lib/head_office_demo.py): two regions, four shops,
#                                four more tills with four weeks of sales, returns and exchanges
#                                by sellers, a commission plan, one alarm

SYNC_SERVER=target/debug/sync-server
TILL=target/debug/till
DEMO_SHOP=PARIS-OPERA
DEMO_TILL=PARIS-OPERA-CAISSE-1

head_office_start() {
  local dir=$1 port=$2
  local db="sqlite:$dir/head-office.sqlite"
  cargo build --quiet -p sync-server --bin sync-server -p pos-till --bin till
  mkdir -p "$dir"
  if [ ! -f "$dir/head-office.sqlite" ]; then
    echo "head office: creating the demo data in $dir/head-office.sqlite"
    local admin=("$SYNC_SERVER" --db "$db" --json admin)
    "${admin[@]}" entity create --name "Acme Télécom" --siren 123456789 >/dev/null
    "${admin[@]}" shop create --entity ACME-TELECOM --name "Paris Opéra" --territory metropole \
      --timezone Europe/Paris --address "12 boulevard des Capucines, 75009 Paris" >/dev/null
    "${admin[@]}" catalog import crates/till/fixtures/demo-catalog.csv >/dev/null
    # PINs go on standard input, never on the command line (where `ps` shows them).
    echo 1234 | "${admin[@]}" staff add --shop "$DEMO_SHOP" --id alice --name "Alice Martin" --role cashier >/dev/null
    echo 9999 | "${admin[@]}" staff add --shop "$DEMO_SHOP" --id bruno --name "Bruno Petit" --role manager >/dev/null
    # The admin token and the enrollment code are credentials: readable by their owner only.
    (umask 077
     "${admin[@]}" user create --name "Head office" --role admin >"$dir/head-office-admin.json"
     "${admin[@]}" till create --shop "$DEMO_SHOP" --name "Caisse 1" --id "$DEMO_TILL" >"$dir/till-code.json")
    # Rules the till applies by itself: a promotion on cables, meal vouchers with their limit.
    "${admin[@]}" promotion set --id CABLES-20 --label "Câbles -20 %" --from "$(date +%F)" \
      --to "$(date -d '+60 days' +%F)" --percent 20 \
      --product ACC-CBL-CC1 --product ACC-CBL-CL1 >/dev/null
    "${admin[@]}" tender set --shop "$DEMO_SHOP" --kind voucher --label Titre-restaurant --max 25.00 >/dev/null
    "${admin[@]}" web-order create --shop "$DEMO_SHOP" --customer "Chloé Bernard" --reference WEB-1001 \
      --line "ACC-COQ-IP16|Coque silicone iPhone 16|1|29.99" \
      --line "ACC-CBL-CC1|Câble USB-C vers USB-C 1 m|2|14.90" >/dev/null
    "${admin[@]}" web-order create --shop "$DEMO_SHOP" --customer "Karim Haddad" --reference WEB-1002 \
      --payment pay-in-shop --line "ACC-CHG-25W|Chargeur secteur USB-C 25 W|1|24.90" >/dev/null
  fi
  "$SYNC_SERVER" --db "$db" serve --listen "127.0.0.1:$port" >"$dir/head-office.log" 2>&1 &
  HEAD_OFFICE_PID=$!
  HEAD_OFFICE_URL="http://127.0.0.1:$port"
  for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "head office did not start: see $dir/head-office.log" >&2
  return 1
}

head_office_till() {
  local dir=$1 ledger=$2
  if [ ! -f "$ledger" ]; then
    "$TILL" --db "$ledger" init --shop "Boutique Paris Opéra" --till "Caisse 1" --till-id "$DEMO_TILL" \
      --address '12 boulevard des Capucines\n75009 Paris' --siret 12345678900011 \
      --vat-number FR32123456789 >/dev/null
    local code
    code=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["enrollment_code"])' "$dir/till-code.json")
    "$TILL" --db "$ledger" enroll --server "$HEAD_OFFICE_URL" --code "$code" >/dev/null
  fi
  "$TILL" --db "$ledger" sync >/dev/null 2>&1 || echo "head office: the first sync failed; the app retries in the background" >&2
}

head_office_demo() {
  local dir=$1
  [ -f "$dir/demo-chain.done" ] && return 0
  echo "head office: recording four weeks of trading at four more tills (first run only, about two minutes)"
  if python3 scripts/lib/head_office_demo.py "$dir" "$HEAD_OFFICE_URL" "sqlite:$dir/head-office.sqlite"; then
    touch "$dir/demo-chain.done"
  else
    echo "head office: the demo chain is incomplete; remove $dir to start again" >&2
  fi
}
