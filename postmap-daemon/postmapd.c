/*
 * postmapd.c - bipostal-postmapd: Postfix socketmap server for aliases
 *
 *	bipostal-postmapd [-c FILE] [-f] [-v] [-w WORKERS]
 *
 * Shape (leader/followers): WORKERS threads share one epoll set in which
 * every connection is registered EPOLLONESHOT.  The thread that gets a
 * connection's event owns it: it reads, parses netstrings strictly, runs
 * each complete request through postmapd_query() with its own store
 * handle (handles are not thread-safe), writes the answers and re-arms
 * the connection.  No request changes threads, so an answer costs no
 * hand-off; a slow store call holds up one worker and one connection,
 * never the others.
 *
 * The main thread accepts connections, handles signals, and is the
 * watchdog: every WATCH_MS it answers "TEMP lookup timeout" for each
 * lookup older than postmapd_timeout, takes the connection back from its
 * stuck worker (the worker drops its late answer when it returns) and
 * re-arms it so that the next request is served by another thread.  When
 * every worker is inside a lookup, it looks for connections whose request
 * waits for a worker (input unread, or a whole request left in the
 * buffer); when one has waited SPAWN_WAIT_MS (or a quarter of
 * postmapd_timeout if less: a busy store only makes requests take turns,
 * a hanging one makes them wait that long) it starts one more worker (at
 * most WORKERS_MAX) and, once such a request has waited postmapd_timeout,
 * answers it "TEMP lookup timeout"
 * itself without asking the store: however many lookups hang, every
 * request is answered by its deadline, counted from when it was first
 * seen waiting.  Extra workers leave after a quiet second.  It also
 * closes connections idle for postmapd_idle_timeout seconds.
 *
 * Connections live in slots (postmapd_slots) allocated once
 * (postmapd_max_conn of them at start) and never freed; epoll carries slot
 * index and generation, so an event for a connection closed meanwhile is
 * recognised and ignored.  Beyond the slots, new connections are closed at
 * once (Postfix then defers, it never rejects).  Answers on one connection
 * keep the order of its requests; a whole request already read (pipelined
 * behind one the watchdog answered) re-arms its connection for output too,
 * so a worker takes it at once.  Bad framing is logged and the connection
 * closed.
 *
 * A unix: postmapd_listen socket is made mode 0660, owned by daemon_user
 * and postmapd_socket_group (Postfix's group: its processes connect,
 * nobody else); a stale socket at its path is replaced, but a socket in
 * use by another process or anything that is not a socket is left alone
 * and the daemon refuses to start.
 *
 * Store handles: held by each worker from the store pool (pool.h), opened
 * lazily after privileges are dropped, dropped after any STORE_TEMP
 * answer, and re-opened when a reload changed "store"; SQLite handles
 * also when older than STORE_POOL_REFRESH_MS, so that a database that
 * became unreadable is noticed (a server connection fails by itself).
 * A missing SQLite file is never created.  By default there is no
 * cache: every lookup asks the store, so a disable or delete is seen by
 * the next lookup; postmapd_cache_ttl (at most 1 s) lets OK answers be
 * reused that long (postmapd_query.c).  Nothing else is ever cached.
 *
 * Signals: SIGHUP re-reads the configuration (the listening address and
 * the number of slots are kept; the rest takes effect at once), SIGTERM
 * and SIGINT stop accepting, close every connection and exit 0.
 *
 * Files: postmapd.c has main, the signals, the listening socket and the
 * accept loop; postmapd_pool.c the workers, their store handles, the
 * connections and the watchdog; postmapd_query.c the answers.
 *
 * Ownership and locking: a slot's fields are under its mutex; only its
 * owner (the worker that took its event, or the watchdog) touches the
 * socket.  Configuration references are taken and released under
 * postmapd_pool.mu; workers notice a reload by postmapd_pool.conf_gen.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "listen.h"
#include "log.h"
#include "netstring.h"
#include "postmapd.h"
#include "store.h"
#include "util.h"

static int	lfd = -1;
static char	*unix_path;

/* loop_accept - main thread: take every pending connection */
static void
loop_accept(void)
{
	static uint64_t warned;
	struct epoll_event ev;
	struct conn *c;
	long	idx;
	int	fd, one = 1;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNABORTED)
				log_warn("accept: %m");
			return;
		}
		pthread_mutex_lock(&postmapd_slots_mu);
		idx = postmapd_nfree > 0 && postmapd_nslots - postmapd_nfree <
		    postmapd_pool.conf->postmapd_max_conn ?
		    postmapd_freeslots[--postmapd_nfree] : -1;
		pthread_mutex_unlock(&postmapd_slots_mu);
		if (idx < 0) {
			if (bp_mono_ms() - warned > 10000) {
				log_warn("postmapd_max_conn (%ld) reached: "
				    "closing new connections",
				    postmapd_pool.conf->postmapd_max_conn);
				warned = bp_mono_ms();
			}
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = &postmapd_slots[idx];
		pthread_mutex_lock(&c->mu);
		__atomic_store_n(&c->fd, fd, __ATOMIC_RELAXED);
		c->gen++;
		c->busy = 0;
		c->inlen = c->outoff = c->outlen = 0;
		c->last = bp_mono_ms();
		if (idx >= postmapd_hiwater)
			postmapd_hiwater = idx + 1;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
		ev.data.u64 = (uint64_t)c->gen << 32 | (uint64_t)idx;
		if (epoll_ctl(postmapd_wep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_warn("epoll_ctl add: %m");
			close(fd);
			__atomic_store_n(&c->fd, -1, __ATOMIC_RELAXED);
			pthread_mutex_lock(&postmapd_slots_mu);
			postmapd_freeslots[postmapd_nfree++] = idx;
			pthread_mutex_unlock(&postmapd_slots_mu);
		}
		pthread_mutex_unlock(&c->mu);
	}
}

/* reload - SIGHUP: read the configuration again, keep the old on error */
static void
reload(const char *path)
{
	struct conf *cf, *old;
	char	err[512];

	cf = conf_load(path, err, sizeof(err));
	if (cf == NULL) {
		log_error("reload: %s; keeping the running configuration", err);
		return;
	}
	if (strcmp(cf->postmapd_listen,
	    postmapd_pool.conf->postmapd_listen) != 0)
		log_warn("reload: postmapd_listen changes only at restart");
	if (cf->postmapd_max_conn > postmapd_nslots)
		log_warn("reload: postmapd_max_conn above %ld takes a restart",
		    postmapd_nslots);
	pthread_mutex_lock(&postmapd_pool.mu);
	old = postmapd_pool.conf;
	postmapd_pool.conf = cf;
	conf_release(old);
	__atomic_add_fetch(&postmapd_pool.conf_gen, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&postmapd_pool.mu);
	postmapd_cache_flush();		/* maybe another store now */
	log_info("configuration reloaded from %s", cf->path ? cf->path : path);
}

/* usage - explain and exit 2 */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bipostal-postmapd [-fv] [-c config] "
	    "[-w workers]\n");
	exit(2);
}

static int workers;			/* -w, 0: postmapd_default_workers */

/* opt_workers - -w N */
static int
opt_workers(int ch, const char *arg)
{
	(void)ch;
	workers = atoi(arg);
	return (workers < 1 || workers > WORKERS_MAX ? -1 : 0);
}

/* main - configure, bind, drop privileges, serve until SIGTERM */
int
main(int argc, char **argv)
{
	struct epoll_event ev, evs[16];
	struct signalfd_siginfo si;
	char	*path, err[512];
	sigset_t sigs;
	struct conf *cf;
	uint64_t next_watch = 0, t;
	int	fg, sfd, mep, n, i;
	int	running = 1;
	long	k;

	cf = conf_daemon_start("bipostal-postmapd", argc, argv, "w:",
	    opt_workers, usage, &fg);
	path = xstrdup(cf->path);
	if (cf->alias_domain == NULL || *cf->alias_domain == '\0')
		log_fatal("alias_domain is not set");
	if (cf->store == NULL || *cf->store == '\0')
		log_fatal("store is not set");
	if (postmapd_bounce_init(cf, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	postmapd_pool.conf = cf;
	if (workers == 0)
		workers = postmapd_default_workers(cf);
	postmapd_pool.base = workers;

	postmapd_nslots = cf->postmapd_max_conn;
	postmapd_slots = xcalloc((size_t)postmapd_nslots,
	    sizeof(*postmapd_slots));
	postmapd_freeslots = xcalloc((size_t)postmapd_nslots,
	    sizeof(*postmapd_freeslots));
	for (k = 0; k < postmapd_nslots; k++) {
		pthread_mutex_init(&postmapd_slots[k].mu, NULL);
		postmapd_slots[k].fd = -1;
		/* low slots first */
		postmapd_freeslots[k] = postmapd_nslots - 1 - k;
	}
	postmapd_nfree = postmapd_nslots;

	if ((lfd = listen_open("postmapd_listen", cf->postmapd_listen,
	    cf->postmapd_socket_group, 0, &unix_path)) < 0)
		log_fatal("cannot listen on %s", cf->postmapd_listen);
	bp_drop_privileges(cf->daemon_user, unix_path);
	postmapd_store_start(cf->store);
	if (!fg && daemon(0, 0) < 0)
		log_fatal("daemon: %m");

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);	/* workers inherit it */
	if ((sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		log_fatal("signalfd: %m");
	if ((postmapd_wep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (mep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		log_fatal("epoll_create1: %m");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(mep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		log_fatal("epoll_ctl: %m");
	ev.data.fd = sfd;
	if (epoll_ctl(mep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		log_fatal("epoll_ctl: %m");

	pthread_mutex_lock(&postmapd_pool.mu);
	for (i = 0; i < workers; i++)
		if (postmapd_spawn() < 0)
			log_fatal("cannot start workers");
	pthread_mutex_unlock(&postmapd_pool.mu);
	log_info("listening on %s, %d workers, timeout %ld ms",
	    cf->postmapd_listen, workers, cf->postmapd_timeout);

	while (running) {
		n = epoll_wait(mep, evs, 16, WATCH_MS);
		if (n < 0 && errno != EINTR)
			log_fatal("epoll_wait: %m");
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd) {
				loop_accept();
				continue;
			}
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP)
					reload(path);
				else
					running = 0;
			}
		}
		t = bp_mono_ms();
		if (t >= next_watch) {
			postmapd_watch(t);
			next_watch = t + WATCH_MS;
		}
	}

	log_info("stopping");
	close(lfd);
	if (unix_path != NULL)
		unlink(unix_path);
	__atomic_store_n(&postmapd_pool.stop, 1, __ATOMIC_RELEASE);
	for (k = 0; k < postmapd_hiwater; k++) {
		pthread_mutex_lock(&postmapd_slots[k].mu);
		postmapd_conn_close(&postmapd_slots[k]);
		pthread_mutex_unlock(&postmapd_slots[k].mu);
	}
	pthread_mutex_lock(&postmapd_pool.mu);
	for (i = 0; i < 300 && postmapd_pool.nthreads > 0; i++) {
		pthread_mutex_unlock(&postmapd_pool.mu);
		usleep(10000);	/* workers wake within 500 ms */
		pthread_mutex_lock(&postmapd_pool.mu);
	}
	n = postmapd_pool.nthreads;
	if (n == 0)
		conf_release(postmapd_pool.conf);
	pthread_mutex_unlock(&postmapd_pool.mu);
	if (n == 0) {
		free(postmapd_slots);
		free(postmapd_freeslots);
	} else
		log_warn("%d worker(s) still inside a store call at exit", n);
	free(unix_path);
	free(path);
	return (0);
}
