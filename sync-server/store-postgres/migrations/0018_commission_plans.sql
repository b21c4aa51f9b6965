-- Head office's commission plan: a rate (percent, as decimal text) per product or category.
-- Commissions themselves are computed from the stored tickets when asked.
CREATE TABLE commission_rates (
    target TEXT NOT NULL CHECK (target IN ('category', 'product')),
    key TEXT NOT NULL,
    percent TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (target, key)
);
