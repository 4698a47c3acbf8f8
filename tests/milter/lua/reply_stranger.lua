-- a reply address used by someone else than its owner: accepted at RCPT
-- exactly as for the owner (a refusal would say who owns it), then
-- discarded at end of message, nothing changed, nothing sent; its owner
-- gets a "reply_refused" event (miltertest.test checks it)
local conn = begin("<mallory@evil.example>")
rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "stranger: accepted at RCPT")
eom_body(conn, {
	{ "Authentication-Results", "mx.alias.test; dmarc=pass header.from=evil.example" },
	{ "From", "Mallory <mallory@evil.example>" },
	{ "To", REPLY .. "@" .. DOMAIN },
	{ "Subject", "who owns this?" },
}, "probe\r\n")
want(conn, SMFIR_DISCARD, "stranger: discarded at end of message")
check(not mt.eom_check(conn, MT_HDRCHANGE), "stranger: nothing changed")
check(not mt.eom_check(conn, MT_BODYCHANGE), "stranger: body not replaced")
mt.disconnect(conn)

-- the verifier did not run: the same 451 for a stranger as for the owner
for _, who in ipairs({ "mallory@evil.example", OWNER }) do
	local conn = begin("<" .. who .. ">")
	rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, who .. ": RCPT")
	eom_body(conn, {
		{ "From", who },
		{ "To", REPLY .. "@" .. DOMAIN },
		{ "Subject", "no verifier" },
	}, "probe\r\n")
	want_smtp(conn, "451", "4.3.0", "sender authentication unavailable, try again later",
	    who .. ": no Authentication-Results")
	mt.disconnect(conn)
end

-- encrypted content from a stranger: discarded like any other, never the
-- 550 the owner would get (which would tell the stranger who owns it)
local conn = begin("<mallory@evil.example>")
rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "stranger, encrypted: RCPT")
eom_body(conn, {
	{ "Authentication-Results", "mx.alias.test; dmarc=none header.from=evil.example" },
	{ "From", "mallory@evil.example" },
	{ "To", REPLY .. "@" .. DOMAIN },
	{ "Subject", "sealed" },
	{ "MIME-Version", "1.0" },
	{ "Content-Type", "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"" },
}, "--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e\r\n" ..
    "Content-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nxx\r\n" ..
    "-----END PGP MESSAGE-----\r\n--e--\r\n")
want(conn, SMFIR_DISCARD, "stranger, encrypted: discarded, not refused")
mt.disconnect(conn)
