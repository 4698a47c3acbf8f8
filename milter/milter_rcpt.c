/*
 * milter_rcpt.c - RCPT: what each recipient is and whether it is taken
 *
 * Only recipients in alias_domain concern us, read as Postfix resolved
 * them ({rcpt_addr}, through addr.c).  A transaction holds one alias (or
 * one reply or bounce address) and nothing else: a RCPT for another one,
 * or for another domain once an alias is in, gets 452 4.5.3 so the
 * client sends it in its own transaction (and each owner gets a copy
 * rewritten for them alone).  What an alias's state means is
 * route_verdict()'s: an active alias is forwarded (within
 * milter_rate_alias, else 450 4.7.1); a disabled one is discarded at end
 * of message or rejected (550 5.1.1) as its owner chose, and counted as
 * blocked either way, once per message; mail from a sender the owner
 * blocked on an active alias (store_block_match on the envelope sender
 * here, on the header From at end of message: milter_eom.c) is treated
 * the same way, with 550 5.7.1 for "reject"; a reply address is accepted
 * whoever sends (any other answer would tell who owns it) and judged at
 * end of message (milter_eom.c).  A signed bounce address (bounce.h)
 * takes delivery status notifications: a forged or expired one gets
 * 550 5.1.1.  postmaster@ and abuse@ pass to ops.
 *
 * Recipients the MTA rejected itself: the milter asks for them too
 * (SMFIP_RCPT_REJ), because Postfix refuses a disabled alias whose owner
 * chose "reject" at RCPT (bipostal-postmapd answers NOTFOUND), and that
 * refusal must be counted as blocked.  Nothing else is done with them.
 *
 * Failure: a store that cannot answer, or a recipient that cannot be
 * classified, is 451 4.3.0.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "bounce.h"
#include "log.h"
#include "milter.h"
#include "milter_mail.h"
#include "redis.h"
#include "route.h"
#include "store.h"
#include "util.h"

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

/* rcpt_blocked - the envelope sender is one the owner blocked on alias
 * token: refused now (550 5.7.1) or discarded at end of message, as the
 * owner chose for disabled aliases; counted as blocked either way */
static sfsistat
rcpt_blocked(SMFICTX *ctx, struct mail *m, const char *token)
{
	if (m->route.disabled_action == DISABLED_REJECT) {
		block_once(ctx, m, &m->route, token, "reject", "blocked sender");
		smfi_setreply(ctx, "550", "5.7.1", BLOCKED_TEXT);
		return (SMFIS_REJECT);
	}
	m->kind = MAIL_DISCARD;
	m->why = "blocked sender";
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
		bp_strlcpy(m->token, token, sizeof(m->token));
		bp_strlcpy(m->alias, token, sizeof(m->alias));
		switch (route_verdict(&m->route, now, NULL)) {
		case ROUTE_FORWARD:
			switch (block_sender(ctx, c, m->sender, "envelope")) {
			case 0:
				break;
			case 1:
				return (rcpt_blocked(ctx, m, token));
			default:
				return (tempfail(ctx, "alias store unavailable"));
			}
			if (rcpt_rate(ctx, c, token) < 0)
				return (SMFIS_TEMPFAIL);
			m->kind = MAIL_FORWARD;
			return (SMFIS_CONTINUE);
		case ROUTE_DISCARD:
			m->kind = MAIL_DISCARD;
			return (SMFIS_CONTINUE);
		case ROUTE_REJECT:
			/* an MTA without bipostal-postmapd lets it through */
			block_once(ctx, m, &m->route, token, "reject",
			    "disabled");
			smfi_setreply(ctx, "550", "5.1.1",
			    "Recipient address rejected: alias disabled");
			return (SMFIS_REJECT);
		case ROUTE_GONE:
			m->token[0] = m->alias[0] = '\0';
			return (no_alias(ctx));
		default:
			return (tempfail(ctx, "alias in a state this milter "
			    "does not know"));
		}
	}
	if (s != STORE_NOTFOUND) {
		conn_store_reset(c);
		return (tempfail(ctx, "alias store unavailable"));
	}

	/* not an alias: a reply address, of an alias that still lives for
	 * its owner (disabled ones too: the owner may still write) */
	s = store_reply_get(st, token, &rp);
	if (s == STORE_OK)
		s = store_alias_route(st, rp.alias, &m->route);
	if (s == STORE_NOTFOUND || (s == STORE_OK &&
	    route_verdict(&m->route, now, NULL) == ROUTE_GONE))
		return (no_alias(ctx));
	if (s == STORE_OK && !route_live(&m->route, now))
		return (tempfail(ctx, "alias in a state this milter does not "
		    "know"));
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
	if (route_verdict(&r, bp_now(), NULL) == ROUTE_REJECT)
		block_once(ctx, c->mail, &r, token, "reject", "disabled");
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
