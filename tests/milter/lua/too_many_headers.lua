-- more headers than milter_max_headers (50 in the test configuration):
-- 552 5.3.4, at the header (or at end of message when the MTA agreed to
-- send headers without waiting for replies)
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
local h = std_headers("news@shop.example", A1 .. "@" .. DOMAIN, "headers")
for i = 1, 60 do
	table.insert(h, { "X-Filler-" .. i, "value" })
end
local got = headers(conn, h)
if got ~= SMFIR_REPLYCODE then
	body(conn, "x\r\n")
	check(mt.eom(conn) == nil, "eom")
	got = mt.getreply(conn)
end
check(got == SMFIR_REPLYCODE, "refused past the header limit")
check(not mt.eom_check(conn, MT_BODYCHANGE), "nothing changed")
mt.disconnect(conn)
