-- an address of the alias domain that is neither an alias nor a reply
-- address, and a malformed one: 550
local conn = begin("<news@shop.example>")
rcpt(conn, "<nosuchtoken0000@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "unknown token rejected")
rcpt(conn, "<no.such-token@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "malformed token rejected")
mt.disconnect(conn)
