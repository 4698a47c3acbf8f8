/*
 * mysql_restart.c - the MySQL backend across a server stop and start
 *
 * Needs the variables of tests/lib/servers.sh (fails without them: the
 * harness is not running), but stops and starts a private MariaDB of its
 * own (private_servers.h), since other tests use the shared one at the
 * same time.  Makes a fresh database, works in it, stops the server with
 * "servers.sh stop-mysql": every call must answer STORE_TEMP (never
 * NOTFOUND) within a few seconds.  Then "servers.sh start-mysql": the
 * same struct store must recover without being reopened.  Also opens
 * against a stopped server (TEMP) and with bad credentials (PERM).
 * Prints TAP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "log.h"
#include "store.h"
#include "util.h"
#include "../lib/tap.h"
#include "private_servers.h"

#define FAST_MS		8000	/* a dead server must answer within this */

static char dbname[64];
static const char *admin;

/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* admin_query - run one statement on the admin URI (test setup only) */
static int
admin_query(const char *sql)
{
	char	 user[128], pass[256], host[128];
	unsigned int port = 3306;
	MYSQL	*db;
	int	 rc;

	if (sscanf(admin, "mysql://%127[^:]:%255[^@]@%127[^:/]:%u", user,
	    pass, host, &port) < 3)
		ps_bail("cannot parse BIPOSTAL_TEST_MYSQL_ADMIN");
	if ((db = mysql_init(NULL)) == NULL)
		ps_bail("mysql_init");
	if (mysql_real_connect(db, host, user, pass, NULL, port, NULL, 0) ==
	    NULL) {
		diag("admin connect: %s", mysql_error(db));
		mysql_close(db);
		return (-1);
	}
	rc = mysql_query(db, sql);
	if (rc != 0)
		diag("admin query: %s", mysql_error(db));
	mysql_close(db);
	return (rc);
}

int
main(void)
{
	const char *dir, *why;
	char	 uri[1024], bad[1024], ident[64];
	struct store *st, *st2;
	struct user u, u2;
	struct alias a, a2;
	struct alias_route rt;
	enum store_status s;
	long long t0, ms;
	int	 created, tries;

	admin = getenv("BIPOSTAL_TEST_MYSQL_ADMIN");
	dir = getenv("BIPOSTAL_TEST_MYSQLD_DIR");
	if (admin == NULL || *admin == '\0' || dir == NULL || *dir == '\0') {
		ok(0, "BIPOSTAL_TEST_MYSQL_ADMIN and BIPOSTAL_TEST_MYSQLD_DIR "
		    "are set (start tests/lib/servers.sh)");
		return (tap_done());
	}
	log_open("mysql_restart", 1);
	/* faults go to a private pair: the shared one serves other tests */
	private_servers_start();
	admin = getenv("BIPOSTAL_TEST_MYSQL_ADMIN");

	snprintf(dbname, sizeof(dbname), "bipostal_restart_%ld_%ld",
	    (long)getpid(), (long)time(NULL));
	{
		char	q[128];

		snprintf(q, sizeof(q), "CREATE DATABASE %s", dbname);
		if (admin_query(q) != 0)
			ps_bail("cannot create database %s", dbname);
	}
	snprintf(uri, sizeof(uri), "%s%s", admin, dbname);

	/* 1. works */
	st = store_open(uri, &s, &why);
	if (!ok(st != NULL, "open a fresh database"))
		ps_bail("store_open: %s: %s", store_strstatus(s), why);
	snprintf(ident, sizeof(ident), "restart%ld@example.org",
	    (long)getpid());
	is_int(store_user_create(st, ident, "", &u), STORE_OK, "user create");
	is_int(store_alias_create(st, u.id, "shop.example", 0, &a, &created),
	    STORE_OK, "alias create");
	is_int(store_alias_get(st, a.token, &a2), STORE_OK, "alias get");
	is_int(store_ping(st), STORE_OK, "ping");

	/* 2. stopped: TEMP, quickly, never NOTFOUND */
	if (!ok(private_servers_cmd("stop-mysql") == 0,
	    "servers.sh stop-mysql"))
		ps_bail("cannot stop MariaDB");
	t0 = now_ms();
	s = store_alias_get(st, a.token, &a2);
	ms = now_ms() - t0;
	is_int(s, STORE_TEMP, "alias get with the server down: TEMP");
	ok(ms < FAST_MS, "... answered in %lld ms", ms);
	t0 = now_ms();
	s = store_alias_route(st, a.token, &rt);
	ms = now_ms() - t0;
	is_int(s, STORE_TEMP, "alias route with the server down: TEMP");
	ok(ms < FAST_MS, "... answered in %lld ms", ms);
	is_int(store_alias_route(st, "nosuchtoken0000", &rt), STORE_TEMP,
	    "unknown alias with the server down: TEMP, not NOTFOUND");
	is_int(store_user_by_identity(st, ident, &u2), STORE_TEMP,
	    "user by identity: TEMP");
	is_int(store_alias_create(st, u.id, "shop.example", 0, &a2, &created),
	    STORE_TEMP, "alias create: TEMP");
	is_int(store_alias_count(st, a.token, COUNT_FORWARDED), STORE_TEMP,
	    "alias count: TEMP");
	is_int(store_ping(st), STORE_TEMP, "ping: TEMP");
	t0 = now_ms();
	st2 = store_open(uri, &s, &why);
	ms = now_ms() - t0;
	ok(st2 == NULL && s == STORE_TEMP, "open with the server down: TEMP "
	    "(%s)", store_strstatus(s));
	ok(ms < FAST_MS, "... answered in %lld ms", ms);
	store_close(st2);

	/* 3. started again: the same struct store recovers */
	if (!ok(private_servers_cmd("start-mysql") == 0,
	    "servers.sh start-mysql"))
		ps_bail("cannot start MariaDB again");
	t0 = now_ms();
	for (tries = 1; tries < 50; tries++) {
		if ((s = store_alias_get(st, a.token, &a2)) != STORE_TEMP)
			break;
		usleep(200000);
	}
	is_int(s, STORE_OK, "alias get after the restart");
	is_int(tries, 1, "... on the first call (%lld ms)", now_ms() - t0);
	is_str(a2.token, a.token, "... the same alias");
	is_int(store_alias_create(st, u.id, "shop.example", 0, &a2, &created),
	    STORE_OK, "alias create after the restart");
	ok(created == 0 && strcmp(a2.token, a.token) == 0,
	    "... gives the same alias back");
	is_int(store_alias_count(st, a.token, COUNT_FORWARDED), STORE_OK,
	    "alias count after the restart");
	is_int(store_alias_route(st, "nosuchtoken0000", &rt), STORE_NOTFOUND,
	    "unknown alias: NOTFOUND again");
	is_int(store_ping(st), STORE_OK, "ping after the restart");

	/* 4. a restart while idle: the next call reconnects by itself */
	if (!ok(private_servers_cmd("stop-mysql") == 0 &&
	    private_servers_cmd("start-mysql") == 0, "quick stop and start"))
		ps_bail("cannot restart MariaDB");
	is_int(store_user_by_identity(st, ident, &u2), STORE_OK,
	    "first call after a quick restart: OK");
	is_int(u2.id, u.id, "... the same user");

	/* 5. URI forms: %-escaped user and password, a Unix socket */
	{
		const char *at = strchr(admin + 8, '@'), *colon;
		const char *sdir = getenv("BIPOSTAL_TEST_MYSQLD_DIR");
		char	 pass[256], user[128], enc[800], *o;
		size_t	 i;

		colon = strchr(admin + 8, ':');
		snprintf(user, sizeof(user), "%.*s", (int)(colon - admin - 8),
		    admin + 8);
		snprintf(pass, sizeof(pass), "%.*s", (int)(at - colon - 1),
		    colon + 1);
		for (i = 0, o = enc; pass[i] != '\0'; i++, o += 3)
			snprintf(o, 4, "%%%02X", (unsigned char)pass[i]);
		snprintf(bad, sizeof(bad), "mysql://%%%02X%s:%s%s%s",
		    (unsigned char)user[0], user + 1, enc, at, dbname);
		st2 = store_open(bad, &s, &why);
		ok(st2 != NULL, "open with %%-escaped user and password");
		if (st2 != NULL)
			is_int(store_user_by_identity(st2, ident, &u2),
			    STORE_OK, "... finds the user");
		else
			ok(0, "... finds the user");
		store_close(st2);
		snprintf(bad, sizeof(bad), "mysql://%s:%s@localhost/%s"
		    "?socket=%s/mysql/mysqld.sock", user, pass, dbname, sdir);
		st2 = store_open(bad, &s, &why);
		ok(st2 != NULL, "open through ?socket=");
		if (st2 != NULL)
			is_int(store_user_by_identity(st2, ident, &u2),
			    STORE_OK, "... finds the user");
		else
			ok(0, "... finds the user");
		store_close(st2);
	}
	st2 = store_open("mysql://u:p@127.0.0.1:0/db", &s, &why);
	ok(st2 == NULL && s == STORE_PERM, "port 0: PERM");
	st2 = store_open("mysql://u:p@127.0.0.1:3306/", &s, &why);
	ok(st2 == NULL && s == STORE_PERM, "no database name: PERM");
	st2 = store_open("mysql://u:p%zz@127.0.0.1/db", &s, &why);
	ok(st2 == NULL && s == STORE_PERM, "bad %%-escape: PERM");
	st2 = store_open("mysql://u:p@127.0.0.1/db?bogus=1", &s, &why);
	ok(st2 == NULL && s == STORE_PERM, "unknown option: PERM");

	/* 6. bad credentials: PERM, not TEMP */
	{
		const char *at = strchr(admin + 8, '@'), *colon;

		colon = strchr(admin + 8, ':');
		snprintf(bad, sizeof(bad), "mysql://%.*s:wrong%s%s",
		    (int)(colon - admin - 8), admin + 8, at, dbname);
		st2 = store_open(bad, &s, &why);
		ok(st2 == NULL && s == STORE_PERM,
		    "open with a wrong password: PERM (%s)", store_strstatus(s));
		store_close(st2);
	}

	store_close(st);
	{
		char	q[128];

		snprintf(q, sizeof(q), "DROP DATABASE %s", dbname);
		(void)admin_query(q);
	}
	return (tap_done());
}
