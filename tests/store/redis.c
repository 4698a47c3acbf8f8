/*
 * redis.c - the Redis side of the store against a real Redis
 *
 * Needs the variables of tests/lib/servers.sh (fails without them: the
 * harness is not running), but stops and starts a private Redis of its
 * own (private_servers.h), since other tests use the shared one at the
 * same time.  Checks ping, fixed-window rate limits shared between
 * handles, publish (received by a second hiredis context that
 * subscribed), subscriptions through redis_subscribe_* (messages,
 * timeouts, a subscription killed by the server, a database that cannot
 * be selected, a unix socket), and what happens while "servers.sh
 * stop-redis" has Redis down: calls answer TEMP quickly, rate limits go
 * on in process memory, and after "start-redis" the same handle
 * recovers.  Then a second Redis of its own, started here with
 * --requirepass on a free loopback port in a private directory (and
 * killed at exit): AUTH from the URI for commands and subscriptions
 * alike, and the error replies of a missing or wrong password taken as
 * errors, never as a subscription.  Prints TAP.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "redis.h"
#include "util.h"
#include "../lib/tap.h"
#include "private_servers.h"

#define FAST_MS		3000
#define PW		"p@ss/w%rd:1"		/* the --requirepass one */
#define PW_URI		"p%40ss%2Fw%25rd%3A1"	/* as it stands in a URI */

static char pw_dir[512];	/* the password Redis's directory */

/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
	return ((long long)bp_mono_ms());
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

/* free_port - a loopback port nobody listens on, below the ephemeral
 * range (where some client's end could take it at any time) */
static int
free_port(void)
{
	struct sockaddr_in sin;
	int	 fd, port, i;

	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (i = 0; i < 100; i++) {
		port = 20000 + rand() % 12000;
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			ps_bail("socket");
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			return (port);
		}
		close(fd);
	}
	ps_bail("no free port");
}

/* pw_stop - kill the password Redis and remove its directory (atexit) */
static void
pw_stop(void)
{
	char	 path[600], buf[1200];
	FILE	*f;
	long	 pid = 0;
	int	 i;

	if (pw_dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/redis.pid", pw_dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 1) {
		kill((pid_t)pid, SIGTERM);
		for (i = 0; i < 50 && kill((pid_t)pid, 0) == 0; i++)
			usleep(100000);
		if (kill((pid_t)pid, 0) == 0)
			kill((pid_t)pid, SIGKILL);
	}
	snprintf(buf, sizeof(buf), "rm -rf '%s'", pw_dir);
	if (system(buf) != 0)
		diag("cannot remove %s", pw_dir);
	pw_dir[0] = '\0';
}

/* pw_alive - the password Redis answers PING after AUTH */
static int
pw_alive(int port)
{
	struct timeval tv = { 1, 0 };
	redisContext *c;
	redisReply *rep;
	int	 up = 0;

	c = redisConnectWithTimeout("127.0.0.1", port, tv);
	if (c == NULL || c->err) {
		redisFree(c);
		return (0);
	}
	if ((rep = redisCommand(c, "AUTH %s", PW)) != NULL) {
		up = rep->type == REDIS_REPLY_STATUS;
		freeReplyObject(rep);
	}
	redisFree(c);
	return (up);
}

/* pw_start - a Redis with --requirepass PW of our own; its port */
static int
pw_start(void)
{
	const char *tmp = getenv("TMPDIR");
	char	 cmd[2048];
	int	 port, try, i;

	snprintf(pw_dir, sizeof(pw_dir), "%s/bipostal-redispw.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(pw_dir) == NULL)
		ps_bail("mkdtemp %s", pw_dir);
	atexit(pw_stop);
	for (try = 0; try < 3; try++) {
		port = free_port();
		snprintf(cmd, sizeof(cmd), "redis-server --bind 127.0.0.1 "
		    "--port %d --requirepass '%s' --daemonize yes --dir '%s' "
		    "--pidfile '%s/redis.pid' --logfile '%s/redis.log' "
		    "--save '' --appendonly no >/dev/null 2>&1", port, PW,
		    pw_dir, pw_dir, pw_dir);
		if (system(cmd) != 0)
			continue;
		for (i = 0; i < 50; i++) {
			if (pw_alive(port))
				return (port);
			usleep(100000);
		}
		diag("password Redis on port %d did not answer", port);
	}
	ps_bail("cannot start a Redis with --requirepass");
}

/* kill_subscribers - CLIENT KILL every pub/sub client of the Redis on
 * port (no password); how many went */
static long long
kill_subscribers(int port)
{
	struct timeval tv = { 2, 0 };
	redisContext *c;
	redisReply *rep;
	long long n = -1;

	c = redisConnectWithTimeout("127.0.0.1", port, tv);
	if (c == NULL || c->err)
		ps_bail("connect for CLIENT KILL: %s", c ? c->errstr : "?");
	rep = redisCommand(c, "CLIENT KILL TYPE pubsub");
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
		n = rep->integer;
	freeReplyObject(rep);
	redisFree(c);
	return (n);
}

/* test_subscribe - redis_subscribe_* on the Redis of uri (no password) */
static void
test_subscribe(struct redis *r, const char *uri, int port, const char *sock)
{
	char	 chan[64], buf[256], bad[800];
	struct redis_sub *sub;
	long long t0, ms;

	ok(redis_subscribe_open("", "c") == NULL, "subscribe with no Redis: "
	    "NULL");
	ok(redis_subscribe_open("http://nope", "c") == NULL,
	    "subscribe with a bad URI: NULL");
	is_int(redis_subscribe_next(NULL, 0, buf, sizeof(buf)),
	    REDIS_SUB_ERROR, "next on NULL: ERROR");
	redis_subscribe_close(NULL);

	snprintf(chan, sizeof(chan), REDIS_EVENTS_CHANNEL "%ld",
	    (long)getpid());
	sub = redis_subscribe_open(uri, chan);
	if (!ok(sub != NULL, "subscribe"))
		ps_bail("cannot subscribe");
	t0 = now_ms();
	is_int(redis_subscribe_next(sub, 300, buf, sizeof(buf)),
	    REDIS_SUB_TIMEOUT, "nothing published: TIMEOUT");
	ms = now_ms() - t0;
	ok(ms >= 250 && ms < 1500, "... after %lld ms (asked 300)", ms);
	is_int(redis_publish(r, getpid(), "alias", "{\"n\":1}"), STORE_OK,
	    "publish one");
	is_int(redis_publish(r, getpid(), "queue", "{\"n\":2}"), STORE_OK,
	    "publish another");
	t0 = now_ms();
	is_int(redis_subscribe_next(sub, 2000, buf, sizeof(buf)),
	    REDIS_SUB_MESSAGE, "the first message");
	is_str(buf, "{\"type\":\"alias\",\"data\":{\"n\":1}}", "... its payload");
	ok(now_ms() - t0 < 1000, "... at once");
	is_int(redis_subscribe_next(sub, 2000, buf, 8), REDIS_SUB_MESSAGE,
	    "the second");
	is_str(buf, "{\"type\"", "... cut to the buffer");
	is_int(redis_subscribe_next(sub, 0, NULL, 0), REDIS_SUB_TIMEOUT,
	    "then nothing (no wait)");
	ok(kill_subscribers(port) >= 1, "the server kills the subscription");
	is_int(redis_subscribe_next(sub, 2000, buf, sizeof(buf)),
	    REDIS_SUB_ERROR, "next: ERROR");
	is_int(redis_subscribe_next(sub, 0, buf, sizeof(buf)),
	    REDIS_SUB_ERROR, "... and ERROR from then on");
	redis_subscribe_close(sub);

	/* the database is selected as for commands: one that does not
	 * exist is an error reply, so no subscription */
	snprintf(bad, sizeof(bad), "redis://127.0.0.1:%d/999", port);
	ok(redis_subscribe_open(bad, chan) == NULL, "database 999 (SELECT "
	    "refused): NULL");

	snprintf(bad, sizeof(bad), "unix:%s?db=3", sock);
	sub = redis_subscribe_open(bad, chan);
	ok(sub != NULL, "subscribe on the unix socket, db=3");
	is_int(redis_publish(r, getpid(), "mail", "{}"), STORE_OK, "publish");
	is_int(redis_subscribe_next(sub, 2000, buf, sizeof(buf)),
	    REDIS_SUB_MESSAGE, "... received over the socket");
	redis_subscribe_close(sub);
}

/* test_password - a Redis with --requirepass: AUTH from the URI for
 * commands and subscriptions; a missing or wrong password is an error */
static void
test_password(void)
{
	char	 uri[600], nopw[600], wrong[600], chan[64], buf[256];
	struct redis *r, *bare;
	struct redis_sub *sub;
	long long t0, ms;
	int	 port, i;

	port = pw_start();
	ok(1, "a Redis with --requirepass on port %d", port);
	snprintf(uri, sizeof(uri), "redis://:%s@127.0.0.1:%d/2", PW_URI, port);
	/* database 0: no SELECT, so SUBSCRIBE itself meets NOAUTH */
	snprintf(nopw, sizeof(nopw), "redis://127.0.0.1:%d/0", port);
	snprintf(wrong, sizeof(wrong), "redis://:wrong@127.0.0.1:%d/2", port);
	snprintf(chan, sizeof(chan), REDIS_EVENTS_CHANNEL "%ld",
	    (long)getpid());

	r = redis_open(uri);
	is_int(redis_ping(r), STORE_OK, "ping with the password (decoded "
	    "from the URI)");
	bare = redis_open(nopw);
	is_int(redis_ping(bare), STORE_TEMP, "ping without it: TEMP");
	redis_close(bare);

	ok(redis_subscribe_open(nopw, chan) == NULL, "subscribe without the "
	    "password: the NOAUTH reply is an error, no subscription");
	ok(redis_subscribe_open(wrong, chan) == NULL, "subscribe with a wrong "
	    "password: NULL");
	sub = redis_subscribe_open(uri, chan);
	if (!ok(sub != NULL, "subscribe with the password"))
		return;
	for (i = 0; i < 3; i++) {
		t0 = now_ms();
		is_int(redis_publish(r, getpid(), "alias", "{}"), STORE_OK,
		    "publish %d", i + 1);
		is_int(redis_subscribe_next(sub, 5000, buf, sizeof(buf)),
		    REDIS_SUB_MESSAGE, "... received");
		ms = now_ms() - t0;
		ok(ms < 1000, "... within 1 s (%lld ms)", ms);
	}
	redis_subscribe_close(sub);
	redis_close(r);
}

int
main(void)
{
	const char *uri, *dir, *msg;
	char	 key[64], key2[128], chan[64], sock[700];
	struct redis *r, *r2, *none;
	redisContext *sub;
	long	 retry;
	long long t0, ms;
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
	snprintf(sock, sizeof(sock), "%s/redis/redis.sock", ps_dir);

	/* absent and bad */
	none = redis_open("");
	ok(none == NULL, "no Redis configured: NULL");
	is_int(redis_ping(NULL), STORE_OK, "ping on none: OK");
	is_int(redis_publish(NULL, 1, "alias", "{}"), STORE_OK,
	    "publish on none: OK");
	ok(redis_open("http://nope") == NULL, "bad URI: NULL");
	ok(redis_open("redis://h/0?db=1") == NULL, "redis:// with a query: "
	    "NULL");
	ok(redis_open("redis://h/x") == NULL, "a database that is not a "
	    "number: NULL");
	ok(redis_open("unix:/p?x=1") == NULL, "unix: with another option: "
	    "NULL");

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

	/* publish, to a plain hiredis subscriber */
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

	/* subscribe */
	test_subscribe(r, uri, port, sock);

	/* Redis down */
	if (!ok(private_servers_cmd("stop-redis") == 0,
	    "servers.sh stop-redis"))
		ps_bail("cannot stop Redis");
	t0 = now_ms();
	s = redis_ping(r);
	ms = now_ms() - t0;
	is_int(s, STORE_TEMP, "ping with Redis down: TEMP");
	ok(ms < FAST_MS, "... in %lld ms", ms);
	is_int(redis_publish(r, 1, "alias", "{}"), STORE_TEMP, "publish: TEMP");
	t0 = now_ms();
	ok(redis_subscribe_open(uri, chan) == NULL, "subscribe: NULL");
	ms = now_ms() - t0;
	ok(ms < FAST_MS, "... in %lld ms", ms);
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
	for (tries = 1; tries < 50; tries++) {
		if ((s = redis_ping(r2)) == STORE_OK)
			break;
		usleep(100000);
	}
	is_int(s, STORE_OK, "ping after the restart, other handle");
	is_int(redis_publish(r, 1, "alias", "{}"), STORE_OK,
	    "publish after the restart");
	snprintf(key2, sizeof(key2), "%s:back", key);
	is_int(redis_ratelimit(r, key2, 1, 30, &retry), 1,
	    "ratelimit through Redis again: allowed");
	is_int(redis_ratelimit(r2, key2, 1, 30, &retry), 0,
	    "... and refused by the other handle: shared again");
	redis_close(r);
	redis_close(r2);
	redis_close(NULL);

	/* a Redis that wants a password */
	test_password();
	return (tap_done());
}
