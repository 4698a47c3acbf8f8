-- an attachment goes into a blob, a JSON part into the owner's queue
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A2 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
local h = std_headers("news@shop.example", A2 .. "@" .. DOMAIN, "attachment")
table.insert(h, { "MIME-Version", "1.0" })
table.insert(h, { "Content-Type", "multipart/mixed; boundary=\"M\"" })
check(headers(conn, h) == SMFIR_CONTINUE, "headers")
check(body(conn, "--M\r\nContent-Type: text/plain\r\n\r\ninvoice attached\r\n" ..
    "--M\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSVFT0YK\r\n" ..
    "--M\r\nContent-Type: application/json\r\n\r\n{\"order\":1234}\r\n--M--\r\n") == SMFIR_CONTINUE, "body")
check(mt.eom(conn) == nil, "eom")
want(conn, SMFIR_CONTINUE, "end of message")
check(mt.eom_check(conn, MT_BODYCHANGE), "body replaced")
mt.disconnect(conn)
