-- Claims of deliveries, as on PostgreSQL (one SQLite file has one serving process, so
-- only that process ever claims).
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until TEXT;
