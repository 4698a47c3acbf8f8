-- the owner's envelope but someone else's From: 550 5.7.1 at end of data
local conn = begin("<" .. OWNER .. ">")
rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
check(headers(conn, std_headers("mallory@evil.example", REPLY .. "@" .. DOMAIN, "forged")) == SMFIR_CONTINUE, "headers")
check(body(conn, "hi\r\n") == SMFIR_CONTINUE, "body")
check(mt.eom(conn) == nil, "eom")
want_smtp(conn, "550", "5.7.1",
    "Reply addresses accept mail only from their owner", "rejected")
check(not mt.eom_check(conn, MT_HDRCHANGE), "nothing changed")
mt.disconnect(conn)
