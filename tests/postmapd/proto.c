/*
 * proto.c - bipostal-postmapd over a real socket: every reply kind,
 * pipelining, a slow client, bad framing (each logged), many connections,
 * reload, a store that fails, a store that hangs (one lookup, and more
 * lookups than the daemon has workers), and a unix: socket.
 *
 * Runs the daemon built in $top_builddir with a bipostal.conf written to
 * a fresh directory, and fills its store through the store API.  The
 * store is SQLite in that directory, or the URI in $POSTMAPD_TEST_STORE
 * (a MySQL database made for this test).  With MySQL the daemon reaches
 * the server through the stall proxy of pmtest.c, which can hold up the
 * one connection whose query names a chosen alias.  TAP on stdout.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pmtest.h"
#include "store.h"
#include "util.h"
#include "../lib/tap.h"

#define DOMAIN	"alias.test"
#define NMANY	80		/* more than WORKERS_MAX (64) */

static char	dir[256], confpath[300], dbpath[300], storeuri[600];
static char	daemonuri[600], logpath[400];
static int	port;
static pid_t	daemon_pid;
static long	cache_ttl;		/* postmapd_cache_ttl, ms */

/* Bad framing: the bytes sent, EOF after them, the warning logged */
static const struct {
	const char	*name;
	const char	*raw;
	size_t		 len;
	int		 eof;
	const char	*log;
} framing[] = {
	{"missing comma", "10:alias x@y.zX", 15, 0, "warning: bad request "
	    "framing: missing comma after netstring: \"10:alias x@y.zX\": "
	    "closing"},
	{"leading zero", "05:alias,", 9, 0, "warning: bad request framing: "
	    "leading zero in netstring length"},
	{"non-digit in length", "1a:alias x@y,", 13, 0, "warning: bad request "
	    "framing: non-digit in netstring length"},
	{"sign in length", "-5:alias,", 9, 0, "warning: bad request framing: "
	    "non-digit in netstring length: \"-5:alias,\""},
	{"empty length", ":alias,", 7, 0, "warning: bad request framing: "
	    "empty netstring length"},
	{"huge length", "99999999999999999999:", 21, 0, "warning: bad request "
	    "framing: netstring length over limit"},
	{"EOF inside the payload", "30:alias abc", 12, 1, "warning: "
	    "connection closed inside a request"},
	{"control bytes (logged as '?')", "3:\x01\n\x7f\x02", 6, 0,
	    "warning: bad request framing: missing comma after netstring: "
	    "\"3:?" "?" "?" "?\""},
};

/* write_conf_to - a daemon configuration in path, listening on listen */
static void
write_conf_to(const char *path, const char *uri, const char *listen,
    long timeout_ms)
{
	FILE	*f = fopen(path, "w");

	if (f == NULL)
		bail("%s: %s", path, strerror(errno));
	fprintf(f, "store = %s\nalias_domain = " DOMAIN "\n"
	    "postmapd_listen = %s\n"
	    "postmapd_timeout = %ldms\npostmapd_idle_timeout = 60s\n"
	    "postmapd_cache_ttl = %ldms\n"
	    "daemon_user =\n", uri, listen, timeout_ms, cache_ttl);
	fclose(f);
}

/* write_conf - the main daemon's configuration */
static void
write_conf(const char *uri, long timeout_ms)
{
	char	listen[64];

	snprintf(listen, sizeof(listen), "inet:127.0.0.1:%d", port);
	write_conf_to(confpath, uri, listen, timeout_ms);
}

#define dial()		pm_dial(port)
#define q(req)		pm_q(port, (req))
#define ask		pm_ask
#define send_all	pm_send_all
#define read_reply	pm_read_reply
#define ms_since	pm_ms_since

/* closed_by_peer - does the daemon close fd within ms, without a reply? */
static int
closed_by_peer(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char	c;

	if (poll(&pfd, 1, ms) <= 0)
		return (0);
	return (recv(fd, &c, 1, 0) <= 0);
}

/* bad_frame - send raw bytes; 1 if the daemon closes without a reply and
 * logs "warning: " + want (NULL: no log check) */
static int
bad_frame(const char *raw, size_t len, int half_close, const char *want)
{
	long	mark = pm_log_mark(logpath);
	int	fd = dial(), r;

	if (fd < 0)
		return (0);
	send_all(fd, raw, len);
	if (half_close)
		shutdown(fd, SHUT_WR);
	r = closed_by_peer(fd, 3000);
	close(fd);
	if (r && want != NULL && !pm_log_has(logpath, mark, want, 1000)) {
		diag("  no \"%s\" in %s", want, logpath);
		r = 0;
	}
	return (r);
}

/* reload - SIGHUP and give the daemon a moment */
static void
reload(void)
{
	kill(daemon_pid, SIGHUP);
	usleep(300000);
}

/* hang_many - nconn connections ask req at once while every lookup
 * hangs: how many get "TEMP lookup timeout" between 900 and 1700 ms (the
 * deadline is 1000 ms); *slowest gets the latest answer's time */
static int
hang_many(const char *req, int nconn, long *slowest)
{
	static int fds[200];
	char	frame[600], out[2048];
	struct timespec t0;
	int	i, n, good = 0;
	long	ms;

	n = pm_frame(frame, sizeof(frame), req);
	*slowest = 0;
	for (i = 0; i < nconn; i++)
		fds[i] = dial();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nconn; i++)
		if (fds[i] >= 0)
			send_all(fds[i], frame, (size_t)n);
	for (i = 0; i < nconn; i++) {
		if (fds[i] < 0)
			continue;
		n = read_reply(fds[i], out, sizeof(out), 5000);
		ms = ms_since(&t0);
		if (ms > *slowest)
			*slowest = ms;
		if (n >= 0 && strcmp(out, "TEMP lookup timeout") == 0 &&
		    ms >= 900 && ms < 1700)
			good++;
		else if (good + 3 > i)
			diag("  connection %d: %s after %ld ms", i,
			    n >= 0 ? out : "no reply", ms);
		close(fds[i]);
	}
	return (good);
}

/* pipelined_behind_hang - send hreq (which hangs) and req in one write:
 * 1 if hreq gets "TEMP lookup timeout" at its deadline and req then gets
 * want within 1700 ms of the start; *ms the time of the second answer */
static int
pipelined_behind_hang(const char *hreq, const char *req, const char *want,
    long *ms)
{
	char	frames[1200], out[2048];
	struct timespec t0;
	int	fd, n, r1, r2;

	n = pm_frame(frames, sizeof(frames), hreq);
	n += pm_frame(frames + n, sizeof(frames) - (size_t)n, req);
	if ((fd = dial()) < 0)
		return (0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	send_all(fd, frames, (size_t)n);
	r1 = read_reply(fd, out, sizeof(out), 5000) >= 0 &&
	    strcmp(out, "TEMP lookup timeout") == 0;
	r2 = read_reply(fd, out, sizeof(out), 5000) >= 0 &&
	    strcmp(out, want) == 0;
	*ms = ms_since(&t0);
	close(fd);
	if (!r1 || !r2)
		diag("  first %s, second %s", r1 ? "TEMP" : "wrong",
		    r2 ? "right" : out);
	return (r1 && r2 && *ms < 1700);
}

/* served_again - a lookup of req answers want within ms; the time */
static long
served_again(const char *req, const char *want, long ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (strcmp(q(req), want) != 0) {
		if (ms_since(&t0) > ms)
			return (-1);
		usleep(50000);
	}
	return (ms_since(&t0));
}

/* mysql_via_proxy - daemonuri: storeuri with its host:port replaced by a
 * stall proxy to that server */
static void
mysql_via_proxy(void)
{
	char	host[64];
	const char *at, *slash, *colon;
	int	sport, pport;

	at = strrchr(storeuri, '@');
	slash = at ? strchr(at, '/') : NULL;
	colon = at ? memchr(at, ':', (size_t)(slash - at)) : NULL;
	if (at == NULL || slash == NULL || colon == NULL ||
	    (size_t)(colon - at - 1) >= sizeof(host))
		bail("%s: want mysql://user:password@HOST:PORT/db", storeuri);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - at - 1), at + 1);
	sport = atoi(colon + 1);
	pport = pm_stall_start(host, sport);
	snprintf(daemonuri, sizeof(daemonuri), "%.*s@127.0.0.1:%d%s",
	    (int)(at - storeuri), storeuri, pport, slash);
}

int
main(void)
{
	struct store *st;
	struct user u1, u2, u3;
	struct alias a_act, a_dis, a_rej, a_del, a_exp, a_rev, a_hang;
	struct reply rp, rp_exp, rp_del, rp_rev, rp_dis;
	enum store_status ss;
	const char *why, *env;
	char	req[12000], want[600], out[2048];
	int	fd, i, n, created;
	struct timespec t0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/postmapd-proto.XXXXXX");
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp: %s", strerror(errno));
	chmod(dir, 0755);
	snprintf(confpath, sizeof(confpath), "%s/bipostal.conf", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/store.db", dir);
	if ((env = getenv("POSTMAPD_TEST_STORE")) != NULL && *env)
		snprintf(storeuri, sizeof(storeuri), "%s", env);
	else
		snprintf(storeuri, sizeof(storeuri), "sqlite:%s", dbpath);
	diag("directory %s", dir);
	snprintf(logpath, sizeof(logpath), "%s/postmapd.log", dir);
	port = pm_free_port();

	/* the data: one alias per state */
	if ((st = store_open(storeuri, &ss, &why)) == NULL)
		bail("store_open: %s", why);
	if (store_user_create(st, "owner@real.test", NULL, &u1) != STORE_OK ||
	    store_user_create(st, "picky@real.test", NULL, &u2) != STORE_OK ||
	    store_user_create(st, "gone@real.test", NULL, &u3) != STORE_OK)
		bail("user_create");
	u2.disabled_action = DISABLED_REJECT;
	if (store_user_update(st, &u2) != STORE_OK)
		bail("user_update");
	if (store_alias_create(st, u1.id, "active.test", 0, &a_act,
	    &created) != STORE_OK ||
	    store_alias_create(st, u1.id, "disabled.test", 0, &a_dis,
	    &created) != STORE_OK ||
	    store_alias_create(st, u2.id, "reject.test", 0, &a_rej,
	    &created) != STORE_OK ||
	    store_alias_create(st, u1.id, "deleted.test", 0, &a_del,
	    &created) != STORE_OK ||
	    store_alias_create(st, u1.id, "expired.test", 0, &a_exp,
	    &created) != STORE_OK ||
	    store_alias_create(st, u3.id, "revoked.test", 0, &a_rev,
	    &created) != STORE_OK ||
	    store_alias_create(st, u1.id, "hang.test", 0, &a_hang,
	    &created) != STORE_OK)
		bail("alias_create");
	/* reply addresses made while their aliases were active */
	if (store_reply_get_or_create(st, a_exp.token, "shop@site.test",
	    &rp_exp) != STORE_OK ||
	    store_reply_get_or_create(st, a_del.token, "shop@site.test",
	    &rp_del) != STORE_OK ||
	    store_reply_get_or_create(st, a_rev.token, "shop@site.test",
	    &rp_rev) != STORE_OK ||
	    store_reply_get_or_create(st, a_dis.token, "shop@site.test",
	    &rp_dis) != STORE_OK)
		bail("reply addresses");
	if (store_alias_set_status(st, a_dis.token, ALIAS_INACTIVE) !=
	    STORE_OK ||
	    store_alias_set_status(st, a_rej.token, ALIAS_INACTIVE) !=
	    STORE_OK ||
	    store_alias_set_status(st, a_del.token, ALIAS_DELETED) !=
	    STORE_OK ||
	    store_alias_set_expiry(st, a_exp.token, bp_now() - 10) !=
	    STORE_OK ||
	    store_user_revoke(st, u3.id) != STORE_OK)
		bail("alias states");
	if (store_reply_get_or_create(st, a_act.token, "shop@site.test",
	    &rp) != STORE_OK)
		bail("reply_get_or_create");

	if (strncmp(storeuri, "mysql:", 6) == 0)
		mysql_via_proxy();
	else
		snprintf(daemonuri, sizeof(daemonuri), "%s", storeuri);
	for (i = 0; i < 5; i++) {	/* a port taken meanwhile: another */
		if (i > 0)
			port = pm_free_port();
		write_conf(daemonuri, 1000);
		if ((daemon_pid = pm_start(confpath, logpath, port, NULL)) > 0)
			break;
	}
	if (daemon_pid <= 0)
		bail("bipostal-postmapd does not start (see %s)", logpath);

	/* every reply kind */
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
	is_str(q(req), "OK owner@real.test", "active alias: OK owner");
	for (i = 0; req[i]; i++)
		if (req[i] >= 'a' && req[i] <= 'z' && i > 5)
			req[i] = (char)(req[i] - 'a' + 'A');
	is_str(q(req), "OK owner@real.test", "upper-case key: same answer");
	snprintf(req, sizeof(req), "alias %s+news@" DOMAIN, a_act.token);
	is_str(q(req), "OK owner@real.test", "+extension is dropped");
	snprintf(req, sizeof(req), "alias %s@ALIAS.Test", a_act.token);
	is_str(q(req), "OK owner@real.test", "domain in any case");
	snprintf(req, sizeof(req), "alias %s@other.test", a_act.token);
	is_str(q(req), "NOTFOUND ", "wrong domain: NOTFOUND");
	snprintf(req, sizeof(req), "alias %s", a_act.token);
	is_str(q(req), "NOTFOUND ", "no domain: NOTFOUND");
	is_str(q("alias 0123456789abcdefghij0123456789abcdefghij01234567@"
	    DOMAIN), "NOTFOUND ", "unknown alias: NOTFOUND");
	is_str(q("alias @" DOMAIN), "NOTFOUND ", "@domain: NOTFOUND");
	is_str(q("alias a.b@" DOMAIN), "NOTFOUND ", "malformed token: NOTFOUND");
	is_str(q("alias "), "NOTFOUND ", "empty key: NOTFOUND");
	is_str(q("alias"), "NOTFOUND ", "no key: NOTFOUND");
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_dis.token);
	is_str(q(req), "OK blocked@discard.bipostal.invalid",
	    "disabled, owner discards: OK discard address");
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_rej.token);
	is_str(q(req), "NOTFOUND ", "disabled, owner rejects: NOTFOUND");
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_del.token);
	is_str(q(req), "NOTFOUND ", "deleted: NOTFOUND");
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_exp.token);
	is_str(q(req), "NOTFOUND ", "expired: NOTFOUND");
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_rev.token);
	is_str(q(req), "NOTFOUND ", "owner revoked: NOTFOUND");
	snprintf(req, sizeof(req), "reply %s@" DOMAIN, rp.token);
	is_str(q(req), "OK shop@site.test", "reply map: OK sender");
	snprintf(req, sizeof(req), "reply %s@" DOMAIN, a_act.token);
	is_str(q(req), "NOTFOUND ", "reply map, alias token: NOTFOUND");
	/* what an alias's state means is decided once (route.c): a reply
	 * address lives and dies with its alias, expiry included */
	snprintf(req, sizeof(req), "reply %s@" DOMAIN, rp_exp.token);
	is_str(q(req), "NOTFOUND ", "reply map, expired alias: NOTFOUND");
	snprintf(req, sizeof(req), "reply %s@" DOMAIN, rp_del.token);
	is_str(q(req), "NOTFOUND ", "reply map, deleted alias: NOTFOUND");
	snprintf(req, sizeof(req), "reply %s@" DOMAIN, rp_rev.token);
	is_str(q(req), "NOTFOUND ", "reply map, owner revoked: NOTFOUND");
	snprintf(req, sizeof(req), "reply %s@" DOMAIN, rp_dis.token);
	is_str(q(req), "OK shop@site.test",
	    "reply map, disabled alias: OK (its owner may still write)");
	snprintf(req, sizeof(req), "virtual %s@" DOMAIN, a_act.token);
	is_str(q(req), "PERM unknown map", "unknown map: PERM");

	/* NUL and CRLF inside a key: well framed, so NOTFOUND */
	fd = dial();
	n = snprintf(req, sizeof(req), "alias %s", a_act.token);
	memcpy(req + n, "\0@" DOMAIN, sizeof("\0@" DOMAIN));
	n += (int)sizeof("\0@" DOMAIN) - 1;
	ok(ask(fd, req, (size_t)n, out, sizeof(out)) >= 0 &&
	    strcmp(out, "NOTFOUND ") == 0, "NUL in key: NOTFOUND");
	n = snprintf(req, sizeof(req), "alias %s\r\n@" DOMAIN, a_act.token);
	ok(ask(fd, req, (size_t)n, out, sizeof(out)) >= 0 &&
	    strcmp(out, "NOTFOUND ") == 0, "CRLF in key: NOTFOUND, "
	    "same connection");
	close(fd);

	/* pipelined: 100 requests in one write, answers in order */
	{
		static char big[200 * 128];
		size_t	blen = 0;
		int	good = 1;

		for (i = 0; i < 100; i++) {
			if (i % 2 == 0)
				n = snprintf(req, sizeof(req), "alias %s@"
				    DOMAIN, a_act.token);
			else
				n = snprintf(req, sizeof(req), "alias x%d@"
				    DOMAIN, i);
			blen += (size_t)sprintf(big + blen, "%d:%s,", n, req);
		}
		fd = dial();
		send_all(fd, big, blen);
		for (i = 0; i < 100 && good; i++) {
			if (read_reply(fd, out, sizeof(out), 5000) < 0)
				good = 0;
			else if (strcmp(out, i % 2 == 0 ?
			    "OK owner@real.test" : "NOTFOUND ") != 0)
				good = 0;
		}
		ok(good, "100 pipelined requests answered in order (%d)", i);
		close(fd);
	}

	/* a slow client: one byte every 5 ms */
	fd = dial();
	n = snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
	n = snprintf(want, sizeof(want), "%d:%s,", n, req);
	for (i = 0; i < n; i++) {
		send_all(fd, want + i, 1);
		usleep(5000);
	}
	ok(read_reply(fd, out, sizeof(out), 5000) >= 0 &&
	    strcmp(out, "OK owner@real.test") == 0,
	    "byte-by-byte client answered");
	close(fd);

	/* bad framing: logged, and closed without an answer */
	for (i = 0; i < (int)(sizeof(framing) / sizeof(framing[0])); i++)
		ok(bad_frame(framing[i].raw, framing[i].len, framing[i].eof,
		    framing[i].log), "%s: logged, closed", framing[i].name);
	memset(req, 'a', sizeof(req));
	memcpy(req, "10006:alias ", 12);
	memcpy(req + 10006 - 12, "@" DOMAIN ",", sizeof("@" DOMAIN ","));
	ok(bad_frame(req, 10012, 0, "warning: bad request framing: netstring "
	    "length over limit: \"10006:alias aaaa\""), "10 KB key: logged, "
	    "closed");
	ok(bad_frame("0:,", 3, 0, NULL) == 0, "empty request is framed: not closed");
	is_str(q(""), "PERM unknown map", "empty request: PERM unknown map");
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
	is_str(q(req), "OK owner@real.test", "still serving after bad input");

	/* many connections at once, each asking once */
	{
		enum { NC = 300 };
		static int fds[NC];
		int	got = 0;

		n = snprintf(req, sizeof(req), "alias %s@" DOMAIN,
		    a_act.token);
		n = snprintf(want, sizeof(want), "%d:%s,", n, req);
		for (i = 0; i < NC; i++)
			fds[i] = dial();
		for (i = 0; i < NC; i++)
			if (fds[i] >= 0)
				send_all(fds[i], want, (size_t)n);
		for (i = 0; i < NC; i++) {
			if (fds[i] >= 0 && read_reply(fds[i], out,
			    sizeof(out), 5000) >= 0 &&
			    strcmp(out, "OK owner@real.test") == 0)
				got++;
			if (fds[i] >= 0)
				close(fds[i]);
		}
		is_int(got, NC, "%d connections each answered", NC);
	}

	/* no cache: a disable is seen by the next lookup */
	fd = dial();
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
	ask(fd, req, strlen(req), out, sizeof(out));
	store_alias_set_status(st, a_act.token, ALIAS_INACTIVE);
	ok(ask(fd, req, strlen(req), out, sizeof(out)) >= 0 &&
	    strcmp(out, "OK blocked@discard.bipostal.invalid") == 0,
	    "disabled: the next lookup on the same connection sees it");
	store_alias_set_status(st, a_act.token, ALIAS_ACTIVE);
	ok(ask(fd, req, strlen(req), out, sizeof(out)) >= 0 &&
	    strcmp(out, "OK owner@real.test") == 0, "re-enabled: seen at once");
	close(fd);

	/* postmapd_cache_ttl: OK answers reused that long, NOTFOUND never */
	cache_ttl = 400;
	write_conf(daemonuri, 1000);
	reload();
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
	is_str(q(req), "OK owner@real.test", "cache on: OK");
	store_alias_set_status(st, a_act.token, ALIAS_INACTIVE);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 100 && strcmp(q(req), "OK owner@real.test") == 0; i++)
		usleep(20000);
	ok(strcmp(q(req), "OK blocked@discard.bipostal.invalid") == 0 &&
	    ms_since(&t0) <= 1000, "cache on: disable seen within 1 s "
	    "(%ld ms)", ms_since(&t0));
	store_alias_set_status(st, a_act.token, ALIAS_ACTIVE);
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_rej.token);
	is_str(q(req), "NOTFOUND ", "cache on: disabled (reject) NOTFOUND");
	store_alias_set_status(st, a_rej.token, ALIAS_ACTIVE);
	is_str(q(req), "OK picky@real.test",
	    "cache on: NOTFOUND was not cached, enable seen at once");
	store_alias_set_status(st, a_rej.token, ALIAS_INACTIVE);
	cache_ttl = 0;
	write_conf(daemonuri, 1000);
	reload();

	/* a store that cannot be opened: TEMP, then back after reload */
	if (strncmp(storeuri, "sqlite:", 7) == 0) {
		write_conf("sqlite:/nonexistent/dir/store.db", 1000);
		reload();
		snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
		ok(strncmp(q(req), "TEMP ", 5) == 0,
		    "store unreachable after reload: TEMP (%s)", q(req));
		snprintf(req, sizeof(req), "alias zz@other.test");
		is_str(q(req), "NOTFOUND ",
		    "store down: other domain still NOTFOUND");
		/* a missing SQLite file is TEMP, never a fresh empty store */
		snprintf(want, sizeof(want), "sqlite:%s/moved.db", dir);
		write_conf(want, 1000);
		reload();
		snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
		ok(strncmp(q(req), "TEMP ", 5) == 0,
		    "SQLite file missing: TEMP (%s)", q(req));
		snprintf(want, sizeof(want), "%s/moved.db", dir);
		ok(access(want, F_OK) < 0, "missing SQLite file not created");
		write_conf(daemonuri, 1000);
		reload();
		is_str(q(req), "OK owner@real.test", "store back: OK");

		/* a store that hangs: another process holds every WAL
		 * read-mark lock, so each reader retries for seconds */
		{
			struct flock fl;
			int	fd2, lfd;
			long	ms;

			snprintf(want, sizeof(want), "%s-shm", dbpath);
			lfd = open(want, O_RDWR);
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fl.l_whence = SEEK_SET;
			fl.l_start = 120 + 3;	/* WAL_READ_LOCK(0..4) */
			fl.l_len = 5;
			if (lfd < 0 || fcntl(lfd, F_SETLK, &fl) < 0)
				diag("cannot lock %s: %s", want,
				    strerror(errno));
			fd = dial();
			fd2 = dial();
			snprintf(req, sizeof(req), "alias %s@" DOMAIN,
			    a_act.token);
			n = snprintf(want, sizeof(want), "%zu:%s,",
			    strlen(req), req);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			send_all(fd, want, (size_t)n);
			usleep(20000);
			ok(ask(fd2, "alias zz@other.test", 19, out,
			    sizeof(out)) >= 0 && strcmp(out, "NOTFOUND ") == 0 &&
			    ms_since(&t0) < 500,
			    "a hanging store call does not hold up another "
			    "connection (%ld ms)", ms_since(&t0));
			n = read_reply(fd, out, sizeof(out), 5000);
			ms = ms_since(&t0);
			ok(n >= 0 && strcmp(out, "TEMP lookup timeout") == 0 &&
			    ms >= 900 && ms < 1600,
			    "hanging store: TEMP at the deadline (%s, %ld ms)",
			    n >= 0 ? out : "no reply", ms);
			close(fd);
			close(fd2);
			ok(pipelined_behind_hang(req, "alias zz@other.test",
			    "NOTFOUND ", &ms), "a request pipelined behind a "
			    "hanging one: answered after its TEMP (%ld ms)", ms);
			n = hang_many(req, NMANY, &ms);
			ok(n == NMANY,
			    "%d lookups hang at once, more than the workers: "
			    "%d got TEMP at the deadline (last at %ld ms)",
			    NMANY, n, ms);
			close(lfd);		/* drops the lock */
			ms = served_again(req, "OK owner@real.test", 5000);
			ok(ms >= 0, "lock released: served again "
			    "(%ld ms)", ms);
		}
	}

	/* MariaDB: a lookup that waits on a table lock gets TEMP in time,
	 * while other connections are served */
	if (strncmp(storeuri, "mysql:", 6) == 0 &&
	    getenv("POSTMAPD_TEST_MYSQL_CNF") != NULL) {
		char	cmd[1200];
		int	fd2;
		long	ms;

		snprintf(cmd, sizeof(cmd), "mariadb --defaults-file=%s %s -e "
		    "'LOCK TABLES aliases WRITE; SELECT SLEEP(3);' "
		    ">/dev/null 2>&1 &", getenv("POSTMAPD_TEST_MYSQL_CNF"),
		    getenv("POSTMAPD_TEST_MYSQL_DB"));
		if (system(cmd) != 0)
			diag("cannot start the lock holder");
		usleep(500000);
		fd = dial();
		fd2 = dial();
		snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
		n = snprintf(want, sizeof(want), "%zu:%s,", strlen(req), req);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		send_all(fd, want, (size_t)n);
		usleep(20000);
		ok(ask(fd2, "alias zz@other.test", 19, out, sizeof(out)) >= 0 &&
		    strcmp(out, "NOTFOUND ") == 0 && ms_since(&t0) < 500,
		    "a lookup waiting on a lock does not hold up another "
		    "connection (%ld ms)", ms_since(&t0));
		n = read_reply(fd, out, sizeof(out), 5000);
		ms = ms_since(&t0);
		ok(n >= 0 && strcmp(out, "TEMP lookup timeout") == 0 &&
		    ms >= 900 && ms < 1600,
		    "locked table: TEMP at the deadline (%s, %ld ms)",
		    n >= 0 ? out : "no reply", ms);
		close(fd);
		close(fd2);
		usleep(3000000);		/* the lock holder is gone */
		is_str(q(req), "OK owner@real.test", "lock released: OK");
	}

	/* MariaDB through the stall proxy: only the lookup of a_hang stops,
	 * on the one server connection that carries it */
	if (strncmp(storeuri, "mysql:", 6) == 0) {
		char	hreq[200];
		int	fd2;
		long	ms;

		snprintf(hreq, sizeof(hreq), "alias %s@" DOMAIN, a_hang.token);
		snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
		is_str(q(hreq), "OK owner@real.test", "alias to hang: OK");
		pm_stall_set(a_hang.token, 3000);
		fd = dial();
		fd2 = dial();
		n = pm_frame(want, sizeof(want), hreq);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		send_all(fd, want, (size_t)n);
		usleep(50000);
		ok(ask(fd2, req, strlen(req), out, sizeof(out)) >= 0 &&
		    strcmp(out, "OK owner@real.test") == 0 &&
		    ms_since(&t0) < 500, "one store call hangs: a real alias "
		    "lookup on another connection is answered (%s, %ld ms)",
		    out, ms_since(&t0));
		snprintf(want, sizeof(want), "reply %s@" DOMAIN, rp.token);
		ok(ask(fd2, want, strlen(want), out, sizeof(out)) >= 0 &&
		    strcmp(out, "OK shop@site.test") == 0 &&
		    ms_since(&t0) < 500, "... and a real reply lookup (%ld ms)",
		    ms_since(&t0));
		n = read_reply(fd, out, sizeof(out), 5000);
		ms = ms_since(&t0);
		ok(n >= 0 && strcmp(out, "TEMP lookup timeout") == 0 &&
		    ms >= 900 && ms < 1600,
		    "the hanging lookup: TEMP at the deadline (%s, %ld ms)",
		    n >= 0 ? out : "no reply", ms);
		ok(pm_stall_count() == 1, "the proxy held up that one "
		    "connection (%d)", pm_stall_count());
		close(fd);
		close(fd2);
		ok(pipelined_behind_hang(hreq, req, "OK owner@real.test", &ms),
		    "a real lookup pipelined behind a hanging one: answered "
		    "after its TEMP (%ld ms)", ms);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (ms_since(&t0) < 3300)
			usleep(50000);
		n = hang_many(hreq, NMANY, &ms);
		ok(n == NMANY,
		    "%d lookups hang at once, more than the workers: %d got "
		    "TEMP at the deadline (last at %ld ms)", NMANY, n, ms);
		pm_stall_set(NULL, 0);
		ms = served_again(req, "OK owner@real.test", 5000);
		ok(ms >= 0,
		    "hangs over: served again (%ld ms)", ms);
		is_str(q(hreq), "OK owner@real.test", "the hung alias too");
	}

	/* a unix: socket, mode 0660 and Postfix's group, so that Postfix's
	 * processes can connect and nobody else; removed at exit */
	{
		char	sock[400], conf2[400], log2[400], listen[420];
		struct passwd *pw;
		struct stat sb;
		pid_t	pid2, kid;
		int	status;

		snprintf(sock, sizeof(sock), "%s/postmapd.sock", dir);
		snprintf(conf2, sizeof(conf2), "%s/unix.conf", dir);
		snprintf(log2, sizeof(log2), "%s/postmapd-unix.log", dir);
		snprintf(listen, sizeof(listen), "unix:%s", sock);
		write_conf_to(conf2, daemonuri, listen, 1000);
		if ((pid2 = pm_start(conf2, log2, 0, sock)) < 0)
			bail("bipostal-postmapd on %s does not start", sock);
		ok(lstat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
		    (sb.st_mode & 0777) == 0660, "unix socket, mode %o",
		    (unsigned)(sb.st_mode & 0777));
		{
			struct group *gr = getgrnam("postfix");

			ok(gr != NULL && sb.st_gid == gr->gr_gid,
			    "unix socket: group postfix (gid %u)",
			    (unsigned)sb.st_gid);
		}
		snprintf(req, sizeof(req), "alias %s@" DOMAIN, a_act.token);
		fd = pm_dial_unix(sock);
		ok(fd >= 0 && ask(fd, req, strlen(req), out, sizeof(out)) >= 0 &&
		    strcmp(out, "OK owner@real.test") == 0,
		    "lookup over the unix socket: OK");
		if (fd >= 0)
			close(fd);
		if (geteuid() == 0 && (pw = getpwnam("postfix")) != NULL) {
			fflush(stdout);
			if ((kid = fork()) == 0) {
				if (setgroups(0, NULL) < 0 ||
				    setgid(pw->pw_gid) < 0 ||
				    setuid(pw->pw_uid) < 0)
					_exit(2);
				fd = pm_dial_unix(sock);
				_exit(fd >= 0 && ask(fd, req, strlen(req), out,
				    sizeof(out)) >= 0 && strcmp(out,
				    "OK owner@real.test") == 0 ? 0 : 1);
			}
			waitpid(kid, &status, 0);
			ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			    "as user postfix: connects over the unix socket, OK");
		}
		if (geteuid() == 0 && (pw = getpwnam("nobody")) != NULL) {
			fflush(stdout);
			if ((kid = fork()) == 0) {
				if (setgroups(0, NULL) < 0 ||
				    setgid(pw->pw_gid) < 0 ||
				    setuid(pw->pw_uid) < 0)
					_exit(2);
				_exit(pm_dial_unix(sock) < 0 ? 0 : 1);
			}
			waitpid(kid, &status, 0);
			ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			    "as user nobody: the unix socket refuses to connect");
		}
		is_int(pm_stop(pid2), 0, "unix daemon: SIGTERM, exit 0");
		ok(access(sock, F_OK) < 0, "unix socket removed at exit");

		/* a file in the way that is not a socket: refused, kept */
		snprintf(sock, sizeof(sock), "%s/not-a-socket", dir);
		if ((fd = open(sock, O_WRONLY | O_CREAT, 0644)) >= 0) {
			if (write(fd, "precious\n", 9) != 9)
				diag("write %s", sock);
			close(fd);
		}
		snprintf(listen, sizeof(listen), "unix:%s", sock);
		write_conf_to(conf2, daemonuri, listen, 1000);
		pid2 = fork();
		if (pid2 == 0) {
			const char *bd = getenv("top_builddir");
			char	prog[512];
			int	lf = open(log2, O_WRONLY | O_APPEND);

			snprintf(prog, sizeof(prog), "%s/bipostal-postmapd",
			    bd ? bd : ".");
			dup2(lf, 2);
			execl(prog, "bipostal-postmapd", "-c", conf2, "-f",
			    (char *)NULL);
			_exit(127);
		}
		for (i = 0; i < 100 && waitpid(pid2, &status, WNOHANG) != pid2;
		    i++)
			usleep(50000);
		if (i == 100) {
			kill(pid2, SIGKILL);
			waitpid(pid2, &status, 0);
		}
		ok(i < 100 && WIFEXITED(status) && WEXITSTATUS(status) != 0,
		    "listen path is a plain file: the daemon refuses to start");
		ok(lstat(sock, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_size == 9, "... and the file is left alone");
	}

	/* SIGTERM: clean exit */
	{
		int	status = -1;

		kill(daemon_pid, SIGTERM);
		for (i = 0; i < 100; i++) {
			if (waitpid(daemon_pid, &status, WNOHANG) ==
			    daemon_pid)
				break;
			usleep(50000);
		}
		ok(i < 100 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "SIGTERM: exit 0");
		if (i == 100)
			kill(daemon_pid, SIGKILL);
	}
	store_close(st);
	return (tap_done());
}
