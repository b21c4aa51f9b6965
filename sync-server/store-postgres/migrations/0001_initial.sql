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
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    hash TEXT NOT NULL,
    body BYTEA NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (till_id, chain, seq)
);
CREATE TABLE chain_heads (
    till_id TEXT NOT NULL REFERENCES tills(id),
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (till_id, chain)
);
CREATE TABLE alarms (
    id BIGSERIAL PRIMARY KEY,
    till_id TEXT NOT NULL REFERENCES tills(id),
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_hash TEXT NOT NULL,
    received BYTEA NOT NULL,
    raised_at TEXT NOT NULL,
    UNIQUE (till_id, chain, seq, kind, received_hash)
);
CREATE TABLE outbox (
    cursor BIGSERIAL PRIMARY KEY,
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
    tickets BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    excluding_vat_cents BIGINT NOT NULL,
    PRIMARY KEY (dimension, day, shop_id, key)
);
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER alarms_append_only BEFORE UPDATE OR DELETE ON alarms
    FOR EACH ROW EXECUTE FUNCTION append_only();
