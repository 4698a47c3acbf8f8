-- the owner replies: From becomes the alias, To the site, traces removed,
-- envelope sender changed (with a dmarc=pass from the trusted
-- milter_trusted_authserv, mx.alias.test in the test configuration)
local conn = begin("<" .. OWNER .. ">")
rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "reply address from its owner")
local h = {
	{ "Received", "from [10.0.0.5] (home.real.test [198.51.100.9]) by mail.real.test" },
	{ "From", "Real Owner <" .. OWNER .. ">" },
	{ "To", "\"Shop via BIPostal\" <" .. REPLY .. "@" .. DOMAIN .. ">" },
	{ "Subject", "Re: your order" },
	{ "User-Agent", "Mutt/2.2" },
	{ "X-Originating-IP", "[198.51.100.9]" },
	{ "X-Note", "write to " .. OWNER },
	{ "Authentication-Results", "mx.alias.test; dkim=pass; dmarc=pass header.from=real.test" },
}
check(headers(conn, h) == SMFIR_CONTINUE, "headers")
check(body(conn, "Where is my parcel?\r\n") == SMFIR_CONTINUE, "body")
check(mt.eom(conn) == nil, "eom")
want(conn, SMFIR_CONTINUE, "end of message")
check(mt.eom_check(conn, MT_HDRCHANGE, "From", A1 .. "@" .. DOMAIN), "From is the alias")
check(mt.eom_check(conn, MT_HDRCHANGE, "To", "news@shop.example"), "To is the site")
check(mt.eom_check(conn, MT_HDRDELETE, "Received"), "Received removed")
check(mt.eom_check(conn, MT_HDRDELETE, "User-Agent"), "User-Agent removed")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Originating-IP"), "X-Originating-IP removed")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Note"), "header naming the owner removed")
check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"),
    "Authentication-Results removed")
check(not mt.eom_check(conn, MT_BODYCHANGE), "body untouched")
mt.disconnect(conn)
