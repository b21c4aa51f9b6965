-- Records' bodies and outbox envelopes past about 2 kB (a quarter of the tickets, most stock
-- events) are compressed as they are written: with lz4 rather than the default pglz, which
-- took about a seventh of the database's CPU in a catch-up (BENCHMARKS.md). Rows already
-- written keep their compression. A server built without lz4 keeps pglz.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE records ALTER COLUMN body SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE outbox ALTER COLUMN envelope SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END
$$;
