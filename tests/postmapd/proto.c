/*
 * proto.c - bipostal-postmapd over a real socket: every reply kind,
 * pipelining, a slow client, bad framing, many connections, reload, a
 * store that fails and a store that hangs.
 *
 * Runs the daemon built in $top_builddir with a bipostal.conf written to
 * a fresh directory, and fills its store through the store API.  The
 * store is SQLite in that directory, or the URI in $POSTMAPD_TEST_STORE
 * (a MySQL database made for this test).  TAP on stdout.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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

#include "store.h"
#include "util.h"
#include "../lib/tap.h"

#define DOMAIN	"alias.test"

static char	dir[256], confpath[300], dbpath[300], storeuri[600];
static int	port;
static pid_t	daemon_pid;
static long	cache_ttl;		/* postmapd_cache_ttl, ms */

/* free_port - a port in 20000-60000 nobody listens on */
static int
free_port(void)
{
	struct sockaddr_in sin;
	int	fd, p, i;

	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (i = 0; i < 200; i++) {
		p = 20000 + rand() % 40000;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(p);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			return (p);
		}
		close(fd);
	}
	bail("no free port");
}

/* write_conf - the daemon's configuration */
static void
write_conf(const char *uri, long timeout_ms)
{
	FILE	*f = fopen(confpath, "w");

	if (f == NULL)
		bail("%s: %s", confpath, strerror(errno));
	fprintf(f, "store = %s\nalias_domain = " DOMAIN "\n"
	    "postmapd_listen = inet:127.0.0.1:%d\n"
	    "postmapd_timeout = %ldms\npostmapd_idle_timeout = 60s\n"
	    "postmapd_cache_ttl = %ldms\n"
	    "daemon_user =\n", uri, port, timeout_ms, cache_ttl);
	fclose(f);
}

/* dial - a connection to the daemon, -1 if refused */
static int
dial(void)
{
	struct sockaddr_in sin;
	int	fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return (-1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return (fd);
}

/* start_daemon - run bipostal-postmapd -f and wait for its port */
static void
start_daemon(void)
{
	const char *bd = getenv("top_builddir");
	char	prog[512], logp[400];
	int	i, fd;

	snprintf(prog, sizeof(prog), "%s/bipostal-postmapd", bd ? bd : ".");
	snprintf(logp, sizeof(logp), "%s/postmapd.log", dir);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		int	lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(lf, 2);
		execl(prog, "bipostal-postmapd", "-c", confpath, "-f", "-v",
		    (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if ((fd = dial()) >= 0) {
			close(fd);
			return;
		}
		usleep(50000);
	}
	bail("bipostal-postmapd did not start (see %s)", logp);
}

/* send_all - write the whole buffer */
static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0)
			return (-1);
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

/* read_reply - one netstring reply into out; its length, -1 on EOF or
 * after ms milliseconds */
static int
read_reply(int fd, char *out, size_t size, int ms)
{
	char	buf[2048];
	size_t	len = 0, n;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char	*colon;
	ssize_t	r;

	for (;;) {
		colon = memchr(buf, ':', len);
		if (colon != NULL) {
			n = strtoul(buf, NULL, 10);
			if (len >= (size_t)(colon - buf) + n + 2) {
				if (n >= size)
					return (-1);
				memcpy(out, colon + 1, n);
				out[n] = '\0';
				return ((int)n);
			}
		}
		if (poll(&pfd, 1, ms) <= 0)
			return (-1);
		/* one byte at a time: never eat the next reply */
		r = recv(fd, buf + len, 1, 0);
		if (r <= 0 || len + 1 >= sizeof(buf))
			return (-1);
		len++;
	}
}

/* ask - send "req" as a netstring and read the reply */
static int
ask(int fd, const char *req, size_t rlen, char *out, size_t size)
{
	char	buf[4096];
	int	n;

	n = snprintf(buf, sizeof(buf), "%zu:", rlen);
	memcpy(buf + n, req, rlen);
	buf[n + rlen] = ',';
	if (send_all(fd, buf, (size_t)n + rlen + 1) < 0)
		return (-1);
	return (read_reply(fd, out, size, 10000));
}

/* q - ask on a fresh connection; returns the reply (static) */
static const char *
q(const char *req)
{
	static char out[2048];
	int	fd = dial();

	if (fd < 0 || ask(fd, req, strlen(req), out, sizeof(out)) < 0)
		strcpy(out, "(no reply)");
	if (fd >= 0)
		close(fd);
	return (out);
}

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

/* bad_frame - send raw bytes; 1 if the daemon closes without a reply */
static int
bad_frame(const char *raw, size_t len, int half_close)
{
	int	fd = dial(), r;

	if (fd < 0)
		return (0);
	send_all(fd, raw, len);
	if (half_close)
		shutdown(fd, SHUT_WR);
	r = closed_by_peer(fd, 3000);
	close(fd);
	return (r);
}

/* ms_since - milliseconds since t0 */
static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* reload - SIGHUP and give the daemon a moment */
static void
reload(void)
{
	kill(daemon_pid, SIGHUP);
	usleep(300000);
}

int
main(void)
{
	struct store *st;
	struct user u1, u2, u3;
	struct alias a_act, a_dis, a_rej, a_del, a_exp, a_rev;
	struct reply rp;
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
	port = free_port();

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
	    &created) != STORE_OK)
		bail("alias_create");
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

	write_conf(storeuri, 1000);
	start_daemon();

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

	/* bad framing: closed without an answer */
	ok(bad_frame("10:alias x@y.zX", 15, 0), "missing comma: closed");
	ok(bad_frame("05:alias,", 9, 0), "leading zero: closed");
	ok(bad_frame("1a:alias x@y,", 13, 0), "non-digit in length: closed");
	ok(bad_frame("-5:alias,", 9, 0), "sign in length: closed");
	ok(bad_frame(":alias,", 7, 0), "empty length: closed");
	ok(bad_frame("99999999999999999999:", 21, 0), "huge length: closed");
	ok(bad_frame("30:alias abc", 12, 1), "EOF inside the payload: closed");
	memset(req, 'a', sizeof(req));
	memcpy(req, "10006:alias ", 12);
	memcpy(req + 10006 - 12, "@" DOMAIN ",", sizeof("@" DOMAIN ","));
	ok(bad_frame(req, 10012, 0), "10 KB key: closed");
	ok(bad_frame("0:,", 3, 0) == 0, "empty request is framed: not closed");
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
	write_conf(storeuri, 1000);
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
	write_conf(storeuri, 1000);
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
		write_conf(storeuri, 1000);
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
			close(lfd);		/* drops the lock */
			is_str(q(req), "OK owner@real.test",
			    "lock released: OK at once");
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
