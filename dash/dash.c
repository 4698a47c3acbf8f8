/*
 * dash.c - bipostal-dash: the libmicrohttpd daemon, the store pool, main
 *
 * Purpose: serve the legacy /0.5/ API, /v1/, health (/__heartbeat__,
 * /__lbheartbeat__, /__version__), /metrics and the web page from
 * dash_static_dir.
 *
 * Interface: bipostal-dash [-c FILE] [-f] [-v], or -R to print the routing
 * table (method, path, auth class) and exit.  One thread per connection
 * (so that an SSE stream may block its own thread only), bounded by
 * MHD's connection limit and dash_per_ip_conn; request headers are bounded
 * by the per-connection memory limit, bodies by dash_max_body, idle
 * connections by dash_conn_timeout.
 *
 * Failure: the store is reached through the store pool (pool.h: one
 * handle per thread at a time, never shared; one that answered STORE_TEMP
 * is closed); if none can be opened the request gets 503.  SIGHUP reloads the configuration (the listening address stays);
 * SIGTERM and SIGINT stop the daemon after the running requests.
 *
 * The routes, CORS, the health handlers and the static files are in
 * dash_router.c.
 *
 * Ownership: each request retains the configuration it started with and
 * borrows one pooled store for its whole length.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dash.h"
#include "listen.h"
#include "log.h"
#include "redis.h"
#include "util.h"

#define DASH_MEMORY_LIMIT	(64 * 1024)	/* headers + buffers per conn */
#define DASH_CONN_LIMIT		1024
#define DASH_POOL_MAX		256	/* idle store handles kept */

struct conf *dash_conf;
static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
/* the store handles, each with its Redis handle and caches (struct
 * dash_db) as the lease's data: pool.h says when one is reopened */
static struct store_pool *dash_stores;

/* db_free - free a handle's dash_db (the pool closes the store); NULL is
 * fine */
static void
db_free(void *arg)
{
	struct dash_db *d = arg;

	if (d == NULL)
		return;
	redis_close(d->rd);
	free(d->list_domain);
	free(d->list_body);
	free(d);
}

/* dash_db_get - a store (and Redis) for this request; NULL if unreachable */
struct dash_db *
dash_db_get(void)
{
	struct store_lease *l = NULL;
	struct dash_db	*d;
	struct conf	*cf;

	pthread_mutex_lock(&conf_lock);
	cf = conf_retain(dash_conf);
	pthread_mutex_unlock(&conf_lock);
	if (store_pool_hold(dash_stores, &l, cf->store) == NULL) {
		conf_release(cf);
		return (NULL);
	}
	if ((d = l->data) == NULL) {
		d = l->data = xcalloc(1, sizeof(*d));
		d->rd = redis_open(cf->redis);
	}
	conf_release(cf);
	d->st = l->st;
	d->lease = l;
	d->broken = 0;
	return (d);
}

/* dash_db_put - give the store back to the pool: closed if a call on it
 * answered STORE_TEMP */
void
dash_db_put(struct dash_db *d)
{
	struct store_lease *l;

	if (d == NULL)
		return;
	l = d->lease;
	store_pool_put(dash_stores, &l, d->broken);
}

/* dash_store_status - answer a failed store call; 0 if s is STORE_OK */
int
dash_store_status(struct req *r, enum store_status s, const char *what)
{
	switch (s) {
	case STORE_OK:
		return (0);
	case STORE_NOTFOUND:
		dash_error(r, 404, DASH_E_NOTFOUND, "%s not found", what);
		break;
	case STORE_INVALID:
		dash_error(r, 400, DASH_E_PARAM, "invalid %s", what);
		break;
	case STORE_EXISTS:
		dash_error(r, 409, DASH_E_EXISTS, "%s already exists", what);
		break;
	case STORE_TEMP:
		if (r->db != NULL)
			r->db->broken = 1;	/* maybe a dead connection */
		dash_error(r, 503, DASH_E_STORE, "store unavailable, retry");
		MHD_add_response_header(r->resp, "Retry-After", "5");
		break;
	default:
		log_error("store: %s: %s", what, store_strstatus(s));
		dash_error(r, 500, DASH_E_INTERNAL, "store error");
		break;
	}
	return (-1);
}

/* dash_header - a request header (borrowed) or NULL */
const char *
dash_header(struct req *r, const char *name)
{
	return (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name));
}

/* dash_arg - a query-string argument (borrowed) or NULL */
const char *
dash_arg(struct req *r, const char *name)
{
	return (MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    name));
}

/* on_request - libmicrohttpd access handler */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct req	*r = *con_cls;
	enum MHD_Result	 ret;

	if (r == NULL) {
		const union MHD_ConnectionInfo *ci;
		const char	*cl;

		r = xcalloc(1, sizeof(*r));
		r->conn = conn;
		r->method = method;
		r->url = url;
		r->route = "unknown";
		pthread_mutex_lock(&conf_lock);
		r->cf = conf_retain(dash_conf);
		pthread_mutex_unlock(&conf_lock);
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL && ci->client_addr != NULL) {
			const struct sockaddr *sa = ci->client_addr;

			if (sa->sa_family == AF_INET)
				inet_ntop(AF_INET, &((const struct sockaddr_in *)
				    (const void *)sa)->sin_addr, r->ip,
				    sizeof(r->ip));
			else if (sa->sa_family == AF_INET6)
				inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
				    (const void *)sa)->sin6_addr, r->ip,
				    sizeof(r->ip));
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		*con_cls = r;
		if (cl != NULL && strtoull(cl, NULL, 10) >
		    (unsigned long long)r->cf->dash_max_body) {
			/*
			 * Refuse before the body is read: MHD sends the
			 * answer and closes the connection, so a client
			 * that declared a huge body is not kept waiting.
			 */
			r->too_big = r->done = 1;
			r->route = "toobig";
			dash_error(r, 413, DASH_E_TOOBIG, "body over %ld bytes",
			    r->cf->dash_max_body);
			dash_common_headers(r);
			return (MHD_queue_response(conn, r->status, r->resp));
		}
		return (MHD_YES);
	}
	if (*upload_size > 0) {
		if (r->too_big || r->len + *upload_size >
		    (size_t)r->cf->dash_max_body) {
			r->too_big = 1;
			free(r->body);
			r->body = NULL;
			r->len = r->cap = 0;
		} else {
			if (r->len + *upload_size + 1 > r->cap) {
				r->cap = (r->len + *upload_size + 1) * 2;
				if (r->cap > (size_t)r->cf->dash_max_body + 1)
					r->cap = r->cf->dash_max_body + 1;
				r->body = xrealloc(r->body, r->cap);
			}
			memcpy(r->body + r->len, upload_data, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		}
		*upload_size = 0;
		return (MHD_YES);
	}
	if (r->done)
		return (MHD_YES);
	r->done = 1;
	if (r->body == NULL) {
		r->body = xstrdup("");
		r->cap = 1;
	}
	dash_dispatch(r);
	if (r->resp == NULL)
		dash_error(r, 500, DASH_E_INTERNAL, "no answer");
	dash_common_headers(r);
	ret = MHD_queue_response(conn, r->status, r->resp);
	return (ret);
}

/* on_completed - the request is over: release everything */
static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	if (r == NULL)
		return;
	dash_metrics_count(r->route, r->status, 0);
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	dash_db_put(r->db);
	conf_release(r->cf);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* on_mhd_log - libmicrohttpd's own messages */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	buf[512];
	size_t	n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (log_verbose)
		log_info("microhttpd: %s", buf);
}

/* usage - bad command line */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bipostal-dash [-fRv] [-c config]\n");
	exit(2);
}

/* opt_routes - -R: print the routing table and exit */
static int
opt_routes(int ch, const char *arg)
{
	(void)ch;
	(void)arg;
	dash_print_routes();
	exit(0);
}

/* main - parse arguments, load keys, run the daemon until a signal */
int
main(int argc, char **argv)
{
	char		 err[512];
	int		 fg, sig;
	int		 lfd;
	struct MHD_Daemon *d;
	sigset_t	 set;

	/*
	 * Alias lists are arrays of large fixed-size structs (the context
	 * field is 4 KiB): keep such buffers in the heap rather than in
	 * fresh mappings, whose munmap flushes every thread's TLB on each
	 * request.
	 */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	dash_conf = conf_daemon_start("bipostal-dash", argc, argv, "R", opt_routes,
	    usage, &fg);
	if (dash_auth_init(dash_conf, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	if ((lfd = listen_open("dash_listen", dash_conf->dash_listen, NULL,
	    LISTEN_INET_ONLY, NULL)) < 0)
		log_fatal("cannot listen on %s", dash_conf->dash_listen);
	if (dash_conf->dash_static_dir[0] != '\0' &&
	    realpath(dash_conf->dash_static_dir, dash_static_root) == NULL) {
		log_warn("dash_static_dir %s: %s; no web page",
		    dash_conf->dash_static_dir, strerror(errno));
		dash_static_root[0] = '\0';
	}
	if (!fg && daemon(0, 0) < 0)
		log_fatal("daemon: %s", strerror(errno));

	/* Signals are taken by sigwait in this thread only. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	/* Open (and migrate) the store once before serving, as daemon_user:
	 * a store file made now is that user's. */
	bp_drop_privileges(dash_conf->daemon_user, NULL);
	dash_stores = store_pool_new(DASH_POOL_MAX, 0, db_free);
	if (store_pool_check(dash_stores, dash_conf->store) != STORE_OK)
		log_warn("store not reachable at startup; will retry");

	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)dash_conf->dash_conn_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)DASH_MEMORY_LIMIT,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)DASH_CONN_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)dash_conf->dash_per_ip_conn,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_END);
	if (d == NULL)
		log_fatal("cannot listen on %s", dash_conf->dash_listen);
	log_info("listening on %s", dash_conf->dash_listen);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			struct conf *cf = conf_load(dash_conf->path, err,
			    sizeof(err));

			if (cf == NULL) {
				log_warn("reload refused: %s", err);
				continue;
			}
			pthread_mutex_lock(&conf_lock);
			conf_release(dash_conf);
			dash_conf = cf;
			pthread_mutex_unlock(&conf_lock);
			store_pool_drain(dash_stores);
			log_info("configuration reloaded");
			continue;
		}
		break;
	}
	log_info("stopping on signal %d", sig);
	dash_events_stop();
	MHD_stop_daemon(d);
	store_pool_free(dash_stores);
	conf_release(dash_conf);
	return (0);
}
