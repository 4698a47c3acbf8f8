/*
 * dash.h - bipostal-dash internals shared by the dash_*.c files
 *
 * Purpose: the REST API (legacy /0.5/ and /v1/), health, metrics and the
 * static web page, served by libmicrohttpd with one thread per connection.
 *
 * Interface: dash.c owns the daemon and the router; every handler has the
 * signature of dash_handler_fn, reads the request from a struct req and
 * answers with exactly one of dash_reply_json, dash_reply_raw or
 * dash_error (which set r->resp / r->status).  A handler that returns
 * without an answer gets a 500.
 *
 * Failure: a request that cannot finish because the store is down answers
 * 503 with errno 201; nothing here calls log_fatal after startup.
 *
 * Ownership: struct req lives from the first call of the access handler to
 * the completion callback.  r->db is borrowed from the pool for the length
 * of one request (dash_db_get / dash_db_put); r->user is a copy.
 */
#ifndef BIPOSTAL_DASH_H
#define BIPOSTAL_DASH_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <jansson.h>
#include <microhttpd.h>

#include "conf.h"
#include "pool.h"
#include "store.h"

/* Error numbers of the JSON error body (documented in dash/openapi.yaml) */
#define DASH_E_JSON		101	/* body is not valid JSON */
#define DASH_E_PARAM		102	/* missing or malformed parameter */
#define DASH_E_AUTH		104	/* bad or missing credentials */
#define DASH_E_NOTFOUND		105	/* no such resource */
#define DASH_E_TOOBIG		106	/* body over dash_max_body */
#define DASH_E_METHOD		107	/* method not allowed */
#define DASH_E_FORBIDDEN	108	/* authenticated but not allowed */
#define DASH_E_TOTP		109	/* second factor required or wrong */
#define DASH_E_EXISTS		110	/* already exists */
#define DASH_E_RATE		114	/* too many requests */
#define DASH_E_STORE		201	/* store unreachable: retry */
#define DASH_E_INTERNAL		999	/* bug or misconfiguration */

#define DASH_JSON_DEPTH		16	/* deepest nesting accepted */
#define DASH_SECRET_MAX		512

enum auth_kind {
	AUTH_NONE = 0,
	AUTH_USER,		/* bearer token (HS256 or OpenID provider) */
	AUTH_SERVER,		/* BIPostal-Server-Key */
};

struct dash_db {			/* a pooled store handle's data (pool.h) */
	struct store	*st;		/* lease->st */
	struct store_lease *lease;
	int		 broken;	/* a call answered STORE_TEMP */
	struct redis	*rd;
	/* the last user a bearer token named on this handle (dash_session.c) */
	struct user	 user;		/* user.id 0: none */
	uint64_t	 user_mark;	/* store_mark when it was read */
	/* the last alias list answered on this handle (dash_alias.c) */
	int64_t		 list_user;
	uint64_t	 list_mark;	/* store_mark when it was read */
	char		*list_domain;	/* new */
	char		*list_body;	/* new, NULL: none */
	size_t		 list_len;
};

struct req {
	struct MHD_Connection *conn;
	const char	*method;
	const char	*url;
	char		*body;
	size_t		 len;
	size_t		 cap;
	int		 too_big;
	int		 done;		/* a response was queued */
	char		 ip[64];
	struct conf	*cf;		/* retained */
	struct dash_db	*db;		/* borrowed from the pool */
	enum auth_kind	 auth;
	struct user	 user;		/* valid when auth == AUTH_USER */
	int		 is_admin;	/* server key, or an admin user */
	unsigned	 status;
	struct MHD_Response *resp;
	const char	*route;		/* metrics label, static string */
	uint64_t	 mark;		/* store_mark read by the bearer check */
	int		 has_mark;	/* ... if it could be */
	int		 key_scope;	/* an API key's: 1 + its scope, 0 none */
};

typedef void dash_handler_fn(struct req *, const char *arg);

/* Global state set at startup: dash_keys (dash_jwt.c's, loaded by
 * dash_auth_init in dash_session.c), dash_conf (dash.c's) */
struct dash_keys {
	unsigned char	secret[DASH_SECRET_MAX];	/* HS256, links */
	size_t		secret_len;
	char		server[DASH_SECRET_MAX];	/* ops key */
	size_t		server_len;
};
extern struct dash_keys dash_keys;
extern struct conf *dash_conf;

/* dash.c */
struct dash_db	*dash_db_get(void);
void		 dash_db_put(struct dash_db *);
int		 dash_store_status(struct req *, enum store_status, const char *what);
const char	*dash_header(struct req *, const char *name);
const char	*dash_arg(struct req *, const char *name);

/* dash_router.c: the routes, CORS, health, static files */
extern char	 dash_static_root[];	/* realpath of dash_static_dir */
void		 dash_dispatch(struct req *);
void		 dash_common_headers(struct req *);
void		 dash_print_routes(void);

/* dash_json.c */
void		 dash_reply_json(struct req *, unsigned status, json_t *steals);
void		 dash_reply_raw(struct req *, unsigned status, const char *type,
		    const void *data, size_t len, int copy);
void		 dash_error(struct req *, unsigned status, int errnum,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
json_t		*dash_body_json(struct req *);		/* new or NULL+error */
json_t		*dash_body_form_or_json(struct req *);	/* new or NULL+error */
const char	*dash_reason(unsigned status);
json_t		*dash_alias_json(const struct alias *, const char *domain); /* new */

/* dash_jwt.c: JWTs, JWKS, HS256, base64url, Basic and JSON depth parsers */
int		 dash_jwks_load(const char *path, char *err, size_t errlen);
void		 dash_hs256(const char *data, size_t len, char *out, size_t size);
json_t		*dash_jwt_verify(const char *tok, int64_t now, int *external,
		    const char **why);				/* new */
int		 dash_basic_parse(const char *hdr, char *user, size_t ulen,
		    char *pass, size_t plen);
int		 dash_json_depth_ok(const char *s, size_t len, int max);
int		 dash_b64url_encode(const unsigned char *, size_t, char *, size_t);
long		 dash_b64url_decode(const char *, size_t, unsigned char *, size_t);

/* dash_session.c: who is calling; sessions and bearer tokens */
int		 dash_auth_init(struct conf *, char *err, size_t errlen);
int		 dash_authenticate(struct req *);	/* 0 ok/none, -1 answered */
int		 dash_token_issue(const struct user *, long ttl, char *out, size_t);
int		 dash_token_check(struct req *, const char *tok, struct user *u);
int		 dash_basic_login(struct req *, struct user *);	/* 0 or answered */
int		 dash_legacy_user(struct req *);	/* 0 or answered */
int		 dash_ratelimit(struct req *, const char *kind, const char *who,
		    long limit, long window);
void		 dash_h_session(struct req *, const char *);
void		 dash_h_legacy_new_token(struct req *, const char *);

/* dash_apikey.c: API keys; the addy.io and SimpleLogin shapes */
int		 dash_api_path(const char *url);
int		 dash_apikey_auth(struct req *, const char *key);	/* 0 or answered */
int		 dash_apikey_allows(struct req *, const char *route_path);
void		 dash_h_apikeys(struct req *, const char *);
void		 dash_h_apikey(struct req *, const char *);
void		 dash_h_addy_alias(struct req *, const char *);
void		 dash_h_addy_domains(struct req *, const char *);
void		 dash_h_sl_alias(struct req *, const char *);

/* dash_totp.c: the second factor */
void		 dash_totp_init(void);
int		 dash_totp_check(const char *secret32, const char *code);
const char	*dash_totp_code(struct req *, json_t *body);	/* borrowed */
void		 dash_h_totp_enrol(struct req *, const char *);
void		 dash_h_totp_verify(struct req *, const char *);
void		 dash_h_totp_qr(struct req *, const char *);

/* dash_user.c: signup, the user's view and settings */
json_t		*dash_user_json(const struct user *);		/* new */
void		 dash_h_signup(struct req *, const char *);
void		 dash_h_me(struct req *, const char *);
void		 dash_h_settings(struct req *, const char *);

/* dash_alias.c */
void		 dash_h_aliases(struct req *, const char *);
void		 dash_h_alias(struct req *, const char *);
void		 dash_h_unsubscribe(struct req *, const char *);
void		 dash_h_blob(struct req *, const char *);
void		 dash_h_legacy_new_subscription(struct req *, const char *);
void		 dash_h_legacy_remove_subscription(struct req *, const char *);
void		 dash_event(struct req *, int64_t user_id, const char *type,
		    json_t *steals);
/* dash_own_alias - the user's alias named "token" or
 * "token@alias_domain", not deleted, into *a; 0, or -1 answered (404
 * when it is missing, deleted or someone else's) */
int		 dash_own_alias(struct req *, const char *token, struct alias *a);

/* dash_contact.c: an alias's contacts and blocks; path is the URL from
 * the alias token on */
void		 dash_h_contacts(struct req *, const char *path);
void		 dash_h_blocks(struct req *, const char *path);
void		 dash_h_block(struct req *, const char *path);

/* dash_queue.c */
void		 dash_h_queue(struct req *, const char *);
void		 dash_h_queue_user(struct req *, const char *);

/* dash_events.c */
void		 dash_h_events(struct req *, const char *);
void		 dash_events_stop(void);

/* dash_page.c */
char		*dash_html_escape(const char *s, char *out, size_t size);
void		 dash_reply_page(struct req *, unsigned status, const char *title,
		    const char *body_html);

/* dash_nodes.c */
void		 dash_h_legacy_user_queue(struct req *, const char *);
void		 dash_h_admin_users(struct req *, const char *);
void		 dash_h_admin_user(struct req *, const char *);
void		 dash_h_admin_nodes(struct req *, const char *);
void		 dash_h_admin_node(struct req *, const char *);

/* dash_metrics.c */
void		 dash_metrics_count(const char *route, unsigned status,
		    double seconds);
void		 dash_metrics_inc(const char *name);
void		 dash_h_metrics(struct req *, const char *);

#endif
