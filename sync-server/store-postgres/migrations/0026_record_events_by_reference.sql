-- A record's event is no longer written whole: its outbox row names the record (till, chain,
-- sequence) and the shop it was received for, its envelope is left empty, and the envelope is
-- rendered from the stored record when the outbox is read. A catch-up then writes each
-- record's payload once, not twice (BENCHMARKS.md). Rows written before keep their envelope.
ALTER TABLE outbox ADD COLUMN record_till TEXT;
ALTER TABLE outbox ADD COLUMN record_chain TEXT;
ALTER TABLE outbox ADD COLUMN record_seq BIGINT;
ALTER TABLE outbox ADD COLUMN record_shop TEXT;
