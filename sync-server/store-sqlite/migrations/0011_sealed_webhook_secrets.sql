-- Webhook secrets sealed under the server key; those stored before stay in clear until
-- the next start seals them (see `sync_server::server_key`).
ALTER TABLE webhooks ADD COLUMN secret_sealed INTEGER NOT NULL DEFAULT 0;
