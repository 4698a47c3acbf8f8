-- the store cannot be reached: 451 4.3.0 (tempfail), never a reject
-- (run last by the driver, with the store made unreadable).  miltertest
-- shows the reply text only at end of message: the driver checks the
-- code in the milter's log line "action=tempfail code=451 4.3.0".
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "tempfail while the store is down")
mt.disconnect(conn)
