-- 005_contacts.sql - version 5: senders an alias's owner blocked
--
-- One row per (alias, pattern): pattern is a whole address,
-- "local@domain", or a whole domain, "@domain" (that domain exactly, not
-- its subdomains), folded to lower case.  The milter refuses or
-- discards mail to the alias from a sender that matches (store_block_match).
-- An alias's contacts need no table: they are its reply addresses
-- (replies, one per (alias, sender)).  Purge drops the blocks of the
-- aliases it drops.  Safe to run twice.

CREATE TABLE IF NOT EXISTS blocks (
	id		BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	alias		VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	pattern		VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	created		BIGINT NOT NULL,
	UNIQUE KEY blocks_alias_pattern (alias, pattern)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
