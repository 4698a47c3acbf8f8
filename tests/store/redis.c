/*
 * redis.c - the Redis side of the store against a real Redis
 *
 * Needs the variables of tests/lib/servers.sh (fails without them: the
 * harness is not running), but stops and starts a private Redis of its
 * own (private_servers.h), since other tests use the shared one at the
 * same time.  Checks ping, fixed-window rate limits shared between
 * handles, publish and invalidate (received
 * by a second hiredis context that subscribed), counters, and what
 * happens while "servers.sh stop-redis" has Redis down: calls answer
 * TEMP quickly, rate limits go on in process memory, and after
 * "start-redis" the same handle recovers.  Prints TAP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "redis.h"
#include "util.h"
#include "../lib/tap.h"
#include "private_servers.h"

#define FAST_MS		3000


/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* subscriber - a plain hiredis context subscribed to chan */
static redisContext *
subscriber(int port, const char *chan)
{
	struct timeval tv = { 2, 0 };
	redisContext *c;
	redisReply *rep;

	c = redisConnectWithTimeout("127.0.0.1", port, tv);
	if (c == NULL || c->err)
		ps_bail("subscriber connect: %s", c ? c->errstr : "?");
	redisSetTimeout(c, tv);
	rep = redisCommand(c, "SUBSCRIBE %s", chan);
	if (rep == NULL)
		ps_bail("SUBSCRIBE: %s", c->errstr);
	freeReplyObject(rep);
	return (c);
}

/* receive - the payload of the next message on c (static), or NULL */
static const char *
receive(redisContext *c)
{
	static char buf[8192];
	redisReply *rep = NULL;

	if (redisGetReply(c, (void **)&rep) != REDIS_OK || rep == NULL)
		return (NULL);
	buf[0] = '\0';
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
	    rep->element[2]->type == REDIS_REPLY_STRING)
		bp_strlcpy(buf, rep->element[2]->str, sizeof(buf));
	freeReplyObject(rep);
	return (buf);
}

int
main(void)
{
	const char *uri, *dir, *msg;
	char	 key[64], key2[128], chan[64], name[64];
	struct redis *r, *r2, *none;
	redisContext *sub;
	long	 retry;
	long long t0, ms, v;
	int	 i, port, allowed, tries;
	enum store_status s;

	uri = getenv("BIPOSTAL_TEST_REDIS");
	dir = getenv("BIPOSTAL_TEST_MYSQLD_DIR");
	if (uri == NULL || *uri == '\0' || dir == NULL || *dir == '\0') {
		ok(0, "BIPOSTAL_TEST_REDIS and BIPOSTAL_TEST_MYSQLD_DIR are set "
		    "(start tests/lib/servers.sh)");
		return (tap_done());
	}
	log_open("redis_test", 1);
	/* faults go to a private pair: the shared one serves other tests */
	private_servers_start();
	uri = getenv("BIPOSTAL_TEST_REDIS");
	if (sscanf(uri, "redis://%*[^:]:%d", &port) != 1)
		ps_bail("cannot parse BIPOSTAL_TEST_REDIS");

	/* absent and bad */
	none = redis_open("");
	ok(none == NULL, "no Redis configured: NULL");
	is_int(redis_ping(NULL), STORE_OK, "ping on none: OK");
	is_int(redis_publish(NULL, 1, "alias", "{}"), STORE_OK,
	    "publish on none: OK");
	ok(redis_open("http://nope") == NULL, "bad URI: NULL");

	r = redis_open(uri);
	r2 = redis_open(uri);
	ok(r != NULL && r2 != NULL, "open twice");
	is_int(redis_ping(r), STORE_OK, "ping");

	/* rate limit: 3 per 30 s, shared by both handles */
	snprintf(key, sizeof(key), "test:%ld:%ld", (long)getpid(),
	    (long)time(NULL));
	for (i = 0, allowed = 0; i < 3; i++)
		allowed += redis_ratelimit(i % 2 ? r2 : r, key, 3, 30, &retry);
	is_int(allowed, 3, "ratelimit allows 3 of 3 (both handles)");
	is_int(redis_ratelimit(r, key, 3, 30, &retry), 0,
	    "the 4th is refused");
	ok(retry >= 1 && retry <= 30, "... retry_after %ld in 1..30", retry);
	is_int(redis_ratelimit(r2, key, 3, 30, &retry), 0,
	    "refused by the other handle too");

	/* the window ends */
	snprintf(key2, sizeof(key2), "%s:w", key);
	is_int(redis_ratelimit(r, key2, 1, 1, &retry), 1, "1 per 1 s: allowed");
	is_int(redis_ratelimit(r, key2, 1, 1, &retry), 0, "... then refused");
	usleep(2100000);
	is_int(redis_ratelimit(r, key2, 1, 1, &retry), 1,
	    "... allowed again when the window is over");

	/* in process when absent */
	snprintf(key2, sizeof(key2), "%s:none", key);
	is_int(redis_ratelimit(NULL, key2, 2, 30, &retry) +
	    redis_ratelimit(NULL, key2, 2, 30, &retry), 2,
	    "no Redis: 2 of 2 allowed in process");
	is_int(redis_ratelimit(NULL, key2, 2, 30, &retry), 0,
	    "... the 3rd refused");
	ok(retry >= 1 && retry <= 30, "... retry_after %ld", retry);

	/* publish and invalidate */
	snprintf(chan, sizeof(chan), "bipostal:events:%ld", (long)getpid());
	sub = subscriber(port, chan);
	is_int(redis_publish(r, getpid(), "alias", "{\"token\":\"abc\"}"),
	    STORE_OK, "publish");
	msg = receive(sub);
	ok(msg != NULL && strstr(msg, "\"alias\"") != NULL &&
	    strstr(msg, "{\"token\":\"abc\"}") != NULL,
	    "subscriber receives it: %s", msg ? msg : "(nothing)");
	is_int(redis_publish(r, getpid(), "bad\"type", "{}"), STORE_INVALID,
	    "publish with a bad type: INVALID");
	redisFree(sub);
	sub = subscriber(port, "bipostal:invalidate");
	is_int(redis_invalidate(r, "tok123"), STORE_OK, "invalidate");
	msg = receive(sub);
	is_str(msg, "tok123", "subscriber receives the token");
	redisFree(sub);

	/* counters */
	snprintf(name, sizeof(name), "test.%ld", (long)getpid());
	is_int(redis_get_counter(r, name, &v), STORE_OK, "absent counter");
	is_int(v, 0, "... reads 0");
	is_int(redis_incr(r, name, 5), STORE_OK, "incr 5");
	is_int(redis_incr(r2, name, 2), STORE_OK, "incr 2 (other handle)");
	is_int(redis_get_counter(r, name, &v), STORE_OK, "get counter");
	is_int(v, 7, "... reads 7");

	/* Redis down */
	if (!ok(private_servers_cmd("stop-redis") == 0,
	    "servers.sh stop-redis"))
		ps_bail("cannot stop Redis");
	t0 = now_ms();
	s = redis_ping(r);
	ms = now_ms() - t0;
	is_int(s, STORE_TEMP, "ping with Redis down: TEMP");
	ok(ms < FAST_MS, "... in %lld ms", ms);
	is_int(redis_incr(r, name, 1), STORE_TEMP, "incr: TEMP");
	is_int(redis_get_counter(r, name, &v), STORE_TEMP, "get counter: TEMP");
	is_int(redis_publish(r, 1, "alias", "{}"), STORE_TEMP, "publish: TEMP");
	is_int(redis_invalidate(r, "tok"), STORE_TEMP, "invalidate: TEMP");
	snprintf(key2, sizeof(key2), "%s:down", key);
	t0 = now_ms();
	allowed = 0;
	for (i = 0; i < 5; i++)
		allowed += redis_ratelimit(r, key2, 3, 30, &retry);
	ms = now_ms() - t0;
	is_int(allowed, 3, "ratelimit with Redis down: 3 of 5 allowed in "
	    "process");
	ok(retry >= 1 && retry <= 30, "... retry_after %ld", retry);
	ok(ms < FAST_MS, "... 5 calls in %lld ms", ms);

	/* Redis back: the same handles recover */
	if (!ok(private_servers_cmd("start-redis") == 0,
	    "servers.sh start-redis"))
		ps_bail("cannot start Redis again");
	for (tries = 1; tries < 50; tries++) {
		if ((s = redis_ping(r)) == STORE_OK)
			break;
		usleep(100000);
	}
	is_int(s, STORE_OK, "ping after the restart (%d tries)", tries);
	is_int(redis_incr(r, name, 3), STORE_OK, "incr after the restart");
	is_int(redis_get_counter(r2, name, &v), STORE_OK,
	    "get counter, other handle");
	is_int(v, 3, "... reads 3 (no persistence: a fresh server)");
	snprintf(key2, sizeof(key2), "%s:back", key);
	is_int(redis_ratelimit(r, key2, 1, 30, &retry), 1,
	    "ratelimit through Redis again: allowed");
	is_int(redis_ratelimit(r2, key2, 1, 30, &retry), 0,
	    "... and refused by the other handle: shared again");

	redis_close(r);
	redis_close(r2);
	redis_close(NULL);
	return (tap_done());
}
