-- 001_init.sql - the BIPostal schema for MySQL/MariaDB, version 1
--
-- Applied by sql_mysql.c on open (and by "bipostalctl migrate") under
-- GET_LOCK('bipostal_migrate'), then recorded in schema_version; several
-- hosts migrating at once apply it once.  MySQL DDL is not transactional,
-- so every statement is safe to run twice (IF NOT EXISTS).  Same tables
-- and columns as sql/sqlite/001_init.sql.  InnoDB, utf8mb4, binary
-- collation: keys are folded to lower case by store.c, as for SQLite.
-- Statements end with ";" at the end of a line; "--" lines are comments.
-- Times are Unix seconds; 0 means "never" / "none".
-- Enumerations: users.status 0 active, 1 revoked; aliases.status 0 active,
-- 1 inactive, 2 deleted; disabled_action 0 discard, 1 reject;
-- content_policy 0 strip, 1 keep.

CREATE TABLE IF NOT EXISTS users (
	id		BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	queue_id	VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	email		VARCHAR(254) NOT NULL,
	pwhash		VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
	totp		VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
	status		TINYINT NOT NULL DEFAULT 0,
	is_admin	TINYINT NOT NULL DEFAULT 0,
	node_id		BIGINT NOT NULL DEFAULT 0,
	disabled_action	TINYINT NOT NULL DEFAULT 0,
	content_policy	TINYINT NOT NULL DEFAULT 0,
	queue_idx	BIGINT NOT NULL DEFAULT 0,	-- last queue index given
	created		BIGINT NOT NULL,
	UNIQUE KEY users_queue_id (queue_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Login names (emails, external subjects), lower case.
CREATE TABLE IF NOT EXISTS identities (
	ident		VARCHAR(254) NOT NULL PRIMARY KEY,
	user_id		BIGINT NOT NULL,
	KEY identities_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- At most one live (not deleted) alias per user and origin: live_origin is
-- NULL for a deleted alias, and NULLs never collide in a UNIQUE key, so two
-- hosts racing to create one end with a single row.
CREATE TABLE IF NOT EXISTS aliases (
	token		VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
	user_id		BIGINT NOT NULL,
	origin		VARCHAR(253) NOT NULL,
	status		TINYINT NOT NULL DEFAULT 0,
	created		BIGINT NOT NULL,
	updated		BIGINT NOT NULL,
	deleted_at	BIGINT NOT NULL DEFAULT 0,
	expires_at	BIGINT NOT NULL DEFAULT 0,
	context		VARBINARY(4096) NOT NULL DEFAULT '',
	forwarded	BIGINT NOT NULL DEFAULT 0,
	blocked		BIGINT NOT NULL DEFAULT 0,
	replied		BIGINT NOT NULL DEFAULT 0,
	last_seen	BIGINT NOT NULL DEFAULT 0,
	live_origin	VARCHAR(253) AS (IF(status <> 2, origin, NULL)) PERSISTENT,
	UNIQUE KEY aliases_live (user_id, live_origin),
	KEY aliases_user (user_id, status),
	KEY aliases_deleted (status, deleted_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Reply addresses: one token per (alias, external sender).
CREATE TABLE IF NOT EXISTS replies (
	token		VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
	alias		VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	sender		VARCHAR(254) NOT NULL,
	created		BIGINT NOT NULL,
	UNIQUE KEY replies_alias_sender (alias, sender)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Notification queue; idx is per user, strictly increasing (users.queue_idx).
CREATE TABLE IF NOT EXISTS queue (
	user_id		BIGINT NOT NULL,
	idx		BIGINT NOT NULL,
	expires_at	BIGINT NOT NULL,
	data		MEDIUMBLOB NOT NULL,
	PRIMARY KEY (user_id, idx),
	KEY queue_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Parts stripped from forwarded mail, kept for download until expires_at.
CREATE TABLE IF NOT EXISTS blobs (
	id		VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
	user_id		BIGINT NOT NULL,
	alias		VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	name		VARCHAR(255) NOT NULL,
	type		VARCHAR(127) NOT NULL,
	size		BIGINT NOT NULL,
	data		LONGBLOB NOT NULL,
	expires_at	BIGINT NOT NULL,
	KEY blobs_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Queue hosts (Tokenserver node assignment).
CREATE TABLE IF NOT EXISTS nodes (
	id		BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	host		VARCHAR(255) NOT NULL,
	port		INT NOT NULL,
	capacity	INT NOT NULL,
	current_load	INT NOT NULL DEFAULT 0,
	available	INT NOT NULL DEFAULT 0,
	downed		TINYINT NOT NULL DEFAULT 0,
	draining	TINYINT NOT NULL DEFAULT 0,
	UNIQUE KEY nodes_host_port (host, port)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Durable per-user event stream (served as SSE by the dash).
CREATE TABLE IF NOT EXISTS events (
	id		BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	user_id		BIGINT NOT NULL,
	type		VARCHAR(31) NOT NULL,
	data		TEXT NOT NULL,
	created		BIGINT NOT NULL,
	KEY events_user (user_id, id),
	KEY events_created (created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
