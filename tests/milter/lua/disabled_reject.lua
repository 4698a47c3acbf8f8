-- a disabled alias whose owner chose reject: 550 at RCPT
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. AREJ .. "@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "disabled alias rejected")
mt.disconnect(conn)
