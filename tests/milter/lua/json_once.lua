-- the same message with a JSON part twice (a retry after a failure past
-- our answer): one notification for ANOTE's owner, not two (the driver
-- counts); a message with another Message-ID queues its note again
local function send(msgid)
	local conn = begin("<news@shop.example>")
	rcpt(conn, "<" .. ANOTE .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
	local h = std_headers("news@shop.example", ANOTE .. "@" .. DOMAIN, "notes")
	h[5] = { "Message-ID", msgid }
	table.insert(h, { "MIME-Version", "1.0" })
	table.insert(h, { "Content-Type", "multipart/mixed; boundary=\"J\"" })
	eom_body(conn, h, "--J\r\nContent-Type: text/plain\r\n\r\nyour order\r\n" ..
	    "--J\r\nContent-Type: application/json\r\n\r\n{\"order\":77}\r\n--J--\r\n")
	want(conn, SMFIR_CONTINUE, "end of message " .. msgid)
	check(mt.eom_check(conn, MT_BODYCHANGE), "JSON part removed from the mail")
	mt.disconnect(conn)
end
send("<order-77@shop.example>")
send("<order-77@shop.example>")
send("<order-77-reminder@shop.example>")
