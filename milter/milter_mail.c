/*
 * milter_mail.c - the state of one SMTP connection and one message, and
 * the libmilter callbacks that only gather it
 *
 * A connection (struct conn) holds a store handle from milter_g.pool; a
 * transaction (struct mail, milter_mail.h) what RCPT decided
 * (milter_rcpt.c) and the headers and body buffered for the end of
 * message (milter_eom.c), up to milter_max_size (552 5.3.4) and
 * milter_max_headers (552 5.3.4): limits passed while the data streams
 * are answered at end of message.  Here too are the helpers both halves
 * use: the queue id, the 451 and 550 answers, events for the owner.
 *
 * Failure: any internal error answers 451 4.3.0 through SMFIS_TEMPFAIL:
 * mail is never discarded and never half rewritten because of an error.
 * Ownership: struct conn belongs to the connection (freed at close, which
 * may come with no private data); struct mail to one transaction (freed
 * at MAIL FROM, abort and close).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "addr.h"
#include "bounce.h"
#include "log.h"
#include "milter.h"
#include "milter_mail.h"
#include "milter_authres.h"
#include "redis.h"
#include "store.h"
#include "token.h"
#include "util.h"

/* mail_free - NULL is fine */
void
mail_free(struct mail *m)
{
	if (m == NULL)
		return;
	free(m->buf);
	free(m);
}

/* conn_store - this connection's store handle, held from milter_g.pool
 * (pool.h: refreshed, reopened after a reload); NULL when the store
 * cannot be reached (logged) */
struct store *
conn_store(struct conn *c)
{
	c->st = store_pool_hold(milter_g.pool, &c->lease, milter_g.conf->store);
	return (c->st);
}

/* conn_store_release - give the handle back to the pool */
static void
conn_store_release(struct conn *c)
{
	store_pool_put(milter_g.pool, &c->lease, 0);
	c->st = NULL;
}

/* conn_store_reset - drop a store handle after a failure, so the next
 * message reconnects */
void
conn_store_reset(struct conn *c)
{
	store_pool_put(milter_g.pool, &c->lease, 1);
	c->st = NULL;
}

/* qid - the queue id for log lines */
const char *
qid(SMFICTX *ctx)
{
	const char *i = smfi_getsymval(ctx, "i");

	return (i ? i : "NOQUEUE");
}

/* tempfail - 451 4.3.0 with a reason, logged with its code */
sfsistat
tempfail(SMFICTX *ctx, const char *why)
{
	log_info("%s: action=tempfail code=451 4.3.0 (%s)", qid(ctx), why);
	smfi_setreply(ctx, "451", "4.3.0", (char *)why);
	return (SMFIS_TEMPFAIL);
}

/* no_alias - 550 5.1.1 for an address of the alias domain that routes
 * nowhere, logged with its code */
sfsistat
no_alias(SMFICTX *ctx)
{
	log_info("%s: action=reject code=550 5.1.1 (no such alias)", qid(ctx));
	smfi_setreply(ctx, "550", "5.1.1",
	    "Recipient address rejected: no such alias");
	return (SMFIS_REJECT);
}

/* mail_announce - an event of type for user_id from obj (steals it,
 * NULL is fine: an event that cannot be made is logged, not fatal) */
void
mail_announce(int64_t user_id, const char *type, json_t *obj)
{
	char	*ev = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	if (ev != NULL)
		later_event(user_id, type, ev);
	else
		log_warn("user=%lld %s event not made", (long long)user_id,
		    type);
	free(ev);
	json_decref(obj);
}

/* mail_event - a "mail" event for the owner of alias (route r): what
 * happened to a message for which alias of which site; no address, no
 * content */
void
mail_event(const struct alias_route *r, const char *alias,
    const char *action)
{
	mail_announce(r->user_id, "mail", json_pack("{s:s, s:s, s:s}",
	    "action", action, "alias", alias, "origin", r->origin));
}

/* block_once - count a blocked message for alias token (route r), once
 * per transaction and alias, and announce it */
void
block_once(SMFICTX *ctx, struct mail *m, const struct alias_route *r,
    const char *token, const char *action, const char *why)
{
	int	 i;

	for (i = 0; i < m->nblocked; i++)
		if (strcmp(m->blocked[i], token) == 0)
			return;
	if (m->nblocked < BLOCKED_MAX)
		bp_strlcpy(m->blocked[m->nblocked++], token, TOKEN_MAX + 1);
	later_count(token, COUNT_BLOCKED);
	log_info("%s: alias=%.8s action=%s (%s)", qid(ctx), token, action,
	    why);
	mail_event(r, token, "block");
}

/* block_sender - does the owner of m's alias block sender; which
 * ("envelope", "from") names it in the log, never the address */
int
block_sender(SMFICTX *ctx, struct conn *c, const char *sender,
    const char *which)
{
	struct mail *m = c->mail;
	struct store *st;
	enum store_status s;
	int64_t	 id = 0;

	if (sender == NULL || *sender == '\0')
		return (0);
	if ((st = conn_store(c)) == NULL)
		return (-1);
	s = store_block_match(st, m->alias, sender, &id);
	if (s == STORE_NOTFOUND)
		return (0);
	if (s != STORE_OK) {
		log_warn("%s: alias=%.8s blocks not read: store: %s", qid(ctx),
		    m->alias, store_strstatus(s));
		conn_store_reset(c);
		return (-1);
	}
	log_info("%s: alias=%.8s block=%lld matches the %s sender", qid(ctx),
	    m->alias, (long long)id, which);
	return (1);
}

/* buf_add - append to the message buffer */
static void
buf_add(struct mail *m, const void *p, size_t n)
{
	if (m->len + n > m->cap) {
		size_t	cap = m->cap ? m->cap : 16384;

		while (cap < m->len + n)
			cap *= 2;
		m->buf = xrealloc(m->buf, cap);
		m->cap = cap;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

/* addr_strip - copy an envelope address without <> into buf */
static void
addr_strip(char *buf, size_t size, const char *arg)
{
	size_t	n;

	if (*arg == '<')
		arg++;
	n = strcspn(arg, ">");
	if (n >= size)
		n = size - 1;
	memcpy(buf, arg, n);
	buf[n] = '\0';
}

/* conn_get - the connection's state, made on first use */
static struct conn *
conn_get(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		smfi_setpriv(ctx, c);
	}
	return (c);
}

/*
 * mlfi_negotiate - ask the MTA for the actions we need, and spare it the
 * round trips we do not: no connect, HELO, DATA or unknown commands, and
 * no reply per header, at end of headers or per body chunk (limits passed
 * there are answered at end of message instead).  This halves the
 * round trips of a small message.  Ask for the recipients the MTA
 * rejected as well (SMFIP_RCPT_REJ), to count the refused ones of
 * disabled aliases.
 */
sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS |
	    SMFIF_CHGBODY | SMFIF_CHGFROM;
	const unsigned long spare = SMFIP_NOHELO |
	    SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_HDR | SMFIP_NR_EOH |
	    SMFIP_NR_BODY | SMFIP_RCPT_REJ;
	struct conn *c = conn_get(ctx);

	if ((f0 & need) != need) {
		log_error("the MTA cannot change headers, body and sender: "
		    "set milter_protocol = 6 in Postfix");
		return (SMFIS_REJECT);
	}
	*pf0 = need;
	*pf1 = f1 & spare;
	*pf2 = 0;
	*pf3 = 0;
	c->nr = *pf1 & (SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY);
	return (SMFIS_CONTINUE);
}

/* mlfi_connect - one struct conn per SMTP connection (when the MTA sends
 * connect at all) */
sfsistat
mlfi_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	conn_get(ctx);
	return (SMFIS_CONTINUE);
}

/* going - what a data-phase callback answers when all is well */
static sfsistat
going(struct conn *c, unsigned long flag)
{
	return ((c->nr & flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE);
}

/* mlfi_envfrom - a new transaction: fresh per-message state */
sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);
	struct addr a;

	mail_free(c->mail);
	c->mail = xcalloc(1, sizeof(*c->mail));
	/* the sender as the MTA reads it (quotes, source route, case of
	 * the domain undone), so that no spelling passes for another */
	if (addr_parse(argv[0], strlen(argv[0]), &a) == 0 && a.domain[0] &&
	    strlen(a.local) + 1 + strlen(a.domain) < sizeof(c->mail->sender)) {
		bp_strlcpy(c->mail->sender, a.local, sizeof(c->mail->sender));
		strcat(c->mail->sender, "@");
		strcat(c->mail->sender, a.domain);
	} else
		addr_strip(c->mail->sender, sizeof(c->mail->sender), argv[0]);
	return (SMFIS_CONTINUE);
}

/* mlfi_header - buffer one header; enforce the header count */
sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = smfi_getpriv(ctx);
	struct mail *m;

	if (c == NULL || c->mail == NULL)
		return (tempfail(ctx, "milter state lost"));
	m = c->mail;
	if (m->kind == MAIL_NONE || m->kind == MAIL_OTHER)
		return ((c->nr & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_ACCEPT);
	if (m->kind == MAIL_DISCARD || m->refuse != NULL)
		return (going(c, SMFIP_NR_HDR));
	if (m->msgid[0] == '\0' && strcasecmp(name, "Message-ID") == 0)
		bp_strlcpy(m->msgid, value, sizeof(m->msgid));
	if (m->kind == MAIL_FORWARD && m->hfrom[0] == '\0' &&
	    strcasecmp(name, "From") == 0)
		bp_strlcpy(m->hfrom, value, sizeof(m->hfrom));
	if (m->kind == MAIL_BOUNCE) {
		/* our own bounce: never refused, read only so far */
		if (m->len + strlen(name) + strlen(value) + 4 <= BOUNCE_BUF_MAX) {
			buf_add(m, name, strlen(name));
			buf_add(m, ": ", 2);
			buf_add(m, value, strlen(value));
			buf_add(m, "\r\n", 2);
		}
		return (going(c, SMFIP_NR_HDR));
	}
	if (++m->nheaders > (size_t)milter_g.conf->milter_max_headers)
		m->refuse = "Too many header lines";
	else if (m->len + strlen(name) + strlen(value) + 4 >
	    (size_t)milter_g.conf->milter_max_size)
		m->refuse = "Message size exceeds fixed limit";
	if (m->refuse != NULL) {
		if (c->nr & SMFIP_NR_HDR)
			return (SMFIS_NOREPLY);	/* answered at EOM */
		smfi_setreply(ctx, "552", "5.3.4", (char *)m->refuse);
		return (SMFIS_REJECT);
	}
	buf_add(m, name, strlen(name));
	buf_add(m, ": ", 2);
	buf_add(m, value, strlen(value));
	buf_add(m, "\r\n", 2);
	return (going(c, SMFIP_NR_HDR));
}

/* mlfi_eoh - the blank line between headers and body */
sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL || c->mail == NULL)
		return (tempfail(ctx, "milter state lost"));
	if ((c->mail->kind == MAIL_FORWARD || c->mail->kind == MAIL_REPLY ||
	    c->mail->kind == MAIL_BOUNCE) && c->mail->refuse == NULL) {
		buf_add(c->mail, "\r\n", 2);
		c->mail->body_off = c->mail->len;
	}
	return (going(c, SMFIP_NR_EOH));
}

/* mlfi_body - buffer a chunk (it may hold NUL bytes); enforce the size */
sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = smfi_getpriv(ctx);
	struct mail *m;

	if (c == NULL || c->mail == NULL)
		return (tempfail(ctx, "milter state lost"));
	m = c->mail;
	if (m->kind == MAIL_BOUNCE) {
		if (m->len < BOUNCE_BUF_MAX)
			buf_add(m, chunk, len < BOUNCE_BUF_MAX - m->len ? len :
			    BOUNCE_BUF_MAX - m->len);
		return (going(c, SMFIP_NR_BODY));
	}
	if ((m->kind != MAIL_FORWARD && m->kind != MAIL_REPLY) || m->refuse)
		return (going(c, SMFIP_NR_BODY));
	if (m->len + len > (size_t)milter_g.conf->milter_max_size) {
		m->refuse = "Message size exceeds fixed limit";
		free(m->buf);		/* no need to keep it */
		m->buf = NULL;
		m->len = m->cap = 0;
		if (c->nr & SMFIP_NR_BODY)
			return (SMFIS_NOREPLY);	/* answered at EOM */
		smfi_setreply(ctx, "552", "5.3.4", (char *)m->refuse);
		return (SMFIS_REJECT);
	}
	buf_add(m, chunk, len);
	return (going(c, SMFIP_NR_BODY));
}

/* mlfi_abort - the transaction ended early: forget it */
sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL) {
		mail_free(c->mail);
		c->mail = NULL;
	}
	return (SMFIS_CONTINUE);
}

/* mlfi_close - end of connection; may be the only callback we see */
sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return (SMFIS_CONTINUE);
	mail_free(c->mail);
	conn_store_release(c);
	free(c);
	smfi_setpriv(ctx, NULL);
	return (SMFIS_CONTINUE);
}
