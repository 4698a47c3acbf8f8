-- mail for other domains is none of our business: accepted untouched
local conn = begin("<a@b.example>")
rcpt(conn, "<c@d.example>", SMFIR_CONTINUE, "other domain")
check(mt.header(conn, "From", "a@b.example") == nil, "header")
want(conn, SMFIR_ACCEPT, "accepted without changes")
mt.disconnect(conn)
