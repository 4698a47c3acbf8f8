-- more headers than milter_max_headers (50 in the test configuration)
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
local h = std_headers("news@shop.example", A1 .. "@" .. DOMAIN, "headers")
for i = 1, 60 do
	table.insert(h, { "X-Filler-" .. i, "value" })
end
check(headers(conn, h) == SMFIR_REPLYCODE, "refused past the header limit")
mt.disconnect(conn)
