-- 004_api_keys.sql - version 4: per-user API keys
--
-- A key is made by the store (store_apikey_create), shown to its owner
-- once and never kept: hash is the hex SHA-256 of the key, which is 256
-- bits from the OS random source, so a fast hash is enough.  scope 0 =
-- create (may only create aliases), 1 = full (the owner's aliases, queue
-- and events too).  revoked is when it was revoked, 0 = live; a revoked
-- key's row stays, so its hash is never taken again.  last_used is
-- written at most once a minute.

CREATE TABLE IF NOT EXISTS api_keys (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id		INTEGER NOT NULL REFERENCES users(id),
	name		TEXT NOT NULL,
	scope		INTEGER NOT NULL DEFAULT 0,
	hash		TEXT NOT NULL UNIQUE,
	created		INTEGER NOT NULL,
	last_used	INTEGER NOT NULL DEFAULT 0,
	revoked		INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys(user_id, revoked);
