-- a body larger than milter_max_size (100k in the test configuration):
-- 552 5.3.4, during the body or at end of message
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
check(headers(conn, std_headers("news@shop.example", A1 .. "@" .. DOMAIN, "big")) ~= SMFIR_REPLYCODE, "headers")
local line = string.rep("x", 998) .. "\r\n"
local chunk = string.rep(line, 50)
local got = SMFIR_CONTINUE
for i = 1, 4 do
	got = body(conn, chunk)
	if got == SMFIR_REPLYCODE then break end
end
if got ~= SMFIR_REPLYCODE then
	check(mt.eom(conn) == nil, "eom")
	got = mt.getreply(conn)
end
check(got == SMFIR_REPLYCODE, "refused past the size limit")
check(not mt.eom_check(conn, MT_BODYCHANGE), "nothing changed")
mt.disconnect(conn)
