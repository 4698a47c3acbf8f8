-- more MIME parts than the rewrite takes (1000): 554 5.6.0 with its own
-- text, not "nesting too deep"
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
local h = std_headers("news@shop.example", A1 .. "@" .. DOMAIN, "parts")
table.insert(h, { "MIME-Version", "1.0" })
table.insert(h, { "Content-Type", "multipart/mixed; boundary=\"P\"" })
local parts = {}
for i = 1, 1100 do
	parts[#parts + 1] = "--P\r\nContent-Type: text/plain\r\n\r\n" .. i .. "\r\n"
end
parts[#parts + 1] = "--P--\r\n"
eom_body(conn, h, table.concat(parts))
want_smtp(conn, "554", "5.6.0", "Too many MIME parts", "refused")
check(not mt.eom_check(conn, MT_BODYCHANGE), "nothing changed")
mt.disconnect(conn)
