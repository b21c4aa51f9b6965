-- The logistics spoke. Advance shipping notices as logistics sent them (their canonical JSON),
-- withdrawn or not; the state is derived (received, withdrawn, open), never stored.
CREATE TABLE shipping_notices (
    id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    withdrawn_at TEXT
);
CREATE INDEX shipping_notices_by_shop ON shipping_notices (shop_id, id);
-- The first goods receipt a till recorded against a notice, measured against it (append-only).
CREATE TABLE notice_receipts (
    notice_id TEXT PRIMARY KEY,
    receipt_id TEXT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    lines TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TRIGGER notice_receipts_append_only BEFORE UPDATE OR DELETE ON notice_receipts
    FOR EACH ROW EXECUTE FUNCTION append_only();
-- Drop-folder files applied, by SHA-256, written in the transaction that applied them: a file
-- found again after a crash is recognized and not applied twice.
CREATE TABLE logistics_files (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    notices BIGINT NOT NULL,
    lines BIGINT NOT NULL,
    applied_at TEXT NOT NULL
);
-- Replenishment levels head office sets per shop and product.
CREATE TABLE stock_minmax (
    shop_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    unit TEXT NOT NULL,
    min_level BIGINT NOT NULL,
    max_level BIGINT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (shop_id, product_id, unit)
);
