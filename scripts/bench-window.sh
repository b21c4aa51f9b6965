#!/usr/bin/env bash
# Benchmark of the real cashier window (tests/window/scan-bench.mjs): cold start, scan to cart
# updated with a large catalog, idle memory (PSS) of the app and its WebKit processes.
# BENCH_PRODUCTS (default 1,000,000) products are generated and imported once into
# target/bench-window/ (about a minute for a million); BENCH_SCANS scans (default 500).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/window.sh
window_prepare
cargo build --quiet -p pos-till --bin till
products=${BENCH_PRODUCTS:-1000000}
dir="$PWD/target/bench-window"
ledger="$dir/till-$products.db"
mkdir -p "$dir"
if [ ! -f "$ledger" ]; then
  rm -f "$ledger.tmp"*
  target/debug/till --db "$ledger.tmp" init --shop "Boutique Opéra" --till "Caisse bench"
  target/debug/till --db "$ledger.tmp" catalog generate --count "$products" --out "$dir/catalog-$products.csv"
  target/debug/till --db "$ledger.tmp" catalog import "$dir/catalog-$products.csv"
  target/debug/till --db "$ledger.tmp" staff add --id alice --name "Alice Martin" --role cashier --pin 1234
  mv "$ledger.tmp" "$ledger"
  mv "$ledger.tmp.key" "$ledger.key" # the signing key lives beside the ledger
  rm -f "$ledger.tmp-wal" "$ledger.tmp-shm"
fi
# Barcodes spread over the whole catalog, in a shuffled order, of products sold by the unit
# without a serial number (a handset would open the IMEI dialog).
codes="$dir/codes-$products.txt"
if [ ! -f "$codes" ]; then
  awk -F, 'NR > 1 && NR % 997 == 0 && $(NF-1) == "unit" && $NF == "none" { split($2, b, "|"); print b[1] }' \
    "$dir/catalog-$products.csv" | shuf --random-source=<(yes) > "$codes"
fi
export BENCH_LEDGER="$ledger" BENCH_CODES="$codes"
window_run node scan-bench.mjs
