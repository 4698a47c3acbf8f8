-- envelope and From must both be the owner's (case aside), From with one
-- mailbox in one field: anything else is discarded at end of message,
-- nothing changed (with a trusted Authentication-Results, so that the
-- sender is what decides)
local ar = "mx.alias.test; dmarc=pass header.from=real.test"
local cases = {
	{ "the owner's envelope, someone else's From", OWNER,
	    { { "From", "mallory@evil.example" } } },
	{ "someone else's envelope, the owner's From", "mallory@evil.example",
	    { { "From", OWNER } } },
	{ "From with the owner and another mailbox", OWNER,
	    { { "From", OWNER .. ", mallory@evil.example" } } },
	{ "two From fields", OWNER,
	    { { "From", OWNER }, { "From", "mallory@evil.example" } } },
	{ "no From", OWNER, {} },
	{ "a group as From", OWNER, { { "From", "owners: " .. OWNER .. ";" } } },
}
for _, c in ipairs(cases) do
	local conn = begin("<" .. c[2] .. ">")
	rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, c[1] .. ": RCPT")
	local h = { { "Authentication-Results", ar } }
	for _, f in ipairs(c[3]) do
		table.insert(h, f)
	end
	table.insert(h, { "To", REPLY .. "@" .. DOMAIN })
	table.insert(h, { "Subject", "forged" })
	eom_body(conn, h, "hi\r\n")
	want(conn, SMFIR_DISCARD, c[1] .. ": discarded")
	check(not mt.eom_check(conn, MT_HDRCHANGE), c[1] .. ": nothing changed")
	mt.disconnect(conn)
end

-- the owner's address in another case is the owner's
local conn = begin("<" .. OWNER:upper() .. ">")
rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "upper case: RCPT")
eom_body(conn, {
	{ "Authentication-Results", "MX.ALIAS.TEST; DMARC=PASS header.from=REAL.TEST" },
	{ "From", "Owner <" .. OWNER:upper() .. ">" },
	{ "To", REPLY .. "@" .. DOMAIN },
	{ "Subject", "case" },
}, "hi\r\n")
want(conn, SMFIR_CONTINUE, "the owner's address in upper case: sent")
check(mt.eom_check(conn, MT_HDRCHANGE, "From", A1 .. "@" .. DOMAIN), "upper case: From is the alias")
mt.disconnect(conn)
