-- a DSN to a signed bounce address (BOUNCE_OK, for alias ABNC): accepted
-- at RCPT, discarded at end of message (the driver checks the owner's
-- notification and the event)
local conn = begin("<>")
rcpt(conn, "<" .. BOUNCE_OK .. ">", SMFIR_CONTINUE, "signed bounce address")
rcpt(conn, "<" .. BOUNCE_OK:upper() .. ">", SMFIR_CONTINUE, "the same again, upper case")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "an alias beside a bounce: 452")
local h = {
	{ "From", "Mail Delivery System <MAILER-DAEMON@mx.real.test>" },
	{ "To", BOUNCE_OK },
	{ "Subject", "Undelivered Mail Returned to Sender" },
	{ "Auto-Submitted", "auto-replied" },
	{ "MIME-Version", "1.0" },
	{ "Content-Type", "multipart/report; report-type=delivery-status; boundary=\"R\"" },
}
eom_body(conn, h, "--R\r\nContent-Type: text/plain\r\n\r\nThe mail system: your mail could not be delivered.\r\n" ..
    "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.real.test\r\n\r\n" ..
    "Final-Recipient: rfc822; bnc@real.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--R--\r\n")
want(conn, SMFIR_DISCARD, "the DSN is discarded")
check(not mt.eom_check(conn, MT_BODYCHANGE), "nothing rewritten")
mt.disconnect(conn)
-- a delay warning: a notification too, and discarded
conn = begin("<>")
rcpt(conn, "<" .. BOUNCE_OK .. ">", SMFIR_CONTINUE, "signed bounce address (delay)")
h[6] = { "Content-Type", "multipart/report; report-type=delivery-status; boundary=\"R\"" }
eom_body(conn, h, "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.real.test\r\n\r\n" ..
    "Final-Recipient: rfc822; bnc@real.test\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n--R--\r\n")
want(conn, SMFIR_DISCARD, "the delay warning is discarded")
mt.disconnect(conn)
