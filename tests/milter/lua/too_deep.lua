-- MIME nesting deeper than milter_max_depth: 554 5.6.0 at end of data
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
local h = std_headers("news@shop.example", A1 .. "@" .. DOMAIN, "deep")
table.insert(h, { "MIME-Version", "1.0" })
table.insert(h, { "Content-Type", "multipart/mixed; boundary=\"D0\"" })
check(headers(conn, h) == SMFIR_CONTINUE, "headers")
local b = ""
for i = 1, 30 do
	b = b .. "--D" .. (i - 1) .. "\r\nContent-Type: multipart/mixed; boundary=\"D" .. i .. "\"\r\n\r\n"
end
b = b .. "--D30\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--D30--\r\n"
for i = 29, 0, -1 do
	b = b .. "--D" .. i .. "--\r\n"
end
check(body(conn, b) == SMFIR_CONTINUE, "body")
check(mt.eom(conn) == nil, "eom")
want_smtp(conn, "554", "5.6.0", "MIME nesting too deep", "refused")
check(not mt.eom_check(conn, MT_BODYCHANGE), "nothing changed")
mt.disconnect(conn)
