-- 003_limits.sql - version 3: what the per-user quotas and the per-alias
-- rate limit read
--
-- blobs_user lets the milter sum a user's kept parts without a scan.
-- rate_limits holds fixed windows of hits per key (an alias's inbound
-- mail when Redis is not configured); purge removes windows older than
-- a day.  Safe to run twice.

CREATE INDEX IF NOT EXISTS blobs_user ON blobs (user_id, expires_at);

CREATE TABLE IF NOT EXISTS rate_limits (
	k		VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
	start		BIGINT NOT NULL,
	count		BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
