-- with milter_trusted_authserv set (mx.alias.test in the test
-- configuration) only the topmost Authentication-Results field counts:
-- not the trusted verifier's (or none at all): 451 4.3.0, the verifier did
-- not run; its dmarc=pass for the owner's domain or dmarc=none (no policy
-- published): the envelope and From decide; dmarc=fail, or a verdict on
-- another domain: discarded; temperror, permerror, anything else or no
-- dmarc result: 451 4.3.0
local T, D, C = "tempfail", "discard", "continue"
local cases = {
	{ "no Authentication-Results", {}, T },
	{ "another server's dmarc=pass", { "evil.example; dmarc=pass header.from=real.test" }, T },
	{ "a lookalike server name", { "mx.alias.test.evil.example; dmarc=pass header.from=real.test" }, T },
	{ "a quoted-pair in the server name", { "\"mx.alias\\.test\"; dmarc=pass header.from=real.test" }, T },
	{ "another server's on top of the trusted one's",
	    { "evil.example; dmarc=pass header.from=real.test", "mx.alias.test; dmarc=pass header.from=real.test" }, T },
	{ "the trusted server's dmarc=fail", { "mx.alias.test; dmarc=fail header.from=real.test" }, D },
	{ "a forged pass below the trusted fail",
	    { "mx.alias.test; dmarc=fail header.from=real.test", "mx.alias.test; dmarc=pass header.from=real.test" }, D },
	{ "dmarc=pass for another domain", { "mx.alias.test; dmarc=pass header.from=evil.example" }, D },
	{ "dmarc=temperror", { "mx.alias.test; dmarc=temperror header.from=real.test" }, T },
	{ "dmarc=permerror", { "mx.alias.test; dmarc=permerror header.from=real.test" }, T },
	{ "no dmarc result", { "mx.alias.test; spf=pass smtp.mailfrom=real.test" }, T },
	{ "none at all", { "mx.alias.test; none" }, T },
	{ "unreadable", { "mx.alias.test; dmarc=pass (unclosed header.from=real.test" }, T },
	{ "dmarc=none, with comments and a version", { "(verifier) mx.alias.test 1; dmarc = none (p=none) header . from = real.test" }, C },
}
for _, c in ipairs(cases) do
	local conn = begin("<" .. OWNER .. ">")
	rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, c[1] .. ": RCPT")
	local h = {}
	for _, v in ipairs(c[2]) do
		table.insert(h, { "Authentication-Results", v })
	end
	table.insert(h, { "From", "Real Owner <" .. OWNER .. ">" })
	table.insert(h, { "To", REPLY .. "@" .. DOMAIN })
	table.insert(h, { "Subject", "Re: your order" })
	eom_body(conn, h, "Where is my parcel?\r\n")
	if c[3] == T then
		want_smtp(conn, "451", "4.3.0",
		    "sender authentication unavailable, try again later", c[1])
		check(not mt.eom_check(conn, MT_HDRCHANGE), c[1] .. ": nothing changed")
	elseif c[3] == D then
		want(conn, SMFIR_DISCARD, c[1] .. ": discarded")
		check(not mt.eom_check(conn, MT_HDRCHANGE), c[1] .. ": nothing changed")
	else
		want(conn, SMFIR_CONTINUE, c[1] .. ": sent")
		check(mt.eom_check(conn, MT_HDRCHANGE, "From", A1 .. "@" .. DOMAIN),
		    c[1] .. ": From is the alias")
		check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"),
		    c[1] .. ": Authentication-Results removed")
	end
	mt.disconnect(conn)
end
