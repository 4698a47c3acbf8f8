/*
 * redis.c - the optional Redis side of the store (hiredis)
 *
 * Interface: redis.h.  URIs (read by uri.c):
 * redis://[:password@]host[:port][/N] and unix:/path[?db=N].  Redis
 * holds rate-limit buckets and fans events out; it is never the source
 * of truth.  Subscriptions (redis_subscribe_*) use a connection of their
 * own, set up (AUTH, SELECT) exactly as the command connection is.
 *
 * Failures: connect and command timeouts are short (REDIS_TIMEOUT_MS).
 * After any NULL reply, error reply or context error the context is
 * freed, and the next call connects again - a context that failed once
 * is never used again.  When a context kept from earlier calls meets
 * end-of-file or a reset (the server restarted in between), the command
 * is sent once more on a new connection.  After a failed connect no new
 * attempt is made for REDIS_RETRY_MS, so a dead Redis costs one refused
 * connect per second, not one per call.  Calls that need Redis then
 * answer STORE_TEMP.  A subscription that fails, by an error reply too,
 * answers REDIS_SUB_ERROR from then on; it is never mistaken for one
 * that listens.
 *
 * Rate limits are fixed windows: the first hit of a key creates a counter
 * that expires window seconds later (INCR and EXPIRE in one Lua script,
 * atomic on the server, shared by every host).  When Redis is down - or
 * not configured at all (a NULL struct redis) - the same fixed window is
 * kept in a table in process memory, so a limit never silently turns
 * into "no limit".  That table is shared by the process, guarded by a
 * mutex, and bounded: when full, the entry whose window ends first is
 * reused.
 *
 * Ownership: redis_open returns a new struct redis (redis_close, which
 * accepts NULL), redis_subscribe_open a new struct redis_sub
 * (redis_subscribe_close, which accepts NULL).  Strings passed in are
 * borrowed.  Log lines never carry a full key (keys may contain
 * addresses) nor the URI (it may hold the password).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "redis.h"
#include "uri.h"
#include "util.h"

#define REDIS_TIMEOUT_MS	1000
#define REDIS_RETRY_MS		1000
#define REDIS_KEY_MAX		512	/* a longer key is INVALID */
#define RL_SLOTS		4096	/* in-process fallback buckets */
#define RL_PROBE		16
#define RL_KEY_MAX		128	/* stored prefix; the hash covers all */

struct redis {
	char		*host;		/* NULL with a unix socket */
	int		 port;
	char		*path;		/* unix socket or NULL */
	char		*password;	/* NULL = no AUTH */
	int		 db;
	redisContext	*c;		/* NULL: dropped, connect on next use */
	uint64_t	 retry_ms;	/* no connect attempt before this */
	int		 down;		/* logged as down */
};

struct rl_slot {
	uint64_t	 hash;
	char		 key[RL_KEY_MAX + 1];
	int64_t		 start;		/* window start, seconds */
	long		 window;
	long		 count;
};

static struct rl_slot rl_table[RL_SLOTS];
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;

/* INCR, set the expiry on the first hit (or when a crash lost it), and
 * return the count and the seconds left in the window */
static const char rl_script[] =
	"local n = redis.call('INCR', KEYS[1]) "
	"local ttl = redis.call('TTL', KEYS[1]) "
	"if n == 1 or ttl < 0 then "
	"  redis.call('EXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) "
	"end "
	"return {n, ttl}";

/* redis_drop - forget a context that failed */
static void
redis_drop(struct redis *r)
{
	if (r->c != NULL)
		redisFree(r->c);
	r->c = NULL;
}

/* redis_where - host:port or the socket path, for log lines */
static void
redis_where(const struct redis *r, char *buf, size_t size)
{
	if (r->path != NULL)
		snprintf(buf, size, "%s", r->path);
	else
		snprintf(buf, size, "%s:%d", r->host, r->port);
}

/* redis_down - log once that Redis cannot be used, drop the context */
static void
redis_down(struct redis *r, const char *what, const char *err)
{
	char	where[300];

	redis_where(r, where, sizeof(where));
	if (!r->down)
		log_warn("redis %s: %s: %s", where, what, err ? err : "?");
	r->down = 1;
	redis_drop(r);
	r->retry_ms = bp_mono_ms() + REDIS_RETRY_MS;
}

/* redis_setup1 - one command of the setup of a fresh context (argv
 * form); 0, or -1 with the context dropped: no reply or an error reply */
static int
redis_setup1(struct redis *r, int argc, const char **argv)
{
	redisReply *rep;

	rep = redisCommandArgv(r->c, argc, argv, NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		redis_down(r, argv[0], rep ? rep->str : r->c->errstr);
		if (rep)
			freeReplyObject(rep);
		return (-1);
	}
	freeReplyObject(rep);
	return (0);
}

/* redis_setup - AUTH and SELECT on a fresh context; 0 or -1 */
static int
redis_setup(struct redis *r)
{
	const char *argv[2];
	char	 db[16];

	argv[0] = "AUTH";
	argv[1] = r->password;
	if (r->password != NULL && redis_setup1(r, 2, argv) != 0)
		return (-1);
	snprintf(db, sizeof(db), "%d", r->db);
	argv[0] = "SELECT";
	argv[1] = db;
	if (r->db != 0 && redis_setup1(r, 2, argv) != 0)
		return (-1);
	return (0);
}

/* redis_ready - a usable context, connecting if needed; 0 or -1 */
static int
redis_ready(struct redis *r)
{
	struct timeval tv = { REDIS_TIMEOUT_MS / 1000,
	    (REDIS_TIMEOUT_MS % 1000) * 1000 };
	char	where[300];

	if (r->c != NULL)
		return (0);
	if (bp_mono_ms() < r->retry_ms)
		return (-1);
	if (r->path != NULL)
		r->c = redisConnectUnixWithTimeout(r->path, tv);
	else
		r->c = redisConnectWithTimeout(r->host, r->port, tv);
	if (r->c == NULL || r->c->err) {
		redis_down(r, "connect", r->c ? r->c->errstr : "out of memory");
		return (-1);
	}
	if (redisSetTimeout(r->c, tv) != REDIS_OK) {
		redis_down(r, "timeout", r->c->errstr);
		return (-1);
	}
	if (redis_setup(r) != 0)
		return (-1);
	if (r->down) {
		redis_where(r, where, sizeof(where));
		log_info("redis %s: connected again", where);
	}
	r->down = 0;
	return (0);
}

/* redis_cmd - run one command (argv form); the reply is new, or NULL
 * after the context has been dropped.  An error reply drops it too. */
static redisReply *
redis_cmd(struct redis *r, int argc, const char **argv, const size_t *lens)
{
	redisReply *rep = NULL;
	int	 fresh, try;

	for (try = 0; try < 2; try++) {
		fresh = r->c == NULL;
		if (redis_ready(r) != 0)
			return (NULL);
		rep = redisCommandArgv(r->c, argc, argv, lens);
		if (rep != NULL)
			break;
		/* A context kept from before a server restart reads EOF or
		 * a reset: the command never reached a live server, so it
		 * is sent once more on a new connection. */
		if (try == 0 && !fresh && (r->c->err == REDIS_ERR_EOF ||
		    r->c->err == REDIS_ERR_IO)) {
			redis_drop(r);
			continue;
		}
		redis_down(r, argv[0], r->c->errstr);
		return (NULL);
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		/* the server is up: drop the context, but no back-off */
		char	where[300];

		redis_where(r, where, sizeof(where));
		log_warn("redis %s: %s: %.200s", where, argv[0], rep->str);
		freeReplyObject(rep);
		redis_drop(r);
		return (NULL);
	}
	return (rep);
}

/* redis_db - a database number of 0 to 1000 from text; 0 or -1 */
static int
redis_db(const char *text, int *db)
{
	char	*e;
	long	 v;

	if (*text < '0' || *text > '9')
		return (-1);
	v = strtol(text, &e, 10);
	if (*e != '\0' || v > 1000)
		return (-1);
	*db = (int)v;
	return (0);
}

/* redis_parse - host/port/path/password/db from text (uri.c); 0, or -1
 * with *why */
static int
redis_parse(struct redis *r, const char *text, const char **why)
{
	struct uri u;
	const char *db = NULL;
	int	 rc = -1;

	if (uri_parse(text, strlen(text), &u, why) != 0)
		return (-1);
	*why = "want redis://[:password@]host[:port][/N] or unix:/path[?db=N]";
	if (strcmp(u.scheme, "unix") == 0) {
		if (u.has_authority && (u.has_user ||
		    u.host_type != URI_HOST_NONE || u.port != 0))
			goto out;
		if (u.nparam > 1 || (u.nparam == 1 &&
		    (db = uri_param(&u, "db")) == NULL))
			goto out;
		if (u.path[0] == '\0')
			goto out;
		r->path = xstrdup(u.path);
	} else if (strcmp(u.scheme, "redis") == 0 && u.has_authority) {
		if (u.nparam != 0)
			goto out;
		r->host = xstrdup(u.host[0] != '\0' ? u.host : "127.0.0.1");
		r->port = u.port != 0 ? u.port : 6379;
		if (u.has_password)
			r->password = xstrdup(u.password);
		if (u.path[0] == '/' && u.path[1] != '\0')
			db = u.path + 1;	/* "" and "/" are database 0 */
	} else
		goto out;
	if (db != NULL && redis_db(db, &r->db) != 0) {
		*why = "the database is not a number of 0 to 1000";
		goto out;
	}
	rc = 0;
out:
	uri_clear(&u);
	return (rc);
}

/* redis_new - a struct redis for text, not connected yet; NULL (logged)
 * for a bad URI */
static struct redis *
redis_new(const char *text)
{
	struct redis *r;
	const char *why;

	r = xcalloc(1, sizeof(*r));
	if (redis_parse(r, text, &why) != 0) {
		log_error("redis: bad URI: %s", why);
		redis_close(r);
		return (NULL);
	}
	return (r);
}

/* redis_open - parse uri; NULL for no Redis (""/NULL) or a bad uri */
struct redis *
redis_open(const char *uri)
{
	struct redis *r;

	if (uri == NULL || *uri == '\0')
		return (NULL);
	if ((r = redis_new(uri)) == NULL)
		return (NULL);
	(void)redis_ready(r);		/* a server that is down is fine */
	return (r);
}

/* redis_close - drop the context and free; NULL is fine */
void
redis_close(struct redis *r)
{
	if (r == NULL)
		return;
	redis_drop(r);
	free(r->host);
	free(r->path);
	if (r->password != NULL)
		explicit_bzero(r->password, strlen(r->password));
	free(r->password);
	free(r);
}

/* redis_ping - STORE_OK if Redis answers (or is not configured) */
enum store_status
redis_ping(struct redis *r)
{
	const char *argv[] = { "PING" };
	redisReply *rep;

	if (r == NULL)
		return (STORE_OK);
	if ((rep = redis_cmd(r, 1, argv, NULL)) == NULL)
		return (STORE_TEMP);
	freeReplyObject(rep);
	return (STORE_OK);
}

/* rl_hash - FNV-1a of a key */
static uint64_t
rl_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (h);
}

/* rl_local - the in-process fixed window: 1 allowed, 0 refused */
static int
rl_local(const char *key, long limit, long window, long *retry_after)
{
	uint64_t h = rl_hash(key);
	int64_t	 now = bp_now();
	struct rl_slot *e = NULL, *victim = NULL, *t;
	int	 i, allowed;

	pthread_mutex_lock(&rl_lock);
	for (i = 0; i < RL_PROBE; i++) {
		t = &rl_table[(h + (uint64_t)i) % RL_SLOTS];
		if (t->count > 0 && t->hash == h && t->window == window &&
		    strncmp(t->key, key, RL_KEY_MAX) == 0) {
			e = t;
			break;
		}
		/* free or expired slots first, else the one ending first */
		if (victim == NULL || t->count == 0 ||
		    (victim->count != 0 && t->start + t->window <
		    victim->start + victim->window))
			victim = t;
	}
	if (e != NULL && now >= e->start + e->window)
		e->count = 0;			/* window over: start again */
	if (e == NULL || e->count == 0) {
		if (e == NULL)
			e = victim;
		e->hash = h;
		bp_strlcpy(e->key, key, sizeof(e->key));
		e->start = now;
		e->window = window;
		e->count = 0;
	}
	e->count++;
	allowed = e->count <= limit;
	*retry_after = allowed ? 0 : (long)(e->start + e->window - now);
	if (*retry_after < 0 || (!allowed && *retry_after == 0))
		*retry_after = 1;
	pthread_mutex_unlock(&rl_lock);
	return (allowed);
}

/* redis_ratelimit - at most limit hits of key per window seconds */
int
redis_ratelimit(struct redis *r, const char *key, long limit, long window,
    long *retry_after)
{
	char	 k[REDIS_KEY_MAX + 16], w[32];
	const char *argv[5];
	redisReply *rep;
	long long n, ttl;
	long	 dummy;

	if (retry_after == NULL)
		retry_after = &dummy;
	*retry_after = 0;
	if (window < 1)
		window = 1;
	if (limit < 0)
		limit = 0;
	if (r == NULL)
		return (rl_local(key, limit, window, retry_after));
	snprintf(k, sizeof(k), "bipostal:rl:%.*s", REDIS_KEY_MAX, key);
	snprintf(w, sizeof(w), "%ld", window);
	argv[0] = "EVAL";
	argv[1] = rl_script;
	argv[2] = "1";
	argv[3] = k;
	argv[4] = w;
	if ((rep = redis_cmd(r, 5, argv, NULL)) == NULL)
		return (rl_local(key, limit, window, retry_after));
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		redis_down(r, "EVAL", "unexpected reply");
		return (rl_local(key, limit, window, retry_after));
	}
	n = rep->element[0]->integer;
	ttl = rep->element[1]->integer;
	freeReplyObject(rep);
	if (n <= limit)
		return (1);
	*retry_after = ttl > 0 ? (long)ttl : 1;
	return (0);
}

/* redis_publish1 - PUBLISH channel message; OK or TEMP */
static enum store_status
redis_publish1(struct redis *r, const char *chan, const char *msg)
{
	const char *argv[] = { "PUBLISH", chan, msg };
	redisReply *rep;

	if ((rep = redis_cmd(r, 3, argv, NULL)) == NULL)
		return (STORE_TEMP);
	freeReplyObject(rep);
	return (STORE_OK);
}

/* redis_publish - {"type":T,"data":JSON} on bipostal:events:<user> */
enum store_status
redis_publish(struct redis *r, int64_t user_id, const char *type,
    const char *json)
{
	char	 chan[64], *msg;
	size_t	 i, len;
	enum store_status s;

	if (r == NULL)
		return (STORE_OK);
	if (type == NULL || *type == '\0' || strlen(type) > EVENT_TYPE_MAX)
		return (STORE_INVALID);
	for (i = 0; type[i] != '\0'; i++)
		if (!isalnum((unsigned char)type[i]) && type[i] != '_' &&
		    type[i] != '-' && type[i] != '.')
			return (STORE_INVALID);
	if (json == NULL || *json == '\0')
		json = "null";
	snprintf(chan, sizeof(chan), REDIS_EVENTS_CHANNEL "%lld",
	    (long long)user_id);
	len = strlen(type) + strlen(json) + 32;
	msg = xmalloc(len);
	snprintf(msg, len, "{\"type\":\"%s\",\"data\":%s}", type, json);
	s = redis_publish1(r, chan, msg);
	free(msg);
	return (s);
}

/*
 * Subscriptions.  A struct redis_sub owns a struct redis of its own: it
 * is connected, authenticated and given its database exactly as a
 * command connection is (redis_ready), and once SUBSCRIBE is answered
 * its context only carries what the server pushes.  Any failure, an
 * error reply included, drops that context for good: the caller closes
 * the handle and opens a new one when it wants to listen again.
 */
struct redis_sub {
	struct redis	*r;
};

/* redis_sub_reply - what a pushed reply is: 1 a message (its payload
 * copied into buf when buf is not NULL), 0 nothing for the caller (the
 * confirmation of a subscription), -1 an error (logged, context dropped) */
static int
redis_sub_reply(struct redis_sub *s, const redisReply *rep, char *buf,
    size_t size)
{
	const redisReply *kind;

	if (rep->type == REDIS_REPLY_ERROR) {
		redis_down(s->r, "subscription", rep->str);
		return (-1);
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    (kind = rep->element[0])->type != REDIS_REPLY_STRING) {
		redis_down(s->r, "subscription", "unexpected reply");
		return (-1);
	}
	if (strcmp(kind->str, "message") != 0)
		return (0);
	if (rep->elements != 3 || rep->element[2]->type != REDIS_REPLY_STRING) {
		redis_down(s->r, "subscription", "unexpected message");
		return (-1);
	}
	if (buf != NULL && size > 0)
		bp_strlcpy(buf, rep->element[2]->str, size);
	return (1);
}

/* redis_subscribe_open - connect for uri and SUBSCRIBE channel; a new
 * handle, or NULL (logged) */
struct redis_sub *
redis_subscribe_open(const char *uri, const char *channel)
{
	const char *argv[2];
	struct redis_sub *s;
	redisReply *rep;

	if (uri == NULL || *uri == '\0' || channel == NULL ||
	    *channel == '\0' || strlen(channel) > REDIS_KEY_MAX)
		return (NULL);
	s = xcalloc(1, sizeof(*s));
	if ((s->r = redis_new(uri)) == NULL) {
		free(s);
		return (NULL);
	}
	argv[0] = "SUBSCRIBE";
	argv[1] = channel;
	/* redis_cmd connects, sends AUTH and SELECT, and turns an error
	 * reply (NOAUTH, NOPERM...) into NULL */
	if ((rep = redis_cmd(s->r, 2, argv, NULL)) == NULL) {
		redis_subscribe_close(s);
		return (NULL);
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(rep->element[0]->str, "subscribe") != 0 ||
	    rep->element[2]->type != REDIS_REPLY_INTEGER) {
		redis_down(s->r, "SUBSCRIBE", "unexpected reply");
		freeReplyObject(rep);
		redis_subscribe_close(s);
		return (NULL);
	}
	freeReplyObject(rep);
	return (s);
}

/* redis_subscribe_next - wait up to timeout_ms for the next message */
enum redis_sub_status
redis_subscribe_next(struct redis_sub *s, int timeout_ms, char *buf,
    size_t size)
{
	struct pollfd pfd;
	redisContext *c;
	void	*rep;
	uint64_t deadline, now;
	int	 n, k;

	if (buf != NULL && size > 0)
		buf[0] = '\0';
	if (s == NULL || (c = s->r->c) == NULL)
		return (REDIS_SUB_ERROR);
	deadline = bp_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		/* replies read earlier come first: one read may hold many */
		if (redisGetReplyFromReader(c, &rep) != REDIS_OK) {
			redis_down(s->r, "subscription", c->errstr);
			return (REDIS_SUB_ERROR);
		}
		if (rep != NULL) {
			k = redis_sub_reply(s, rep, buf, size);
			freeReplyObject(rep);
			if (k != 0)
				return (k > 0 ? REDIS_SUB_MESSAGE :
				    REDIS_SUB_ERROR);
			continue;
		}
		now = bp_mono_ms();
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = poll(&pfd, 1, now < deadline ? (int)(deadline - now) : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			redis_down(s->r, "subscription", strerror(errno));
			return (REDIS_SUB_ERROR);
		}
		if (n == 0)
			return (REDIS_SUB_TIMEOUT);
		if (redisBufferRead(c) != REDIS_OK) {
			redis_down(s->r, "subscription", c->errstr);
			return (REDIS_SUB_ERROR);
		}
	}
}

/* redis_subscribe_close - end the subscription and free; NULL is fine */
void
redis_subscribe_close(struct redis_sub *s)
{
	if (s == NULL)
		return;
	redis_close(s->r);
	free(s);
}
