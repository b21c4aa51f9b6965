-- The contact details tills upload (a `pos_domain::customer::Customer` as JSON).
ALTER TABLE customers ADD COLUMN contact TEXT;
CREATE INDEX outbox_by_subject ON outbox (subject);
-- Customers erased here: a till that had not heard of it yet cannot bring them back.
CREATE TABLE erased_customers (id TEXT PRIMARY KEY, erased_at TEXT NOT NULL);
