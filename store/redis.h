/*
 * redis.h - the optional Redis side of the store (hiredis)
 *
 * Redis is never the source of truth: rate-limit buckets and event
 * fan-out only.  Everything works without it (redis_open("") returns
 * NULL and every call on NULL is a no-op that answers "allowed" /
 * STORE_OK).  After any failed reply the context is dropped and the next
 * call reconnects, so one bad reply never poisons the connection.  Not
 * thread-safe: one struct redis (or struct redis_sub) per thread.
 *
 * URIs are read by uri.c: redis://[:password@]host[:port][/N] (the
 * password is sent with AUTH, N with SELECT; a user name is ignored)
 * and unix:/path[?db=N].
 */
#ifndef BIPOSTAL_REDIS_H
#define BIPOSTAL_REDIS_H

#include <stdint.h>
#include "store.h"

struct redis;

/* redis_open - a new handle for uri; "" or NULL gives NULL (no Redis), and
 * so does a bad uri (logged); a server that is down is not an error here:
 * the first call reconnects */
struct redis	*redis_open(const char *uri);
void		 redis_close(struct redis *);
enum store_status redis_ping(struct redis *);

/* redis_ratelimit - fixed-window limit: at most limit hits of key per
 * window seconds; 1 allowed, 0 refused with *retry_after seconds.  When
 * Redis is down or absent the limit is kept in process memory instead. */
int		 redis_ratelimit(struct redis *, const char *key, long limit,
		    long window, long *retry_after);
/* redis_publish - fan out a JSON event on channel "bipostal:events:<user>"
 * (REDIS_EVENTS_CHANNEL and the user id) */
#define REDIS_EVENTS_CHANNEL	"bipostal:events:"
enum store_status redis_publish(struct redis *, int64_t user_id,
		    const char *type, const char *json);

/*
 * Subscriptions: a connection of its own per subscriber, set up (AUTH,
 * SELECT) exactly as redis_open's, on which SUBSCRIBE has been answered.
 * An error reply, at SUBSCRIBE or later, is an error and never taken for
 * a subscription; after REDIS_SUB_ERROR the handle only answers that
 * again: close it, and open a new one to listen again.
 */
struct redis_sub;

enum redis_sub_status {
	REDIS_SUB_MESSAGE = 0,	/* a message arrived */
	REDIS_SUB_TIMEOUT,	/* none within the time */
	REDIS_SUB_ERROR,	/* the subscription is gone (logged) */
};

/* redis_subscribe_open - connect for uri and subscribe to channel; a new
 * handle, or NULL when uri is empty or bad, or the server cannot be
 * reached or refuses (logged) */
struct redis_sub *redis_subscribe_open(const char *uri, const char *channel);
/* redis_subscribe_next - wait up to timeout_ms (0: do not wait) for the
 * next message; its payload goes into buf (size bytes, NUL-terminated,
 * cut at size - 1) when buf is not NULL */
enum redis_sub_status redis_subscribe_next(struct redis_sub *, int timeout_ms,
		    char *buf, size_t size);
/* redis_subscribe_close - unsubscribe and free; NULL is fine */
void		 redis_subscribe_close(struct redis_sub *);

#endif
