-- a body larger than milter_max_size (100k in the test configuration)
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
check(headers(conn, std_headers("news@shop.example", A1 .. "@" .. DOMAIN, "big")) == SMFIR_CONTINUE, "headers")
local line = string.rep("x", 998) .. "\r\n"
local chunk = string.rep(line, 50)
local got = SMFIR_CONTINUE
for i = 1, 4 do
	got = body(conn, chunk)
	if got ~= SMFIR_CONTINUE then break end
end
check(got == SMFIR_REPLYCODE, "refused past the size limit")
mt.disconnect(conn)
