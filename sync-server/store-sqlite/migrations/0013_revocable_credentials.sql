-- Revocable credentials. Users' API tokens get their own table with an expiry; the token
-- each user was created with moves there, valid 90 more days, and `users.token_hash`
-- (NOT NULL UNIQUE, which SQLite cannot drop) keeps a placeholder no token hashes to.
-- Revoked tills and web shops say when.
CREATE TABLE user_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_id);
INSERT INTO user_tokens (token_hash, user_id, created_at, expires_at)
SELECT token_hash, id,
       strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z',
       strftime('%Y-%m-%dT%H:%M:%S', 'now', '+90 days') || '.000000Z'
FROM users;
UPDATE users SET token_hash = 'user_tokens:' || id;
CREATE INDEX sessions_by_user ON sessions (user_id);
ALTER TABLE tills ADD COLUMN revoked_at TEXT;
ALTER TABLE webshops ADD COLUMN revoked_at TEXT;
