-- Stock per shop and product: besides on hand (level), what is in transit towards the shop and
-- reserved for click & collect orders waiting there, and the start of the latest count applied.
-- Every change is a row of stock_movements (append-only) with its kind and the record or web
-- order it comes from, so a level is the sum of its movements.
ALTER TABLE stock_levels ADD COLUMN in_transit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stock_levels ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stock_levels ADD COLUMN counted_at TEXT;
CREATE TABLE stock_movements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    unit TEXT NOT NULL,
    kind TEXT NOT NULL,
    on_hand INTEGER NOT NULL,
    in_transit INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX stock_movements_by_line ON stock_movements (shop_id, product_id, unit, at);
-- A web order's reservation is found by its source (`web_orders/<id>`).
CREATE INDEX stock_movements_by_source ON stock_movements (source);
CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements
BEGIN SELECT RAISE(ABORT, 'stock movements are append-only'); END;
CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements
BEGIN SELECT RAISE(ABORT, 'stock movements are append-only'); END;
-- Handsets by IMEI: where each is and whether it is in stock, sold or in transit, and the
-- record that last moved it.
CREATE TABLE stock_serials (
    imei TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL
);
