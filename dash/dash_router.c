/*
 * dash_router.c - bipostal-dash's router: the routes, CORS, health and
 * the static files
 *
 * Purpose: the table of routes (method, path, auth class, handler,
 * metrics label) and dash_dispatch, which matches a request against it,
 * authenticates it as its route says and runs the handler; the CORS
 * headers and preflight; the health handlers (/__heartbeat__,
 * /__lbheartbeat__, /__version__); the web page's files from
 * dash_static_root.  dash.c's access handler calls dash_dispatch.
 *
 * Interface (dash.h): dash_dispatch, dash_common_headers,
 * dash_print_routes, dash_static_root (set once by main, before the
 * daemon starts).
 *
 * Failure: no route is 404, a wrong method 405, a body too big 413, a
 * failed authentication 401 or 403; a static file that is not there, or outside the root, 404.
 *
 * Ownership: the request is the caller's; headers and arguments are
 * borrowed from libmicrohttpd for the request's length.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dash.h"
#include "log.h"
#include "redis.h"
#include "util.h"

char dash_static_root[PATH_MAX];

enum route_auth {
	A_OPEN,			/* anyone; Authorization is not read */
	A_PUBLIC,		/* anyone (handler may check more) */
	A_USER,			/* a bearer token */
	A_ADMIN,		/* server key or an admin user */
	A_SERVER,		/* server key only */
	A_KEY,			/* an API key (dash_apikey.c), no redirect, CORS
				 * for any origin: the /api/ paths */
};

struct route {
	const char	*method;
	const char	*path;		/* each '*' matches one segment */
	enum route_auth	 auth;
	dash_handler_fn	*fn;
	const char	*label;		/* metrics */
};

static void	h_heartbeat(struct req *, const char *);
static void	h_lbheartbeat(struct req *, const char *);
static void	h_version(struct req *, const char *);

static const struct route routes[] = {
	{"GET", "/__heartbeat__", A_OPEN, h_heartbeat, "heartbeat"},
	{"GET", "/__lbheartbeat__", A_OPEN, h_lbheartbeat, "lbheartbeat"},
	{"GET", "/__version__", A_OPEN, h_version, "version"},
	{"GET", "/metrics", A_OPEN, dash_h_metrics, "metrics"},

	/* the legacy calls take Basic or a bearer token (dash_legacy_user);
	 * new_token takes no credentials */
	{"GET", "/0.5/new_token", A_OPEN, dash_h_legacy_new_token,
	    "legacy_new_token"},
	{"POST", "/0.5/user_queue", A_PUBLIC, dash_h_legacy_user_queue,
	    "legacy_user_queue"},
	{"POST", "/0.5/new_subscription", A_PUBLIC,
	    dash_h_legacy_new_subscription, "legacy_new_subscription"},
	{"POST", "/0.5/remove_subscription", A_PUBLIC,
	    dash_h_legacy_remove_subscription, "legacy_remove_subscription"},

	{"POST", "/v1/session", A_PUBLIC, dash_h_session, "session"},
	{"POST", "/v1/users", A_PUBLIC, dash_h_signup, "signup"},
	{"GET", "/v1/me", A_USER, dash_h_me, "me"},
	{"PATCH", "/v1/me", A_USER, dash_h_settings, "me"},
	{"POST", "/v1/me/totp", A_USER, dash_h_totp_enrol, "totp"},
	{"POST", "/v1/me/totp/verify", A_USER, dash_h_totp_verify, "totp"},
	{"GET", "/v1/me/totp/qr", A_USER, dash_h_totp_qr, "totp"},
	{"GET", "/v1/aliases", A_USER, dash_h_aliases, "aliases"},
	{"POST", "/v1/aliases", A_USER, dash_h_aliases, "aliases_create"},
	{"GET", "/v1/aliases/*", A_USER, dash_h_alias, "alias"},
	{"PATCH", "/v1/aliases/*", A_USER, dash_h_alias, "alias"},
	{"DELETE", "/v1/aliases/*", A_USER, dash_h_alias, "alias"},
	/* an alias's contacts and blocks (dash_contact.c) */
	{"GET", "/v1/aliases/*/contacts", A_USER, dash_h_contacts, "contacts"},
	{"POST", "/v1/aliases/*/contacts", A_USER, dash_h_contacts,
	    "contacts"},
	{"GET", "/v1/aliases/*/blocks", A_USER, dash_h_blocks, "blocks"},
	{"POST", "/v1/aliases/*/blocks", A_USER, dash_h_blocks, "blocks"},
	{"DELETE", "/v1/aliases/*/blocks/*", A_USER, dash_h_block, "blocks"},
	{"GET", "/v1/queue", A_USER, dash_h_queue, "queue"},
	{"POST", "/v1/queue/*", A_SERVER, dash_h_queue_user, "queue_append"},
	{"GET", "/v1/events", A_USER, dash_h_events, "events"},
	/* a bearer token, or the signed link of a forwarded mail */
	{"GET", "/v1/blobs/*", A_PUBLIC, dash_h_blob, "blob"},
	{"POST", "/v1/unsubscribe/*", A_OPEN, dash_h_unsubscribe,
	    "unsubscribe"},
	{"GET", "/v1/unsubscribe/*", A_OPEN, dash_h_unsubscribe,
	    "unsubscribe_page"},
	{"GET", "/v1/admin/users", A_ADMIN, dash_h_admin_users, "admin"},
	{"POST", "/v1/admin/users", A_ADMIN, dash_h_admin_users, "admin"},
	{"GET", "/v1/admin/users/*", A_ADMIN, dash_h_admin_user, "admin"},
	{"PATCH", "/v1/admin/users/*", A_ADMIN, dash_h_admin_user, "admin"},
	{"GET", "/v1/admin/nodes", A_ADMIN, dash_h_admin_nodes, "admin"},
	{"POST", "/v1/admin/nodes", A_ADMIN, dash_h_admin_nodes, "admin"},
	{"PATCH", "/v1/admin/nodes/*", A_ADMIN, dash_h_admin_node, "admin"},
	/* API keys, and the addy.io and SimpleLogin shapes they are used
	 * with (dash_apikey.c) */
	{"GET", "/v1/api-keys", A_USER, dash_h_apikeys, "apikeys"},
	{"POST", "/v1/api-keys", A_USER, dash_h_apikeys, "apikeys"},
	{"DELETE", "/v1/api-keys/*", A_USER, dash_h_apikey, "apikeys"},
	{"POST", "/api/v1/aliases", A_KEY, dash_h_addy_alias, "addy_alias"},
	{"GET", "/api/v1/domain-options", A_KEY, dash_h_addy_domains,
	    "addy_domains"},
	{"POST", "/api/alias/random/new", A_KEY, dash_h_sl_alias, "sl_alias"},
	{NULL, NULL, A_OPEN, NULL, NULL},
};

/* h_heartbeat - 200 if the store answers, 503 otherwise; when no store
 * handle could be opened (r->db NULL) the 503 is also an API error with
 * Retry-After, as every other route answers then, and Redis unchecked */
static void
h_heartbeat(struct req *r, const char *arg)
{
	enum store_status s, rs;

	(void)arg;
	if (r->db == NULL) {
		dash_reply_json(r, 503, json_pack("{s:i,s:i,s:s,s:s,s:s,s:s,s:s}",
		    "code", 503, "errno", DASH_E_STORE, "error",
		    dash_reason(503), "message", "store unavailable, retry",
		    "status", "error", "store", store_strstatus(STORE_TEMP),
		    "redis", "unchecked"));
		MHD_add_response_header(r->resp, "Retry-After", "5");
		return;
	}
	s = store_ping(r->db->st);
	rs = redis_ping(r->db->rd);
	dash_reply_json(r, s == STORE_OK ? 200 : 503,
	    json_pack("{s:s,s:s,s:s}", "status", s == STORE_OK ? "ok" : "error",
	    "store", store_strstatus(s),
	    "redis", r->db->rd == NULL ? "none" : store_strstatus(rs)));
}

/* h_lbheartbeat - the process is alive; touches nothing */
static void
h_lbheartbeat(struct req *r, const char *arg)
{
	dash_reply_raw(r, 200, "application/json", "{}", 2, 0);
}

/* h_version - what is running */
static void
h_version(struct req *r, const char *arg)
{
	dash_reply_json(r, 200, json_pack("{s:s,s:s,s:s}", "name",
	    PACKAGE_NAME, "version", PACKAGE_VERSION, "source",
	    "https://github.com/bipostal/bipostal"));
}

/* content_type - by file name extension */
static const char *
content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".htm", "text/html; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"},
		{".gif", "image/gif"},
		{".ico", "image/x-icon"},
		{".webp", "image/webp"},
		{".woff2", "font/woff2"},
		{".woff", "font/woff"},
		{".txt", "text/plain; charset=utf-8"},
		{".webmanifest", "application/manifest+json"},
	};
	const char	*dot = strrchr(path, '.');
	size_t		 i;

	if (dot != NULL && strchr(dot, '/') == NULL)
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return (types[i].type);
	return ("application/octet-stream");
}

/*
 * serve_static - GET a file under dash_static_dir.  Segments "." and
 * ".." , backslashes and NULs are refused before the file system is
 * touched; the resolved path must still lie under the root (symlinks).
 */
static void
serve_static(struct req *r)
{
	char		 rel[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	const char	*u = r->url, *seg;
	struct stat	 sb;
	size_t		 rootlen = strlen(dash_static_root);
	int		 fd;

	r->route = "static";
	if (dash_static_root[0] == '\0' || u[0] != '/') {
		dash_error(r, 404, DASH_E_NOTFOUND, "not found");
		return;
	}
	if (strcmp(u, "/") == 0)
		u = "/index.html";
	if (bp_strlcpy(rel, u, sizeof(rel)) >= sizeof(rel) ||
	    strchr(rel, '\\') != NULL) {
		dash_error(r, 404, DASH_E_NOTFOUND, "not found");
		return;
	}
	for (seg = rel; seg != NULL; seg = strchr(seg + 1, '/')) {
		const char *s = seg + 1;

		if ((s[0] == '.' && (s[1] == '/' || s[1] == '\0')) ||
		    (s[0] == '.' && s[1] == '.' && (s[2] == '/' ||
		    s[2] == '\0')) || (s[0] == '/')) {
			dash_error(r, 404, DASH_E_NOTFOUND, "not found");
			return;
		}
	}
	if ((size_t)snprintf(path, sizeof(path), "%s%s", dash_static_root, rel) >=
	    sizeof(path) || realpath(path, real) == NULL ||
	    strncmp(real, dash_static_root, rootlen) != 0 || real[rootlen] != '/') {
		dash_error(r, 404, DASH_E_NOTFOUND, "not found");
		return;
	}
	if ((fd = open(real, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		dash_error(r, 404, DASH_E_NOTFOUND, "not found");
		return;
	}
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (r->resp == NULL) {
		close(fd);
		dash_error(r, 500, DASH_E_INTERNAL, "cannot send file");
		return;
	}
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    content_type(real));
	MHD_add_response_header(r->resp, "X-Content-Type-Options", "nosniff");
	r->status = 200;
}

/* cors_allowed - the Origin header if dash_cors_origins lists it */
static const char *
cors_allowed(struct req *r)
{
	const char	*o = dash_header(r, "Origin");
	const char	*list = r->cf->dash_cors_origins, *p;
	size_t		 n;

	if (o == NULL || list == NULL || *list == '\0')
		return (NULL);
	n = strlen(o);
	for (p = list; *p; ) {
		size_t	len;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		len = strcspn(p, " ,\t");
		if (len == 0)
			break;
		if ((len == 1 && *p == '*') || (len == n &&
		    strncmp(p, o, n) == 0))
			return (o);
		p += len;
	}
	return (NULL);
}

/* dash_common_headers - CORS and the usual safety headers */
void
dash_common_headers(struct req *r)
{
	const char *o = cors_allowed(r);

	if (o != NULL) {
		MHD_add_response_header(r->resp,
		    "Access-Control-Allow-Origin", o);
		MHD_add_response_header(r->resp, "Vary", "Origin");
		MHD_add_response_header(r->resp,
		    "Access-Control-Expose-Headers", "Retry-After");
	} else if (dash_api_path(r->url)) {	/* a key, never a cookie */
		MHD_add_response_header(r->resp,
		    "Access-Control-Allow-Origin", "*");
		MHD_add_response_header(r->resp,
		    "Access-Control-Expose-Headers", "Retry-After");
	}
	if (MHD_get_response_header(r->resp, "Cache-Control") == NULL)
		MHD_add_response_header(r->resp, "Cache-Control", "no-store");
	MHD_add_response_header(r->resp, "X-Frame-Options", "DENY");
}

/* preflight - answer a CORS OPTIONS request */
static void
preflight(struct req *r)
{
	r->route = "preflight";
	dash_reply_raw(r, 204, NULL, "", 0, 0);
	if (dash_api_path(r->url)) {	/* what the extensions send */
		MHD_add_response_header(r->resp, "Access-Control-Allow-Methods",
		    "GET, POST, OPTIONS");
		MHD_add_response_header(r->resp, "Access-Control-Allow-Headers",
		    "Authorization, Authentication, Content-Type, Accept, "
		    "X-Requested-With, X-Requested-From");
		MHD_add_response_header(r->resp, "Access-Control-Max-Age",
		    "600");
		return;
	}
	if (cors_allowed(r) != NULL) {
		MHD_add_response_header(r->resp, "Access-Control-Allow-Methods",
		    "GET, POST, PATCH, DELETE, OPTIONS");
		MHD_add_response_header(r->resp, "Access-Control-Allow-Headers",
		    "Authorization, Content-Type, X-TOTP");
		MHD_add_response_header(r->resp, "Access-Control-Max-Age",
		    "600");
	}
}

/* match - does path match pattern, each '*' one non-empty segment;
 * *arg gets the path from the first '*' segment on: "TOKEN" for the
 * alias route, "TOKEN/blocks/7" for the route that unblocks */
static int
match(const char *pattern, const char *path, const char **arg)
{
	const char *a = NULL;
	size_t	 n;

	*arg = NULL;
	while (*pattern != '\0') {
		if (*pattern == '*') {
			if ((n = strcspn(path, "/")) == 0)
				return (0);
			if (a == NULL)
				a = path;
			path += n;
			pattern++;
		} else if (*pattern++ != *path++)
			return (0);
	}
	if (*path != '\0')
		return (0);
	*arg = a;
	return (1);
}

/* dash_dispatch - route, authenticate, run the handler */
void
dash_dispatch(struct req *r)
{
	const struct route *rt, *found = NULL;
	const char	*arg = NULL;
	int		 path_known = 0;

	if (strcmp(r->method, "OPTIONS") == 0) {
		preflight(r);
		return;
	}
	for (rt = routes; rt->method != NULL; rt++) {
		const char *a;

		if (!match(rt->path, r->url, &a))
			continue;
		path_known = 1;
		if (strcmp(rt->method, r->method) == 0) {
			found = rt;
			arg = a;
			break;
		}
	}
	if (found == NULL) {
		if (path_known) {
			r->route = "method";
			dash_error(r, 405, DASH_E_METHOD, "method not allowed");
		} else if (strncmp(r->url, "/v1/", 4) == 0 ||
		    dash_api_path(r->url) ||
		    strncmp(r->url, "/0.5/", 5) == 0 ||
		    (strcmp(r->method, "GET") != 0 &&
		    strcmp(r->method, "HEAD") != 0)) {
			r->route = "unknown";
			dash_error(r, 404, DASH_E_NOTFOUND, "no such endpoint");
		} else
			serve_static(r);
		return;
	}
	r->route = found->label;
	if (r->too_big) {
		dash_error(r, 413, DASH_E_TOOBIG, "body over %ld bytes",
		    r->cf->dash_max_body);
		return;
	}
	if (found->fn != h_lbheartbeat && found->fn != h_version &&
	    found->fn != dash_h_metrics &&
	    found->fn != dash_h_legacy_new_token) {
		if ((r->db = dash_db_get()) == NULL &&
		    found->fn != h_heartbeat) {
			dash_store_status(r, STORE_TEMP, "store");
			return;
		}
	}
	/*
	 * Open routes never read credentials: a load balancer's probe or a
	 * mail provider's one-click POST is answered the same whatever it
	 * sends, and the routes without a store never reach one through a
	 * bearer token.
	 */
	if (found->auth == A_KEY) {
		if (dash_apikey_auth(r, NULL) == 0)
			found->fn(r, arg);
		return;
	}
	if (found->auth != A_OPEN && dash_authenticate(r) < 0)
		return;
	if (r->key_scope != 0 && !dash_apikey_allows(r, found->path)) {
		dash_error(r, 403, DASH_E_FORBIDDEN, "%s",
		    r->key_scope == APIKEY_CREATE + 1 ? "this API key may only "
		    "create aliases (scope create)" : "not with an API key");
		return;
	}
	switch (found->auth) {
	case A_OPEN:
	case A_PUBLIC:
	case A_KEY:		/* not reached: answered above */
		break;
	case A_USER:
		if (r->auth != AUTH_USER) {
			dash_error(r, r->auth == AUTH_SERVER ? 403 : 401,
			    DASH_E_AUTH, "a bearer token is required");
			MHD_add_response_header(r->resp, "WWW-Authenticate",
			    "Bearer");
			return;
		}
		break;
	case A_ADMIN:
		if (r->auth == AUTH_NONE) {
			dash_error(r, 401, DASH_E_AUTH, "credentials required");
			return;
		}
		if (!r->is_admin) {
			dash_error(r, 403, DASH_E_FORBIDDEN, "admin only");
			return;
		}
		break;
	case A_SERVER:
		if (r->auth != AUTH_SERVER) {
			dash_error(r, r->auth == AUTH_NONE ? 401 : 403,
			    DASH_E_FORBIDDEN, "the server key is required");
			return;
		}
		break;
	}
	found->fn(r, arg);
}

/* dash_print_routes - the router table, one "METHOD PATH AUTH" a line (-R) */
void
dash_print_routes(void)
{
	static const char *const auth_name[] = {
		[A_OPEN] = "open", [A_PUBLIC] = "public", [A_USER] = "user",
		[A_ADMIN] = "admin", [A_SERVER] = "server", [A_KEY] = "key",
	};
	const struct route *rt;

	for (rt = routes; rt->method != NULL; rt++)
		printf("%s %s %s\n", rt->method, rt->path, auth_name[rt->auth]);
}
