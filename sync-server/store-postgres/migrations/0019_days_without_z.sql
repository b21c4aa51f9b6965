-- The days each till sold on and has not closed (issue 16: "the fleet shows days with sales
-- and no Z"), kept by the database itself so the fleet reads a handful of rows per till: a
-- till's first ticket of a day (its `till` rollup row, inserted once per till and day) adds
-- the day unless its daily entry is already posted; posting a day closure's entry removes it.
CREATE TABLE till_days_without_z (
    till_id TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (till_id, day)
);
CREATE INDEX daily_entries_by_till_day ON daily_entries (till_id, day);
CREATE OR REPLACE FUNCTION till_day_sold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM daily_entries e WHERE e.till_id = NEW.key AND e.day = NEW.day) THEN
        INSERT INTO till_days_without_z (till_id, day) VALUES (NEW.key, NEW.day)
            ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER sales_rollup_till_day_sold AFTER INSERT ON sales_rollup
    FOR EACH ROW WHEN (NEW.dimension = 'till' AND NEW.shop_id <> '*')
    EXECUTE FUNCTION till_day_sold();
CREATE OR REPLACE FUNCTION till_day_closed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM till_days_without_z WHERE till_id = NEW.till_id AND day = NEW.day;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER daily_entries_till_day_closed AFTER INSERT ON daily_entries
    FOR EACH ROW EXECUTE FUNCTION till_day_closed();
