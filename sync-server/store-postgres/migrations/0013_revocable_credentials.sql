-- Revocable credentials. Users' API tokens get their own table with an expiry; the token
-- each user was created with moves there, valid 90 more days. Revoked tills and web shops
-- say when.
CREATE TABLE user_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_id);
INSERT INTO user_tokens (token_hash, user_id, created_at, expires_at)
SELECT token_hash, id,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char((now() AT TIME ZONE 'UTC') + interval '90 days', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
FROM users;
ALTER TABLE users DROP COLUMN token_hash;
CREATE INDEX sessions_by_user ON sessions (user_id);
ALTER TABLE tills ADD COLUMN revoked_at TEXT;
ALTER TABLE webshops ADD COLUMN revoked_at TEXT;
