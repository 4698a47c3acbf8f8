/*
 * seed.c - reach into the store the milter uses, for the milter tests
 *
 *	seed CONF reply ALIAS SENDER	print the reply token for (alias, sender)
 *	seed CONF counts ALIAS		print "forwarded blocked replied"
 *	seed CONF blob ID		write the blob's bytes to stdout
 *	seed CONF queue EMAIL		print how many queue messages the user has
 *					(each one on stderr, oldest first)
 *	seed CONF events EMAIL [TYPE]	print the user's events, one a line:
 *					"ID TYPE JSON"
 *	seed CONF bounce TOKEN [TIME]	print the signed bounce address of the
 *					alias, as of TIME (default now)
 *	seed CONF status TOKEN		print the alias status: active,
 *					inactive or deleted
 *
 * Exit 0, or 1 with the reason on stderr.  It goes through store.h, so it
 * works the same over every backend.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "conf.h"
#include "store.h"
#include "util.h"

int
main(int argc, char **argv)
{
	struct conf *cf;
	struct store *st;
	enum store_status s;
	const char *why = NULL;
	char	 err[512];
	int	 rc = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: seed CONF reply|counts|blob|queue|events|"
		    "bounce|status ARGS\n");
		return (2);
	}
	if ((cf = conf_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return (1);
	}
	if ((st = store_open(cf->store, &s, &why)) == NULL) {
		fprintf(stderr, "store: %s\n", why ? why : "?");
		return (1);
	}
	if (strcmp(argv[2], "reply") == 0 && argc == 5) {
		struct reply rp;

		if ((s = store_reply_get_or_create(st, argv[3], argv[4], &rp)) == STORE_OK) {
			printf("%s\n", rp.token);
			rc = 0;
		}
	} else if (strcmp(argv[2], "counts") == 0) {
		struct alias a;

		if ((s = store_alias_get(st, argv[3], &a)) == STORE_OK) {
			printf("%lld %lld %lld\n", (long long)a.forwarded,
			    (long long)a.blocked, (long long)a.replied);
			rc = 0;
		}
	} else if (strcmp(argv[2], "blob") == 0) {
		struct blob b;

		if ((s = store_blob_get(st, argv[3], &b)) == STORE_OK) {
			fwrite(b.data, 1, b.size, stdout);
			blob_free(&b);
			rc = 0;
		}
	} else if (strcmp(argv[2], "queue") == 0) {
		struct user u;
		struct qmsg *q = NULL;
		size_t	 n = 0, i;
		int64_t	 first;

		if ((s = store_user_by_identity(st, argv[3], &u)) == STORE_OK &&
		    (s = store_queue_read(st, u.id, 0, 100, &q, &n, &first)) == STORE_OK) {
			printf("%zu\n", n);
			for (i = 0; i < n; i++)
				fprintf(stderr, "%s\n", q[i].data);
			qmsgs_free(q, n);
			rc = 0;
		}
	} else if (strcmp(argv[2], "events") == 0) {
		struct user u;
		struct event *ev = NULL;
		size_t	 n = 0, i;

		if ((s = store_user_by_identity(st, argv[3], &u)) == STORE_OK &&
		    (s = store_event_read(st, u.id, 0, 1000, &ev, &n)) == STORE_OK) {
			for (i = 0; i < n; i++)
				if (argc < 5 || strcmp(ev[i].type, argv[4]) == 0)
					printf("%lld %s %s\n", (long long)ev[i].id,
					    ev[i].type, ev[i].data);
			free(ev);
			rc = 0;
		}
	} else if (strcmp(argv[2], "bounce") == 0) {
		char	 key[512], addr[512];
		long	 kl;

		s = STORE_PERM;
		kl = conf_read_secret(cf->secret_key_file, key, sizeof(key), err,
		    sizeof(err));
		if (kl < 0)
			fprintf(stderr, "%s\n", err);
		else if (bounce_address((unsigned char *)key, (size_t)kl, argv[3],
		    argc > 4 ? strtoll(argv[4], NULL, 10) : bp_now(),
		    cf->alias_domain, addr, sizeof(addr)) == 0) {
			printf("%s\n", addr);
			rc = 0;
		}
	} else if (strcmp(argv[2], "status") == 0) {
		struct alias a;
		static const char *const names[] = { "active", "inactive",
		    "deleted" };

		if ((s = store_alias_get(st, argv[3], &a)) == STORE_OK) {
			printf("%s\n", a.status <= ALIAS_DELETED ?
			    names[a.status] : "?");
			rc = 0;
		}
	} else {
		fprintf(stderr, "seed: unknown command %s\n", argv[2]);
		return (2);
	}
	if (rc != 0)
		fprintf(stderr, "seed %s: %s\n", argv[2], store_strstatus(s));
	store_close(st);
	conf_release(cf);
	return (rc);
}
