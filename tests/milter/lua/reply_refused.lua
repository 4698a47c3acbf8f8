-- what the owner's reply holds can refuse it, with 550 5.7.1 and a text
-- the owner's own server puts into the bounce it sends them: encrypted
-- content (it cannot be checked, and it names a key), inline PGP, and
-- the owner's address where it cannot be replaced (an attachment)
local ar = "mx.alias.test; dmarc=pass header.from=real.test"
local B64_OWNER = "b3duZXJAcmVhbC50ZXN0"	-- base64 of owner@real.test
local cases = {
	{ "multipart/encrypted", "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"",
	    "--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e\r\n" ..
	    "Content-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nxx\r\n" ..
	    "-----END PGP MESSAGE-----\r\n--e--\r\n",
	    "Encrypted mail cannot be sent through an alias: send the reply unencrypted" },
	{ "application/pkcs7-mime", "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
	    "MIAGCSqGSIb3DQEHA6CAMIACAQAxggFA\r\n",
	    "Encrypted mail cannot be sent through an alias: send the reply unencrypted" },
	{ "inline PGP", "text/plain; charset=us-ascii",
	    "-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nhello\r\n" ..
	    "-----BEGIN PGP SIGNATURE-----\r\nxx\r\n-----END PGP SIGNATURE-----\r\n",
	    "Inline PGP names your key: send the reply without it" },
	{ "the address in an attachment", "multipart/mixed; boundary=\"m\"",
	    "--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--m\r\n" ..
	    "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" ..
	    B64_OWNER .. "\r\n--m--\r\n",
	    "The reply still shows your own address: remove it and send again" },
}
for _, c in ipairs(cases) do
	local conn = begin("<" .. OWNER .. ">")
	rcpt(conn, "<" .. REPLY .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, c[1] .. ": RCPT")
	local h = {
		{ "Authentication-Results", ar },
		{ "From", OWNER },
		{ "To", REPLY .. "@" .. DOMAIN },
		{ "Subject", "Re: " .. c[1] },
		{ "MIME-Version", "1.0" },
		{ "Content-Type", c[2] },
	}
	if c[1] == "application/pkcs7-mime" then
		table.insert(h, { "Content-Transfer-Encoding", "base64" })
	end
	eom_body(conn, h, c[3])
	want_smtp(conn, "550", "5.7.1", c[4], c[1])
	check(not mt.eom_check(conn, MT_HDRCHANGE), c[1] .. ": nothing changed")
	mt.disconnect(conn)
end
