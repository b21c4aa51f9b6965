INSERT INTO sales_rollup
SELECT '*', day, dimension, key, sum(tickets), sum(quantity), sum(amount_cents), sum(excluding_vat_cents)
FROM sales_rollup WHERE shop_id <> '*' GROUP BY day, dimension, key;
CREATE INDEX sales_rollup_by_shop ON sales_rollup (dimension, shop_id, day);
