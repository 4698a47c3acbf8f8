/*
 * test_pool - pool.c, the store handles the daemons share, on real SQLite
 * files in a scratch directory
 *
 * Each rule of pool.h is checked by what the caller can see: whether it
 * gets back the handle it gave (the lease's data survives) or a new one
 * (the pool freed the old data), and whether a file is created.  The
 * idle and refresh rules wait STORE_POOL_IDLE_MS; the whole run takes
 * about five seconds.
 */
#include "config.h"

#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "store.h"
#include "tap.h"

static int freed;			/* data_free calls */
static pthread_mutex_t freed_mu = PTHREAD_MUTEX_INITIALIZER;

static void
data_free(void *p)
{
	pthread_mutex_lock(&freed_mu);
	freed++;
	pthread_mutex_unlock(&freed_mu);
	free(p);
}

static int
exists(const char *path)
{
	struct stat sb;

	return (stat(path, &sb) == 0);
}

static void
msleep(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* mark - give a fresh lease data the pool frees later */
static void
mark(struct store_lease *l)
{
	if (l->data == NULL)
		l->data = malloc(1);
}

static void
test_reuse(const char *uri)
{
	struct store_pool *p = store_pool_new(4, 0, data_free);
	struct store_lease *l = NULL, *first;
	struct store *st;

	freed = 0;
	st = store_pool_hold(p, &l, uri);
	ok(st != NULL && l != NULL && l->st == st, "hold opens a handle");
	ok(store_pool_hold(p, &l, uri) == st, "holding again keeps it");
	mark(l);
	first = l;
	store_pool_put(p, &l, 0);
	ok(l == NULL, "put clears the caller's lease");
	st = store_pool_hold(p, &l, uri);
	ok(l == first && l->data != NULL, "the handle given back is taken again,"
	    " its data with it");
	store_pool_put(p, &l, 1);
	is_int(freed, 1, "a broken handle is closed, its data freed");
	st = store_pool_hold(p, &l, uri);
	ok(st != NULL && l->data == NULL, "the next hold opens a new one");
	mark(l);
	store_pool_put(p, &l, 0);
	store_pool_put(p, &l, 0);
	ok(1, "put of a NULL lease is fine");
	store_pool_free(p);
	is_int(freed, 2, "freeing the pool closes the idle handles");
}

static void
test_reload(const char *uri, const char *uri2)
{
	struct store_pool *p = store_pool_new(4, 0, data_free);
	struct store_lease *l = NULL, *m = NULL;

	freed = 0;
	store_pool_hold(p, &l, uri);
	mark(l);
	ok(store_pool_hold(p, &l, uri2) != NULL && strcmp(l->st->uri, uri2) == 0,
	    "another uri (a reload): the held handle is reopened on it");
	is_int(freed, 1, "... and the old one closed");
	mark(l);
	store_pool_put(p, &l, 0);
	ok(store_pool_hold(p, &m, uri) != NULL && strcmp(m->st->uri, uri) == 0 &&
	    m->data == NULL, "an idle handle on the old uri is not taken");
	is_int(freed, 2, "... it is closed when found");
	store_pool_put(p, &m, 0);
	store_pool_drain(p);
	ok(store_pool_hold(p, &l, uri) != NULL && l->data == NULL,
	    "after a drain every handle is new");
	store_pool_put(p, &l, 0);
	store_pool_free(p);
}

static void
test_limits(const char *uri)
{
	struct store_pool *p = store_pool_new(1, 0, data_free);
	struct store_lease *a = NULL, *b = NULL;

	freed = 0;
	store_pool_hold(p, &a, uri);
	store_pool_hold(p, &b, uri);
	ok(a != NULL && b != NULL && a != b, "two holders get two handles");
	mark(a);
	mark(b);
	store_pool_put(p, &a, 0);
	store_pool_put(p, &b, 0);
	is_int(freed, 1, "past max_idle a handle given back is closed");
	store_pool_free(p);
}

static void
test_idle(const char *uri)
{
	struct store_pool *p = store_pool_new(4, 0, data_free);
	struct store_lease *l = NULL;

	freed = 0;
	store_pool_hold(p, &l, uri);
	mark(l);
	store_pool_put(p, &l, 0);
	msleep(STORE_POOL_IDLE_MS + 100);
	store_pool_hold(p, &l, uri);
	ok(l != NULL && l->data == NULL && freed == 1,
	    "a handle idle past STORE_POOL_IDLE_MS is closed, a new one opened");
	mark(l);
	msleep(STORE_POOL_REFRESH_MS + 100);
	store_pool_hold(p, &l, uri);
	ok(l != NULL && l->data == NULL && freed == 2,
	    "a file handle held past STORE_POOL_REFRESH_MS is reopened");
	store_pool_put(p, &l, 0);
	store_pool_free(p);
}

static void
test_missing(const char *dir)
{
	struct store_pool *p = store_pool_new(4, STORE_POOL_NO_CREATE, NULL);
	struct store_pool *q = store_pool_new(4, 0, NULL);
	struct store_lease *l = NULL;
	char	 path[512], uri[600];

	snprintf(path, sizeof(path), "%s/missing.db", dir);
	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	ok(store_pool_hold(p, &l, uri) == NULL && l == NULL,
	    "NO_CREATE: a missing file answers NULL");
	ok(!exists(path), "... and is not created");
	ok(store_pool_hold(q, &l, uri) != NULL, "without the flag it is "
	    "created");
	store_pool_put(q, &l, 0);
	ok(store_pool_hold(p, &l, uri) == NULL,
	    "within the backoff no new try, though the file is there now");
	msleep(STORE_POOL_BACKOFF_MS + 50);
	ok(store_pool_hold(p, &l, uri) != NULL, "after the backoff it opens");
	store_pool_put(p, &l, 0);
	ok(store_pool_hold(p, &l, "nosuch:scheme") == NULL,
	    "an unknown scheme answers NULL");
	store_pool_free(p);
	store_pool_free(q);
}

struct worker {
	struct store_pool *p;
	const char	*uri;
	int		 fails;
};

static void *
worker(void *arg)
{
	struct worker	*w = arg;
	struct store_lease *l = NULL;
	struct alias	 a;
	int		 i;

	for (i = 0; i < 200; i++) {
		struct store *st = store_pool_hold(w->p, &l, w->uri);

		if (st == NULL || store_alias_get(st, "nosuchtoken", &a) !=
		    STORE_NOTFOUND)
			w->fails++;
		mark(l);
		store_pool_put(w->p, &l, i % 17 == 0);
	}
	return (NULL);
}

static void
test_threads(const char *uri)
{
	struct store_pool *p = store_pool_new(2, 0, data_free);
	struct worker	 w[6];
	pthread_t	 t[6];
	int		 i, fails = 0;

	for (i = 0; i < 6; i++) {
		w[i].p = p;
		w[i].uri = uri;
		w[i].fails = 0;
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		fails += w[i].fails;
	}
	is_int(fails, 0, "6 threads x 200 holds: every handle answers");
	store_pool_free(p);
}

int
main(void)
{
	char	 dir[] = "/tmp/test_pool.XXXXXX", uri[600], uri2[600];
	char	 cmd[600];

	log_open("test_pool", 1);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	snprintf(uri, sizeof(uri), "sqlite:%s/a.db", dir);
	snprintf(uri2, sizeof(uri2), "sqlite:%s/b.db", dir);
	test_reuse(uri);
	test_reload(uri, uri2);
	test_limits(uri);
	test_missing(dir);
	test_threads(uri);
	test_idle(uri);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return (tap_done());
}
