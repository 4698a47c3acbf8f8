-- with milter_trusted_authserv set (mx.alias.test in the test
-- configuration), a reply from the owner needs that server's
-- Authentication-Results with dmarc=pass: none, another server's, or a
-- failing one all get 550 5.7.1 and nothing is changed
local cases = {
	{ "no Authentication-Results", nil },
	{ "another server's dmarc=pass", "evil.example; dmarc=pass header.from=real.test" },
	{ "the trusted server's dmarc=fail", "mx.alias.test; dmarc=fail header.from=real.test" },
	{ "a lookalike server name", "mx.alias.test.evil.example; dmarc=pass" },
}
for i, c in ipairs(cases) do
	local conn = begin("<" .. OWNER .. ">")
	rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, c[1] .. ": RCPT")
	local h = {
		{ "From", "Real Owner <" .. OWNER .. ">" },
		{ "To", REPLY .. "@" .. DOMAIN },
		{ "Subject", "Re: your order" },
	}
	if c[2] then
		table.insert(h, { "Authentication-Results", c[2] })
	end
	eom_body(conn, h, "Where is my parcel?\r\n")
	want_smtp(conn, "550", "5.7.1",
	    "Reply addresses accept mail only from their owner", c[1])
	check(not mt.eom_check(conn, MT_HDRCHANGE), c[1] .. ": nothing changed")
	mt.disconnect(conn)
end
