/*
 * milter_mail.h - what the three parts of the mail callbacks share:
 * milter_mail.c (connection and message state, DATA), milter_rcpt.c
 * (RCPT) and milter_eom.c (end of message)
 *
 * Ownership: struct conn belongs to one SMTP connection (smfi_setpriv),
 * struct mail to one transaction; the helpers borrow both.
 */
#ifndef BIPOSTAL_MILTER_MAIL_H
#define BIPOSTAL_MILTER_MAIL_H

#include <jansson.h>
#include <libmilter/mfapi.h>

#include "store.h"

#define MSGID_MAX	998		/* one header line */
#define BOUNCE_BUF_MAX	(64 * 1024)	/* what a DSN must show us */
#define BLOCKED_MAX	8		/* aliases counted in one transaction */
#define BLOCKED_TEXT	"Message refused: the recipient blocks this sender"

enum mail_kind {
	MAIL_NONE = 0,		/* no alias recipient (yet) */
	MAIL_FORWARD,
	MAIL_DISCARD,		/* disabled alias, owner chose discard */
	MAIL_REPLY,
	MAIL_BOUNCE,		/* to a signed bounce address */
	MAIL_OTHER,		/* recipients outside the alias domain */
};

struct mail {
	enum mail_kind	 kind;
	char		 sender[EMAIL_MAX + 1];	/* envelope, "" for <> */
	char		 token[TOKEN_MAX + 1];	/* alias or reply token */
	struct alias_route route;		/* of the alias */
	char		 alias[TOKEN_MAX + 1];	/* alias token (reply: its alias) */
	char		 site[EMAIL_MAX + 1];	/* reply: the external address */
	size_t		 nheaders;
	const char	*refuse;		/* a limit was passed: 552 at EOM */
	unsigned char	*buf;			/* headers, blank line, body */
	size_t		 len;
	size_t		 cap;
	size_t		 body_off;		/* where the body starts in buf */
	char		 msgid[MSGID_MAX + 1];	/* Message-ID, "" if none */
	char		 hfrom[MSGID_MAX + 1];	/* forward: the first From:
						 * as sent, "" if none */
	const char	*why;			/* discard: why (static) */
	char		 blocked[BLOCKED_MAX][TOKEN_MAX + 1];	/* counted */
	int		 nblocked;
};

struct conn {
	struct store	*st;		/* lease->st, or NULL */
	struct store_lease *lease;	/* from milter_g.pool on first need */
	struct mail	*mail;
	unsigned long	 nr;		/* SMFIP_NR_* the MTA agreed to */
};

/* milter_mail.c */
void		 mail_free(struct mail *);	/* NULL is fine */
/* conn_store - this connection's store handle, from the pool or opened;
 * NULL when the store cannot be reached (logged) */
struct store	*conn_store(struct conn *);
/* conn_store_reset - drop the handle after a failure */
void		 conn_store_reset(struct conn *);
const char	*qid(SMFICTX *);		/* the queue id, for logs */
sfsistat	 tempfail(SMFICTX *, const char *why);	/* 451 4.3.0 */
sfsistat	 no_alias(SMFICTX *);		/* 550 5.1.1 */
/* mail_announce - an event for the user from obj (steals it) */
void		 mail_announce(int64_t user_id, const char *type, json_t *);
/* mail_event - a "mail" event: action on alias of route r */
void		 mail_event(const struct alias_route *, const char *alias,
		    const char *action);
/* block_once - count a blocked message once per transaction and alias;
 * why (static) says what blocked it: "disabled", "blocked sender" */
void		 block_once(SMFICTX *, struct mail *,
		    const struct alias_route *, const char *token,
		    const char *action, const char *why);
/* block_sender - is mail from sender to the alias of m blocked by its
 * owner (store_block_match): 1 yes, 0 no, -1 the store cannot say
 * (logged; the caller tempfails) */
int		 block_sender(SMFICTX *, struct conn *, const char *sender,
		    const char *which);

#endif
