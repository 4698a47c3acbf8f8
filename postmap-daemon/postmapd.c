/*
 * postmapd.c - bipostal-postmapd: Postfix socketmap server for aliases
 *
 *	bipostal-postmapd [-c FILE] [-f] [-v] [-w WORKERS]
 *
 * Shape: one event-loop thread (epoll) owns every socket: it accepts,
 * reads, parses netstrings strictly, queues each complete request as a
 * job, and writes replies.  A pool of worker threads, each with its own
 * store handle (handles are not thread-safe), takes jobs off the queue
 * and runs postmapd_query().  A slow store call therefore holds up one
 * worker, never the loop nor the other connections.
 *
 * Deadlines: every job gets postmapd_timeout milliseconds from the moment
 * its request is complete.  Past it the loop answers "TEMP lookup timeout"
 * itself and orphans the job; the worker frees an orphan when it gets to
 * it and its late answer is dropped.  When a job times out while no worker
 * is idle, the loop starts one more worker (up to WORKERS_MAX) so that a
 * store call that hangs does not starve the queue; extra workers leave
 * again when the queue is empty.
 *
 * A connection has at most one job in flight: further pipelined requests
 * wait in its input buffer, so answers keep their order.  Bad framing is
 * logged and the connection closed.  Idle connections are closed after
 * postmapd_idle_timeout seconds; past postmapd_max_conn new connections
 * are closed at once (Postfix then defers, it never rejects).
 *
 * Store handles: opened lazily by each worker after privileges are
 * dropped, dropped after any STORE_TEMP answer, and re-opened when older
 * than STORE_REFRESH seconds or when a reload changed "store", so that a
 * store that became unreadable or moved is noticed.  There is no cache:
 * every lookup asks the store, so a disable or delete is seen by the next
 * lookup.
 *
 * Signals: SIGHUP re-reads the configuration (the listening address is
 * kept; the rest takes effect at once), SIGTERM and SIGINT stop accepting,
 * close every connection and exit 0.
 *
 * Ownership: struct conn belongs to the loop thread; a struct job is
 * shared under pool.mu until it is orphaned or answered, and freed by
 * whoever holds it last (see job states below).  Configuration references
 * are taken and released under pool.mu only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "netstring.h"
#include "postmapd.h"
#include "store.h"
#include "util.h"

#define WORKERS_DEFAULT	8
#define WORKERS_MAX	64
#define STORE_REFRESH	2	/* seconds a store handle is used */
#define STORE_BACKOFF	250	/* ms between failed opens, per worker */
#define INBUF_SIZE	(POSTMAPD_REQ_MAX + 16)
#define OUTBUF_SIZE	(4 * (POSTMAPD_REPLY_MAX + 16))

enum job_state {
	JOB_QUEUED,		/* in pool.queue */
	JOB_RUNNING,		/* a worker has it */
	JOB_DONE,		/* in pool.done, for the loop */
};

struct conn;

struct job {
	struct job	*next;		/* pool.queue or pool.done link */
	struct job	*iprev, *inext;	/* loop's in-flight list (loop only) */
	struct conn	*conn;		/* loop only */
	enum job_state	 state;		/* under pool.mu */
	int		 orphan;	/* under pool.mu: loop gave up */
	uint64_t	 deadline;	/* monotonic ms */
	size_t		 reqlen;
	size_t		 replylen;
	char		 req[POSTMAPD_REQ_MAX + 1];
	char		 reply[POSTMAPD_REPLY_MAX];
};

struct conn {
	struct conn	*prev, *next;	/* all connections */
	int		 fd;
	uint32_t	 events;	/* registered with epoll */
	struct job	*job;		/* in flight or NULL */
	uint64_t	 last;		/* monotonic ms of last activity */
	size_t		 inlen;
	size_t		 outoff, outlen;
	char		 in[INBUF_SIZE];
	char		 out[OUTBUF_SIZE];
};

static struct pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct job	*qhead, *qtail;	/* waiting for a worker */
	struct job	*done;		/* answered, for the loop */
	int		 efd;		/* eventfd: done is not empty */
	int		 nthreads;
	int		 base;		/* threads kept when idle */
	int		 idle;
	int		 stop;
	struct conf	*conf;		/* current; one reference */
} pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.efd = -1,
};

static int	ep = -1;
static int	lfd = -1;
static struct conn *conns;
static struct conn *graveyard;	/* closed in this loop turn, freed after */
static long	nconns;
static struct job *iflight_head, *iflight_tail;
static char	*unix_path;

/* now_ms - monotonic milliseconds */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* worker_conf - take the current conf; under pool.mu */
static void
worker_conf(struct conf **mine)
{
	if (*mine != pool.conf) {
		conf_release(*mine);
		*mine = conf_retain(pool.conf);
	}
}

struct wstore {				/* one worker's store handle */
	struct store	*st;
	char		*uri;		/* the uri st was opened with */
	const char	*want;		/* the uri of the current conf */
	uint64_t	 opened;	/* monotonic ms */
	uint64_t	 failed;	/* last failed open, 0 = none */
};

/* worker_store - this worker's handle, (re)opened as needed; or NULL */
static struct store *
worker_store(void *arg)
{
	struct wstore *w = arg;
	enum store_status sst;
	const char *why;
	uint64_t t = now_ms();

	if (w->st != NULL && (strcmp(w->uri, w->want) != 0 ||
	    t - w->opened > STORE_REFRESH * 1000)) {
		store_close(w->st);
		w->st = NULL;
	}
	if (w->st != NULL)
		return (w->st);
	if (w->failed != 0 && t - w->failed < STORE_BACKOFF &&
	    strcmp(w->uri, w->want) == 0)
		return (NULL);
	free(w->uri);
	w->uri = xstrdup(w->want);
	w->st = store_open(w->uri, &sst, &why);
	if (w->st == NULL) {
		log_warn("store open: %s: %s", store_strstatus(sst),
		    why ? why : "unknown error");
		w->failed = now_ms();
		return (NULL);
	}
	w->opened = t;
	w->failed = 0;
	return (w->st);
}

/* worker_main - take jobs, answer them with this thread's store */
static void *
worker_main(void *arg)
{
	struct wstore w;
	struct conf *cf = NULL;
	enum store_status sst;
	struct job *j;

	memset(&w, 0, sizeof(w));
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		while (pool.qhead == NULL && !pool.stop) {
			if (pool.nthreads > pool.base)
				goto out;
			pool.idle++;
			pthread_cond_wait(&pool.cv, &pool.mu);
			pool.idle--;
		}
		if (pool.stop)
			break;
		j = pool.qhead;
		pool.qhead = j->next;
		if (pool.qhead == NULL)
			pool.qtail = NULL;
		if (j->orphan) {
			free(j);
			continue;
		}
		j->state = JOB_RUNNING;
		worker_conf(&cf);
		pthread_mutex_unlock(&pool.mu);

		w.want = cf->store;
		j->replylen = postmapd_query(worker_store, &w,
		    cf->alias_domain, j->req, j->reqlen, j->reply,
		    sizeof(j->reply), &sst);
		if (sst == STORE_TEMP && w.st != NULL) {
			store_close(w.st);	/* maybe a dead connection */
			w.st = NULL;
		}

		pthread_mutex_lock(&pool.mu);
		if (j->orphan) {
			free(j);
		} else {
			j->state = JOB_DONE;
			j->next = pool.done;
			pool.done = j;
			if (j->next == NULL) {
				uint64_t one = 1;

				if (write(pool.efd, &one, sizeof(one)) < 0 &&
				    errno != EAGAIN)
					log_warn("eventfd write: %m");
			}
		}
		if (pool.nthreads > pool.base && pool.qhead == NULL)
			goto out;
	}
out:
	pool.nthreads--;
	conf_release(cf);
	pthread_mutex_unlock(&pool.mu);
	store_close(w.st);
	free(w.uri);
	return (NULL);
}

/* pool_spawn - start one worker; under pool.mu */
static int
pool_spawn(void)
{
	pthread_t tid;
	pthread_attr_t attr;
	int	err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, worker_main, NULL);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		log_warn("cannot start a worker: %s", strerror(err));
		return (-1);
	}
	pool.nthreads++;
	return (0);
}

/* conn_events - register the events c needs now */
static void
conn_events(struct conn *c)
{
	struct epoll_event ev;
	uint32_t want = 0;

	if (c->inlen < sizeof(c->in))
		want |= EPOLLIN;
	if (c->outlen > c->outoff)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		log_warn("epoll_ctl: %m");
	c->events = want;
}

/* inflight_remove - unlink j from the loop's in-flight list */
static void
inflight_remove(struct job *j)
{
	if (j->iprev)
		j->iprev->inext = j->inext;
	else
		iflight_head = j->inext;
	if (j->inext)
		j->inext->iprev = j->iprev;
	else
		iflight_tail = j->iprev;
	j->iprev = j->inext = NULL;
}

/* job_orphan - the loop gives up on j; whoever holds it frees it */
static void
job_orphan(struct job *j)
{
	inflight_remove(j);
	j->conn = NULL;
	pthread_mutex_lock(&pool.mu);
	j->orphan = 1;
	/* a done job is still on pool.done: the loop frees it there */
	pthread_mutex_unlock(&pool.mu);
}

/* conn_close - close c, orphaning its job */
static void
conn_close(struct conn *c)
{
	if (c->job != NULL)
		job_orphan(c->job);
	c->job = NULL;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nconns--;
	/* later events of this epoll_wait turn may still name c */
	c->prev = NULL;
	c->next = graveyard;
	graveyard = c;
}

/* conn_flush - write what is pending; -1 if c is gone */
static int
conn_flush(struct conn *c)
{
	ssize_t	n;

	while (c->outlen > c->outoff) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (log_verbose)
				log_info("connection write: %m");
			conn_close(c);
			return (-1);
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	return (0);
}

/* conn_reply - queue the netstring of text for c; -1 if c is gone */
static int
conn_reply(struct conn *c, const char *text, size_t len)
{
	size_t	n;

	if (c->outoff > 0 && c->outlen > c->outoff) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	n = netstring_format(c->out + c->outlen, sizeof(c->out) - c->outlen,
	    text, len);
	if (n == 0) {
		/* only a client that never reads fills this buffer */
		log_warn("client does not read its answers: closing");
		conn_close(c);
		return (-1);
	}
	c->outlen += n;
	return (0);
}

/* conn_next - parse and queue the next buffered request; -1 if c is gone */
static int
conn_next(struct conn *c)
{
	const char *data, *why;
	size_t	dlen, used;
	enum netstring_status ns;
	struct job *j;
	char	peek[24];

	if (c->job != NULL || c->inlen == 0)
		return (0);
	ns = netstring_parse(c->in, c->inlen, POSTMAPD_REQ_MAX, &data, &dlen,
	    &used, &why);
	if (ns == NETSTRING_MORE)
		return (0);
	if (ns == NETSTRING_BAD) {
		log_warn("bad request framing: %s: \"%s\": closing", why,
		    log_printable(peek, sizeof(peek), c->in,
		    c->inlen < 16 ? c->inlen : 16));
		conn_close(c);
		return (-1);
	}
	j = xcalloc(1, sizeof(*j));
	memcpy(j->req, data, dlen);
	j->req[dlen] = '\0';
	j->reqlen = dlen;
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	j->conn = c;
	c->job = j;
	j->deadline = now_ms() + (uint64_t)pool.conf->postmapd_timeout;
	j->iprev = iflight_tail;
	if (iflight_tail)
		iflight_tail->inext = j;
	else
		iflight_head = j;
	iflight_tail = j;

	pthread_mutex_lock(&pool.mu);
	j->state = JOB_QUEUED;
	if (pool.qtail)
		pool.qtail->next = j;
	else
		pool.qhead = j;
	pool.qtail = j;
	if (pool.idle > 0)
		pthread_cond_signal(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	return (0);
}

/* conn_answer - j's reply is ready (or its deadline passed) */
static void
conn_answer(struct conn *c, const char *text, size_t len)
{
	c->job = NULL;
	c->last = now_ms();
	if (conn_reply(c, text, len) < 0)
		return;
	if (conn_next(c) < 0)
		return;
	if (conn_flush(c) < 0)
		return;
	conn_events(c);
}

/* conn_read - read what the client sent */
static void
conn_read(struct conn *c)
{
	ssize_t	n;

	while (c->inlen < sizeof(c->in)) {
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (log_verbose)
				log_info("connection read: %m");
			conn_close(c);
			return;
		}
		if (n == 0) {
			if (c->inlen > 0)
				log_warn("connection closed inside a request");
			conn_close(c);
			return;
		}
		c->inlen += (size_t)n;
		c->last = now_ms();
		if (c->job == NULL && conn_next(c) < 0)
			return;
	}
	if (conn_next(c) < 0)
		return;
	conn_events(c);
}

/* loop_accept - take every pending connection */
static void
loop_accept(void)
{
	static uint64_t warned;
	struct epoll_event ev;
	struct conn *c;
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
		if (nconns >= pool.conf->postmapd_max_conn) {
			if (now_ms() - warned > 10000) {
				log_warn("postmapd_max_conn (%ld) reached: "
				    "closing new connections",
				    pool.conf->postmapd_max_conn);
				warned = now_ms();
			}
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->last = now_ms();
		c->events = EPOLLIN;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_warn("epoll_ctl add: %m");
			close(fd);
			free(c);
			continue;
		}
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		nconns++;
	}
}

/* loop_done - hand the workers' answers to their connections */
static void
loop_done(void)
{
	struct job *j, *next;
	uint64_t v;

	if (read(pool.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("eventfd read: %m");
	pthread_mutex_lock(&pool.mu);
	j = pool.done;
	pool.done = NULL;
	pthread_mutex_unlock(&pool.mu);
	for (; j != NULL; j = next) {
		next = j->next;
		if (j->orphan) {	/* set by this thread: no lock needed */
			free(j);
			continue;
		}
		inflight_remove(j);
		conn_answer(j->conn, j->reply, j->replylen);
		free(j);
	}
}

/* loop_deadlines - answer TEMP for every job past its deadline */
static void
loop_deadlines(uint64_t t)
{
	static const char late[] = "TEMP lookup timeout";
	struct job *j;
	struct conn *c;
	int	running, done;

	for (;;) {
		running = 0;
		for (j = iflight_head; j != NULL && j->deadline <= t;
		    j = j->inext) {
			pthread_mutex_lock(&pool.mu);
			done = j->state == JOB_DONE;	/* loop_done takes it */
			if (!done) {
				running = j->state == JOB_RUNNING;
				j->orphan = 1;
				if (pool.idle == 0 && pool.nthreads < WORKERS_MAX)
					pool_spawn();
			}
			pthread_mutex_unlock(&pool.mu);
			if (!done)
				break;
		}
		if (j == NULL || j->deadline > t)
			return;
		c = j->conn;
		inflight_remove(j);
		j->conn = NULL;
		log_warn("lookup %s: no answer within %ld ms",
		    running ? "running" : "queued", pool.conf->postmapd_timeout);
		conn_answer(c, late, sizeof(late) - 1);
	}
}

/* loop_idle - close connections idle for postmapd_idle_timeout seconds */
static void
loop_idle(uint64_t t)
{
	struct conn *c, *next;
	uint64_t limit = (uint64_t)pool.conf->postmapd_idle_timeout * 1000;

	if (limit == 0)
		return;
	for (c = conns; c != NULL; c = next) {
		next = c->next;
		if (c->job == NULL && c->outlen == c->outoff &&
		    t - c->last >= limit) {
			if (log_verbose)
				log_info("closing idle connection");
			conn_close(c);
		}
	}
}

/* listen_open - bind addr ("inet:HOST:PORT" or "unix:/path"); fd or -1 */
static int
listen_open(const char *addr)
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_un sun;
	char	*host, *port;
	int	fd = -1, one = 1, err;

	if (strncmp(addr, "unix:", 5) == 0) {
		if (strlen(addr + 5) >= sizeof(sun.sun_path)) {
			log_error("postmapd_listen: path too long");
			return (-1);
		}
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		strcpy(sun.sun_path, addr + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd < 0)
			return (-1);
		unlink(sun.sun_path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
		    chmod(sun.sun_path, 0666) < 0 || listen(fd, 512) < 0) {
			log_error("postmapd_listen %s: %m", addr);
			close(fd);
			return (-1);
		}
		unix_path = xstrdup(sun.sun_path);
		return (fd);
	}
	if (strncmp(addr, "inet:", 5) == 0)
		addr += 5;
	host = xstrdup(addr);
	port = strrchr(host, ':');
	if (port == NULL || port[1] == '\0') {
		log_error("postmapd_listen: \"%s\": want inet:HOST:PORT or "
		    "unix:/path", addr);
		free(host);
		return (-1);
	}
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	err = getaddrinfo(*host ? host : NULL, port, &hints, &res);
	if (err != 0) {
		log_error("postmapd_listen %s: %s", addr, gai_strerror(err));
		free(host);
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 512) == 0)
			break;
		log_error("postmapd_listen %s: %m", addr);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	free(host);
	return (fd);
}

/* drop_privileges - become daemon_user when started as root */
static void
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if (user == NULL || *user == '\0') {
		log_warn("running as root: set daemon_user");
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		log_fatal("daemon_user %s: no such user", user);
	if (unix_path != NULL && chown(unix_path, pw->pw_uid, pw->pw_gid) < 0)
		log_fatal("chown %s: %m", unix_path);
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		log_fatal("cannot become %s: %m", user);
	if (setuid(0) == 0)
		log_fatal("could get root back after dropping it");
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
	if (strcmp(cf->postmapd_listen, pool.conf->postmapd_listen) != 0)
		log_warn("reload: postmapd_listen changes only at restart");
	pthread_mutex_lock(&pool.mu);
	old = pool.conf;
	pool.conf = cf;
	conf_release(old);
	pthread_mutex_unlock(&pool.mu);
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

/* main - configure, bind, drop privileges, serve until SIGTERM */
int
main(int argc, char **argv)
{
	struct epoll_event ev, evs[128];
	struct signalfd_siginfo si;
	const char *path = NULL;
	char	err[512];
	sigset_t sigs;
	struct conf *cf;
	uint64_t t, next_idle = 0;
	int	ch, fg = 0, workers = WORKERS_DEFAULT, sfd, n, i, timeout;
	int	running = 1;

	while ((ch = getopt(argc, argv, "c:fvw:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			fg = 1;
			break;
		case 'v':
			log_verbose++;
			break;
		case 'w':
			workers = atoi(optarg);
			if (workers < 1 || workers > WORKERS_MAX)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_open("bipostal-postmapd", fg);
	if ((cf = conf_load(path, err, sizeof(err))) == NULL)
		log_fatal("%s", err);
	if (cf->alias_domain == NULL || *cf->alias_domain == '\0')
		log_fatal("alias_domain is not set");
	if (cf->store == NULL || *cf->store == '\0')
		log_fatal("store is not set");
	pool.conf = cf;
	pool.base = workers;

	if ((lfd = listen_open(cf->postmapd_listen)) < 0)
		log_fatal("cannot listen on %s", cf->postmapd_listen);
	drop_privileges(cf->daemon_user);
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
	if ((pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		log_fatal("eventfd: %m");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		log_fatal("epoll_create1: %m");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		log_fatal("epoll_ctl: %m");
	ev.data.ptr = &sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		log_fatal("epoll_ctl: %m");
	ev.data.ptr = &pool.efd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, pool.efd, &ev) < 0)
		log_fatal("epoll_ctl: %m");

	pthread_mutex_lock(&pool.mu);
	for (i = 0; i < workers; i++)
		if (pool_spawn() < 0)
			log_fatal("cannot start workers");
	pthread_mutex_unlock(&pool.mu);
	log_info("listening on %s, %d workers, timeout %ld ms",
	    cf->postmapd_listen, workers, cf->postmapd_timeout);

	while (running) {
		t = now_ms();
		timeout = 1000;
		if (iflight_head != NULL) {
			if (iflight_head->deadline <= t)
				timeout = 0;
			else if (iflight_head->deadline - t < 1000)
				timeout = (int)(iflight_head->deadline - t);
		}
		n = epoll_wait(ep, evs, 128, timeout);
		if (n < 0 && errno != EINTR)
			log_fatal("epoll_wait: %m");
		for (i = 0; i < n; i++) {
			void	*p = evs[i].data.ptr;

			if (p == &lfd)
				loop_accept();
			else if (p == &pool.efd)
				loop_done();
			else if (p == &sfd) {
				while (read(sfd, &si, sizeof(si)) ==
				    sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload(path);
					else
						running = 0;
				}
			} else {
				struct conn *c = p;

				if (c->fd < 0)
					continue;	/* closed this turn */
				if (evs[i].events & (EPOLLERR | EPOLLHUP) &&
				    !(evs[i].events & EPOLLIN)) {
					conn_close(c);
					continue;
				}
				if (evs[i].events & EPOLLOUT) {
					if (conn_flush(c) < 0)
						continue;
				}
				if (evs[i].events & (EPOLLIN | EPOLLHUP))
					conn_read(c);
				else
					conn_events(c);
			}
		}
		t = now_ms();
		loop_deadlines(t);
		if (t >= next_idle) {
			loop_idle(t);
			next_idle = t + 1000;
		}
		while (graveyard != NULL) {
			struct conn *c = graveyard;

			graveyard = c->next;
			free(c);
		}
	}

	log_info("stopping");
	while (conns != NULL)
		conn_close(conns);
	close(lfd);
	if (unix_path != NULL)
		unlink(unix_path);
	pthread_mutex_lock(&pool.mu);
	pool.stop = 1;
	pthread_cond_broadcast(&pool.cv);
	for (i = 0; i < 200 && pool.nthreads > 0; i++) {
		pthread_mutex_unlock(&pool.mu);
		usleep(10000);	/* a worker inside a store call finishes it */
		pthread_mutex_lock(&pool.mu);
	}
	if (pool.nthreads == 0) {
		while (pool.qhead != NULL) {
			struct job *j = pool.qhead;

			pool.qhead = j->next;
			free(j);
		}
		while (pool.done != NULL) {
			struct job *j = pool.done;

			pool.done = j->next;
			free(j);
		}
		conf_release(pool.conf);
	}
	pthread_mutex_unlock(&pool.mu);
	while (graveyard != NULL) {
		struct conn *c = graveyard;

		graveyard = c->next;
		free(c);
	}
	return (0);
}
