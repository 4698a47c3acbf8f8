-- more headers than milter_max_headers (50 in the test configuration):
-- 552 5.3.4, answered at end of message (the milter negotiates away the
-- reply per header)
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
local h = std_headers("news@shop.example", A1 .. "@" .. DOMAIN, "headers")
for i = 1, 60 do
	table.insert(h, { "X-Filler-" .. i, "value" })
end
check(headers(conn, h) == SMFIR_CONTINUE, "headers (answered at the end)")
body(conn, "x\r\n")
check(mt.eom(conn) == nil, "eom")
want_smtp(conn, "552", "5.3.4", "Too many header lines",
    "refused past the header limit")
check(not mt.eom_check(conn, MT_BODYCHANGE), "nothing changed")
mt.disconnect(conn)
