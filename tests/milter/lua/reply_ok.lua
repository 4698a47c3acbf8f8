-- the owner replies (with a dmarc=pass from the trusted verifier,
-- milter_trusted_authserv = mx.alias.test in the test configuration):
-- From becomes the alias and To the site; the fields a reply keeps are
-- Subject, Date (in UTC), Message-ID (new), In-Reply-To and References
-- (the owner's ids mapped), MIME-Version and the top part's Content-*;
-- every other field goes; the envelope sender becomes the alias
local conn = begin("<" .. OWNER .. ">")
rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "reply address from its owner")
local h = {
	{ "Received", "from [10.0.0.5] (home.real.test [198.51.100.9]) by mail.real.test" },
	{ "Authentication-Results", "mx.alias.test; dkim=pass header.d=real.test; dmarc=pass (p=reject) header.from=real.test" },
	{ "DKIM-Signature", "v=1; a=rsa-sha256; d=real.test; s=s1; b=abc" },
	{ "From", "Real Owner <" .. OWNER .. ">" },
	{ "To", "\"Shop via BIPostal\" <" .. REPLY .. "@" .. DOMAIN .. ">" },
	{ "Cc", "friend@else.example" },
	{ "Subject", "Re: your order" },
	{ "Date", "Sun, 22 Nov 2026 22:00:00 +0100" },
	{ "Message-ID", "<abc.123@mail.real.test>" },
	{ "In-Reply-To", "<order-1@shop.example>" },
	{ "References", "<earlier@real.test> <order-1@shop.example>" },
	{ "MIME-Version", "1.0 (Mac OS X Mail 16.0)" },
	{ "User-Agent", "Mutt/2.2" },
	{ "Organization", "Owner Inc." },
	{ "Autocrypt", "addr=" .. OWNER .. "; keydata=AAAA" },
	{ "X-Originating-IP", "[198.51.100.9]" },
	{ "X-Note", "write to " .. OWNER },
}
check(headers(conn, h) == SMFIR_CONTINUE, "headers")
check(body(conn, "Where is my parcel?\r\n") == SMFIR_CONTINUE, "body")
check(mt.eom(conn) == nil, "eom")
want(conn, SMFIR_CONTINUE, "end of message")
check(mt.eom_check(conn, MT_HDRCHANGE, "From", A1 .. "@" .. DOMAIN), "From is the alias")
check(mt.eom_check(conn, MT_HDRCHANGE, "To", "news@shop.example"), "To is the site")
for _, n in ipairs({ "Received", "Authentication-Results", "DKIM-Signature",
    "Cc", "User-Agent", "Organization", "Autocrypt", "X-Originating-IP",
    "X-Note" }) do
	check(mt.eom_check(conn, MT_HDRDELETE, n), n .. " removed")
end
check(not mt.eom_check(conn, MT_HDRCHANGE, "Subject"), "Subject kept as it was")
check(mt.eom_check(conn, MT_HDRCHANGE, "Date", "Sun, 22 Nov 2026 21:00:00 +0000"),
    "Date: the same instant, in UTC")
check(mt.eom_check(conn, MT_HDRCHANGE, "Message-ID"), "Message-ID replaced")
check(not mt.eom_check(conn, MT_HDRCHANGE, "Message-ID", "<abc.123@mail.real.test>"),
    "... by another one")
check(mt.eom_check(conn, MT_HDRCHANGE, "In-Reply-To", "<order-1@shop.example>"),
    "In-Reply-To: the site's id kept")
check(mt.eom_check(conn, MT_HDRCHANGE, "References"), "References rewritten")
check(not mt.eom_check(conn, MT_HDRCHANGE, "References",
    "<earlier@real.test> <order-1@shop.example>"), "... the owner's id mapped")
check(mt.eom_check(conn, MT_HDRCHANGE, "MIME-Version", "1.0"),
    "MIME-Version without the client's name")
check(not mt.eom_check(conn, MT_HDRADD), "nothing added")
check(not mt.eom_check(conn, MT_BODYCHANGE), "body untouched")
mt.disconnect(conn)
