-- forged, expired and malformed bounce addresses: 550 5.1.1 at RCPT
-- (the driver checks the code and the reason in the log)
local conn = begin("<>")
rcpt(conn, "<" .. BOUNCE_FORGED .. ">", SMFIR_REPLYCODE, "forged bounce address")
rcpt(conn, "<" .. BOUNCE_OLD .. ">", SMFIR_REPLYCODE, "expired bounce address")
rcpt(conn, "<bounce+1+" .. ABNC .. "+00@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "malformed bounce address")
rcpt(conn, "<bounce@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "bare bounce@")
mt.disconnect(conn)
