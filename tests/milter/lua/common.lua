-- common.lua - shared by every milter test script (prepended with the
-- variables the driver sets: SOCK, DOMAIN, OWNER, the aliases A1, A2,
-- ADIS, AREJ, AREJ2, ANOTE, ABIG, ABNC, the reply addresses REPLY,
-- RT_HELP, RT_SALES and the bounce addresses BOUNCE_OK, BOUNCE_FORGED,
-- BOUNCE_OLD)
--
-- miltertest keeps a script's error to itself (exit 1, nothing printed),
-- so every failure is echoed first; the driver shows it.

function fail(what)
	mt.echo("FAILED: " .. what)
	error("FAILED: " .. what)
end

function check(cond, what)
	if not cond then
		fail(what)
	end
end

function want(conn, code, what)
	local got = mt.getreply(conn)
	if got ~= code then
		fail(what .. ": got reply " .. tostring(got) .. ", want " ..
		    tostring(code))
	end
end

-- want_smtp - the end of message was answered with exactly this SMTP
-- reply (code, enhanced code, text)
function want_smtp(conn, code, esc, text, what)
	want(conn, SMFIR_REPLYCODE, what)
	check(mt.eom_check(conn, MT_SMTPREPLY, code, esc, text),
	    what .. ": reply is not " .. code .. " " .. esc .. " " .. text)
end

-- eom_body - send a whole message after RCPT: headers, body, end of
-- message; returns nothing (check the reply with want or want_smtp)
function eom_body(conn, hdrs, text)
	check(headers(conn, hdrs) == SMFIR_CONTINUE, "headers")
	check(body(conn, text) == SMFIR_CONTINUE, "body")
	check(mt.eom(conn) == nil, "eom")
end

-- open a connection and start a transaction; returns conn
function begin(from)
	local conn = mt.connect(SOCK, 40, 0.25)
	check(conn ~= nil, "connect to the milter")
	check(mt.conninfo(conn, "localhost", "127.0.0.1") == nil, "conninfo")
	check(mt.macro(conn, SMFIC_MAIL, "i", "TESTQ1") == nil, "macro")
	check(mt.mailfrom(conn, from) == nil, "mailfrom")
	want(conn, SMFIR_CONTINUE, "MAIL FROM")
	return conn
end

-- rcpt - one RCPT TO, with the macros Postfix sends beside it: the
-- milter classifies by {rcpt_addr}, the address as Postfix resolved it
-- (here: the argument without <>, lower case; an address of the virtual
-- alias domain has mailer "error", as Postfix says before expansion).
-- keep = true: the script set the RCPT macros itself.
function rcpt(conn, to, code, what, keep)
	if not keep then
		local addr = to:gsub("^<", ""):gsub(">$", ""):lower()
		local mailer = "smtp"
		if addr:sub(-#DOMAIN - 1) == "@" .. DOMAIN:lower() then
			mailer = "error"
		end
		check(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", mailer,
		    "{rcpt_host}", "5.1.1 User unknown in virtual alias table",
		    "{rcpt_addr}", addr) == nil, "macro")
	end
	check(mt.rcptto(conn, to) == nil, "rcptto")
	want(conn, code, what or ("RCPT " .. to))
end

-- headers as a list of {name, value}
function headers(conn, list, code)
	for i, h in ipairs(list) do
		check(mt.header(conn, h[1], h[2]) == nil, "header")
		local got = mt.getreply(conn)
		if got ~= SMFIR_CONTINUE then
			return got
		end
	end
	check(mt.eoh(conn) == nil, "eoh")
	return mt.getreply(conn)
end

-- body - send text in chunks of at most 60000 bytes (libmilter takes no
-- larger one); returns the reply to the last chunk, or the first that is
-- not SMFIR_CONTINUE
function body(conn, text)
	local off = 1
	repeat
		check(mt.bodystring(conn, text:sub(off, off + 59999)) == nil, "body")
		local got = mt.getreply(conn)
		off = off + 60000
		if got ~= SMFIR_CONTINUE or off > #text then
			return got
		end
	until false
end

function std_headers(from, to, subject)
	return {
		{ "Received", "from mail.shop.example by mx.alias.test (Postfix) with ESMTP id TESTQ1" },
		{ "From", from },
		{ "To", to },
		{ "Subject", subject },
		{ "Message-ID", "<" .. subject:gsub("%W", "") .. "@shop.example>" },
		{ "Date", "Sun, 22 Nov 2026 20:00:00 +0000" },
	}
end
