-- 003_limits.sql - version 3: what the per-user quotas and the per-alias
-- rate limit read
--
-- blobs_user lets the milter sum a user's kept parts without a scan.
-- rate_limits holds fixed windows of hits per key (an alias's inbound
-- mail when Redis is not configured); purge removes windows older than
-- a day.

CREATE INDEX IF NOT EXISTS blobs_user ON blobs(user_id, expires_at);

CREATE TABLE IF NOT EXISTS rate_limits (
	key		TEXT PRIMARY KEY,
	start		INTEGER NOT NULL,
	count		INTEGER NOT NULL
) WITHOUT ROWID;
