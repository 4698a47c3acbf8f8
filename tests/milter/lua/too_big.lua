-- a body larger than milter_max_size (100k in the test configuration):
-- 552 5.3.4, answered at end of message (no reply per body chunk)
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
check(headers(conn, std_headers("news@shop.example", A1 .. "@" .. DOMAIN, "big")) ~= SMFIR_REPLYCODE, "headers")
local line = string.rep("x", 998) .. "\r\n"
local chunk = string.rep(line, 50)
for i = 1, 4 do
	check(body(conn, chunk) == SMFIR_CONTINUE, "body chunk " .. i)
end
check(mt.eom(conn) == nil, "eom")
want_smtp(conn, "552", "5.3.4", "Message size exceeds fixed limit",
    "refused past the size limit")
check(not mt.eom_check(conn, MT_BODYCHANGE), "nothing changed")
mt.disconnect(conn)
