-- recipients the MTA rejected itself (SMFIP_RCPT_REJ: {rcpt_mailer} is
-- "error", {rcpt_addr} the reject text): a disabled alias whose owner
-- chose reject (AREJ2) is counted as blocked once per message, however
-- often it is tried; an unknown one is not counted; none of them changes
-- the transaction, and an accepted alias of the virtual domain (mailer
-- "error" too, but {rcpt_addr} the address itself) is not taken for a
-- rejected one
local function rejected(conn, to)
	check(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error",
	    "{rcpt_host}", "5.1.1",
	    "{rcpt_addr}", "Recipient address rejected: User unknown in virtual alias table") == nil,
	    "macro")
	rcpt(conn, to, SMFIR_CONTINUE, "rejected by the MTA: " .. to, true)
end
local conn = begin("<news@spam.example>")
rejected(conn, "<" .. AREJ2 .. "@" .. DOMAIN .. ">")
rejected(conn, "<" .. AREJ2 .. "@" .. DOMAIN .. ">")
rejected(conn, "<" .. AREJ2:upper() .. "@" .. DOMAIN .. ">")
rejected(conn, "<nosuchalias0000@" .. DOMAIN .. ">")
rejected(conn, "<" .. BOUNCE_FORGED .. ">")
-- the accepted alias after them: the transaction is still free
check(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error",
    "{rcpt_host}", "5.1.1 User unknown in virtual alias table",
    "{rcpt_addr}", A2 .. "@" .. DOMAIN) == nil, "macro")
rcpt(conn, "<" .. A2 .. "@" .. DOMAIN .. ">", SMFIR_CONTINUE, "accepted alias after refused ones", true)
check(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error",
    "{rcpt_host}", "5.1.1 User unknown in virtual alias table",
    "{rcpt_addr}", A1 .. "@" .. DOMAIN) == nil, "macro")
rcpt(conn, "<" .. A1 .. "@" .. DOMAIN .. ">", SMFIR_REPLYCODE, "a second accepted alias: 452", true)
mt.disconnect(conn)
-- a new message: counted again (once)
conn = begin("<news@spam.example>")
rejected(conn, "<" .. AREJ2 .. "@" .. DOMAIN .. ">")
mt.disconnect(conn)
