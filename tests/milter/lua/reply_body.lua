-- the owner's address leaves the body: in text and HTML at any depth, in
-- any case and spelling; a multipart/signed reply loses its signature;
-- the body is written anew (new boundaries), the top part's Content-*
-- fields with it
local conn = begin("<" .. OWNER .. ">")
rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "RCPT")
local text = "Thanks.\r\n\r\n-- \r\nReal Owner, OWNER@REAL.TEST\r\n\r\n" ..
    "On Sun, 22 Nov 2026, Shop <news@shop.example> wrote:\r\n> your order\r\n"
local html = "<p>Thanks.</p><p><a href=\"mailto:owner%40real.test\">owner&#64;real.test</a></p>"
eom_body(conn, {
	{ "Authentication-Results", "mx.alias.test; dmarc=pass header.from=real.test" },
	{ "From", OWNER },
	{ "To", REPLY .. "@" .. DOMAIN },
	{ "Subject", "Re: order, write to " .. OWNER },
	{ "MIME-Version", "1.0" },
	{ "Content-Type", "multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"s\"" },
},
    "--s\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n" ..
    "--a\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" .. text ..
    "--a\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n" .. html .. "\r\n--a--\r\n" ..
    "--s\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n" ..
    "-----BEGIN PGP SIGNATURE-----\r\nxx\r\n-----END PGP SIGNATURE-----\r\n--s--\r\n")
want(conn, SMFIR_CONTINUE, "end of message")
check(mt.eom_check(conn, MT_BODYCHANGE), "body replaced")
check(mt.eom_check(conn, MT_HDRCHANGE, "Subject", "Re: order, write to " .. A1 .. "@" .. DOMAIN),
    "Subject: the owner's address is the alias")
check(mt.eom_check(conn, MT_HDRDELETE, "Content-Type"), "the old Content-Type goes")
check(mt.eom_check(conn, MT_HDRADD, "Content-Type"), "a new one comes")
local ct = mt.getheader(conn, "Content-Type", 0)
check(ct ~= nil and ct:find("multipart/alternative", 1, true) == 1,
    "the signed content is the body now: " .. tostring(ct))
check(ct ~= nil and not ct:find("boundary=\"?a\"?$"), "with a new boundary: " .. tostring(ct))
mt.disconnect(conn)
