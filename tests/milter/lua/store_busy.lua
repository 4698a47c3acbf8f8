-- the store answers lookups but cannot write (the driver holds SQLite's
-- write lock for longer than the store waits): the rewrite needs a new
-- reply address, so the message is answered 451 4.3.0 at end of data,
-- with nothing changed (run by the driver while it holds the lock)
local conn = begin("<someone-new@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "RCPT: lookups still work")
local h = std_headers("Someone New <someone-new@shop.example>", A1 .. "@" .. DOMAIN, "busy")
mt.set_timeout(30)
eom_body(conn, h, "hello\r\n")
want_smtp(conn, "451", "4.3.0", "message rewrite failed, try again later",
    "tempfail while the store cannot write")
check(not mt.eom_check(conn, MT_HDRCHANGE), "no header changed")
check(not mt.eom_check(conn, MT_BODYCHANGE), "body untouched")
mt.disconnect(conn)
