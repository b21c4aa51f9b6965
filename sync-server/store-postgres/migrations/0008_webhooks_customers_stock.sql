CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    types TEXT NOT NULL,
    cursor BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE webhook_deliveries (
    webhook_id TEXT NOT NULL REFERENCES webhooks(id),
    cursor BIGINT NOT NULL,
    subject TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    dead_at TEXT,
    PRIMARY KEY (webhook_id, cursor)
);
CREATE INDEX webhook_deliveries_by_subject ON webhook_deliveries (webhook_id, subject, cursor);
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    first_shop_id TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_purchase_at TEXT NOT NULL,
    tickets BIGINT NOT NULL,
    total_cents BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE TABLE stock_levels (
    shop_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    unit TEXT NOT NULL,
    level BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (shop_id, product_id, unit)
);
