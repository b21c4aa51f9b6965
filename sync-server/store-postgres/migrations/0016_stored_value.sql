-- Credit notes and gift cards (issue 12): each instrument's balance as the synced movements
-- leave it, its history (append-only: one row per movement, with the record that carries
-- it), and the online redemption holds tills take before recording a redemption.
CREATE TABLE instruments (
    number TEXT PRIMARY KEY,
    balance_cents BIGINT NOT NULL,
    filled_cents BIGINT NOT NULL,
    expires TEXT,
    closed BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    overdraft_alarmed BOOLEAN NOT NULL
);
CREATE TABLE instrument_movements (
    number TEXT NOT NULL REFERENCES instruments(number),
    version BIGINT NOT NULL,
    till_id TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    offline BOOLEAN NOT NULL,
    balance_after_cents BIGINT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (number, version)
);
CREATE TRIGGER instrument_movements_append_only BEFORE UPDATE OR DELETE ON instrument_movements
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TABLE instrument_holds (
    till_id TEXT NOT NULL,
    hold_id TEXT NOT NULL,
    number TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    held_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (till_id, hold_id)
);
CREATE INDEX instrument_holds_by_number ON instrument_holds (number, expires_at);
