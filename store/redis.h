/*
 * redis.h - the optional Redis side of the store (hiredis)
 *
 * Redis is never the source of truth: counters, rate-limit buckets,
 * cache-invalidation and event fan-out only.  Everything works without it
 * (redis_open("") returns NULL and every call on NULL is a no-op that
 * answers "allowed" / STORE_OK).  After any failed reply the context is
 * dropped and the next call reconnects, so one bad reply never poisons
 * the connection.  Not thread-safe: one struct redis per thread.
 */
#ifndef BIPOSTAL_REDIS_H
#define BIPOSTAL_REDIS_H

#include <stdint.h>
#include "store.h"

struct redis;

/* redis_open - uri "redis://host:port/N" or "unix:/path?db=N"; "" or NULL
 * gives NULL (no Redis); a server that is down is not an error here: the
 * first call reconnects */
struct redis	*redis_open(const char *uri);
void		 redis_close(struct redis *);
enum store_status redis_ping(struct redis *);

/* redis_ratelimit - fixed-window limit: at most limit hits of key per
 * window seconds; 1 allowed, 0 refused with *retry_after seconds.  When
 * Redis is down or absent the limit is kept in process memory instead. */
int		 redis_ratelimit(struct redis *, const char *key, long limit,
		    long window, long *retry_after);
/* redis_publish - fan out a JSON event on channel "bipostal:events:<user>" */
enum store_status redis_publish(struct redis *, int64_t user_id,
		    const char *type, const char *json);
/* redis_invalidate - announce that an alias changed, so caches drop it */
enum store_status redis_invalidate(struct redis *, const char *token);
/* redis_incr - add n to a named counter (metrics shared across hosts) */
enum store_status redis_incr(struct redis *, const char *name, long n);
/* redis_get_counter - read it back; 0 if absent */
enum store_status redis_get_counter(struct redis *, const char *name, long long *);

#endif
