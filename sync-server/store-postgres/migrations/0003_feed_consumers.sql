CREATE TABLE feed_consumers (
    name TEXT PRIMARY KEY,
    cursor BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
