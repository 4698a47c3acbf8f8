/*
 * postmapd_query.c - one socketmap request in, one reply text out
 *
 * Interface: postmapd_query() (postmapd.h).  A request is "map key":
 *
 *   alias TOKEN@alias_domain   the alias's route:
 *	active, owner active, not expired	OK owner@real.address
 *	disabled, owner setting "discard"	OK blocked@discard.bipostal.invalid
 *	disabled, owner setting "reject"	NOTFOUND
 *	deleted, expired, unknown, owner revoked, wrong domain, malformed
 *						NOTFOUND
 *   alias bounce+TS+TOKEN+MAC@alias_domain   a bounce address (bounce.h),
 *				the envelope sender of mail we forwarded:
 *	signed with secret_key_file, in time	OK bounce@discard.bipostal.invalid
 *	forged, malformed, expired, no key	NOTFOUND
 *				The answer is judged by the signature alone,
 *				without the store: a delivery status
 *				notification for forwarded mail is accepted
 *				(250) and never delivered anywhere real
 *				(postfix-conf routes the discard domain to
 *				the discard agent; bipostal-milter turns it
 *				into a notification for the alias owner).
 *   reply TOKEN@alias_domain   the external sender a reply address
 *				stands for: OK sender@site | NOTFOUND (also
 *				when its alias is deleted, expired or its
 *				owner revoked: route_verdict decides, as for
 *				the alias map and the milter)
 *   any other map		PERM unknown map
 *
 * Keys are folded to lower case.  A "+extension" in the local part is
 * dropped before the lookup (tokens are [0-9a-z] only, so "tok+x" can
 * only mean "tok"); the answer is the same as for the bare token.  A key
 * without "@alias_domain" is NOTFOUND.
 *
 * Failure: a store that is unreachable, slow or unsure answers "TEMP
 * reason" and a store configuration error "PERM reason"; both make
 * Postfix defer (451 4.3.0).  NOTFOUND is only ever answered when the key
 * cannot name an alias or the store said the alias does not route.
 * An address from the store that could be read by Postfix as more than
 * one address (comma, white space, control characters) is a TEMP and an
 * error in the log, never a forward.  Blocked mail is counted by the
 * milter, which sees the original recipient; this file never writes.
 *
 * Cache: none unless postmapd_cache_ttl is set.  Then an OK answer of the
 * store (never NOTFOUND, TEMP nor PERM) is kept in a fixed table of
 * CACHE_SLOTS entries, each under one of CACHE_LOCKS mutexes, and reused
 * for at most postmapd_cache_ttl (<= 1 s) milliseconds: a disable or
 * delete reaches every host within that time with no invalidation
 * messages, and an alias that exists is never refused because of it.
 *
 * Ownership: the store handle belongs to the calling thread; the cache and
 * the bounce key (read once at startup, postmapd_bounce_init) are the only
 * state kept between calls.  Logs never show more than 8 characters of a
 * token nor any real address.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "bounce.h"
#include "log.h"
#include "postmapd.h"
#include "route.h"
#include "store.h"
#include "util.h"

static const char *const reply_word[] = {
	[STORE_OK] = "OK",
	[STORE_NOTFOUND] = "NOTFOUND",
	[STORE_TEMP] = "TEMP",
	[STORE_PERM] = "PERM",
	[STORE_INVALID] = "NOTFOUND",	/* a malformed key cannot exist */
	[STORE_EXISTS] = "TEMP",
};

#define CACHE_SLOTS	8192		/* direct-mapped */
#define CACHE_LOCKS	64

struct cache_ent {
	uint64_t	 expires;	/* monotonic ms; 0 = empty */
	char		 map;		/* 'a'lias or 'r'eply */
	char		 tok[TOKEN_MAX + 1];
	char		 reply[EMAIL_MAX + 4];	/* "OK " address */
};

static struct cache_ent *cache;
static pthread_mutex_t cache_mu[CACHE_LOCKS];
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* cache_init - the table, on first use */
static void
cache_init(void)
{
	int	i;

	cache = xcalloc(CACHE_SLOTS, sizeof(*cache));
	for (i = 0; i < CACHE_LOCKS; i++)
		pthread_mutex_init(&cache_mu[i], NULL);
}

/* cache_slot - where map/tok lives (FNV-1a) */
static size_t
cache_slot(char map, const char *tok)
{
	uint32_t h = 2166136261u ^ (unsigned char)map;

	for (; *tok; tok++)
		h = (h ^ (unsigned char)*tok) * 16777619u;
	return (h % CACHE_SLOTS);
}

/* cache_get - a live cached reply for map/tok into out; its length or 0 */
static size_t
cache_get(char map, const char *tok, char *out, size_t size)
{
	size_t	i = cache_slot(map, tok), n = 0;
	struct cache_ent *e;

	pthread_once(&cache_once, cache_init);
	e = &cache[i];
	pthread_mutex_lock(&cache_mu[i % CACHE_LOCKS]);
	if (e->expires > bp_mono_ms() && e->map == map &&
	    strcmp(e->tok, tok) == 0 && (n = strlen(e->reply)) < size)
		memcpy(out, e->reply, n + 1);
	else
		n = 0;
	pthread_mutex_unlock(&cache_mu[i % CACHE_LOCKS]);
	return (n);
}

/* cache_put - remember an OK reply for ms milliseconds */
static void
cache_put(char map, const char *tok, const char *reply, long ms)
{
	size_t	i = cache_slot(map, tok);
	struct cache_ent *e;

	if (strlen(reply) >= sizeof(e->reply))
		return;
	pthread_once(&cache_once, cache_init);
	e = &cache[i];
	pthread_mutex_lock(&cache_mu[i % CACHE_LOCKS]);
	e->expires = bp_mono_ms() + (uint64_t)ms;
	e->map = map;
	bp_strlcpy(e->tok, tok, sizeof(e->tok));
	bp_strlcpy(e->reply, reply, sizeof(e->reply));
	pthread_mutex_unlock(&cache_mu[i % CACHE_LOCKS]);
}

/* postmapd_cache_flush - forget every cached answer */
void
postmapd_cache_flush(void)
{
	size_t	i;

	pthread_once(&cache_once, cache_init);
	for (i = 0; i < CACHE_SLOTS; i++) {
		pthread_mutex_lock(&cache_mu[i % CACHE_LOCKS]);
		cache[i].expires = 0;
		pthread_mutex_unlock(&cache_mu[i % CACHE_LOCKS]);
	}
}

static size_t postmapd_say(char *, size_t, enum store_status, const char *);

/* The key of bounce addresses: set once by postmapd_bounce_init before
 * the workers start, only read afterwards. */
static unsigned char bounce_key[512];
static size_t bounce_keylen;

/* postmapd_bounce_init - read secret_key_file, which signs bounce
 * addresses; 0, or -1 with the reason in err.  Without the parameter
 * every bounce address is NOTFOUND (a warning says so). */
int
postmapd_bounce_init(const struct conf *cf, char *err, size_t errlen)
{
	long	n;

	if (cf->secret_key_file == NULL || cf->secret_key_file[0] == '\0') {
		log_warn("secret_key_file is not set: bounces to forwarded "
		    "mail are refused");
		return (0);
	}
	n = conf_read_key(cf->secret_key_file, bounce_key, sizeof(bounce_key),
	    err, errlen);
	if (n < 0)
		return (-1);
	bounce_keylen = (size_t)n;
	return (0);
}

/* postmapd_bounce - the alias map for the bounce address whose local
 * part is local: signed and in time, or NOTFOUND */
static size_t
postmapd_bounce(const char *local, char *out, size_t size)
{
	char	 tok[TOKEN_MAX + 1];
	enum bounce_verdict v;

	v = bounce_check(bounce_key, bounce_keylen, local, strlen(local),
	    bp_now(), tok, sizeof(tok), NULL);
	if (v != BOUNCE_OK) {
		if (log_verbose)
			log_info("alias bounce: %s: not found",
			    bounce_strverdict(v));
		return (postmapd_say(out, size, STORE_NOTFOUND, ""));
	}
	if (log_verbose)
		log_info("alias bounce %.8s: accepted", tok);
	return (postmapd_say(out, size, STORE_OK, POSTMAPD_BOUNCE_ADDR));
}

/* postmapd_say - write "WORD text" into out; returns its length */
static size_t
postmapd_say(char *out, size_t size, enum store_status s, const char *text)
{
	int	n;

	n = snprintf(out, size, "%s %s", reply_word[s], text);
	if (n < 0)
		return (0);
	return ((size_t)n >= size ? size - 1 : (size_t)n);
}

/* postmapd_fail - the reply for a store status other than OK/NOTFOUND */
static size_t
postmapd_fail(char *out, size_t size, const char *map, const char *tok,
    enum store_status s)
{
	if (s == STORE_NOTFOUND || s == STORE_INVALID)
		return (postmapd_say(out, size, STORE_NOTFOUND, ""));
	log_warn("%s %.8s: store: %s", map, tok, store_strstatus(s));
	if (s == STORE_PERM)
		return (postmapd_say(out, size, STORE_PERM,
		    "store configuration error"));
	return (postmapd_say(out, size, STORE_TEMP, "store unavailable"));
}

/* postmapd_alias - the alias map: route_verdict() decides */
static size_t
postmapd_alias(struct store *st, const char *tok, char *out, size_t size,
    enum store_status *sst)
{
	struct alias_route r;
	const char *why = NULL;
	enum store_status s;

	memset(&r, 0, sizeof(r));
	s = store_alias_route(st, tok, &r);
	*sst = s;
	if (s != STORE_OK)
		return (postmapd_fail(out, size, "alias", tok, s));
	switch (route_verdict(&r, bp_now(), &why)) {
	case ROUTE_FORWARD:
		break;
	case ROUTE_DISCARD:
		if (log_verbose)
			log_info("alias %.8s: disabled, discard", tok);
		return (postmapd_say(out, size, STORE_OK,
		    POSTMAPD_DISCARD_ADDR));
	case ROUTE_REJECT:
	case ROUTE_GONE:
		if (log_verbose)
			log_info("alias %.8s: %s: not found", tok, why);
		return (postmapd_say(out, size, STORE_NOTFOUND, ""));
	default:
		log_error("alias %.8s: unknown status %d", tok, (int)r.status);
		return (postmapd_say(out, size, STORE_TEMP, "bad alias status"));
	}
	if (!addr_email_ok(r.email)) {
		log_error("alias %.8s: owner address is not one plain address",
		    tok);
		return (postmapd_say(out, size, STORE_TEMP, "bad owner address"));
	}
	if (log_verbose)
		log_info("alias %.8s: forward", tok);
	return (postmapd_say(out, size, STORE_OK, r.email));
}

/* postmapd_reply - the reply map */
static size_t
postmapd_reply(struct store *st, const char *tok, char *out, size_t size,
    enum store_status *sst)
{
	struct reply r;
	enum store_status s;

	struct alias_route ar;
	const char *why = NULL;

	memset(&r, 0, sizeof(r));
	s = store_reply_get(st, tok, &r);
	if (s == STORE_OK) {
		/* the alias must still live: a gone one's reply addresses
		 * are gone with it (route_verdict, as for the milter) */
		memset(&ar, 0, sizeof(ar));
		s = store_alias_route(st, r.alias, &ar);
		if (s == STORE_OK) {
			switch (route_verdict(&ar, bp_now(), &why)) {
			case ROUTE_GONE:
				if (log_verbose)
					log_info("reply %.8s: alias %s: not "
					    "found", tok, why);
				return (postmapd_say(out, size,
				    STORE_NOTFOUND, ""));
			case ROUTE_UNSURE:
				log_error("reply %.8s: alias in unknown "
				    "status %d", tok, (int)ar.status);
				return (postmapd_say(out, size, STORE_TEMP,
				    "bad alias status"));
			default:
				break;
			}
		}
	}
	*sst = s;
	if (s != STORE_OK)
		return (postmapd_fail(out, size, "reply", tok, s));
	if (!addr_email_ok(r.sender)) {
		log_error("reply %.8s: sender is not one plain address", tok);
		return (postmapd_say(out, size, STORE_TEMP, "bad sender address"));
	}
	if (log_verbose)
		log_info("reply %.8s: found", tok);
	return (postmapd_say(out, size, STORE_OK, r.sender));
}

/* postmapd_role - postmaster@ and abuse@ the alias domain: the alias
 * map sends them to postmaster_address (RFC 5321 4.5.1), the reply map
 * knows them not */
static size_t
postmapd_role(const char *ops, int is_alias, char *out, size_t size)
{
	if (!is_alias || ops == NULL || *ops == '\0') {
		if (log_verbose)
			log_info("%s: role address: not found",
			    is_alias ? "alias" : "reply");
		return (postmapd_say(out, size, STORE_NOTFOUND, ""));
	}
	if (!addr_email_ok(ops)) {
		log_error("postmaster_address is not one plain address");
		return (postmapd_say(out, size, STORE_TEMP, "bad postmaster_address"));
	}
	return (postmapd_say(out, size, STORE_OK, ops));
}

/* postmapd_query - answer one request */
size_t
postmapd_query(struct store *(*get)(void *), void *arg, const char *domain,
    const char *ops, long cache_ms, const char *req, size_t len, char *out,
    size_t size, enum store_status *sst)
{
	struct store *st;
	struct addr a;
	const char *sp, *key;
	char	tok[TOKEN_MAX + 1], ext[ADDR_LOCAL_MAX + 1], name[32];
	size_t	mlen, klen, n;
	int	is_alias;

	*sst = STORE_OK;
	sp = memchr(req, ' ', len);
	mlen = sp ? (size_t)(sp - req) : len;
	key = sp ? sp + 1 : req + len;
	klen = (size_t)(req + len - key);
	if (mlen == 5 && memcmp(req, "alias", 5) == 0)
		is_alias = 1;
	else if (mlen == 5 && memcmp(req, "reply", 5) == 0)
		is_alias = 0;
	else {
		log_warn("unknown map \"%s\"", log_printable(name,
		    sizeof(name), req, mlen));
		return (postmapd_say(out, size, STORE_PERM, "unknown map"));
	}
	switch (addr_classify(key, klen, domain, &a, tok, sizeof(tok), ext,
	    sizeof(ext))) {
	case ADDR_ALIAS:
		break;
	case ADDR_BOUNCE:
		if (is_alias)
			return (postmapd_bounce(a.local, out, size));
		return (postmapd_say(out, size, STORE_NOTFOUND, ""));
	case ADDR_ROLE:
		return (postmapd_role(ops, is_alias, out, size));
	default:
		if (log_verbose)
			log_info("%s: malformed key or other domain: not found",
			    is_alias ? "alias" : "reply");
		return (postmapd_say(out, size, STORE_NOTFOUND, ""));
	}
	if (cache_ms > 0 && (n = cache_get(is_alias ? 'a' : 'r', tok, out,
	    size)) > 0)
		return (n);
	if ((st = get(arg)) == NULL) {
		*sst = STORE_TEMP;
		return (postmapd_say(out, size, STORE_TEMP, "store unavailable"));
	}
	if (is_alias)
		n = postmapd_alias(st, tok, out, size, sst);
	else
		n = postmapd_reply(st, tok, out, size, sst);
	if (cache_ms > 0 && *sst == STORE_OK && strncmp(out, "OK ", 3) == 0)
		cache_put(is_alias ? 'a' : 'r', tok, out, cache_ms);
	return (n);
}
