-- A web order's reservation is found by its source among the movements that reserve or
-- release: a partial index over them only (queries add `reserved <> 0`, which leaves the sum of
-- `reserved` unchanged), so a ticket's movements, nearly all of them, are not indexed by source.
DROP INDEX stock_movements_by_source;
CREATE INDEX stock_movements_reserving ON stock_movements (source) WHERE reserved <> 0;
