CREATE TABLE daily_entries (
    till_id TEXT NOT NULL REFERENCES tills(id),
    closure_seq BIGINT NOT NULL,
    shop_id TEXT NOT NULL REFERENCES shops(id),
    day TEXT NOT NULL,
    through_cash BIGINT NOT NULL,
    entry TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    PRIMARY KEY (till_id, closure_seq)
);
CREATE INDEX daily_entries_by_day ON daily_entries (day, shop_id);
CREATE TABLE pending_closures (
    till_id TEXT NOT NULL REFERENCES tills(id),
    closure_seq BIGINT NOT NULL,
    through_cash BIGINT NOT NULL,
    PRIMARY KEY (till_id, closure_seq)
);
CREATE FUNCTION daily_entries_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'journal entries are append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER daily_entries_no_change BEFORE UPDATE OR DELETE ON daily_entries
FOR EACH ROW EXECUTE FUNCTION daily_entries_append_only();
