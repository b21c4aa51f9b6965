CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO change_counter (id, version) VALUES (1, 0);
CREATE TABLE distribution (
    kind TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    key TEXT NOT NULL,
    version BIGINT NOT NULL UNIQUE,
    data TEXT,
    PRIMARY KEY (kind, shop_id, key)
);
CREATE INDEX distribution_by_shop ON distribution (shop_id, version);
CREATE TABLE webshops (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE
);
CREATE TABLE web_orders (
    id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL REFERENCES shops(id),
    webshop_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (webshop_id, idempotency_key)
);
CREATE INDEX web_orders_by_shop ON web_orders (shop_id, placed_at);
