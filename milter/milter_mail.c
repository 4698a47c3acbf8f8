/*
 * milter_mail.c - the libmilter callbacks and the state of one message
 *
 * RCPT: only recipients in alias_domain concern us.  A transaction holds
 * one alias (or one reply address) and nothing else: a RCPT for another
 * one, or for another domain once an alias is in, gets 452 4.5.3 so the
 * client sends it in its own transaction (and each owner gets a copy
 * rewritten for them alone).  An active alias is forwarded; a disabled one
 * is discarded at end of message or rejected (550 5.1.1) as its owner
 * chose, and counted as blocked either way; a reply address takes mail
 * only from its alias owner's real address (else 550 5.7.1).
 *
 * DATA: headers and body are buffered (up to milter_max_size, 552 5.3.4;
 * milter_max_headers, 552 5.3.4).  At end of message rewrite_message()
 * computes every change first; only when all of it succeeded are the
 * changes sent to the MTA.  Then notifications are queued and counters
 * bumped.
 *
 * Failure: any internal error (store, rewrite, libmilter) answers
 * 451 4.3.0 through SMFIS_TEMPFAIL: mail is never discarded and never
 * half rewritten because of an error.  Ownership: struct conn belongs to
 * the connection (freed at close, which may come with no private data);
 * struct mail to one transaction (freed at MAIL FROM, abort and close).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce.h"
#include "log.h"
#include "milter.h"
#include "store.h"
#include "token.h"
#include "util.h"

#include <unistd.h>

enum mail_kind {
	MAIL_NONE = 0,		/* no alias recipient (yet) */
	MAIL_FORWARD,
	MAIL_DISCARD,		/* disabled alias, owner chose discard */
	MAIL_REPLY,
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

/*
 * Counters are statistics: bumping one is a committed write (an fsync
 * with SQLite), which has no business delaying the answer to the MTA.
 * mlfi_* record increments here; a background thread writes them about
 * once a second through its own store handle, and milter_counts_flush()
 * writes what is left at shutdown.  A failed write is logged and retried
 * on the next round, up to COUNT_PENDING_MAX distinct entries.
 */
#define COUNT_PENDING_MAX	4096

struct pending {
	char		 token[TOKEN_MAX + 1];
	enum alias_counter kind;
	long		 n;
};

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pend;
static size_t npend;

/* count_later - one more forwarded/blocked/replied for token */
static void
count_later(const char *token, enum alias_counter kind)
{
	size_t	i;

	pthread_mutex_lock(&count_lock);
	for (i = 0; i < npend; i++)
		if (pend[i].kind == kind && strcmp(pend[i].token, token) == 0)
			break;
	if (i == npend && npend < COUNT_PENDING_MAX) {
		if (pend == NULL)
			pend = xcalloc(COUNT_PENDING_MAX, sizeof(*pend));
		bp_strlcpy(pend[i].token, token, sizeof(pend[i].token));
		pend[i].kind = kind;
		pend[i].n = 0;
		npend++;
	}
	if (i < npend)
		pend[i].n++;
	else
		log_warn("alias=%.8s counter dropped: too many pending", token);
	pthread_mutex_unlock(&count_lock);
}

/* counts_write - write the pending increments; 0, or -1 if some are left */
static int
counts_write(struct store **stp)
{
	struct pending *batch;
	size_t	 n, i;
	long	 k;
	enum store_status s;
	const char *why = NULL;
	int	 rc = 0;

	pthread_mutex_lock(&count_lock);
	n = npend;
	batch = n ? xmalloc(n * sizeof(*batch)) : NULL;
	if (n)
		memcpy(batch, pend, n * sizeof(*batch));
	npend = 0;
	pthread_mutex_unlock(&count_lock);
	if (n == 0)
		return (0);
	if (*stp == NULL && (*stp = store_open(milter_g.conf->store, &s, &why)) == NULL)
		log_warn("counters: store: %s", why ? why : "cannot open");
	for (i = 0; i < n; i++) {
		for (k = 0; k < batch[i].n; k++) {
			if (*stp == NULL ||
			    store_alias_count(*stp, batch[i].token, batch[i].kind) != STORE_OK)
				break;
		}
		if (k < batch[i].n) {
			/* put back what was not written */
			rc = -1;
			store_close(*stp);
			*stp = NULL;
			for (; k < batch[i].n; k++)
				count_later(batch[i].token, batch[i].kind);
		}
	}
	free(batch);
	return (rc);
}

/* counts_main - the background writer */
static void *
counts_main(void *arg)
{
	struct store *st = NULL;

	for (;;) {
		sleep(1);
		if (counts_write(&st) < 0)
			log_warn("counters: write failed, will retry");
	}
	return (NULL);
}

/* milter_counts_start - start the background writer */
int
milter_counts_start(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, counts_main, NULL) != 0)
		return (-1);
	pthread_detach(t);
	return (0);
}

/* milter_counts_flush - write what is pending (shutdown, tests) */
void
milter_counts_flush(void)
{
	struct store *st = NULL;

	if (counts_write(&st) < 0)
		log_warn("counters: some increments could not be written");
	store_close(st);
}

/* tempfail - 451 4.3.0 with a reason */
static sfsistat
tempfail(SMFICTX *ctx, const char *why)
{
	smfi_setreply(ctx, "451", "4.3.0", (char *)why);
	return (SMFIS_TEMPFAIL);
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

/* qid - the queue id for log lines */
static const char *
qid(SMFICTX *ctx)
{
	const char *i = smfi_getsymval(ctx, "i");

	return (i ? i : "NOQUEUE");
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
 * round trips of a small message.
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
	    SMFIP_NR_BODY;
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

	mail_free(c->mail);
	c->mail = xcalloc(1, sizeof(*c->mail));
	addr_strip(c->mail->sender, sizeof(c->mail->sender), argv[0]);
	return (SMFIS_CONTINUE);
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
			smfi_setreply(ctx, "550", "5.1.1",
			    "Recipient address rejected: no such alias");
			return (SMFIS_REJECT);
		}
		bp_strlcpy(m->token, token, sizeof(m->token));
		bp_strlcpy(m->alias, token, sizeof(m->alias));
		if (m->route.status == ALIAS_ACTIVE) {
			m->kind = MAIL_FORWARD;
			return (SMFIS_CONTINUE);
		}
		if (m->route.disabled_action == DISABLED_REJECT) {
			count_later(token, COUNT_BLOCKED);
			log_info("%s: alias=%.8s action=reject (disabled)",
			    qid(ctx), token);
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
		smfi_setreply(ctx, "550", "5.1.1",
		    "Recipient address rejected: no such alias");
		return (SMFIS_REJECT);
	}
	if (s == STORE_OK)
		s = store_alias_route(st, rp.alias, &m->route);
	if (s == STORE_NOTFOUND || (s == STORE_OK &&
	    (m->route.status == ALIAS_DELETED ||
	    m->route.user_status != USER_ACTIVE))) {
		smfi_setreply(ctx, "550", "5.1.1",
		    "Recipient address rejected: no such alias");
		return (SMFIS_REJECT);
	}
	if (s != STORE_OK) {
		conn_store_reset(c);
		return (tempfail(ctx, "alias store unavailable"));
	}
	if (strcasecmp(m->sender, m->route.email) != 0) {
		log_info("%s: reply=%.8s action=reject (not from the owner)",
		    qid(ctx), token);
		smfi_setreply(ctx, "550", "5.7.1",
		    "Reply addresses accept mail only from their owner");
		return (SMFIS_REJECT);
	}
	bp_strlcpy(m->token, token, sizeof(m->token));
	bp_strlcpy(m->alias, rp.alias, sizeof(m->alias));
	bp_strlcpy(m->site, rp.sender, sizeof(m->site));
	m->kind = MAIL_REPLY;
	return (SMFIS_CONTINUE);
}

/* mlfi_envrcpt - one alias per transaction, and its policy */
sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	struct mail *m;
	char	 addr[EMAIL_MAX + 1], token[TOKEN_MAX + 1];
	const char *at;

	if (c == NULL || c->mail == NULL)
		return (tempfail(ctx, "milter state lost"));
	m = c->mail;
	addr_strip(addr, sizeof(addr), argv[0]);
	at = strrchr(addr, '@');
	if (at == NULL || strcasecmp(at + 1, milter_g.conf->alias_domain) != 0 ||
	    strncasecmp(addr, "bounce+", 7) == 0) {
		/* not an alias: fine alone, not beside one */
		if (m->kind != MAIL_NONE && m->kind != MAIL_OTHER)
			goto one_alias;
		m->kind = MAIL_OTHER;
		return (SMFIS_CONTINUE);
	}
	addr[at - addr] = '\0';
	addr[strcspn(addr, "+")] = '\0';	/* tok+ext is tok, as for postmapd */
	if (!token_fold(token, sizeof(token), addr)) {
		smfi_setreply(ctx, "550", "5.1.1",
		    "Recipient address rejected: no such alias");
		return (SMFIS_REJECT);
	}
	if (m->kind == MAIL_OTHER)
		goto one_alias;
	if (m->kind != MAIL_NONE) {
		if (strcmp(token, m->token) == 0)
			return (SMFIS_CONTINUE);	/* the same alias again */
		goto one_alias;
	}
	return (rcpt_alias(ctx, c, token));

one_alias:
	smfi_setreply(ctx, "452", "4.5.3",
	    "One alias per message: send this recipient separately");
	return (SMFIS_TEMPFAIL);
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
	if ((c->mail->kind == MAIL_FORWARD || c->mail->kind == MAIL_REPLY) &&
	    c->mail->refuse == NULL)
		buf_add(c->mail, "\r\n", 2);
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
};

static int
cb_reply_addr(void *arg, const char *sender, char *out, size_t outlen)
{
	struct cb *cb = arg;
	struct reply rp;
	int	 n;

	if (store_reply_get_or_create(cb->c->st, cb->alias, sender, &rp) != STORE_OK)
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
		for (off = 0; off < r->body_len || off == 0; off += 65536) {
			size_t	n = r->body_len - off < 65536 ? r->body_len - off : 65536;

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

/* eom_forward - rewrite a message for the alias owner */
static sfsistat
eom_forward(SMFICTX *ctx, struct conn *c, struct mail *m)
{
	const struct conf *cf = milter_g.conf;
	struct rewrite_env env;
	struct rewrite_result r;
	enum rewrite_status rs;
	struct cb cb = { c, m->route.user_id, m->alias };
	char	 alias_addr[REWRITE_ADDR_MAX + 1], sig[33], bounce[REWRITE_ADDR_MAX + 1];
	char	*manage, *disable, *blob_url;
	size_t	 i;
	sfsistat ret = SMFIS_CONTINUE;

	if (conn_store(c) == NULL)
		return (tempfail(ctx, "alias store unavailable"));
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
		log_info("%s: alias=%.8s action=reject code=554 5.6.0 (%s)", qid(ctx),
		    m->alias, r.why);
		smfi_setreply(ctx, "554", "5.6.0", "MIME nesting too deep");
		ret = SMFIS_REJECT;
		goto out;
	case REWRITE_TOO_MANY_HEADERS:
		log_info("%s: alias=%.8s action=reject code=552 5.3.4 (%s)", qid(ctx),
		    m->alias, r.why);
		smfi_setreply(ctx, "552", "5.3.4", "Too many header lines");
		ret = SMFIS_REJECT;
		goto out;
	default:
		log_warn("%s: alias=%.8s rewrite failed: %s", qid(ctx), m->alias,
		    r.why ? r.why : "?");
		conn_store_reset(c);
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	if (apply(ctx, &r, bounce) < 0) {
		log_warn("%s: alias=%.8s the MTA refused a change", qid(ctx), m->alias);
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	for (i = 0; i < r.nnotes; i++) {
		int64_t	 idx, eid;
		char	 ev[256];

		if (store_queue_append(c->st, m->route.user_id, r.notes[i].data,
		    r.notes[i].len, cf->queue_ttl, &idx) != STORE_OK) {
			conn_store_reset(c);
			ret = tempfail(ctx, "notification queue unavailable");
			goto out;
		}
		snprintf(ev, sizeof(ev), "{\"index\":%lld,\"alias\":\"%s\"}",
		    (long long)idx, m->alias);
		if (store_event_append(c->st, m->route.user_id, "queue", ev,
		    &eid) != STORE_OK)
			log_warn("%s: alias=%.8s event append failed", qid(ctx), m->alias);
	}
	count_later(m->alias, COUNT_FORWARDED);
	log_info("%s: alias=%.8s action=forward size=%zu blobs=%zu notes=%zu",
	    qid(ctx), m->alias, m->len, r.nblobs, r.nnotes);
out:
	rewrite_result_free(&r);
	free(manage);
	free(disable);
	free(blob_url);
	return (ret);
}

/* eom_reply - an owner's reply, out from the alias */
static sfsistat
eom_reply(SMFICTX *ctx, struct conn *c, struct mail *m)
{
	const struct conf *cf = milter_g.conf;
	struct rewrite_env env;
	struct rewrite_result r;
	enum rewrite_status rs;
	char	 alias_addr[REWRITE_ADDR_MAX + 1];
	sfsistat ret = SMFIS_CONTINUE;

	if (conn_store(c) == NULL)
		return (tempfail(ctx, "alias store unavailable"));
	snprintf(alias_addr, sizeof(alias_addr), "%s@%s", m->alias, cf->alias_domain);
	memset(&env, 0, sizeof(env));
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

	rs = rewrite_message(&env, m->buf, m->len, &r);
	if (rs == REWRITE_TOO_MANY_HEADERS) {
		smfi_setreply(ctx, "552", "5.3.4", "Too many header lines");
		ret = SMFIS_REJECT;
		goto out;
	}
	if (rs != REWRITE_OK) {
		log_warn("%s: reply=%.8s rewrite failed: %s", qid(ctx), m->token,
		    r.why ? r.why : "?");
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	if (strcasecmp(r.from_addr, m->route.email) != 0 ||
	    (cf->milter_trusted_authserv[0] != '\0' && !r.dmarc_pass)) {
		log_info("%s: reply=%.8s action=reject code=550 5.7.1 (From is not "
		    "the owner)",
		    qid(ctx), m->token);
		smfi_setreply(ctx, "550", "5.7.1",
		    "Reply addresses accept mail only from their owner");
		ret = SMFIS_REJECT;
		goto out;
	}
	if (apply(ctx, &r, alias_addr) < 0) {
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	count_later(m->alias, COUNT_REPLIED);
	log_info("%s: alias=%.8s action=reply size=%zu", qid(ctx), m->alias, m->len);
out:
	rewrite_result_free(&r);
	return (ret);
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
	if (m->refuse != NULL && m->kind != MAIL_DISCARD) {
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
	case MAIL_DISCARD:
		count_later(m->alias, COUNT_BLOCKED);
		log_info("%s: alias=%.8s action=discard (disabled)", qid(ctx),
		    m->alias);
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
