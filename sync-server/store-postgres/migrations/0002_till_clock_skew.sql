ALTER TABLE tills ADD COLUMN clock_skew_ms BIGINT;
