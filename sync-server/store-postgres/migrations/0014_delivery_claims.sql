-- Several servers over one database: a delivery is claimed by one of them (`claimed_by`,
-- see `sync_server::feeds::replica_id`) until `claimed_until`, when another may take it over.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until TEXT;
