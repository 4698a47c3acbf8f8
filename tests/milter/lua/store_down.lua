-- the store cannot be reached: 451 4.3.0 (tempfail), never a reject
-- (run last by the driver, with the store made unreadable)
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "tempfail while the store is down")
mt.disconnect(conn)
