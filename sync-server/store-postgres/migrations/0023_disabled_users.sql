-- Head-office users an admin disabled (issue 14): when, or NULL for an active user. A disabled
-- user cannot log in and no token of theirs is accepted; their journal entries and name stay.
ALTER TABLE users ADD COLUMN disabled_at TEXT;
