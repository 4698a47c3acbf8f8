-- 002_alias_list.sql - version 2: an index in the alias list's order
--
-- The dashboard lists a user's live aliases ORDER BY created, token; with
-- this index the server reads them in order instead of sorting them.
-- Safe to run twice (IF NOT EXISTS, MariaDB 10.1.4 and later).

CREATE INDEX IF NOT EXISTS aliases_list ON aliases (user_id, created, token);
