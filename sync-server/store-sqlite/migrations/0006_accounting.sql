CREATE TABLE daily_entries (
    till_id TEXT NOT NULL REFERENCES tills(id),
    closure_seq INTEGER NOT NULL,
    shop_id TEXT NOT NULL REFERENCES shops(id),
    day TEXT NOT NULL,
    through_cash INTEGER NOT NULL,
    entry TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    PRIMARY KEY (till_id, closure_seq)
);
CREATE INDEX daily_entries_by_day ON daily_entries (day, shop_id);
CREATE TABLE pending_closures (
    till_id TEXT NOT NULL REFERENCES tills(id),
    closure_seq INTEGER NOT NULL,
    through_cash INTEGER NOT NULL,
    PRIMARY KEY (till_id, closure_seq)
);
CREATE TRIGGER daily_entries_no_update BEFORE UPDATE ON daily_entries
BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END;
CREATE TRIGGER daily_entries_no_delete BEFORE DELETE ON daily_entries
BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END;
