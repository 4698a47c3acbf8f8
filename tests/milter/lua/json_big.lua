-- a JSON part over 64 KiB is no notification: it is kept as a blob like
-- any other part (the driver checks ABIG's owner has no queue entry and
-- one application/json blob)
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. ABIG .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
local h = std_headers("news@shop.example", ABIG .. "@" .. DOMAIN, "bigjson")
table.insert(h, { "MIME-Version", "1.0" })
table.insert(h, { "Content-Type", "multipart/mixed; boundary=\"J\"" })
local big = "{\"pad\":\"" .. string.rep("x", 70 * 1024) .. "\"}"
eom_body(conn, h, "--J\r\nContent-Type: text/plain\r\n\r\nbig data\r\n" ..
    "--J\r\nContent-Type: application/json\r\n\r\n" .. big .. "\r\n--J--\r\n")
want(conn, SMFIR_CONTINUE, "end of message")
check(mt.eom_check(conn, MT_BODYCHANGE), "body replaced")
mt.disconnect(conn)
