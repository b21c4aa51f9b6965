CREATE TABLE legal_entities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    siren TEXT NOT NULL,
    fiscal_year_start_month INTEGER NOT NULL
);
CREATE TABLE shops (
    id TEXT PRIMARY KEY,
    entity_id TEXT NOT NULL REFERENCES legal_entities(id),
    name TEXT NOT NULL,
    territory TEXT NOT NULL,
    timezone TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE TABLE tills (
    id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL REFERENCES shops(id),
    name TEXT NOT NULL,
    code_hash TEXT UNIQUE,
    code_expires_at TEXT,
    public_key TEXT,
    token_hash TEXT UNIQUE,
    software TEXT,
    protocol TEXT,
    enrolled_at TEXT,
    last_contact_at TEXT
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    shop_id TEXT REFERENCES shops(id),
    token_hash TEXT NOT NULL UNIQUE
);
CREATE TABLE records (
    till_id TEXT NOT NULL REFERENCES tills(id),
    chain TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    hash TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (till_id, chain, seq)
) WITHOUT ROWID;
CREATE TABLE chain_heads (
    till_id TEXT NOT NULL REFERENCES tills(id),
    chain TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (till_id, chain)
) WITHOUT ROWID;
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    till_id TEXT NOT NULL REFERENCES tills(id),
    chain TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_hash TEXT NOT NULL,
    received BLOB NOT NULL,
    raised_at TEXT NOT NULL,
    UNIQUE (till_id, chain, seq, kind, received_hash)
);
CREATE TABLE outbox (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    envelope TEXT NOT NULL
);
CREATE TABLE sales_rollup (
    shop_id TEXT NOT NULL,
    day TEXT NOT NULL,
    dimension TEXT NOT NULL,
    key TEXT NOT NULL,
    tickets INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    excluding_vat_cents INTEGER NOT NULL,
    PRIMARY KEY (dimension, day, shop_id, key)
) WITHOUT ROWID;
CREATE TRIGGER records_no_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER records_no_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER alarms_no_update BEFORE UPDATE ON alarms
BEGIN SELECT RAISE(ABORT, 'alarms are append-only'); END;
CREATE TRIGGER alarms_no_delete BEFORE DELETE ON alarms
BEGIN SELECT RAISE(ABORT, 'alarms are append-only'); END;
