-- Which shop and till made a customer's stored change of details, and when head office
-- received it (see `pos_hq_core::crm::ContactOrigin`).
ALTER TABLE customers ADD COLUMN contact_shop_id TEXT;
ALTER TABLE customers ADD COLUMN contact_till_id TEXT;
ALTER TABLE customers ADD COLUMN contact_received_at TEXT;
