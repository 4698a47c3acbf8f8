-- 002_alias_list.sql - version 2: an index in the alias list's order
--
-- The dashboard lists a user's live aliases ORDER BY created, token; with
-- this index SQLite reads them in order instead of sorting them.

CREATE INDEX IF NOT EXISTS aliases_list ON aliases(user_id, created, token);
