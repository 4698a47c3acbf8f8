-- a reply address used by someone else than its owner: 550 5.7.1 at RCPT
local conn = begin("<mallory@evil.example>")
rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "stranger refused")
mt.disconnect(conn)
