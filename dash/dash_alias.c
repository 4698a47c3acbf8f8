/*
 * dash_alias.c - aliases: /v1/aliases, one-click disable and the
 * legacy /0.5/ subscription calls (blobs: dash_blob.c)
 *
 * Interface: handlers called by the router in dash.c with an
 * authenticated user (r->user) except dash_h_unsubscribe, whose link
 * carries its own signature (made and checked by store/sign.c) and
 * which answers browsers with the pages of dash_page.c.
 * Another user's alias is answered exactly like a missing one
 * (404), so tokens cannot be probed.
 *
 * Legacy calls: the user gives HTTP Basic or a bearer token
 * (dash_legacy_user).  POST /0.5/new_subscription takes "token", the
 * alias token the client chose (from /0.5/new_token or another source),
 * and "origin".  The token must be 0-9a-z, TOKEN_LEN (256 bits) to
 * TOKEN_MAX characters, and never issued before: an alias of any status
 * (deleted ones included) or a reply address already has it, else 400.
 * The one exception is the user's own live alias for the same origin
 * (a retry, or subscribing again with the token it had).  A repeated
 * subscription for the same origin returns the same alias, re-activated,
 * whatever token it brings.  POST /0.5/remove_subscription's "token" is
 * the alias (token or address) to deactivate: subscribing again for its
 * origin re-activates it.
 *
 * Failure: store errors map to 503/500 through dash_store_status.
 *
 * Ownership: alias lists from the store are freed here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dash.h"
#include "log.h"
#include "redis.h"
#include "sign.h"
#include "token.h"
#include "util.h"

#define LIST_KEEP_MAX	(32 * 1024)	/* alias list answers kept per handle */

/*
 * write_run - fn(store, arg) as part of the next group commit: see
 * store_group_write (with SQLite, writers that arrive while one commits
 * share the next transaction).  fn makes store calls on the store it is
 * given only (it may run on another request's thread and handle) and
 * never calls write_run itself.
 */
static enum store_status
write_run(struct req *r, enum store_status (*fn)(struct store *, void *),
    void *arg)
{
	return (store_group_write(r->db->st, fn, arg));
}

struct event_job {
	int64_t		 user_id;
	const char	*type;
	const char	*data;
	int64_t		 id;
};

/* event_write - write_run job: append one event */
static enum store_status
event_write(struct store *st, void *arg)
{
	struct event_job *e = arg;

	return (store_event_append(st, e->user_id, e->type, e->data, &e->id));
}

/* event_publish - fan an event written with event_write out on Redis */
static void
event_publish(struct req *r, const struct event_job *e, enum store_status st)
{
	if (st != STORE_OK)
		log_warn("event %s user=%lld: %s", e->type,
		    (long long)e->user_id, store_strstatus(st));
	else
		redis_publish(r->db->rd, e->user_id, e->type, e->data);
}

/* dash_event - record an event for the user's stream and fan it out */
void
dash_event(struct req *r, int64_t user_id, const char *type, json_t *j)
{
	char		*s = json_dumps(j, JSON_COMPACT);
	struct event_job e;

	json_decref(j);
	if (s == NULL)
		return;
	if (strlen(s) <= EVENT_DATA_MAX) {
		e.user_id = user_id;
		e.type = type;
		e.data = s;
		event_publish(r, &e, write_run(r, event_write, &e));
	}
	free(s);
}

/* alias_key - the token of "token" or "token@alias_domain", folded */
static int
alias_key(struct req *r, const char *in, char *out, size_t size)
{
	char		 buf[TOKEN_MAX + 1];
	const char	*at = strchr(in, '@');

	if (at != NULL) {
		if (strcasecmp(at + 1, r->cf->alias_domain) != 0 ||
		    (size_t)(at - in) >= sizeof(buf))
			return (0);
		memcpy(buf, in, (size_t)(at - in));
		buf[at - in] = '\0';
		in = buf;
	}
	return (token_fold(out, size, in));
}

/* dash_own_alias - see dash.h */
int
dash_own_alias(struct req *r, const char *token, struct alias *a)
{
	char		key[TOKEN_MAX + 1];
	enum store_status s;

	if (!alias_key(r, token, key, sizeof(key))) {
		dash_error(r, 404, DASH_E_NOTFOUND, "alias not found");
		return (-1);
	}
	s = store_alias_get(r->db->st, key, a);
	if (s == STORE_OK && (a->user_id != r->user.id ||
	    a->status == ALIAS_DELETED))
		s = STORE_NOTFOUND;
	return (dash_store_status(r, s, "alias"));
}

/* context_decode - base64 context (≤ CONTEXT_MAX bytes); length or -1 */
static long
context_decode(json_t *v, unsigned char *out)
{
	const char	*s = json_string_value(v);

	if (s == NULL || strlen(s) > ((CONTEXT_MAX + 2) / 3) * 4)
		return (-1);
	return (dash_b64url_decode(s, strlen(s), out, CONTEXT_MAX));
}

/* alias_event - announce a change of alias a */
static void
alias_event(struct req *r, const struct alias *a, const char *what)
{
	json_t *j = dash_alias_json(a, r->cf->alias_domain);

	json_object_set_new(j, "event", json_string(what));
	dash_event(r, a->user_id, "alias", j);
}

/* the writes of one alias creation, made together in one write_run */
struct create_job {
	int64_t		 user_id;
	const char	*origin;
	const char	*token;		/* the client's choice; NULL: a fresh one */
	int		 taken;		/* token was issued before: nothing done */
	int64_t		 expires_at;
	const unsigned char *ctx;	/* NULL: the context stays as it is */
	size_t		 ctxlen;
	const char	*domain;
	struct alias	 a;
	int		 created;
	char		*event;		/* new, the event's data, or NULL */
	struct event_job ev;
	enum store_status ev_status;
};

/* create_write - write_run job: the alias (found, revived or new), its
 * context and expiry, and its event; with a client token already issued,
 * c->taken and nothing else */
static enum store_status
create_write(struct store *st, void *arg)
{
	struct create_job *c = arg;
	enum store_status s;
	json_t	*j;

	if (c->token != NULL) {
		s = store_alias_create_token(st, c->user_id, c->origin,
		    c->token, c->expires_at, &c->a, &c->created);
		if (s == STORE_EXISTS) {
			c->taken = 1;	/* issued before: nothing done */
			return (STORE_OK);
		}
	} else
		s = store_alias_create(st, c->user_id, c->origin,
		    c->expires_at, &c->a, &c->created);
	if (s == STORE_OK && c->ctx != NULL &&
	    (s = store_alias_set_context(st, c->a.token, c->ctx,
	    c->ctxlen)) == STORE_OK) {
		memcpy(c->a.context, c->ctx, c->ctxlen);
		c->a.context_len = c->ctxlen;
	}
	if (s == STORE_OK && !c->created && c->expires_at != 0 &&
	    (s = store_alias_set_expiry(st, c->a.token, c->expires_at)) ==
	    STORE_OK)
		c->a.expires_at = c->expires_at;
	if (s != STORE_OK)
		return (s);
	j = dash_alias_json(&c->a, c->domain);
	json_object_set_new(j, "event", json_string(c->created ? "created" :
	    "reactivated"));
	c->event = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	c->ev_status = STORE_INVALID;
	if (c->event != NULL && strlen(c->event) <= EVENT_DATA_MAX) {
		c->ev.user_id = c->a.user_id;
		c->ev.type = "alias";
		c->ev.data = c->event;
		c->ev_status = event_write(st, &c->ev);
	}
	return (STORE_OK);
}

/*
 * create_alias - the work shared by POST /v1/aliases and new_subscription:
 * the user's alias for origin, with the context ctx[0..ctxlen) (ctx NULL:
 * left alone) and the expiry; a new alias gets token (checked by
 * legacy_token_bad; 400 if issued before) or, when token is NULL, a fresh
 * one; 0 with *a and *created, or -1 answered
 */
static int
create_alias(struct req *r, const char *origin, const char *token,
    int64_t expires_at, const unsigned char *ctx, size_t ctxlen,
    struct alias *a, int *created)
{
	struct create_job c;
	char		 o[ORIGIN_MAX + 1];
	char		 who[32];
	enum store_status s;

	if (origin == NULL || !addr_origin_ok(origin)) {
		dash_error(r, 400, DASH_E_PARAM, "origin: a site name");
		return (-1);
	}
	bp_strlcpy(o, origin, sizeof(o));
	bp_lower(o);
	snprintf(who, sizeof(who), "%lld", (long long)r->user.id);
	if (dash_ratelimit(r, "alias", who, r->cf->dash_rate_alias, 3600) < 0)
		return (-1);
	memset(&c, 0, sizeof(c));
	c.user_id = r->user.id;
	c.origin = o;
	c.token = token;
	c.expires_at = expires_at;
	c.ctx = ctx;
	c.ctxlen = ctxlen;
	c.domain = r->cf->alias_domain;
	s = write_run(r, create_write, &c);
	if (c.event != NULL && s == STORE_OK && c.ev_status != STORE_INVALID)
		event_publish(r, &c.ev, c.ev_status);
	free(c.event);
	if (dash_store_status(r, s, "alias") < 0)
		return (-1);
	if (c.taken) {
		dash_error(r, 400, DASH_E_PARAM, "token: already issued (an "
		    "alias or reply address has it, or had it); ask "
		    "/0.5/new_token for a fresh one");
		return (-1);
	}
	*a = c.a;
	*created = c.created;
	dash_metrics_inc(*created ? "aliases_created" : "aliases_reused");
	return (0);
}

/*
 * list_reply - GET /v1/aliases.  The answer stays on the store handle with
 * the store's mark (store_mark), read before the list: while the mark is
 * the same nothing in the store has changed, by this process or another,
 * and the same bytes are the answer again.  Where the backend cannot tell
 * (MySQL) the list is read every time.  Answers over LIST_KEEP_MAX bytes
 * are not kept (at most one per pooled handle is).
 */
static void
list_reply(struct req *r)
{
	struct dash_db	*d = r->db;
	struct alias	*list = NULL;
	size_t		 n = 0, i, len;
	uint64_t	 mark;
	int		 keep;
	json_t		*arr;
	char		*s;

	if (r->has_mark) {	/* read just now by the bearer check */
		keep = 1;
		mark = r->mark;
	} else
		keep = store_mark(d->st, &mark) == STORE_OK;
	if (keep && d->list_body != NULL && d->list_user == r->user.id &&
	    d->list_mark == mark &&
	    strcmp(d->list_domain, r->cf->alias_domain) == 0) {
		dash_reply_raw(r, 200, "application/json", d->list_body,
		    d->list_len, 1);
		return;
	}
	if (dash_store_status(r, store_alias_list(d->st, r->user.id, &list,
	    &n), "aliases") < 0)
		return;
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, dash_alias_json(&list[i],
		    r->cf->alias_domain));
	free(list);
	arr = json_pack("{s:o}", "aliases", arr);
	free(d->list_body);
	d->list_body = NULL;
	if (!keep) {
		dash_reply_json(r, 200, arr);
		return;
	}
	s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (s == NULL)
		log_fatal("json_dumps: out of memory");
	len = strlen(s);
	dash_reply_raw(r, 200, "application/json", s, len, 1);
	if (len <= LIST_KEEP_MAX) {
		free(d->list_domain);
		d->list_domain = xstrdup(r->cf->alias_domain);
		d->list_body = s;
		d->list_len = len;
		d->list_user = r->user.id;
		d->list_mark = mark;
	} else
		free(s);
}

/*
 * dash_h_aliases - GET /v1/aliases (the user's aliases with counters);
 * POST /v1/aliases {origin, context?, expires_in?}
 */
void
dash_h_aliases(struct req *r, const char *arg)
{
	struct alias	 a;
	json_t		*b, *v;
	int		 created;
	int64_t		 expires_at = 0;
	unsigned char	 ctx[CONTEXT_MAX];
	long		 ctxlen = -1;

	if (strcmp(r->method, "GET") == 0) {
		list_reply(r);
		return;
	}
	if ((b = dash_body_json(r)) == NULL)
		return;
	if ((v = json_object_get(b, "expires_in")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > 100L * 365 * 86400) {
			dash_error(r, 400, DASH_E_PARAM,
			    "expires_in: seconds, a positive integer");
			goto done;
		}
		expires_at = bp_now() + json_integer_value(v);
	}
	if ((v = json_object_get(b, "context")) != NULL && !json_is_null(v) &&
	    (ctxlen = context_decode(v, ctx)) < 0) {
		dash_error(r, 400, DASH_E_PARAM,
		    "context: base64 of at most %d bytes", CONTEXT_MAX);
		goto done;
	}
	v = json_object_get(b, "origin");
	if (v != NULL && !json_is_string(v)) {
		dash_error(r, 400, DASH_E_PARAM, "origin: a string");
		goto done;
	}
	if (create_alias(r, json_string_value(v), NULL, expires_at,
	    ctxlen >= 0 ? ctx : NULL, ctxlen >= 0 ? (size_t)ctxlen : 0, &a,
	    &created) < 0)
		goto done;
	dash_reply_json(r, created ? 201 : 200, dash_alias_json(&a,
	    r->cf->alias_domain));
done:
	json_decref(b);
}

/* patch_alias - apply {status, context, expires_at}; 0 or -1 answered */
static int
patch_alias(struct req *r, struct alias *a, json_t *b)
{
	const char	*key, *s;
	json_t		*v;
	unsigned char	 ctx[CONTEXT_MAX];
	long		 n;
	enum store_status st;

	/* Check every field first, so a bad one changes nothing. */
	json_object_foreach(b, key, v) {
		if (strcmp(key, "status") == 0) {
			s = json_string_value(v);
			if (s == NULL || (strcmp(s, "active") != 0 &&
			    strcmp(s, "inactive") != 0)) {
				dash_error(r, 400, DASH_E_PARAM,
				    "status: active or inactive");
				return (-1);
			}
		} else if (strcmp(key, "context") == 0) {
			if (!json_is_null(v) && context_decode(v, ctx) < 0) {
				dash_error(r, 400, DASH_E_PARAM,
				    "context: base64 of at most %d bytes",
				    CONTEXT_MAX);
				return (-1);
			}
		} else if (strcmp(key, "expires_at") == 0) {
			if (!json_is_null(v) && !json_is_integer(v)) {
				dash_error(r, 400, DASH_E_PARAM,
				    "expires_at: seconds since the epoch or null");
				return (-1);
			}
			/* a past expiry would delete the alias at once;
			 * 0, like null, means never */
			if (json_is_integer(v) && json_integer_value(v) != 0 &&
			    json_integer_value(v) <= bp_now()) {
				dash_error(r, 400, DASH_E_PARAM,
				    "expires_at: a time in the future, "
				    "or 0 or null for never");
				return (-1);
			}
		} else {
			dash_error(r, 400, DASH_E_PARAM, "unknown field %.40s",
			    key);
			return (-1);
		}
	}
	json_object_foreach(b, key, v) {
		if (strcmp(key, "status") == 0) {
			enum alias_state want = strcmp(json_string_value(v),
			    "active") == 0 ? ALIAS_ACTIVE : ALIAS_INACTIVE;

			st = store_alias_set_status(r->db->st, a->token, want);
			a->status = want;
		} else if (strcmp(key, "context") == 0) {
			n = json_is_null(v) ? 0 : context_decode(v, ctx);
			st = store_alias_set_context(r->db->st, a->token, ctx,
			    (size_t)n);
			memcpy(a->context, ctx, (size_t)n);
			a->context_len = (size_t)n;
		} else {
			a->expires_at = json_is_null(v) ? 0 :
			    json_integer_value(v);
			st = store_alias_set_expiry(r->db->st, a->token,
			    a->expires_at);
		}
		if (dash_store_status(r, st, "alias") < 0)
			return (-1);
	}
	a->updated = bp_now();
	return (0);
}

/* dash_h_alias - GET, PATCH, DELETE /v1/aliases/<token> */
void
dash_h_alias(struct req *r, const char *token)
{
	struct alias	 a;
	json_t		*b;

	if (dash_own_alias(r, token, &a) < 0)
		return;
	if (strcmp(r->method, "GET") == 0) {
		dash_reply_json(r, 200, dash_alias_json(&a, r->cf->alias_domain));
		return;
	}
	if (strcmp(r->method, "DELETE") == 0) {
		if (dash_store_status(r, store_alias_set_status(r->db->st,
		    a.token, ALIAS_DELETED), "alias") < 0)
			return;
		a.status = ALIAS_DELETED;
		alias_event(r, &a, "deleted");
		dash_metrics_inc("aliases_deleted");
		dash_reply_raw(r, 204, NULL, "", 0, 0);
		return;
	}
	if ((b = dash_body_json(r)) == NULL)
		return;
	if (patch_alias(r, &a, b) == 0) {
		alias_event(r, &a, "updated");
		dash_reply_json(r, 200, dash_alias_json(&a, r->cf->alias_domain));
	}
	json_decref(b);
}

/* unsub_html - answer a one-click link as a page rather than JSON: a GET,
 * or a POST from the page's own form (a browser accepts text/html) */
static int
unsub_html(struct req *r)
{
	const char *acc = dash_header(r, MHD_HTTP_HEADER_ACCEPT);

	return (strcmp(r->method, "GET") == 0 || (acc != NULL &&
	    strstr(acc, "text/html") != NULL));
}

/* unsub_fail - a one-click link that cannot be served: a page when html,
 * else the JSON error */
static void
unsub_fail(struct req *r, int html, enum store_status s)
{
	if (!html) {
		dash_store_status(r, s, "alias");
		return;
	}
	switch (s) {
	case STORE_NOTFOUND:
		dash_reply_page(r, 404, "No such alias",
		    "<p>This alias does not exist, or it was deleted.</p>");
		break;
	case STORE_TEMP:
		dash_reply_page(r, 503, "Please try again",
		    "<p>The service cannot reach its database just now. "
		    "Please open the link again in a minute.</p>");
		MHD_add_response_header(r->resp, "Retry-After", "5");
		break;
	default:
		log_error("store: unsubscribe: %s", store_strstatus(s));
		dash_reply_page(r, 500, "Something went wrong",
		    "<p>The alias could not be changed. Please try again "
		    "later.</p>");
		break;
	}
}

/* unsub_page - the confirmation (GET) or done (POST) page of alias a */
static void
unsub_page(struct req *r, const struct alias *a, const char *sig)
{
	char	 origin[6 * ORIGIN_MAX + 1], dom[6 * 256 + 1];
	char	 html[2048 + sizeof(origin) + sizeof(dom)];

	dash_html_escape(a->origin, origin, sizeof(origin));
	dash_html_escape(r->cf->alias_domain, dom, sizeof(dom));
	if (strcmp(r->method, "GET") != 0 || a->status != ALIAS_ACTIVE) {
		int	 done = strcmp(r->method, "GET") != 0;

		snprintf(html, sizeof(html), "<p>The alias you made for "
		    "<strong>%s</strong> is %sdisabled: mail to it %s reach "
		    "you.</p>\n<p class=\"muted\"><code>%s@%s</code><br>You can "
		    "enable it again from your BIPostal dashboard.</p>", origin,
		    done ? "" : "already ", done ? "no longer does" : "does not",
		    a->token, dom);
		dash_reply_page(r, 200, done ? "Alias disabled" :
		    "Alias already disabled", html);
	} else {
		/*
		 * The action is relative to /v1/unsubscribe/, so the page
		 * works behind a proxy that adds a path prefix.
		 */
		snprintf(html, sizeof(html), "<p>Mail that <strong>%s</strong> "
		    "sends to this alias will no longer reach you. You can "
		    "enable it again from your BIPostal dashboard.</p>\n"
		    "<p class=\"muted\"><code>%s@%s</code></p>\n"
		    "<form method=\"post\" action=\"%s?sig=%s\">\n"
		    "<input type=\"hidden\" name=\"List-Unsubscribe\" "
		    "value=\"One-Click\">\n"
		    "<button type=\"submit\">Disable this alias</button>\n"
		    "</form>", origin, a->token, dom, a->token, sig);
		dash_reply_page(r, 200, "Disable this alias?", html);
	}
}

/*
 * dash_h_unsubscribe - the one-click link <dash_url>/v1/unsubscribe/
 * <token>?sig=<sig>.  POST (RFC 8058, or the page's button) disables the
 * alias.  GET changes nothing, since mail scanners fetch links: it shows a
 * page whose button POSTs to the same address.  The signature is checked
 * before the store is asked, so a bad link learns nothing about the alias.
 * Browsers get pages, other clients JSON.
 */
void
dash_h_unsubscribe(struct req *r, const char *token)
{
	char		 key[TOKEN_MAX + 1];
	const char	*sig = dash_arg(r, "sig");
	struct alias	 a;
	enum store_status s;
	int		 html = unsub_html(r);

	if (!token_fold(key, sizeof(key), token) || sig == NULL ||
	    !sign_unsub_check(dash_keys.secret, dash_keys.secret_len, key,
	    sig)) {
		if (html)
			dash_reply_page(r, 403, "This link is not valid",
			    "<p>The link is incomplete or was changed. Open it "
			    "again from the mail, or change the alias from your "
			    "BIPostal dashboard.</p>");
		else
			dash_error(r, 403, DASH_E_FORBIDDEN,
			    "bad or missing signature");
		return;
	}
	s = store_alias_get(r->db->st, key, &a);
	if (s == STORE_OK && a.status == ALIAS_DELETED)
		s = STORE_NOTFOUND;
	if (s != STORE_OK) {
		unsub_fail(r, html, s);
		return;
	}
	if (strcmp(r->method, "GET") == 0) {
		unsub_page(r, &a, sig);		/* checked: the 32 hex we make */
		return;
	}
	if (a.status == ALIAS_ACTIVE) {
		s = store_alias_set_status(r->db->st, key, ALIAS_INACTIVE);
		if (s != STORE_OK) {
			unsub_fail(r, html, s);
			return;
		}
		a.status = ALIAS_INACTIVE;
		alias_event(r, &a, "unsubscribed");
	}
	dash_metrics_inc("unsubscribes");
	if (html)
		unsub_page(r, &a, sig);		/* checked: the 32 hex we make */
	else
		dash_reply_json(r, 200, json_pack("{s:s,s:s}", "token", a.token,
		    "status", "inactive"));
}

/*
 * legacy_token_bad - NULL if t follows the rules of a client's alias
 * token (0-9a-z, TOKEN_LEN to TOKEN_MAX characters), else which rule it
 * breaks, written into buf
 */
static const char *
legacy_token_bad(const char *t, char *buf, size_t size)
{
	size_t	n;

	if (t == NULL) {
		snprintf(buf, size, "token: required, the alias token the "
		    "client chose (see /0.5/new_token)");
		return (buf);
	}
	n = strspn(t, "0123456789abcdefghijklmnopqrstuvwxyz");
	if (t[n] != '\0')
		snprintf(buf, size, "token: only digits and lower-case letters "
		    "(0-9a-z)");
	else if (n < TOKEN_LEN)
		snprintf(buf, size, "token: at least %d characters (a 256-bit "
		    "random number in base 36)", TOKEN_LEN);
	else if (n > TOKEN_MAX)
		snprintf(buf, size, "token: at most %d characters", TOKEN_MAX);
	else
		return (NULL);
	return (buf);
}

/*
 * dash_h_legacy_new_subscription - POST /0.5/new_subscription {token,
 * origin}: the user's alias for origin, made with the client's token, or
 * the one it already has (re-activated) -> {alias, token, origin, created}
 */
void
dash_h_legacy_new_subscription(struct req *r, const char *arg)
{
	json_t		*b, *v;
	struct alias	 a;
	int		 created;
	char		 addr[TOKEN_MAX + 2 + 256], why[128];
	const char	*tok, *bad;

	if (dash_legacy_user(r) < 0 || (b = dash_body_form_or_json(r)) == NULL)
		return;
	v = json_object_get(b, "token");
	if (v != NULL && !json_is_string(v)) {
		dash_error(r, 400, DASH_E_PARAM, "token: a string");
		goto done;
	}
	tok = json_string_value(v);
	if ((bad = legacy_token_bad(tok, why, sizeof(why))) != NULL) {
		dash_error(r, 400, DASH_E_PARAM, "%s", bad);
		goto done;
	}
	v = json_object_get(b, "origin");
	if (v != NULL && !json_is_string(v)) {
		dash_error(r, 400, DASH_E_PARAM, "origin: a string");
		goto done;
	}
	if (create_alias(r, json_string_value(v), tok, 0, NULL, 0, &a,
	    &created) < 0)
		goto done;
	snprintf(addr, sizeof(addr), "%s@%s", a.token, r->cf->alias_domain);
	dash_reply_json(r, 200, json_pack("{s:s,s:s,s:s,s:b}", "alias", addr,
	    "token", a.token, "origin", a.origin, "created", created));
done:
	json_decref(b);
}

/*
 * dash_h_legacy_remove_subscription - POST /0.5/remove_subscription
 * {token}: deactivate the user's alias (token or address), as PATCH
 * /v1/aliases/<token> {"status":"inactive"} does -> {token, status}
 */
void
dash_h_legacy_remove_subscription(struct req *r, const char *arg)
{
	json_t		*b;
	const char	*tok;
	struct alias	 a;

	if (dash_legacy_user(r) < 0 || (b = dash_body_form_or_json(r)) == NULL)
		return;
	if ((tok = json_string_value(json_object_get(b, "token"))) == NULL) {
		dash_error(r, 400, DASH_E_PARAM, "token: the alias to remove");
		goto done;
	}
	if (dash_own_alias(r, tok, &a) < 0)
		goto done;
	if (a.status != ALIAS_INACTIVE) {
		if (dash_store_status(r, store_alias_set_status(r->db->st,
		    a.token, ALIAS_INACTIVE), "alias") < 0)
			goto done;
		a.status = ALIAS_INACTIVE;
		a.updated = bp_now();
		alias_event(r, &a, "updated");
	}
	dash_reply_json(r, 200, json_pack("{s:s,s:s}", "token", a.token,
	    "status", "inactive"));
done:
	json_decref(b);
}
