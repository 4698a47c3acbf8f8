-- 005_contacts.sql - version 5: senders an alias's owner blocked
--
-- One row per (alias, pattern): pattern is a whole address,
-- "local@domain", or a whole domain, "@domain" (that domain exactly, not
-- its subdomains), folded to lower case.  The milter refuses or
-- discards mail to the alias from a sender that matches (store_block_match).
-- An alias's contacts need no table: they are its reply addresses
-- (replies, one per (alias, sender)).  Purge drops the blocks of the
-- aliases it drops.

CREATE TABLE IF NOT EXISTS blocks (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	alias		TEXT NOT NULL,
	pattern		TEXT NOT NULL,
	created		INTEGER NOT NULL,
	UNIQUE (alias, pattern)
);
