-- Credit notes and gift cards (issue 12): each instrument's balance as the synced movements
-- leave it, its history (append-only: one row per movement, with the record that carries
-- it), and the online redemption holds tills take before recording a redemption.
CREATE TABLE instruments (
    number TEXT PRIMARY KEY,
    balance_cents INTEGER NOT NULL,
    filled_cents INTEGER NOT NULL,
    expires TEXT,
    closed INTEGER NOT NULL,
    version INTEGER NOT NULL,
    overdraft_alarmed INTEGER NOT NULL
);
CREATE TABLE instrument_movements (
    number TEXT NOT NULL REFERENCES instruments(number),
    version INTEGER NOT NULL,
    till_id TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    chain TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    offline INTEGER NOT NULL,
    balance_after_cents INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (number, version)
);
CREATE TRIGGER instrument_movements_no_update BEFORE UPDATE ON instrument_movements
BEGIN SELECT RAISE(ABORT, 'instrument movements are append-only'); END;
CREATE TRIGGER instrument_movements_no_delete BEFORE DELETE ON instrument_movements
BEGIN SELECT RAISE(ABORT, 'instrument movements are append-only'); END;
CREATE TABLE instrument_holds (
    till_id TEXT NOT NULL,
    hold_id TEXT NOT NULL,
    number TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    held_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (till_id, hold_id)
);
CREATE INDEX instrument_holds_by_number ON instrument_holds (number, expires_at);
