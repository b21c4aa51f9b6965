#!/usr/bin/env python3
"""The head-office demo chain for `make run`, so the head-office app's charts mean something.

Run once, after head office and the app's own till exist (scripts/lib/head-office.sh): two
regions (Nord: Paris Opéra, Lille Centre; Sud: Lyon Bellecour, Marseille Prado), sellers S101
to S103 on each shop's staff (S104 sells too but is nobody's staff, so the commission report
shows an unknown seller), a commission plan, and four more tills, each enrolled and trading
for four weeks through its own engine (`till demo`: sales with sellers, returns, a Z every
evening, a month closure at each month's end), then today an exchange, all uploaded by the
tills' own sync. One alarm: a copy of a till's ledger records a different ticket under a
sequence head office already holds, which head office flags as a fork (the copy is thrown
away; the real till carries on).

Usage: head_office_demo.py DIR HEAD_OFFICE_URL DATABASE   (DATABASE: sqlite:PATH)
"""
import json
from contextlib import closing
import os
import shutil
import sqlite3
import subprocess
import sys

SYNC_SERVER = "target/debug/sync-server"
TILL = "target/debug/till"
ENTITY = "ACME-TELECOM"
APP_SHOP = "PARIS-OPERA"
SHOPS = [
    # (id, name, region, address)
    ("LILLE-CENTRE", "Lille Centre", "NORD", "31 rue Neuve, 59000 Lille"),
    ("LYON-BELLECOUR", "Lyon Bellecour", "SUD", "8 place Bellecour, 69002 Lyon"),
    ("MARSEILLE-PRADO", "Marseille Prado", "SUD", "120 avenue du Prado, 13008 Marseille"),
]
# (till id, shop, tickets over the days, seed)
TILLS = [
    ("PARIS-OPERA-CAISSE-2", APP_SHOP, 150, 21),
    ("LILLE-CENTRE-1", "LILLE-CENTRE", 110, 22),
    ("LYON-BELLECOUR-1", "LYON-BELLECOUR", 130, 23),
    ("MARSEILLE-PRADO-1", "MARSEILLE-PRADO", 90, 24),
]
DAYS = 28
SELLERS = ["S101", "S102", "S103"]
PLAN = [("category", "Accessoires", "5"), ("category", "Smartphones", "1.5"),
        ("category", "Services", "3"), ("product", "ACC-CBL-CC1", "8")]


def run(*args, stdin=""):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=True).stdout


def admin(db, *args, stdin=""):
    out = run(SYNC_SERVER, "--db", db, "--json", "admin", *args, stdin=stdin)
    return json.loads(out) if out.strip() else None


def till(ledger, *args, stdin=""):
    return json.loads(run(TILL, "--db", ledger, "--json", *args, stdin=stdin))


def sell(ledger, lines):
    """Records a sale of `lines` ([product, quantity, seller]) paid by card."""
    sale = {"lines": [{"product_id": p, "quantity": q, "seller": s} for p, q, s in lines], "tenders": []}
    total = till(ledger, "quote", stdin=json.dumps(sale))["total"]
    sale["tenders"] = [{"kind": "card", "amount": total, "reference": "DEMO"}]
    return till(ledger, "sell", stdin=json.dumps(sale))


def exchange_today(ledger):
    """Exchanges a line of at least 30 EUR of the newest card sale for a cheaper cable."""
    with closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT seq, body FROM records WHERE chain = 'ticket' ORDER BY seq DESC LIMIT 60").fetchall()
    for seq, body in rows:
        ticket = json.loads(body)["payload"]
        if ticket["kind"] != "sale" or any(t["kind"] != "card" for t in ticket["tenders"]):
            continue
        for line in ticket["lines"]:
            if line.get("serials") or float(line["total"]) < 30 or "units" not in line["quantity"]:
                continue
            request = {"original": seq, "returned": [{"line": line["line"], "quantity": 1}],
                       "lines": [{"product_id": "ACC-CBL-CC1", "quantity": 1, "seller": "S102"}]}
            try:
                return till(ledger, "exchange", stdin=json.dumps(request))
            except subprocess.CalledProcessError:
                continue
    return None


def main():
    directory, url, db = sys.argv[1:4]
    admin(db, "region", "create", "--id", "NORD", "--name", "Nord")
    admin(db, "region", "create", "--id", "SUD", "--name", "Sud")
    admin(db, "shop", "update", "--id", APP_SHOP, "--region", "NORD")
    for shop, name, region, address in SHOPS:
        admin(db, "shop", "create", "--id", shop, "--entity", ENTITY, "--name", name,
              "--timezone", "Europe/Paris", "--address", address, "--region", region)
    for shop in [APP_SHOP] + [s[0] for s in SHOPS]:
        for seller in SELLERS:
            # PINs go on standard input, never on the command line.
            admin(db, "staff", "add", "--shop", shop, "--id", seller, "--name", f"Vendeur {seller}",
                  "--role", "cashier", stdin="4321\n")
    for target, key, percent in PLAN:
        admin(db, "commission", "set", "--target", target, "--key", key, "--percent", percent)

    old_umask = os.umask(0o077)  # ledgers hold the tills' keys and tokens
    try:
        ledgers = {}
        for till_id, shop, tickets, seed in TILLS:
            code = admin(db, "till", "create", "--shop", shop, "--name", till_id.rsplit("-", 1)[-1],
                         "--id", till_id)["enrollment_code"]
            ledger = os.path.join(directory, f"{till_id}.db")
            run(TILL, "--db", ledger, "init", "--shop", shop, "--till", till_id, "--till-id", till_id)
            run(TILL, "--db", ledger, "enroll", "--server", url, "--code", code)
            run(TILL, "--db", ledger, "sync")
            summary = till(ledger, "demo", "--tickets", str(tickets), "--days", str(DAYS), "--seed", str(seed))
            exchange_today(ledger)
            sell(ledger, [["ACC-CBL-CC1", 1, "S101"], ["ACC-CHG-25W", 1, "S104"]])
            run(TILL, "--db", ledger, "sync")
            ledgers[till_id] = ledger
            print(f"head office demo: {till_id}: {summary['sales']} sales, {summary['returns']} returns "
                  f"over {DAYS} days, an exchange today")

        # The alarm: a copy of a ledger records a different ticket under a sequence head
        # office already holds from the real till.
        real = ledgers["MARSEILLE-PRADO-1"]
        copy = os.path.join(directory, "fork-copy.db")
        with closing(sqlite3.connect(real)) as source, closing(sqlite3.connect(copy)) as target:
            source.backup(target)
        shutil.copyfile(real + ".key", copy + ".key")
        sell(real, [["ACC-CBL-CC1", 1, "S103"]])
        run(TILL, "--db", real, "sync")
        sell(copy, [["ACC-CHG-25W", 2, "S103"]])
        subprocess.run([TILL, "--db", copy, "sync"], capture_output=True)
        for suffix in ("", "-wal", "-shm", ".key"):
            if os.path.exists(copy + suffix):
                os.remove(copy + suffix)
        shutil.rmtree(copy + "-archives", ignore_errors=True)
    finally:
        os.umask(old_umask)


if __name__ == "__main__":
    main()
