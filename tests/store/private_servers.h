/*
 * private_servers.h - a private MariaDB and Redis for one fault test
 *
 *	private_servers_start();	servers.sh start in a fresh dir,
 *					its env file loaded with setenv
 *	private_servers_cmd("stop-mysql");	stop-mysql, start-mysql, ...
 *
 * Tests that stop and start servers must not touch the shared ones that
 * tests/lib/servers.sh started for the whole run: other tests use them at
 * the same time under "make -j".  The pair is stopped and its directory
 * removed at exit; after the start, stop a test with ps_bail (exit runs
 * the atexit hook), not bail (_exit would leave the servers running).
 * Bails out if the servers cannot start.
 */
#ifndef BIPOSTAL_PRIVATE_SERVERS_H
#define BIPOSTAL_PRIVATE_SERVERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/tap.h"

/* ps_bail - "Bail out!" and exit through the atexit hooks */
#define ps_bail(...) do {						\
	printf("Bail out! ");						\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	fflush(stdout);							\
	exit(1);							\
} while (0)

static char ps_script[1024];	/* tests/lib/servers.sh */
static char ps_top[512];	/* the mkdtemp directory */
static char ps_dir[600];	/* the servers' directory inside it */

/* private_servers_cmd - run servers.sh CMD on the private pair; 0 if ok */
static int __attribute__((unused))
private_servers_cmd(const char *cmd)
{
	char	buf[2048];

	snprintf(buf, sizeof(buf), "'%s' %s '%s' >&2", ps_script, cmd, ps_dir);
	return (system(buf));
}

/* private_servers_stop - stop both and remove the directory (atexit) */
static void
private_servers_stop(void)
{
	if (ps_dir[0] == '\0')
		return;
	(void)private_servers_cmd("stop");
	(void)rmdir(ps_top);
	ps_dir[0] = '\0';
}

/* private_servers_start - start the pair and export its variables */
static void __attribute__((unused))
private_servers_start(void)
{
	const char *src = getenv("top_srcdir"), *tmp = getenv("TMPDIR");
	char	 buf[2048], line[2048], *name, *val, *q;
	FILE	*f;

	snprintf(ps_script, sizeof(ps_script), "%s/tests/lib/servers.sh",
	    src != NULL ? src : "../..");
	snprintf(ps_top, sizeof(ps_top), "%s/bipostal-pservers.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(ps_top) == NULL)
		bail("mkdtemp %s", ps_top);
	snprintf(ps_dir, sizeof(ps_dir), "%s/s", ps_top);
	atexit(private_servers_stop);
	snprintf(buf, sizeof(buf), "'%s' start '%s' >/dev/null", ps_script,
	    ps_dir);
	if (system(buf) != 0)
		ps_bail("servers.sh start %s failed", ps_dir);
	snprintf(buf, sizeof(buf), "%s/env", ps_dir);
	if ((f = fopen(buf, "r")) == NULL)
		ps_bail("cannot read %s", buf);
	/* lines: export NAME='value' */
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "export ", 7) != 0)
			continue;
		name = line + 7;
		if ((val = strchr(name, '=')) == NULL)
			continue;
		*val++ = '\0';
		if (*val == '\'')
			val++;
		if ((q = strrchr(val, '\'')) != NULL)
			*q = '\0';
		else
			val[strcspn(val, "\n")] = '\0';
		setenv(name, val, 1);
	}
	fclose(f);
}

#endif
