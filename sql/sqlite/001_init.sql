-- 001_init.sql - the BIPostal schema for SQLite, version 1
--
-- Applied by sql_sqlite.c on open (and by "bipostalctl migrate") inside
-- one BEGIN IMMEDIATE transaction, then recorded in schema_version.  The
-- MySQL schema in sql/mysql/ has the same tables and columns.
-- Times are Unix seconds; 0 means "never" / "none".
-- Enumerations: users.status 0 active, 1 revoked; aliases.status 0 active,
-- 1 inactive, 2 deleted; disabled_action 0 discard, 1 reject;
-- content_policy 0 strip, 1 keep.

CREATE TABLE users (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	queue_id	TEXT NOT NULL UNIQUE,
	email		TEXT NOT NULL,
	pwhash		TEXT NOT NULL DEFAULT '',
	totp		TEXT NOT NULL DEFAULT '',
	status		INTEGER NOT NULL DEFAULT 0,
	is_admin	INTEGER NOT NULL DEFAULT 0,
	node_id		INTEGER NOT NULL DEFAULT 0,
	disabled_action	INTEGER NOT NULL DEFAULT 0,
	content_policy	INTEGER NOT NULL DEFAULT 0,
	queue_idx	INTEGER NOT NULL DEFAULT 0,	-- last queue index given
	created		INTEGER NOT NULL
);

-- Login names (emails, external subjects), lower case.
CREATE TABLE identities (
	ident		TEXT PRIMARY KEY,
	user_id		INTEGER NOT NULL REFERENCES users(id)
);
CREATE INDEX identities_user ON identities(user_id);

CREATE TABLE aliases (
	token		TEXT PRIMARY KEY,
	user_id		INTEGER NOT NULL REFERENCES users(id),
	origin		TEXT NOT NULL,
	status		INTEGER NOT NULL DEFAULT 0,
	created		INTEGER NOT NULL,
	updated		INTEGER NOT NULL,
	deleted_at	INTEGER NOT NULL DEFAULT 0,
	expires_at	INTEGER NOT NULL DEFAULT 0,
	context		BLOB NOT NULL DEFAULT x'',
	forwarded	INTEGER NOT NULL DEFAULT 0,
	blocked		INTEGER NOT NULL DEFAULT 0,
	replied		INTEGER NOT NULL DEFAULT 0,
	last_seen	INTEGER NOT NULL DEFAULT 0
);
-- At most one live (not deleted) alias per user and origin: two processes
-- racing to create one end with a single row.
CREATE UNIQUE INDEX aliases_live ON aliases(user_id, origin) WHERE status != 2;
CREATE INDEX aliases_user ON aliases(user_id, status);
CREATE INDEX aliases_deleted ON aliases(status, deleted_at);

-- Reply addresses: one token per (alias, external sender).
CREATE TABLE replies (
	token		TEXT PRIMARY KEY,
	alias		TEXT NOT NULL,
	sender		TEXT NOT NULL,
	created		INTEGER NOT NULL,
	UNIQUE (alias, sender)
);

-- Notification queue; idx is per user, strictly increasing (users.queue_idx).
CREATE TABLE queue (
	user_id		INTEGER NOT NULL,
	idx		INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL,
	data		BLOB NOT NULL,
	PRIMARY KEY (user_id, idx)
);
CREATE INDEX queue_expires ON queue(expires_at);

-- Parts stripped from forwarded mail, kept for download until expires_at.
CREATE TABLE blobs (
	id		TEXT PRIMARY KEY,
	user_id		INTEGER NOT NULL,
	alias		TEXT NOT NULL,
	name		TEXT NOT NULL,
	type		TEXT NOT NULL,
	size		INTEGER NOT NULL,
	data		BLOB NOT NULL,
	expires_at	INTEGER NOT NULL
);
CREATE INDEX blobs_expires ON blobs(expires_at);

-- Queue hosts (Tokenserver node assignment).
CREATE TABLE nodes (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	host		TEXT NOT NULL,
	port		INTEGER NOT NULL,
	capacity	INTEGER NOT NULL,
	current_load	INTEGER NOT NULL DEFAULT 0,
	available	INTEGER NOT NULL DEFAULT 0,
	downed		INTEGER NOT NULL DEFAULT 0,
	draining	INTEGER NOT NULL DEFAULT 0,
	UNIQUE (host, port)
);

-- Durable per-user event stream (served as SSE by the dash).
CREATE TABLE events (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id		INTEGER NOT NULL,
	type		TEXT NOT NULL,
	data		TEXT NOT NULL,
	created		INTEGER NOT NULL
);
CREATE INDEX events_user ON events(user_id, id);
CREATE INDEX events_created ON events(created);
