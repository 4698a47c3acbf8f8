/*
 * milter_mail.c - the libmilter callbacks and the state of one message
 *
 * RCPT: only recipients in alias_domain concern us.  A transaction holds
 * one alias (or one reply or bounce address) and nothing else: a RCPT for
 * another one, or for another domain once an alias is in, gets 452 4.5.3
 * so the client sends it in its own transaction (and each owner gets a
 * copy rewritten for them alone).  An active alias is forwarded; a
 * disabled one is discarded at end of message or rejected (550 5.1.1) as
 * its owner chose, and counted as blocked either way, once per message;
 * a reply address is accepted whoever sends (any other answer would tell
 * who owns it) and judged at end of message: from anyone but its alias
 * owner (envelope and From; DMARC pass or none when a verifier's
 * Authentication-Results is trusted) it is discarded and the owner told,
 * never forwarded.  A signed bounce address (bounce.h: the envelope
 * sender of the mail we forward) takes delivery status notifications: a
 * forged or expired one gets 550 5.1.1.
 *
 * Recipients the MTA rejected itself: the milter asks for them too
 * (SMFIP_RCPT_REJ), because Postfix refuses a disabled alias whose owner
 * chose "reject" at RCPT (bipostal-postmapd answers NOTFOUND), and that
 * refusal must be counted as blocked.  Nothing else is done with them.
 *
 * DATA: headers and body are buffered (up to milter_max_size, 552 5.3.4;
 * milter_max_headers, 552 5.3.4).  At end of message rewrite_message()
 * computes every change first; only when all of it succeeded are the
 * changes sent to the MTA.  Then notifications are queued (the last step
 * that can fail, see notes_queue) and counters and events recorded for
 * the background writer (milter_later.c).  A bounce becomes a
 * notification for the alias owner and is discarded: the DSN itself goes
 * nowhere, neither to the mailbox that refused the mail nor to the site.
 *
 * Failure: any internal error (store, rewrite, libmilter) answers
 * 451 4.3.0 through SMFIS_TEMPFAIL: mail is never discarded and never
 * half rewritten because of an error.  Ownership: struct conn belongs to
 * the connection (freed at close, which may come with no private data);
 * struct mail to one transaction (freed at MAIL FROM, abort and close).
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
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
#include "milter_authres.h"
#include "redis.h"
#include "store.h"
#include "token.h"
#include "util.h"

#define MSGID_MAX	998		/* one header line */
#define BOUNCE_BUF_MAX	(64 * 1024)	/* what a DSN must show us */
#define BLOCKED_MAX	8		/* aliases counted in one transaction */

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
	char		 blocked[BLOCKED_MAX][TOKEN_MAX + 1];	/* counted */
	int		 nblocked;
};

struct conn {
	struct store	*st;		/* opened on first need */
	struct mail	*mail;
	unsigned long	 nr;		/* SMFIP_NR_* the MTA agreed to */
};

/* mail_free - NULL is fine */
static void
mail_free(struct mail *m)
{
	if (m == NULL)
		return;
	free(m->buf);
	free(m);
}

/*
 * Store handles are not thread-safe, and opening one per SMTP connection
 * costs a file open and schema check (SQLite) or a login (MySQL) per
 * message under load.  Idle handles wait in a small pool: a connection
 * takes one on first need and gives it back at close; a handle that saw
 * an error is closed instead, so the next message reconnects, and one that
 * sat idle for STORE_POOL_IDLE seconds is closed too, so that a store that
 * went away is noticed (an open SQLite file keeps working after its
 * directory became unreadable).
 */
#define STORE_POOL_MAX	32
#define STORE_POOL_IDLE	2

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct store	*st;
	int64_t		 since;
} pool[STORE_POOL_MAX];
static int pool_n;

/* conn_store - this connection's store, from the pool or opened; NULL
 * when the store cannot be reached (logged) */
static struct store *
conn_store(struct conn *c)
{
	enum store_status s;
	const char *why = NULL;

	if (c->st != NULL)
		return (c->st);
	for (;;) {
		struct store *st = NULL;
		int	 stale = 0;

		pthread_mutex_lock(&pool_lock);
		if (pool_n > 0) {
			pool_n--;
			st = pool[pool_n].st;
			stale = bp_now() - pool[pool_n].since > STORE_POOL_IDLE;
		}
		pthread_mutex_unlock(&pool_lock);
		if (st == NULL)
			break;
		if (!stale) {
			c->st = st;
			break;
		}
		store_close(st);
	}
	if (c->st == NULL) {
		c->st = store_open(milter_g.conf->store, &s, &why);
		if (c->st == NULL)
			log_warn("store: %s (%s)", why ? why : "cannot open",
			    store_strstatus(s));
	}
	return (c->st);
}

/* conn_store_release - give the handle back to the pool (or close it) */
static void
conn_store_release(struct conn *c)
{
	if (c->st == NULL)
		return;
	pthread_mutex_lock(&pool_lock);
	if (pool_n < STORE_POOL_MAX) {
		pool[pool_n].st = c->st;
		pool[pool_n].since = bp_now();
		pool_n++;
		c->st = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	store_close(c->st);		/* pool full: NULL otherwise */
	c->st = NULL;
}

/* conn_store_reset - drop a store handle after a failure, so the next
 * message reconnects */
static void
conn_store_reset(struct conn *c)
{
	store_close(c->st);
	c->st = NULL;
}

/* qid - the queue id for log lines */
static const char *
qid(SMFICTX *ctx)
{
	const char *i = smfi_getsymval(ctx, "i");

	return (i ? i : "NOQUEUE");
}

/* tempfail - 451 4.3.0 with a reason, logged with its code */
static sfsistat
tempfail(SMFICTX *ctx, const char *why)
{
	log_info("%s: action=tempfail code=451 4.3.0 (%s)", qid(ctx), why);
	smfi_setreply(ctx, "451", "4.3.0", (char *)why);
	return (SMFIS_TEMPFAIL);
}

/* no_alias - 550 5.1.1 for an address of the alias domain that routes
 * nowhere, logged with its code */
static sfsistat
no_alias(SMFICTX *ctx)
{
	log_info("%s: action=reject code=550 5.1.1 (no such alias)", qid(ctx));
	smfi_setreply(ctx, "550", "5.1.1",
	    "Recipient address rejected: no such alias");
	return (SMFIS_REJECT);
}

/* json_str - s as a JSON string (quotes included) into out; the text is
 * cut, never the escapes, when out is too small */
static void
json_str(char *out, size_t size, const char *s)
{
	size_t	 n = 0;

	if (size < 3) {
		if (size > 0)
			*out = '\0';
		return;
	}
	out[n++] = '"';
	for (; *s && n + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
		else
			out[n++] = (char)c;
	}
	out[n++] = '"';
	out[n] = '\0';
}

/* mail_event - a "mail" event for the owner of alias (route r): what
 * happened to a message for which alias of which site; no address, no
 * content */
static void
mail_event(const struct alias_route *r, const char *alias,
    const char *action)
{
	char	 origin[2 * ORIGIN_MAX + 8], ev[EVENT_DATA_MAX + 1];

	json_str(origin, sizeof(origin), r->origin);
	snprintf(ev, sizeof(ev), "{\"action\":\"%s\",\"alias\":\"%s\","
	    "\"origin\":%s}", action, alias, origin);
	later_event(r->user_id, "mail", ev);
}

/* block_once - count a blocked message for alias token (route r), once
 * per transaction and alias, and announce it */
static void
block_once(SMFICTX *ctx, struct mail *m, const struct alias_route *r,
    const char *token, const char *action)
{
	int	 i;

	for (i = 0; i < m->nblocked; i++)
		if (strcmp(m->blocked[i], token) == 0)
			return;
	if (m->nblocked < BLOCKED_MAX)
		bp_strlcpy(m->blocked[m->nblocked++], token, TOKEN_MAX + 1);
	later_count(token, COUNT_BLOCKED);
	log_info("%s: alias=%.8s action=%s (disabled)", qid(ctx), token, action);
	mail_event(r, token, "block");
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

/*
 * The inbound rate of one alias: at most milter_rate_alias messages an
 * hour (0: no limit), so that a sender cannot flood a mailbox (nor the
 * kept parts and notifications behind it).  Counted in Redis when
 * "redis" is set (every MX host shares the count; one handle for all
 * threads, under a mutex, falling back to this process while Redis is
 * down), else in the store: the count there (every host's, as of the
 * last second) plus what this process has not written yet
 * (later_inbound, written by the background writer), so that no message
 * waits for a write.  Past the limit: 450 4.7.1, the sender retries
 * later.  A store that cannot read the count lets the message through
 * (logged): the lookup already proved the alias.
 */
static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static struct redis *rate_redis;

/* rcpt_rate - count one message for alias token; 0 allowed, -1 answered
 * (450 4.7.1) */
static int
rcpt_rate(SMFICTX *ctx, struct conn *c, const char *token)
{
	const struct conf *cf = milter_g.conf;
	char	 key[STORE_RATE_KEY_MAX + 1];
	long	 retry = 0, count = 0;
	enum store_status s;
	int	 allowed;

	if (cf->milter_rate_alias <= 0)
		return (0);
	snprintf(key, sizeof(key), "in:%s", token);
	if (cf->redis[0] != '\0') {
		pthread_mutex_lock(&rate_lock);
		if (rate_redis == NULL)
			rate_redis = redis_open(cf->redis);
		allowed = redis_ratelimit(rate_redis, key, cf->milter_rate_alias,
		    MILTER_RATE_WINDOW, &retry);
		pthread_mutex_unlock(&rate_lock);
	} else {
		s = store_rate_peek(c->st, key, MILTER_RATE_WINDOW, &count,
		    &retry);
		if (s != STORE_OK) {
			log_warn("%s: alias=%.8s rate not read: store: %s",
			    qid(ctx), token, store_strstatus(s));
			return (0);
		}
		allowed = count + later_inbound_pending(token) <
		    cf->milter_rate_alias;
		if (allowed)
			later_inbound(token);
		else if (retry < 1)
			retry = 1;
	}
	if (allowed)
		return (0);
	log_info("%s: alias=%.8s action=defer code=450 4.7.1 (over %ld "
	    "messages an hour; retry in %ld s)", qid(ctx), token,
	    cf->milter_rate_alias, retry);
	smfi_setreply(ctx, "450", "4.7.1",
	    "Too much mail for this recipient, try again later");
	return (-1);
}

/* milter_rate_close - drop the Redis handle of the rate limit (exit) */
void
milter_rate_close(void)
{
	pthread_mutex_lock(&rate_lock);
	redis_close(rate_redis);
	rate_redis = NULL;
	pthread_mutex_unlock(&rate_lock);
}

/* rcpt_alias - decide on a RCPT for an alias; route is filled */
static sfsistat
rcpt_alias(SMFICTX *ctx, struct conn *c, const char *token)
{
	struct mail *m = c->mail;
	struct store *st;
	enum store_status s;
	struct reply rp;
	int64_t	 now = bp_now();

	if ((st = conn_store(c)) == NULL)
		return (tempfail(ctx, "alias store unavailable"));
	s = store_alias_route(st, token, &m->route);
	if (s == STORE_OK) {
		if (m->route.status == ALIAS_DELETED ||
		    (m->route.expires_at != 0 && m->route.expires_at <= now) ||
		    m->route.user_status != USER_ACTIVE) {
			return (no_alias(ctx));
		}
		bp_strlcpy(m->token, token, sizeof(m->token));
		bp_strlcpy(m->alias, token, sizeof(m->alias));
		if (m->route.status == ALIAS_ACTIVE) {
			if (rcpt_rate(ctx, c, token) < 0)
				return (SMFIS_TEMPFAIL);
			m->kind = MAIL_FORWARD;
			return (SMFIS_CONTINUE);
		}
		if (m->route.disabled_action == DISABLED_REJECT) {
			/* an MTA without bipostal-postmapd lets it through */
			block_once(ctx, m, &m->route, token, "reject");
			smfi_setreply(ctx, "550", "5.1.1",
			    "Recipient address rejected: alias disabled");
			return (SMFIS_REJECT);
		}
		m->kind = MAIL_DISCARD;
		return (SMFIS_CONTINUE);
	}
	if (s != STORE_NOTFOUND) {
		conn_store_reset(c);
		return (tempfail(ctx, "alias store unavailable"));
	}

	/* not an alias: a reply address? */
	s = store_reply_get(st, token, &rp);
	if (s == STORE_NOTFOUND) {
		return (no_alias(ctx));
	}
	if (s == STORE_OK)
		s = store_alias_route(st, rp.alias, &m->route);
	if (s == STORE_NOTFOUND || (s == STORE_OK &&
	    (m->route.status == ALIAS_DELETED ||
	    m->route.user_status != USER_ACTIVE))) {
		return (no_alias(ctx));
	}
	if (s != STORE_OK) {
		conn_store_reset(c);
		return (tempfail(ctx, "alias store unavailable"));
	}
	/* whoever sends: the sender is judged at end of message (eom_reply) */
	bp_strlcpy(m->token, token, sizeof(m->token));
	bp_strlcpy(m->alias, rp.alias, sizeof(m->alias));
	bp_strlcpy(m->site, rp.sender, sizeof(m->site));
	m->kind = MAIL_REPLY;
	return (SMFIS_CONTINUE);
}

/* one_alias - 452 4.5.3 for a recipient beside another alias */
static sfsistat
one_alias(SMFICTX *ctx)
{
	log_info("%s: action=defer code=452 4.5.3 (one alias per message)",
	    qid(ctx));
	smfi_setreply(ctx, "452", "4.5.3",
	    "One alias per message: send this recipient separately");
	return (SMFIS_TEMPFAIL);
}

/* rcpt_bounce - a RCPT for a bounce address, local[0..llen) */
static sfsistat
rcpt_bounce(SMFICTX *ctx, struct conn *c, const char *local, size_t llen)
{
	struct mail *m = c->mail;
	struct store *st;
	enum store_status s;
	enum bounce_verdict v;
	char	 tok[TOKEN_MAX + 1];

	v = bounce_check(milter_g.key, milter_g.keylen, local, llen, bp_now(),
	    tok, sizeof(tok), NULL);
	if (v != BOUNCE_OK) {
		log_info("%s: action=reject code=550 5.1.1 (bounce address %s)",
		    qid(ctx), bounce_strverdict(v));
		smfi_setreply(ctx, "550", "5.1.1",
		    "Recipient address rejected: no such alias");
		return (SMFIS_REJECT);
	}
	if (m->kind == MAIL_BOUNCE)
		return (strcmp(tok, m->token) == 0 ? SMFIS_CONTINUE :
		    one_alias(ctx));
	if ((st = conn_store(c)) == NULL)
		return (tempfail(ctx, "alias store unavailable"));
	s = store_alias_route(st, tok, &m->route);
	if (s == STORE_NOTFOUND)
		m->route.user_id = 0;	/* signed, but the alias is gone */
	else if (s != STORE_OK) {
		conn_store_reset(c);
		return (tempfail(ctx, "alias store unavailable"));
	}
	bp_strlcpy(m->token, tok, sizeof(m->token));
	bp_strlcpy(m->alias, tok, sizeof(m->alias));
	m->kind = MAIL_BOUNCE;
	return (SMFIS_CONTINUE);
}

/*
 * rcpt_rejected - did the MTA reject this recipient already?  Postfix
 * shows rejected recipients (SMFIP_RCPT_REJ) with {rcpt_mailer} "error"
 * and its reject text in {rcpt_addr} and {rcpt_host}.  It says "error"
 * for every accepted address of a virtual alias domain too (they resolve
 * to the error transport before the alias expansion, "5.1.1 User unknown
 * in virtual alias table"), but then {rcpt_addr} is one address (the
 * canonical form of the recipient), never a sentence: that is what
 * tells the two apart.
 */
static int
rcpt_rejected(SMFICTX *ctx)
{
	const char *mailer = smfi_getsymval(ctx, "{rcpt_mailer}");
	const char *raddr = smfi_getsymval(ctx, "{rcpt_addr}");
	struct addr a;

	if (mailer == NULL || strcmp(mailer, "error") != 0)
		return (0);
	return (raddr == NULL || addr_parse(raddr, strlen(raddr), &a) < 0);
}

/* rcpt_rejected_alias - the MTA refused a RCPT for token: count it as
 * blocked when it is a disabled alias whose owner chose "reject" (an
 * unknown, deleted or expired one is nothing to count).  Never changes
 * the transaction: the MTA has answered already. */
static void
rcpt_rejected_alias(SMFICTX *ctx, struct conn *c, const char *token)
{
	struct alias_route r;
	struct store *st;
	enum store_status s;

	if ((st = conn_store(c)) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	if ((s = store_alias_route(st, token, &r)) != STORE_OK) {
		if (s != STORE_NOTFOUND) {
			log_warn("%s: alias=%.8s refused recipient not counted: "
			    "store: %s", qid(ctx), token, store_strstatus(s));
			conn_store_reset(c);
		}
		return;
	}
	if (r.status == ALIAS_INACTIVE && r.disabled_action == DISABLED_REJECT &&
	    r.user_status == USER_ACTIVE &&
	    (r.expires_at == 0 || r.expires_at > bp_now()))
		block_once(ctx, c->mail, &r, token, "reject");
}

/*
 * rcpt_classify - what an accepted recipient is, read from the address
 * the MTA resolved ({rcpt_addr}: quotes, source routes, case and the
 * trailing dot already undone, the percent and bang forms already
 * rewritten), never from the raw RCPT argument, so that no spelling of
 * an alias reaches its owner unrewritten.  The raw argument, read with
 * the same library function, must agree: when one says alias domain and
 * the other does not, or they name two tokens, the recipient cannot be
 * classified and the caller tempfails.  ADDR_BAD for a missing macro.
 */
static enum addr_kind
rcpt_classify(SMFICTX *ctx, const char *arg, struct addr *a, char *tok,
    size_t toksize, const char **why)
{
	const char *ra = smfi_getsymval(ctx, "{rcpt_addr}");
	const char *dom = milter_g.conf->alias_domain;
	char	 rtok[TOKEN_MAX + 1], ext[ADDR_LOCAL_MAX + 1];
	struct addr raw;
	enum addr_kind k, kr;

	*why = NULL;
	if (ra == NULL || *ra == '\0') {
		*why = "recipient cannot be classified ({rcpt_addr} missing: "
		    "keep Postfix's default milter_rcpt_macros)";
		return (ADDR_BAD);
	}
	k = addr_classify(ra, strlen(ra), dom, a, tok, toksize, ext,
	    sizeof(ext));
	kr = addr_classify(arg, strlen(arg), dom, &raw, rtok, sizeof(rtok),
	    ext, sizeof(ext));
	if (kr != ADDR_OTHER && k == ADDR_OTHER) {
		*why = "recipient cannot be classified (resolved out of the "
		    "alias domain)";
		return (ADDR_BAD);
	}
	if (k == ADDR_ALIAS && kr == ADDR_ALIAS && strcmp(tok, rtok) != 0) {
		*why = "recipient cannot be classified (two readings)";
		return (ADDR_BAD);
	}
	return (k);
}

/* rcpt_ops - postmaster@ or abuse@ the alias domain: it goes to ops
 * as sent (postmapd resolved it to postmaster_address); alone, or beside
 * other mail that is no alias's */
static sfsistat
rcpt_ops(SMFICTX *ctx, struct mail *m)
{
	if (milter_g.conf->postmaster_address[0] == '\0')
		return (no_alias(ctx));
	if (m->kind != MAIL_NONE && m->kind != MAIL_OTHER)
		return (one_alias(ctx));
	m->kind = MAIL_OTHER;
	log_info("%s: action=ops (postmaster or abuse)", qid(ctx));
	return (SMFIS_CONTINUE);
}

/* mlfi_envrcpt - one alias per transaction, and its policy */
sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	struct mail *m;
	struct addr a;
	char	 token[TOKEN_MAX + 1], ext[ADDR_LOCAL_MAX + 1];
	const char *why;

	if (c == NULL || c->mail == NULL)
		return (tempfail(ctx, "milter state lost"));
	m = c->mail;
	if (rcpt_rejected(ctx)) {
		if (addr_classify(argv[0], strlen(argv[0]),
		    milter_g.conf->alias_domain, &a, token, sizeof(token), ext,
		    sizeof(ext)) == ADDR_ALIAS)
			rcpt_rejected_alias(ctx, c, token);
		return (SMFIS_CONTINUE);
	}
	switch (rcpt_classify(ctx, argv[0], &a, token, sizeof(token), &why)) {
	case ADDR_OTHER:
		/* not an alias: fine alone, not beside one */
		if (m->kind != MAIL_NONE && m->kind != MAIL_OTHER)
			return (one_alias(ctx));
		m->kind = MAIL_OTHER;
		return (SMFIS_CONTINUE);
	case ADDR_ROLE:
		return (rcpt_ops(ctx, m));
	case ADDR_BOUNCE:
		if (m->kind != MAIL_NONE && m->kind != MAIL_BOUNCE)
			return (one_alias(ctx));
		return (rcpt_bounce(ctx, c, a.local, strlen(a.local)));
	case ADDR_BAD:
		if (why != NULL)
			return (tempfail(ctx, why));
		return (no_alias(ctx));
	case ADDR_ALIAS:
		break;
	}
	if (m->kind == MAIL_OTHER || m->kind == MAIL_BOUNCE)
		return (one_alias(ctx));
	if (m->kind != MAIL_NONE) {
		if (strcmp(token, m->token) == 0)
			return (SMFIS_CONTINUE);	/* the same alias again */
		return (one_alias(ctx));
	}
	return (rcpt_alias(ctx, c, token));
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

/* callbacks for rewrite_message, over this connection's store */
struct cb {
	struct conn	*c;
	int64_t		 user_id;
	const char	*alias;
	struct store_usage usage;	/* read on first need */
	int		 have_usage;
	int64_t		 new_replies;	/* made for this message */
	int64_t		 new_bytes;	/* parts kept for this message */
	const char	*quota;		/* what is full, or NULL */
};

/*
 * Quotas: what one user may keep (user_blob_quota bytes of parts,
 * user_queue_quota notifications, user_reply_quota reply addresses), so
 * that a sender cannot fill the disk.  The user's usage is read only when
 * this message would add to it (a new correspondent, a part to keep, a
 * notification), never for the common message from a known sender.
 * Full: the message is deferred with 452 4.2.2 (the sending side keeps
 * it; kept parts and notifications expire, the owner can make room) and
 * the owner gets a "quota" event saying what is full.
 */
/* cb_usage - the user's usage, read once per message; -1 on failure */
static int
cb_usage(struct cb *cb)
{
	if (cb->have_usage)
		return (0);
	if (store_usage(cb->c->st, cb->user_id, &cb->usage) != STORE_OK)
		return (-1);
	cb->have_usage = 1;
	return (0);
}

static int
cb_reply_addr(void *arg, const char *sender, char *out, size_t outlen)
{
	struct cb *cb = arg;
	struct reply rp;
	enum store_status s;
	int	 n;

	s = store_reply_find(cb->c->st, cb->alias, sender, &rp);
	if (s == STORE_NOTFOUND) {
		if (cb_usage(cb) < 0)
			return (-1);
		if (cb->usage.replies + cb->new_replies >=
		    milter_g.conf->user_reply_quota) {
			cb->quota = "reply addresses";
			return (-1);
		}
		s = store_reply_get_or_create(cb->c->st, cb->alias, sender, &rp);
		cb->new_replies++;
	}
	if (s != STORE_OK)
		return (-1);
	n = snprintf(out, outlen, "%s@%s", rp.token, milter_g.conf->alias_domain);
	return (n < 0 || (size_t)n >= outlen ? -1 : 0);
}

static int
cb_blob_put(void *arg, const char *name, const char *type,
    const unsigned char *data, size_t len, char *id, size_t idlen)
{
	struct cb *cb = arg;
	struct blob b;

	if (cb_usage(cb) < 0)
		return (-1);
	if (cb->usage.blob_bytes + cb->new_bytes + (int64_t)len >
	    milter_g.conf->user_blob_quota) {
		cb->quota = "kept attachments";
		return (-1);
	}
	cb->new_bytes += (int64_t)len;
	memset(&b, 0, sizeof(b));
	b.user_id = cb->user_id;
	bp_strlcpy(b.alias, cb->alias, sizeof(b.alias));
	bp_strlcpy(b.name, name, sizeof(b.name));
	bp_strlcpy(b.type, type, sizeof(b.type));
	b.size = len;
	b.data = (unsigned char *)data;
	if (store_blob_put(cb->c->st, &b, milter_g.conf->blob_ttl) != STORE_OK)
		return (-1);
	bp_strlcpy(id, b.id, idlen);
	return (0);
}

/*
 * The new body goes to the MTA in pieces of BODY_CHUNK bytes.  Postfix
 * takes up to 64 KiB at a time, but Debian's miltertest (the test
 * harness of tests/milter) reads every reply into a 1 KiB buffer and
 * overruns it on a longer one; 1000 bytes costs Postfix a few more
 * messages per body and nothing else.
 */
#define BODY_CHUNK	1000

/* apply - send every change to the MTA; -1 if libmilter refused one */
static int
apply(SMFICTX *ctx, const struct rewrite_result *r, const char *env_from)
{
	size_t	 i, off;

	for (i = 0; i < r->nops; i++) {
		const struct rewrite_hdr_op *op = &r->ops[i];
		int	 rc;

		if (op->idx > 0)
			rc = smfi_chgheader(ctx, op->name, op->idx, op->value);
		else
			rc = smfi_addheader(ctx, op->name, op->value);
		if (rc != MI_SUCCESS)
			return (-1);
	}
	if (r->body_changed) {
		for (off = 0; off < r->body_len || off == 0; off += BODY_CHUNK) {
			size_t	n = r->body_len - off < BODY_CHUNK ?
			    r->body_len - off : BODY_CHUNK;

			if (smfi_replacebody(ctx, r->body + off, (int)n) != MI_SUCCESS)
				return (-1);
			if (r->body_len == 0)
				break;
		}
	}
	if (env_from && smfi_chgfrom(ctx, (char *)env_from, NULL) != MI_SUCCESS)
		return (-1);
	return (0);
}

/*
 * A notification must reach the owner's queue once, also when the same
 * message comes again: after our tempfail (say the queue failed on the
 * second of two notes, so the first is in already) or after the MTA
 * failed the message past our answer, the sender retries with the same
 * message.  So the appends are the last step that can fail (after the
 * rewrite and after every change was handed to the MTA), and each note
 * appended is remembered here for SEEN_TTL by the SHA-256 of (user,
 * Message-ID -- or the body when there is none --, position in the
 * message, bytes); a note already seen is not appended again.  The table
 * lives in this process, so a retry that reaches another MX host, or this
 * one after a restart, may still queue a note twice: at least once, never
 * lost, and in the common case exactly once.
 */
#define SEEN_MAX	4096
#define SEEN_TTL	(5 * 86400)

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	unsigned char	 digest[32];	/* note_digest */
	int64_t		 at;		/* 0 = empty */
} seen[SEEN_MAX];
static size_t seen_next;

/* note_digest - the identity of note number i of message m; -1 if the
 * digest failed */
static int
note_digest(const struct mail *m, size_t i, const char *data, size_t len,
    unsigned char digest[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int64_t	 uid = m->route.user_id;
	uint64_t pos = i;
	int	 ok;

	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(md, &uid, sizeof(uid)) &&
	    EVP_DigestUpdate(md, &pos, sizeof(pos));
	if (ok && m->msgid[0] != '\0')
		ok = EVP_DigestUpdate(md, "I", 1) &&
		    EVP_DigestUpdate(md, m->msgid, strlen(m->msgid));
	else if (ok)
		ok = EVP_DigestUpdate(md, "B", 1) &&
		    EVP_DigestUpdate(md, m->buf + m->body_off,
		    m->len - m->body_off);
	ok = ok && EVP_DigestUpdate(md, data, len) &&
	    EVP_DigestFinal_ex(md, digest, &n) && n == 32;
	EVP_MD_CTX_free(md);
	return (ok ? 0 : -1);
}

/* seen_has - was the note with this digest queued lately? */
static int
seen_has(const unsigned char digest[32])
{
	int64_t	 old = bp_now() - SEEN_TTL;
	size_t	 i;
	int	 found = 0;

	pthread_mutex_lock(&seen_lock);
	for (i = 0; i < SEEN_MAX && !found; i++)
		found = seen[i].at > old &&
		    ct_equal(seen[i].digest, 32, digest, 32);
	pthread_mutex_unlock(&seen_lock);
	return (found);
}

/* seen_add - remember a queued note (the oldest entry makes room) */
static void
seen_add(const unsigned char digest[32])
{
	pthread_mutex_lock(&seen_lock);
	memcpy(seen[seen_next].digest, digest, 32);
	seen[seen_next].at = bp_now();
	seen_next = (seen_next + 1) % SEEN_MAX;
	pthread_mutex_unlock(&seen_lock);
}

/* queue_note - append note number i of message m to its owner's queue
 * (unless it was queued already) and announce it; 0, or -1 when the
 * store failed (logged; the caller tempfails) */
static int
queue_note(SMFICTX *ctx, struct conn *c, struct mail *m, size_t i,
    const char *data, size_t len)
{
	unsigned char digest[32];
	int64_t	 idx;
	enum store_status s;
	char	 ev[128];
	int	 have_digest;

	have_digest = note_digest(m, i, data, len, digest) == 0;
	if (have_digest && seen_has(digest)) {
		log_info("%s: alias=%.8s note %zu queued before: not again",
		    qid(ctx), m->alias, i + 1);
		return (0);
	}
	s = store_queue_append(c->st, m->route.user_id, data, len,
	    milter_g.conf->queue_ttl, &idx);
	if (s != STORE_OK) {
		log_warn("%s: alias=%.8s notification queue: %s", qid(ctx),
		    m->alias, store_strstatus(s));
		conn_store_reset(c);
		return (-1);
	}
	if (have_digest)
		seen_add(digest);
	snprintf(ev, sizeof(ev), "{\"index\":%lld,\"alias\":\"%s\"}",
	    (long long)idx, m->alias);
	later_event(m->route.user_id, "queue", ev);
	return (0);
}

/* refuse_limit - the permanent reply for a limit the rewrite found
 * passed, logged with its code */
static sfsistat
refuse_limit(SMFICTX *ctx, const struct mail *m, enum rewrite_status rs,
    const char *why)
{
	static const struct {
		enum rewrite_status rs;
		const char	*code, *esc, *text;
	} limits[] = {
		{ REWRITE_TOO_DEEP, "554", "5.6.0", "MIME nesting too deep" },
		{ REWRITE_TOO_MANY_PARTS, "554", "5.6.0", "Too many MIME parts" },
		{ REWRITE_TOO_MANY_HEADERS, "552", "5.3.4", "Too many header lines" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (limits[i].rs == rs)
			break;
	if (i == sizeof(limits) / sizeof(limits[0]))
		return (tempfail(ctx, "message rewrite failed, try again later"));
	log_info("%s: alias=%.8s action=reject code=%s %s (%s)", qid(ctx),
	    m->alias, limits[i].code, limits[i].esc, why ? why : limits[i].text);
	smfi_setreply(ctx, (char *)limits[i].code, (char *)limits[i].esc,
	    (char *)limits[i].text);
	return (SMFIS_REJECT);
}

/* quota_full - 452 4.2.2 for a message that would pass one of the
 * owner's quotas (what), and a "quota" event for the owner */
static sfsistat
quota_full(SMFICTX *ctx, const struct mail *m, const char *what)
{
	json_t	*o = json_pack("{s:s, s:s, s:s}", "what", what, "alias",
	    m->alias, "origin", m->route.origin);
	char	*ev = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (ev != NULL)
		later_event(m->route.user_id, "quota", ev);
	free(ev);
	json_decref(o);
	log_info("%s: alias=%.8s action=defer code=452 4.2.2 (quota: %s)",
	    qid(ctx), m->alias, what);
	smfi_setreply(ctx, "452", "4.2.2",
	    "Mailbox full: the recipient's storage is full, try again later");
	return (SMFIS_TEMPFAIL);
}

/* eom_forward - rewrite a message for the alias owner */
static sfsistat
eom_forward(SMFICTX *ctx, struct conn *c, struct mail *m)
{
	const struct conf *cf = milter_g.conf;
	struct rewrite_env env;
	struct rewrite_result r;
	enum rewrite_status rs;
	struct cb cb;
	char	 alias_addr[REWRITE_ADDR_MAX + 1], sig[33], bounce[REWRITE_ADDR_MAX + 1];
	char	*manage, *disable, *blob_url;
	size_t	 i;
	sfsistat ret = SMFIS_CONTINUE;

	if (conn_store(c) == NULL)
		return (tempfail(ctx, "alias store unavailable"));
	memset(&cb, 0, sizeof(cb));
	cb.c = c;
	cb.user_id = m->route.user_id;
	cb.alias = m->alias;
	snprintf(alias_addr, sizeof(alias_addr), "%s@%s", m->alias, cf->alias_domain);
	if (rewrite_unsub_sig(milter_g.key, milter_g.keylen, m->alias, sig) < 0 ||
	    bounce_address(milter_g.key, milter_g.keylen, m->alias,
	    bp_now(), cf->alias_domain, bounce, sizeof(bounce)) < 0)
		return (tempfail(ctx, "signing failed"));
	manage = xmalloc(strlen(cf->dash_url) + TOKEN_MAX + 32);
	sprintf(manage, "%s/#alias=%s", cf->dash_url, m->alias);
	disable = xmalloc(strlen(cf->dash_url) + TOKEN_MAX + 64);
	sprintf(disable, "%s/v1/unsubscribe/%s?sig=%s", cf->dash_url, m->alias, sig);
	blob_url = xmalloc(strlen(cf->dash_url) + 16);
	sprintf(blob_url, "%s/v1/blobs/", cf->dash_url);

	memset(&env, 0, sizeof(env));
	env.mode = REWRITE_FORWARD;
	env.alias_addr = alias_addr;
	env.origin = m->route.origin;
	env.manage_url = manage;
	env.disable_url = disable;
	env.blob_url = blob_url;
	env.brand = "BIPostal";
	env.envelope_from = m->sender;
	env.strip = m->route.content_policy == CONTENT_STRIP;
	env.max_depth = (int)cf->milter_max_depth;
	env.max_headers = (int)cf->milter_max_headers;
	env.tmpl = &milter_g.tmpl;
	env.reply_addr = cb_reply_addr;
	env.blob_put = cb_blob_put;
	env.arg = &cb;

	rs = rewrite_message(&env, m->buf, m->len, &r);
	switch (rs) {
	case REWRITE_OK:
		break;
	case REWRITE_TOO_DEEP:
	case REWRITE_TOO_MANY_PARTS:
	case REWRITE_TOO_MANY_HEADERS:
		ret = refuse_limit(ctx, m, rs, r.why);
		goto out;
	default:
		if (cb.quota != NULL) {
			ret = quota_full(ctx, m, cb.quota);
			goto out;
		}
		log_warn("%s: alias=%.8s rewrite failed: %s", qid(ctx), m->alias,
		    r.why ? r.why : "?");
		conn_store_reset(c);
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	if (r.nnotes > 0) {
		if (cb_usage(&cb) < 0) {
			conn_store_reset(c);
			ret = tempfail(ctx, "alias store unavailable");
			goto out;
		}
		if (cb.usage.queue_msgs + (int64_t)r.nnotes >
		    cf->user_queue_quota) {
			ret = quota_full(ctx, m, "notifications");
			goto out;
		}
	}
	if (apply(ctx, &r, bounce) < 0) {
		log_warn("%s: alias=%.8s the MTA refused a change", qid(ctx), m->alias);
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	for (i = 0; i < r.nnotes; i++)
		if (queue_note(ctx, c, m, i, r.notes[i].data, r.notes[i].len) < 0) {
			ret = tempfail(ctx, "notification queue unavailable");
			goto out;
		}
	later_count(m->alias, COUNT_FORWARDED);
	mail_event(&m->route, m->alias, "forward");
	log_info("%s: alias=%.8s action=forward size=%zu blobs=%zu notes=%zu",
	    qid(ctx), m->alias, m->len, r.nblobs, r.nnotes);
out:
	rewrite_result_free(&r);
	free(manage);
	free(disable);
	free(blob_url);
	return (ret);
}

/* stranger_domain - the domain of whoever sent a refused reply (the
 * envelope sender, else From, whichever is not the owner's), printable
 * and cut, for the owner's event and the log; "" when both claim to be
 * the owner (DMARC said otherwise) */
static void
stranger_domain(char *out, size_t size, const struct mail *m,
    const char *from)
{
	const char *a = m->sender, *at;
	size_t	 n = 0;

	if (*a == '\0' || strcasecmp(a, m->route.email) == 0)
		a = strcasecmp(from, m->route.email) == 0 ? "" : from;
	at = strrchr(a, '@');
	for (at = at ? at + 1 : ""; *at && n + 1 < size && n < 253; at++)
		out[n++] = (isalnum((unsigned char)*at) || *at == '.' ||
		    *at == '-') ? *at : '?';
	out[n] = '\0';
}

/* reply_refused - a reply its owner did not send, or that failed
 * DMARC: discarded (the sender learns nothing), logged and announced
 * to the owner with the sender's domain alone, never forwarded */
static sfsistat
reply_refused(SMFICTX *ctx, const struct mail *m, const char *from,
    const char *why)
{
	char	 dom[256], jdom[2 * sizeof(dom) + 8], jwhy[256];
	char	 origin[2 * ORIGIN_MAX + 8], ev[EVENT_DATA_MAX + 1];

	stranger_domain(dom, sizeof(dom), m, from);
	json_str(jdom, sizeof(jdom), dom);
	json_str(jwhy, sizeof(jwhy), why);
	json_str(origin, sizeof(origin), m->route.origin);
	snprintf(ev, sizeof(ev), "{\"action\":\"reply_refused\",\"alias\":\"%s\","
	    "\"origin\":%s,\"sender_domain\":%s,\"reason\":%s}", m->alias,
	    origin, jdom, jwhy);
	later_event(m->route.user_id, "mail", ev);
	log_info("%s: reply=%.8s action=discard (%s) sender_domain=%s",
	    qid(ctx), m->token, why, dom[0] ? dom : "none");
	return (SMFIS_DISCARD);
}

/* reply_dmarc - the trusted verifier's DMARC verdict on the owner's
 * domain, from the topmost Authentication-Results; *why static */
static enum authres_dmarc
reply_dmarc(const struct mail *m, const char **why)
{
	const char *v = NULL, *at = strrchr(m->route.email, '@');
	size_t	 vlen = 0;

	if (!authres_top(m->buf, m->len, &v, &vlen))
		v = NULL;
	return (authres_dmarc(v, vlen, milter_g.conf->milter_trusted_authserv,
	    at ? at + 1 : "", why));
}

/*
 * eom_reply - a reply, out from the alias when its owner sent it.  The
 * order keeps the answer a stranger gets free of the owner: limits and
 * internal errors (the content's alone), then a missing verdict
 * (tempfail), then the sender: not the owner, or DMARC fail, is a
 * discard (250, as if sent).  Only the owner can then be refused for
 * what the reply holds (550 5.7.1, which their own server bounces to
 * them).
 */
static sfsistat
eom_reply(SMFICTX *ctx, struct conn *c, struct mail *m)
{
	const struct conf *cf = milter_g.conf;
	struct rewrite_env env;
	struct rewrite_result r;
	struct rewrite_reply_out out;
	enum rewrite_status rs;
	enum authres_dmarc dm = AUTHRES_DMARC_NONE;
	const char *why = NULL;
	char	 alias_addr[REWRITE_ADDR_MAX + 1];
	sfsistat ret = SMFIS_CONTINUE;

	snprintf(alias_addr, sizeof(alias_addr), "%s@%s", m->alias, cf->alias_domain);
	memset(&env, 0, sizeof(env));
	memset(&out, 0, sizeof(out));
	env.mode = REWRITE_REPLY;
	env.alias_addr = alias_addr;
	env.origin = m->route.origin;
	env.brand = "BIPostal";
	env.max_depth = (int)cf->milter_max_depth;
	env.max_headers = (int)cf->milter_max_headers;
	env.tmpl = &milter_g.tmpl;
	env.owner = m->route.email;
	env.recipient = m->site;
	env.trusted_authserv = cf->milter_trusted_authserv;
	env.key = milter_g.key;
	env.keylen = milter_g.keylen;
	env.raw = m->buf;
	env.rawlen = m->len;
	env.reply_out = &out;

	rs = rewrite_message(&env, m->buf, m->len, &r);
	if (rs == REWRITE_TOO_MANY_HEADERS || rs == REWRITE_TOO_DEEP ||
	    rs == REWRITE_TOO_MANY_PARTS) {
		ret = refuse_limit(ctx, m, rs, r.why);
		goto out;
	}
	if (rs != REWRITE_OK && out.refused == NULL) {
		log_warn("%s: reply=%.8s rewrite failed: %s", qid(ctx), m->token,
		    r.why ? r.why : "?");
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	if (cf->milter_trusted_authserv[0] != '\0' &&
	    (dm = reply_dmarc(m, &why)) == AUTHRES_DMARC_TEMP) {
		log_info("%s: reply=%.8s dmarc=temp (%s)", qid(ctx), m->token, why);
		ret = tempfail(ctx, "sender authentication unavailable, try "
		    "again later");
		goto out;
	}
	if (strcasecmp(m->sender, m->route.email) != 0 ||
	    strcasecmp(out.from_addr, m->route.email) != 0) {
		ret = reply_refused(ctx, m, out.from_addr, "not from the owner");
		goto out;
	}
	if (dm == AUTHRES_DMARC_FAIL) {
		ret = reply_refused(ctx, m, out.from_addr, why);
		goto out;
	}
	if (rs != REWRITE_OK) {
		log_info("%s: reply=%.8s action=reject code=550 5.7.1 (%s)",
		    qid(ctx), m->token, out.refused);
		smfi_setreply(ctx, "550", "5.7.1", (char *)out.refused);
		ret = SMFIS_REJECT;
		goto out;
	}
	if (apply(ctx, &r, alias_addr) < 0) {
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	later_count(m->alias, COUNT_REPLIED);
	log_info("%s: alias=%.8s action=reply size=%zu dmarc=%s", qid(ctx),
	    m->alias, m->len, cf->milter_trusted_authserv[0] != '\0' ?
	    authres_strdmarc(dm) : "unchecked");
out:
	rewrite_result_free(&r);
	return (ret);
}

/* eom_bounce - a DSN for mail we forwarded: a notification for the
 * owner instead, and the DSN itself discarded */
static sfsistat
eom_bounce(SMFICTX *ctx, struct conn *c, struct mail *m)
{
	struct rewrite_dsn d;
	char	 origin[2 * ORIGIN_MAX + 8], site[ORIGIN_MAX + 1], note[2560];
	const char *what;

	rewrite_dsn(m->buf, m->len, &d);
	if (m->route.user_id == 0 || m->route.status == ALIAS_DELETED ||
	    m->route.user_status != USER_ACTIVE) {
		log_info("%s: alias=%.8s action=discard (bounce for a gone alias)",
		    qid(ctx), m->alias);
		return (SMFIS_DISCARD);
	}
	if (d.kind == DSN_AUTOREPLY || d.kind == DSN_OTHER) {
		log_info("%s: alias=%.8s action=discard (%s to a bounce address)",
		    qid(ctx), m->alias, d.kind == DSN_AUTOREPLY ? "auto-reply" :
		    "success notice");
		return (SMFIS_DISCARD);
	}
	if (conn_store(c) == NULL)
		return (tempfail(ctx, "alias store unavailable"));
	what = d.kind == DSN_DELAYED ? "is delayed on its way" :
	    "could not be delivered";
	bp_strlcpy(site, m->route.origin[0] ? m->route.origin : "a site",
	    sizeof(site));
	json_str(origin, sizeof(origin), m->route.origin);
	{
		char	 text[600], jtext[1300];

		snprintf(text, sizeof(text), "Mail from %s to your alias %s@%s "
		    "%s to your mailbox%s%s%s.", site, m->alias,
		    milter_g.conf->alias_domain, what, d.status[0] ? " (" : "",
		    d.status, d.status[0] ? ")" : "");
		json_str(jtext, sizeof(jtext), text);
		snprintf(note, sizeof(note), "{\"type\":\"bounce\","
		    "\"alias\":\"%s\",\"origin\":%s,\"status\":\"%s\","
		    "\"delayed\":%s,\"text\":%s}", m->alias, origin, d.status,
		    d.kind == DSN_DELAYED ? "true" : "false", jtext);
	}
	if (queue_note(ctx, c, m, 0, note, strlen(note)) < 0)
		return (tempfail(ctx, "notification queue unavailable"));
	mail_event(&m->route, m->alias, "bounce");
	log_info("%s: alias=%.8s action=bounce status=%s%s", qid(ctx), m->alias,
	    d.status[0] ? d.status : "unknown",
	    d.kind == DSN_DELAYED ? " (delayed)" : "");
	return (SMFIS_DISCARD);
}

/* mlfi_eom - compute everything, then apply it */
sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	struct mail *m;
	sfsistat ret;

	if (c == NULL || c->mail == NULL)
		return (tempfail(ctx, "milter state lost"));
	m = c->mail;
	if (m->refuse != NULL && m->kind != MAIL_DISCARD &&
	    m->kind != MAIL_BOUNCE) {
		log_info("%s: alias=%.8s action=reject code=552 5.3.4 (%s)",
		    qid(ctx), m->alias, m->refuse);
		smfi_setreply(ctx, "552", "5.3.4", (char *)m->refuse);
		mail_free(c->mail);
		c->mail = NULL;
		return (SMFIS_REJECT);
	}
	switch (m->kind) {
	case MAIL_FORWARD:
		ret = eom_forward(ctx, c, m);
		break;
	case MAIL_REPLY:
		ret = eom_reply(ctx, c, m);
		break;
	case MAIL_BOUNCE:
		ret = eom_bounce(ctx, c, m);
		break;
	case MAIL_DISCARD:
		block_once(ctx, m, &m->route, m->alias, "discard");
		ret = SMFIS_DISCARD;
		break;
	default:
		ret = SMFIS_CONTINUE;
		break;
	}
	mail_free(c->mail);
	c->mail = NULL;
	return (ret);
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
