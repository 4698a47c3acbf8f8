-- a second, different alias in the same transaction: 452 4.5.3
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "first alias")
rcpt(conn, "<" .. A1:upper() .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "same alias again, other case")
rcpt(conn, "<" .. A2 .. "@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "second alias refused")
rcpt(conn, "<someone@elsewhere.example>", SMFIR_REPLYCODE, "other domain beside an alias refused")
mt.disconnect(conn)
-- and the other way round: other domain first, then an alias
conn = begin("<news@shop.example>")
rcpt(conn, "<someone@elsewhere.example>", SMFIR_CONTINUE, "other domain alone")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "alias beside other domain refused")
mt.disconnect(conn)
