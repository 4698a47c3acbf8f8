-- 004_api_keys.sql - version 4: per-user API keys
--
-- A key is made by the store (store_apikey_create), shown to its owner
-- once and never kept: hash is the hex SHA-256 of the key, which is 256
-- bits from the OS random source, so a fast hash is enough.  scope 0 =
-- create (may only create aliases), 1 = full (the owner's aliases, queue
-- and events too).  revoked is when it was revoked, 0 = live; a revoked
-- key's row stays, so its hash is never taken again.  last_used is
-- written at most once a minute.  Safe to run twice.

CREATE TABLE IF NOT EXISTS api_keys (
	id		BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	user_id		BIGINT NOT NULL,
	name		VARCHAR(64) NOT NULL,
	scope		TINYINT NOT NULL DEFAULT 0,
	hash		CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	created		BIGINT NOT NULL,
	last_used	BIGINT NOT NULL DEFAULT 0,
	revoked		BIGINT NOT NULL DEFAULT 0,
	UNIQUE KEY api_keys_hash (hash),
	KEY api_keys_user (user_id, revoked)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
