/*
 * multi.c - two bipostal-postmapd hosts on one MariaDB: a disable or
 * delete made with bipostalctl is seen by the other host's next lookup
 * within 1 s, with and without postmapd_cache_ttl, and nothing is ever
 * cached negatively (an alias made after a NOTFOUND answers OK at once).
 *
 *	multi		(env POSTMAPD_TEST_STORE: a fresh MySQL database;
 *			 BIPOSTAL_TEST_REDIS, when set, goes in both configs)
 *
 * Host A runs without a cache, host B with postmapd_cache_ttl = 1s, the
 * most it allows.  bipostalctl (built in $top_builddir) changes the
 * aliases, as an operator would on a third machine.  TAP on stdout.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pmtest.h"
#include "store.h"
#include "token.h"
#include "util.h"
#include "../lib/tap.h"

#define DOMAIN		"alias.test"
#define DISCARD		"OK blocked@discard.bipostal.invalid"
#define OWNER		"OK owner@real.test"

static char	dir[256], ctlconf[400];
static const char *uri;

/* conf - write a host's config; path in out */
static void
conf(char *out, size_t size, const char *name, int port, long cache_ms)
{
	const char *redis = getenv("BIPOSTAL_TEST_REDIS");
	FILE	*f;

	snprintf(out, size, "%s/%s.conf", dir, name);
	if ((f = fopen(out, "w")) == NULL)
		bail("%s: %s", out, strerror(errno));
	fprintf(f, "store = %s\nalias_domain = " DOMAIN "\n"
	    "redis = %s\npostmapd_listen = inet:127.0.0.1:%d\n"
	    "postmapd_timeout = 2s\npostmapd_cache_ttl = %ldms\n"
	    "daemon_user =\n", uri, redis ? redis : "", port, cache_ms);
	fclose(f);
}

/* start_host - a daemon on a free port (another if that one is taken
 * meanwhile); its pid, the port in *port */
static pid_t
start_host(char *path, const char *logpath, const char *name, int *port,
    long cache_ms)
{
	pid_t	pid;
	int	i;

	for (i = 0; i < 5; i++) {
		if (i > 0 || *port == 0)
			*port = pm_free_port();
		conf(path, 400, name, *port, cache_ms);
		if ((pid = pm_start(path, logpath, *port, NULL)) > 0)
			return (pid);
	}
	bail("bipostal-postmapd %s does not start (see %s)", name, logpath);
}

/* ctl - run bipostalctl with args; its first output line in out (may be
 * NULL); the exit status */
static int
ctl(const char *args, char *out, size_t size)
{
	const char *bd = getenv("top_builddir");
	char	cmd[1200], line[512] = "";
	FILE	*p;
	int	st;

	snprintf(cmd, sizeof(cmd), "%s/bipostalctl -c %s %s 2>>%s/ctl.log",
	    bd ? bd : ".", ctlconf, args, dir);
	fflush(stdout);
	if ((p = popen(cmd, "r")) == NULL)
		bail("popen");
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	line[strcspn(line, "\n")] = '\0';
	if (out != NULL)
		bp_strlcpy(out, line, size);
	return (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* seen_within - poll host port for the answer want to req, every 20 ms,
 * up to limit ms after t1; the ms it took, or -1 */
static long
seen_within(int port, const char *req, const char *want,
    const struct timespec *t1, long limit)
{
	long	ms;

	for (;;) {
		ms = pm_ms_since(t1);
		if (strcmp(pm_q(port, req), want) == 0)
			return (ms);
		if (ms > limit)
			return (-1);
		usleep(20000);
	}
}

/* wait_until - sleep until ms after t1 */
static void
wait_until(const struct timespec *t1, long ms)
{
	while (pm_ms_since(t1) < ms)
		usleep(5000);
}

/* change - "bipostalctl alias what addr", as on a third host; host A
 * must answer after at its next lookup, host B within 1 s */
static void
change(int pa, int pb, const char *addr, const char *what, const char *after)
{
	char	req[300], args[300];
	struct timespec t1;
	long	ms;

	snprintf(req, sizeof(req), "alias %s", addr);
	is_str(pm_q(pa, req), pm_q(pb, req), "%s: both hosts agree before",
	    what);
	snprintf(args, sizeof(args), "alias %s %s", what, addr);
	is_int(ctl(args, NULL, 0), 0, "bipostalctl alias %s", what);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	is_str(pm_q(pa, req), after, "%s: host A (no cache), next lookup",
	    what);
	ms = seen_within(pb, req, after, &t1, 1100);
	ok(ms >= 0 && ms <= 1100, "%s: host B (cache 1 s) answers the new "
	    "state within 1 s (first seen after %ld ms)", what, ms);
	wait_until(&t1, 1000);
	is_str(pm_q(pb, req), after, "%s: host B, any lookup 1 s later",
	    what);
}

int
main(void)
{
	struct store *st;
	struct alias al;
	struct user u;
	enum store_status ss;
	const char *why;
	char	confa[400], confb[400], loga[400], logb[400];
	char	addr1[200], addr2[200], addr3[200], req[300], tok[TOKEN_LEN + 1];
	pid_t	ha, hb;
	int	pa, pb = 0, created;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((uri = getenv("POSTMAPD_TEST_STORE")) == NULL ||
	    strncmp(uri, "mysql:", 6) != 0)
		bail("POSTMAPD_TEST_STORE must name a MySQL database "
		    "(multi-mysql.test makes one)");
	snprintf(dir, sizeof(dir), "/tmp/postmapd-multi.XXXXXX");
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp: %s", strerror(errno));
	chmod(dir, 0755);
	diag("directory %s%s", dir, getenv("BIPOSTAL_TEST_REDIS") ?
	    ", Redis configured" : "");
	pa = pm_free_port();
	conf(confa, sizeof(confa), "a", pa, 0);
	snprintf(ctlconf, sizeof(ctlconf), "%s", confa);

	is_int(ctl("migrate", NULL, 0), 0, "bipostalctl migrate");
	is_int(ctl("user add owner@real.test", NULL, 0), 0, "user add");
	is_int(ctl("alias add owner@real.test one.test", addr1,
	    sizeof(addr1)), 0, "alias add (%s)", addr1);
	is_int(ctl("alias add owner@real.test two.test", addr2,
	    sizeof(addr2)), 0, "alias add");
	is_int(ctl("alias add owner@real.test three.test", addr3,
	    sizeof(addr3)), 0, "alias add");

	snprintf(loga, sizeof(loga), "%s/a.log", dir);
	snprintf(logb, sizeof(logb), "%s/b.log", dir);
	ha = start_host(confa, loga, "a", &pa, 0);
	hb = start_host(confb, logb, "b", &pb, 1000);
	ok(pa != pb, "two hosts, ports %d and %d", pa, pb);

	/* disable, enable, delete: seen everywhere within 1 s */
	snprintf(req, sizeof(req), "alias %s", addr1);
	is_str(pm_q(pa, req), OWNER, "host A: OK");
	is_str(pm_q(pb, req), OWNER, "host B: OK (now cached)");
	change(pa, pb, addr1, "disable", DISCARD);
	change(pa, pb, addr1, "enable", OWNER);
	snprintf(req, sizeof(req), "alias %s", addr2);
	is_str(pm_q(pb, req), OWNER, "host B: second alias OK (cached)");
	change(pa, pb, addr2, "delete", "NOTFOUND ");

	/* owner rejects disabled mail: disabled is NOTFOUND, and the enable
	 * is seen by the very next lookup (NOTFOUND is never cached) */
	is_int(ctl("user set owner@real.test disabled_action=reject", NULL,
	    0), 0, "owner rejects mail to disabled aliases");
	snprintf(req, sizeof(req), "alias %s", addr3);
	is_str(pm_q(pb, req), OWNER, "host B: third alias OK (cached)");
	change(pa, pb, addr3, "disable", "NOTFOUND ");
	snprintf(req, sizeof(req), "alias enable %s", addr3);
	is_int(ctl(req, NULL, 0), 0, "enable");
	snprintf(req, sizeof(req), "alias %s", addr3);
	is_str(pm_q(pb, req), OWNER, "host B: enable after NOTFOUND seen by "
	    "the next lookup");
	is_str(pm_q(pa, req), OWNER, "host A too");

	/* an alias made after a NOTFOUND: OK on the next lookup */
	if ((st = store_open(uri, &ss, &why)) == NULL)
		bail("store_open: %s", why);
	if (token_new(tok, sizeof(tok)) < 0 ||
	    store_user_by_identity(st, "owner@real.test", &u) != STORE_OK)
		bail("token or user");
	snprintf(req, sizeof(req), "alias %s@" DOMAIN, tok);
	is_str(pm_q(pb, req), "NOTFOUND ", "host B: a token not yet made: "
	    "NOTFOUND");
	is_str(pm_q(pa, req), "NOTFOUND ", "host A: NOTFOUND");
	/* the backend call takes the fresh token (store_alias_create
	 * draws its own): the alias gets exactly the token just asked */
	is_int(st->be->alias_create(st, u.id, "later.test", tok, 0, bp_now(),
	    &al, &created), STORE_OK, "that alias made now");
	ok(created == 1 && strcmp(al.token, tok) == 0, "with that token");
	is_str(pm_q(pb, req), OWNER, "host B: the very next lookup is OK");
	is_str(pm_q(pa, req), OWNER, "host A: OK");
	store_close(st);

	is_int(pm_stop(ha), 0, "host A: SIGTERM, exit 0");
	is_int(pm_stop(hb), 0, "host B: SIGTERM, exit 0");
	return (tap_done());
}
