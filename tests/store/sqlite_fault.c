/*
 * sqlite_fault.c - SQLite failures map to TEMP or PERM, never NOTFOUND
 *
 * In a private temporary directory: readers are not blocked by a writer
 * (WAL); a writer waits for another writer's lock (busy timeout); a lock
 * held past the busy timeout is STORE_TEMP; a dropped table is STORE_PERM;
 * files that cannot be opened or are not databases are refused with the
 * right status; a schema newer than the program still opens; a fresh
 * store's files are mode 0600.  Prints TAP.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "../lib/tap.h"

static char dir[] = "/tmp/bipostal-fault.XXXXXX";
static char path[256], uri[300];

/* raw - a plain connection to the same file */
static sqlite3 *
raw(void)
{
	sqlite3 *db;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		bail("sqlite3_open %s", path);
	return (db);
}

/* elapsed - seconds since t0 */
static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9);
}

int
main(void)
{
	struct store *st, *st2;
	struct user u;
	struct alias a, b;
	struct alias_route rt;
	struct reply rep;
	struct timespec t0;
	enum store_status s;
	const char *why;
	sqlite3 *db;
	int	created, fd, status;
	pid_t	pid;
	char	cmd[400];

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_open("sqlite_fault", 1);
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	snprintf(uri, sizeof(uri), "sqlite:%s", path);

	st = store_open(uri, &s, &why);
	if (st == NULL)
		bail("store_open: %s", why);
	if (store_user_create(st, "fault@example.org", "", &u) != STORE_OK ||
	    store_alias_create(st, u.id, "fault.example", 0, &a, &created) !=
	    STORE_OK)
		bail("setup failed");

	/* a fresh store holds password hashes and TOTP secrets: its file
	 * and the WAL files SQLite makes beside it are the owner's alone,
	 * whatever the umask */
	{
		const char *sfx[] = { "", "-wal", "-shm" };
		char	f[300];
		struct stat sb;
		size_t	i;

		for (i = 0; i < 3; i++) {
			snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
			if (stat(f, &sb) < 0)
				sb.st_mode = 0777;
			ok((sb.st_mode & 077) == 0, "fresh store%s: mode %o, "
			    "nothing for group or others", sfx[i],
			    (unsigned)(sb.st_mode & 0777));
		}
	}

	/* a writer holds the lock: readers go on, writers wait */
	pid = fork();
	if (pid == 0) {
		db = raw();
		sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE users SET totp = ''",
		    NULL, NULL, NULL);
		sleep(1);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	usleep(200000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(store_alias_route(st, a.token, &rt), STORE_OK,
	    "read while another process writes");
	ok(elapsed(&t0) < 0.5, "reader not blocked (%.3f s)", elapsed(&t0));
	is_int(store_alias_create(st, u.id, "wait.example", 0, &b, &created),
	    STORE_OK, "write waits for the other writer");
	ok(elapsed(&t0) > 0.5, "and waited (%.3f s)", elapsed(&t0));
	waitpid(pid, &status, 0);

	/* a write lock held past the busy timeout: TEMP, never NOTFOUND */
	pid = fork();
	if (pid == 0) {
		db = raw();
		sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE users SET totp = ''",
		    NULL, NULL, NULL);
		sleep(7);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	usleep(300000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(store_alias_create(st, u.id, "locked.example", 0, &b, &created),
	    STORE_TEMP, "create under a long write lock: temporary failure");
	diag("gave up after %.1f s", elapsed(&t0));
	is_int(store_alias_route(st, a.token, &rt), STORE_OK,
	    "route meanwhile: found");
	waitpid(pid, &status, 0);
	is_int(store_alias_create(st, u.id, "locked.example", 0, &b, &created),
	    STORE_OK, "lock gone: create works, same connection");

	/* a schema newer than the program still opens */
	db = raw();
	sqlite3_exec(db, "INSERT INTO schema_version VALUES (999, 'future', 0)",
	    NULL, NULL, NULL);
	sqlite3_close(db);
	st2 = store_open(uri, &s, &why);
	ok(st2 != NULL, "newer schema version opens");
	store_close(st2);

	/* a broken schema: PERM, never NOTFOUND */
	db = raw();
	sqlite3_exec(db, "DROP TABLE replies", NULL, NULL, NULL);
	sqlite3_close(db);
	is_int(store_reply_get(st, a.token, &rep), STORE_PERM,
	    "dropped table: permanent failure");
	store_close(st);
	st = store_open(uri, &s, &why);
	ok(st == NULL && s == STORE_PERM, "open with a dropped table: PERM (%s)",
	    why);

	/* files that cannot be used */
	st = store_open("sqlite:/nonexistent/dir/x.db", &s, &why);
	ok(st == NULL && s == STORE_TEMP,
	    "missing directory: TEMP (cannot open) (%s)", why);
	snprintf(path, sizeof(path), "%s/junk.db", dir);
	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (created = 0; created < 64; created++)
		(void)write(fd, "this is not a database\n", 23);
	close(fd);
	st = store_open(uri, &s, &why);
	ok(st == NULL && s == STORE_PERM, "not a database: PERM (%s)", why);
	st = store_open("sqlite:", &s, &why);
	ok(st == NULL && s == STORE_PERM, "no file name: PERM (%s)", why);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
	return (tap_done());
}
