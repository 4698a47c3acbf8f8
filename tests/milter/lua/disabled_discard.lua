-- a disabled alias whose owner chose discard: accepted, then discarded
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. ADIS .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "disabled alias accepted at RCPT")
check(headers(conn, std_headers("news@shop.example", ADIS .. "@" .. DOMAIN, "discard")) == SMFIR_CONTINUE, "headers")
check(body(conn, "nobody reads this\r\n") == SMFIR_CONTINUE, "body")
check(mt.eom(conn) == nil, "eom")
want(conn, SMFIR_DISCARD, "discarded at end of message")
mt.disconnect(conn)
