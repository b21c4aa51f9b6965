-- Regions: a shop in at most one, a regional manager bound to one. Records by time, for
-- a shop's tickets of a day.
CREATE TABLE regions (id TEXT PRIMARY KEY, name TEXT NOT NULL);
ALTER TABLE shops ADD COLUMN region_id TEXT REFERENCES regions(id);
ALTER TABLE users ADD COLUMN region_id TEXT REFERENCES regions(id);
CREATE INDEX shops_by_region ON shops (region_id);
CREATE INDEX records_by_time ON records (till_id, chain, at);
