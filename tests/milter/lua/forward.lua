-- an active alias: From rewritten to a reply address, banner in the body,
-- List-Unsubscribe(-Post) added, envelope sender signed
local conn = begin("<news@shop.example>")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "active alias accepted")
local h = std_headers("Shop Example <news@shop.example>", A1 .. "@" .. DOMAIN, "forward")
table.insert(h, { "List-Unsubscribe", "<https://shop.example/unsub>" })
want_h = headers(conn, h)
check(want_h == SMFIR_CONTINUE, "headers accepted")
check(body(conn, "Hello,\r\nyour order has shipped.\r\n") == SMFIR_CONTINUE, "body")
check(mt.eom(conn) == nil, "eom")
want(conn, SMFIR_CONTINUE, "end of message")
check(mt.eom_check(conn, MT_HDRCHANGE, "From"), "From changed")
local from = nil
check(mt.eom_check(conn, MT_BODYCHANGE), "body replaced")
check(mt.eom_check(conn, MT_HDRDELETE, "List-Unsubscribe"), "old List-Unsubscribe removed")
check(mt.eom_check(conn, MT_HDRADD, "List-Unsubscribe"), "List-Unsubscribe added")
check(mt.eom_check(conn, MT_HDRADD, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    "List-Unsubscribe-Post added")
local lu = mt.getheader(conn, "List-Unsubscribe", 0)
check(lu ~= nil and lu:find("/v1/unsubscribe/" .. A1 .. "?sig=", 1, true) ~= nil,
    "List-Unsubscribe is the signed one-click link: " .. tostring(lu))
mt.disconnect(conn)
