-- Reply-To: every mailbox becomes its reply address (the driver made
-- them: RT_HELP for help@shop.example, RT_SALES for sales@shop.example),
-- with the original address in the display name
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE)
local h = std_headers("Shop <news@shop.example>", A1 .. "@" .. DOMAIN, "replyto")
table.insert(h, { "Reply-To", "Help Desk <help@shop.example>, sales@shop.example" })
eom_body(conn, h, "Write to us.\r\n")
want(conn, SMFIR_CONTINUE, "end of message")
local want_rt = "\"Help Desk (help@shop.example) via BIPostal\" <" .. RT_HELP ..
    "@" .. DOMAIN .. ">, \"sales@shop.example via BIPostal\" <" .. RT_SALES ..
    "@" .. DOMAIN .. ">"
check(mt.eom_check(conn, MT_HDRCHANGE, "Reply-To", want_rt),
    "Reply-To is the two reply addresses: " .. want_rt)
check(not mt.eom_check(conn, MT_HDRCHANGE, "Reply-To", "Help Desk <help@shop.example>, sales@shop.example"),
    "the original Reply-To is gone")
mt.disconnect(conn)
