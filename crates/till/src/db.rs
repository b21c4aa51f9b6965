//! Opening the ledger database: durability pragmas, versioned migrations, and who may read
//! the files.
//!
//! WAL with `synchronous=FULL` makes each committed transaction durable before `COMMIT`
//! returns, so a sale is on disk before its receipt prints. Migrations are numbered; each runs
//! once in its own transaction and bumps `PRAGMA user_version`.
//!
//! The ledger holds head office's token, staff PIN hashes and customers: a new ledger is
//! created mode 0600 before SQLite opens it, and SQLite gives its `-wal` and `-shm` files the
//! database's mode. At every open, a ledger file (or the signing key file beside it) that
//! other users may read is reported with a warning naming the `chmod 600` to run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Result, TillError};

/// Schema migrations, in order. Never edit a shipped one: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: identity, ledger records with append-only triggers, chain heads, catalog with search.
    r#"
    CREATE TABLE identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        till_id TEXT NOT NULL,
        shop_name TEXT NOT NULL,
        till_name TEXT NOT NULL,
        territory TEXT NOT NULL,
        timezone TEXT NOT NULL,
        shop_address TEXT NOT NULL DEFAULT '',
        siret TEXT NOT NULL DEFAULT '',
        vat_number TEXT NOT NULL DEFAULT '',
        fiscal_year_start_month INTEGER NOT NULL DEFAULT 1,
        secret_key TEXT NOT NULL,
        public_key TEXT NOT NULL,
        created_at TEXT NOT NULL
    );

    -- Every signed record of every chain. `body` is the record's canonical stored bytes; the
    -- other columns repeat fields of it for lookups, and verification checks they agree.
    -- A rowid table: bodies of a few kilobytes fit in one leaf page, where a WITHOUT ROWID
    -- table would spill them to overflow pages and write more per sale.
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        chain TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        ref INTEGER,
        body BLOB NOT NULL,
        UNIQUE (chain, seq)
    );
    CREATE INDEX records_by_ref ON records (chain, ref) WHERE ref IS NOT NULL;

    CREATE TRIGGER records_no_update BEFORE UPDATE ON records
    BEGIN SELECT RAISE(ABORT, 'ledger records are append-only: record a correction instead'); END;
    CREATE TRIGGER records_no_delete BEFORE DELETE ON records
    BEGIN SELECT RAISE(ABORT, 'ledger records are append-only: they can never be deleted'); END;

    -- The newest record of each chain, so removing the last records is detected.
    CREATE TABLE chain_heads (
        chain TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER chain_heads_no_delete BEFORE DELETE ON chain_heads
    BEGIN SELECT RAISE(ABORT, 'chain heads can never be deleted'); END;
    CREATE TRIGGER chain_heads_forward_only BEFORE UPDATE ON chain_heads
    WHEN NEW.seq <> OLD.seq + 1
    BEGIN SELECT RAISE(ABORT, 'a chain head only moves forward by one record'); END;

    CREATE TABLE products (
        id TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        category TEXT NOT NULL,
        vat_code TEXT NOT NULL,
        price TEXT NOT NULL,
        sold_by TEXT NOT NULL,
        serial TEXT NOT NULL
    );
    CREATE TABLE barcodes (
        code TEXT PRIMARY KEY,
        product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE INDEX barcodes_by_product ON barcodes (product_id);

    -- Accent- and case-insensitive search on label and category, kept in step by triggers.
    CREATE VIRTUAL TABLE product_search USING fts5 (
        label, category,
        content = 'products', content_rowid = 'rowid',
        tokenize = "unicode61 remove_diacritics 2", prefix = '2 3'
    );
    CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN
        INSERT INTO product_search (rowid, label, category) VALUES (NEW.rowid, NEW.label, NEW.category);
    END;
    CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN
        INSERT INTO product_search (product_search, rowid, label, category)
        VALUES ('delete', OLD.rowid, OLD.label, OLD.category);
    END;
    CREATE TRIGGER products_search_update AFTER UPDATE ON products BEGIN
        INSERT INTO product_search (product_search, rowid, label, category)
        VALUES ('delete', OLD.rowid, OLD.label, OLD.category);
        INSERT INTO product_search (rowid, label, category) VALUES (NEW.rowid, NEW.label, NEW.category);
    END;
    "#,
    // 2: head office: where to sync, what it holds of each chain, and the one-sync-at-a-time lock.
    r#"
    CREATE TABLE sync_server (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        url TEXT NOT NULL,
        token TEXT NOT NULL,
        shop_id TEXT NOT NULL,
        max_records INTEGER NOT NULL,
        enrolled_at TEXT NOT NULL
    );
    -- Per chain, the highest sequence head office acknowledged holding with everything below.
    CREATE TABLE sync_held (
        chain TEXT PRIMARY KEY,
        held INTEGER NOT NULL
    ) WITHOUT ROWID;
    -- A lease: the process syncing and until when; an expired lease (a crashed sync) is free.
    CREATE TABLE sync_lock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    "#,
    // 3: the staff who may log in at this till. Head office distributes them through the changes
    // feed; a till without a server has them added locally. The PIN is kept only as an Argon2
    // PHC string, so the ledger file never holds a usable PIN.
    r#"
    CREATE TABLE staff (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
        pin_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL
    );
    "#,
    // 4: what head office distributes through its changes feed: per-shop prices over the
    // catalog's base prices, the shop's web orders, and the feed version applied (which moves
    // in the transaction of the page it applies, so a killed till resumes after that page).
    r#"
    CREATE TABLE shop_prices (
        product_id TEXT PRIMARY KEY,
        price TEXT NOT NULL
    ) WITHOUT ROWID;
    -- `body` is the order as head office last sent it, `server_state` its state there;
    -- `local_state` is what this till recorded in its web_order chain.
    CREATE TABLE web_orders (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        server_state TEXT NOT NULL,
        local_state TEXT,
        placed_at TEXT NOT NULL
    );
    -- `search_stale`: a large page went into the catalog without the search index, which is
    -- rebuilt in one pass at the end of the download (or at the next start-up if killed).
    CREATE TABLE sync_changes (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        applied_at TEXT NOT NULL,
        search_stale INTEGER NOT NULL DEFAULT 0
    );
    "#,
    // 5: carts parked at the till (the cashier app), kept until resumed. Not ledger records:
    // nothing was sold, so a resumed cart is removed.
    r#"
    CREATE TABLE parked_carts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        label TEXT,
        operator TEXT NOT NULL,
        parked_at TEXT NOT NULL,
        lines INTEGER NOT NULL,
        total TEXT NOT NULL,
        cart TEXT NOT NULL
    );
    "#,
    // 6: this till's devices as a manager set them in the app (receipt printer, payment
    // terminal): machine settings, not head office's, kept across restarts.
    r#"
    CREATE TABLE device_settings (
        device TEXT PRIMARY KEY,
        uri TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        changed_by TEXT NOT NULL
    );
    "#,
    // 7: the shop's customers. Personal data, so not ledger records: a ticket names a customer
    // by id only, and a customer can be erased. `phone_keys` holds the digits a phone number is
    // found by (national and international); `pending` marks a change made here that head
    // office has not acknowledged yet.
    r#"
    CREATE TABLE customers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        phone TEXT,
        email TEXT,
        phone_keys TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        pending INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX customers_pending ON customers (pending) WHERE pending = 1;

    -- Accent- and case-insensitive prefix search on name, e-mail and phone digits.
    CREATE VIRTUAL TABLE customer_search USING fts5 (
        name, email, phone_keys,
        content = 'customers', content_rowid = 'rowid',
        tokenize = "unicode61 remove_diacritics 2", prefix = '1 2 3'
    );
    CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN
        INSERT INTO customer_search (rowid, name, email, phone_keys)
        VALUES (NEW.rowid, NEW.name, NEW.email, NEW.phone_keys);
    END;
    CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN
        INSERT INTO customer_search (customer_search, rowid, name, email, phone_keys)
        VALUES ('delete', OLD.rowid, OLD.name, OLD.email, OLD.phone_keys);
    END;
    CREATE TRIGGER customers_search_update AFTER UPDATE OF name, email, phone_keys ON customers BEGIN
        INSERT INTO customer_search (customer_search, rowid, name, email, phone_keys)
        VALUES ('delete', OLD.rowid, OLD.name, OLD.email, OLD.phone_keys);
        INSERT INTO customer_search (rowid, name, email, phone_keys)
        VALUES (NEW.rowid, NEW.name, NEW.email, NEW.phone_keys);
    END;
    "#,
    // 8: rules head office sets for the shop (VAT rates of its territory from a day on, the
    // means of payment it takes, promotions), as the changes feed sent them. `starts`/`ends`
    // bound the days a dated rule (a promotion) applies, so a sale reads only today's.
    r#"
    CREATE TABLE shop_rules (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        body TEXT NOT NULL,
        starts TEXT,
        ends TEXT,
        PRIMARY KEY (kind, key)
    );
    "#,
    // 9: the return tickets of each web order paid online, written with the ticket, so the
    // next return of the order checks what already came back here without scanning tickets.
    r#"
    CREATE TABLE web_order_returns (
        order_id TEXT NOT NULL,
        ticket INTEGER NOT NULL,
        PRIMARY KEY (order_id, ticket)
    ) WITHOUT ROWID;
    "#,
    // 10: wrong staff PINs, per staff member (`staff:ID`) and per till (`till`): the current
    // series and, once it locked PIN entry out, when, and the staff records' `updated_at` then
    // (head office re-sending the staff lifts the lockout). Not fiscal data: the journal holds
    // each series as a signed event.
    r#"
    CREATE TABLE pin_failures (
        scope TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        locked_at TEXT,
        staff_version TEXT
    ) WITHOUT ROWID;
    "#,
    // 11: the card payments tickets consumed, written with the ticket: one terminal approval
    // pays one ticket only, checked by the primary key inside the write transaction.
    r#"
    CREATE TABLE card_payments_used (
        payment TEXT PRIMARY KEY,
        chain TEXT NOT NULL,
        ticket INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 12: the certificate authority (PEM) pinned at enrollment (`till enroll --ca-cert`),
    // trusted besides the system's for every request to head office.
    r#"
    ALTER TABLE sync_server ADD COLUMN ca_pem TEXT;
    "#,
    // 13: the index of credit-note and gift-card movements (see `stored_value`).
    crate::stored_value::MIGRATION,
    // 14: the index of returns made against other tills' tickets or without receipt (see
    // `returns_anywhere`).
    crate::returns_anywhere::MIGRATION,
    // 15: the stock role, besides cashier and manager (SQLite cannot change a CHECK: the table
    // is rebuilt with the same rows).
    r#"
    CREATE TABLE staff_with_stock_role (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('cashier', 'manager', 'stock')),
        pin_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL
    );
    INSERT INTO staff_with_stock_role (id, name, role, pin_hash, active, updated_at)
        SELECT id, name, role, pin_hash, active, updated_at FROM staff;
    DROP TABLE staff;
    ALTER TABLE staff_with_stock_role RENAME TO staff;
    "#,
    // 16: the sale screen's category grid, kept by triggers as the catalog changes (a bulk
    // download drops them and rebuilds the table once, as it does the search index), so
    // opening the screen reads a few rows instead of counting a million products; and the
    // index that lists one category's products by label.
    r#"
    CREATE INDEX products_by_category ON products (category, label, id);
    CREATE TABLE category_counts (
        category TEXT PRIMARY KEY,
        products INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO category_counts (category, products)
        SELECT category, count(*) FROM products GROUP BY category;
    CREATE TRIGGER products_category_insert AFTER INSERT ON products BEGIN
        INSERT INTO category_counts (category, products) VALUES (NEW.category, 1)
            ON CONFLICT (category) DO UPDATE SET products = products + 1;
    END;
    CREATE TRIGGER products_category_delete AFTER DELETE ON products BEGIN
        UPDATE category_counts SET products = products - 1 WHERE category = OLD.category;
        DELETE FROM category_counts WHERE category = OLD.category AND products <= 0;
    END;
    CREATE TRIGGER products_category_update AFTER UPDATE OF category ON products
    WHEN NEW.category IS NOT OLD.category BEGIN
        UPDATE category_counts SET products = products - 1 WHERE category = OLD.category;
        DELETE FROM category_counts WHERE category = OLD.category AND products <= 0;
        INSERT INTO category_counts (category, products) VALUES (NEW.category, 1)
            ON CONFLICT (category) DO UPDATE SET products = products + 1;
    END;
    "#,
    // 17: the archives head office acknowledged, by the file's SHA-256, so each is uploaded
    // once and an interrupted upload resumes at the next sync pass (see `archive_upload`).
    r#"
    CREATE TABLE archive_uploads (
        sha256 TEXT PRIMARY KEY,
        uploaded_at TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 18: the prices the catalog replaced, for returns without receipt (see `price_history`).
    crate::price_history::MIGRATION,
    // 19: the index of the stock chain's operations (see `stock`).
    crate::stock::MIGRATION,
    // 20: stock at the till: the shop's open shipping notices and the append-only index of
    // those received (see `stock_notices`), and head office's last answer of each product's
    // on-hand stock, kept for when it does not answer (see `stock_on_hand`).
    r#"
    CREATE TABLE shipping_notices (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE shipping_notice_receipts (
        notice_id TEXT PRIMARY KEY,
        receipt_seq INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER shipping_notice_receipts_no_update BEFORE UPDATE ON shipping_notice_receipts
    BEGIN SELECT RAISE(ABORT, 'received notices are append-only'); END;
    CREATE TRIGGER shipping_notice_receipts_no_delete BEFORE DELETE ON shipping_notice_receipts
    BEGIN SELECT RAISE(ABORT, 'received notices are append-only'); END;
    CREATE TABLE stock_on_hand_answers (
        product_id TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        answered_at TEXT NOT NULL,
        kept_at TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 21: whether head office keeps the product's stock (`kept` or `not_kept`, see
    // `pos_domain::product::StockKeeping`).
    "ALTER TABLE products ADD COLUMN stock TEXT NOT NULL DEFAULT 'kept';",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens (creating if needed, mode 0600) a ledger database with the durability settings and
/// migrations, and warns about its files other users may read.
pub fn open(path: &Path) -> Result<Connection> {
    create_private(path)?;
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    migrate(&mut conn)?;
    warn_if_shared(path);
    Ok(conn)
}

/// Creates `path` empty and readable by its owner only, unless it exists.
pub(crate) fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(TillError::File {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// The files of the ledger at `path`: the database, its write-ahead log and shared memory,
/// and the signing key file.
pub fn ledger_files(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| with_suffix(path, suffix))
        .chain([crate::identity::key_file(path)])
        .collect()
}

/// `path` with `suffix` appended to its file name (`till.db` -> `till.db-wal`).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The files of the ledger at `path` that exist and that users other than their owner may
/// read or write.
pub fn files_shared_with_others(path: &Path) -> Vec<PathBuf> {
    ledger_files(path)
        .into_iter()
        .filter(|file| is_shared(file))
        .collect()
}

/// Whether the file at `path` exists and others than its owner may read or write it.
pub fn is_shared(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Warns, naming the command that fixes it, about each file of the ledger others may read.
fn warn_if_shared(path: &Path) {
    for file in files_shared_with_others(path) {
        tracing::warn!(
            file = %file.display(),
            "other users of this machine may read {} (it holds the till's secrets, staff PIN hashes or customers): run `chmod 600 {}`",
            file.display(),
            file.display()
        );
    }
}

/// Applies the pragmas every connection to a ledger must have.
pub fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(TillError::Corrupt(format!(
            "journal mode is {mode}, WAL is required"
        )));
    }
    // Each commit is durable in the WAL (fsync at commit). Copying the WAL back into the
    // database (a checkpoint, with its own fsyncs) is kept off the sale path: SQLite's automatic
    // checkpoint would otherwise stall every few hundred sales; the engine checkpoints after
    // closures instead, and SQLite still does it past 10,000 pages (about 40 MB).
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 10000;",
    )?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(TillError::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while this one waited for the write lock.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if now > index as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
