-- common.lua - shared by every milter test script (prepended with the
-- variables the driver sets: SOCK, A1, A2, ADIS, AREJ, REPLY, OWNER, DOMAIN)

function check(cond, what)
	if not cond then
		error("FAILED: " .. what)
	end
end

function want(conn, code, what)
	local got = mt.getreply(conn)
	if got ~= code then
		error("FAILED: " .. what .. ": got reply " .. tostring(got) ..
		    ", want " .. tostring(code))
	end
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

function rcpt(conn, to, code, what)
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

function body(conn, text)
	check(mt.bodystring(conn, text) == nil, "body")
	return mt.getreply(conn)
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
