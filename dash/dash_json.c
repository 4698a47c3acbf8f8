/*
 * dash_json.c - JSON bodies in and out, error replies, base64url
 *
 * Interface: dash_reply_json / dash_reply_raw / dash_error prepare the one
 * response of a request (r->resp, r->status); dash.c adds the common
 * headers and queues it.  dash_body_json parses the request body with
 * jansson after a nesting-depth check (jansson itself recurses without a
 * bound we can set), refusing anything but a JSON object.
 *
 * Failure: parse errors answer 400 errno 101 and return NULL.
 *
 * Ownership: dash_reply_json steals its json_t; dash_body_json returns a
 * new reference.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dash.h"
#include "log.h"
#include "util.h"

/* dash_reason - HTTP reason phrase, the "error" word of error bodies */
const char *
dash_reason(unsigned status)
{
	switch (status) {
	case 200: return ("OK");
	case 201: return ("Created");
	case 204: return ("No Content");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 409: return ("Conflict");
	case 410: return ("Gone");
	case 413: return ("Payload Too Large");
	case 415: return ("Unsupported Media Type");
	case 429: return ("Too Many Requests");
	case 500: return ("Internal Server Error");
	case 503: return ("Service Unavailable");
	default: return ("Error");
	}
}

/* dash_reply_raw - answer with a byte body; copy = 0 means data is static */
void
dash_reply_raw(struct req *r, unsigned status, const char *type,
    const void *data, size_t len, int copy)
{
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = MHD_create_response_from_buffer(len, (void *)data,
	    copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
	if (r->resp == NULL)
		log_fatal("MHD_create_response_from_buffer failed");
	if (type != NULL)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    type);
	r->status = status;
}

/* dash_reply_json - answer with a JSON document; steals j, which may be
 * any JSON value (the legacy new_token answers a bare string) */
void
dash_reply_json(struct req *r, unsigned status, json_t *j)
{
	char	*s;

	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (s == NULL)
		log_fatal("json_dumps: out of memory");
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = MHD_create_response_from_buffer(strlen(s), s,
	    MHD_RESPMEM_MUST_FREE);
	if (r->resp == NULL)
		log_fatal("MHD_create_response_from_buffer failed");
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	r->status = status;
}

/* dash_error - answer {"code","errno","error","message"} */
void
dash_error(struct req *r, unsigned status, int errnum, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dash_reply_json(r, status, json_pack("{s:i,s:i,s:s,s:s}",
	    "code", (int)status, "errno", errnum, "error", dash_reason(status),
	    "message", msg));
}


/* dash_body_json - the body as a JSON object (new), or NULL and a 400 */
json_t *
dash_body_json(struct req *r)
{
	json_error_t	 e;
	json_t		*j;

	if (r->len == 0) {
		dash_error(r, 400, DASH_E_JSON, "a JSON object body is required");
		return (NULL);
	}
	if (!dash_json_depth_ok(r->body, r->len, DASH_JSON_DEPTH)) {
		dash_error(r, 400, DASH_E_JSON, "JSON nested too deeply");
		return (NULL);
	}
	j = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		dash_error(r, 400, DASH_E_JSON, "invalid JSON: %.100s", e.text);
		return (NULL);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		dash_error(r, 400, DASH_E_JSON, "a JSON object is required");
		return (NULL);
	}
	return (j);
}

/* form_add - decode one name=value pair of a urlencoded body into o */
static void
form_add(json_t *o, char *pair)
{
	char	*eq = strchr(pair, '=');
	char	*p;

	if (eq == NULL)
		return;
	*eq++ = '\0';
	for (p = pair; *p; p++)
		if (*p == '+')
			*p = ' ';
	for (p = eq; *p; p++)
		if (*p == '+')
			*p = ' ';
	MHD_http_unescape(pair);
	MHD_http_unescape(eq);
	if (*pair != '\0' && json_object_get(o, pair) == NULL)
		json_object_set_new(o, pair, json_stringn(eq, strlen(eq)));
}

/*
 * dash_body_form_or_json - legacy endpoints take a JSON object or an
 * application/x-www-form-urlencoded body; an empty body gives {}
 */
json_t *
dash_body_form_or_json(struct req *r)
{
	const char	*ct = dash_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_t		*o;
	char		*copy, *pair, *save;

	if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0)
		return (dash_body_json(r));
	if (r->len == 0)
		return (json_object());
	if (ct == NULL || strncasecmp(ct,
	    "application/x-www-form-urlencoded", 33) != 0) {
		if (r->body[0] == '{')
			return (dash_body_json(r));
		dash_error(r, 415, DASH_E_PARAM,
		    "send application/json or a form");
		return (NULL);
	}
	o = json_object();
	copy = xstrndup(r->body, r->len);
	for (pair = strtok_r(copy, "&", &save); pair != NULL;
	    pair = strtok_r(NULL, "&", &save))
		form_add(o, pair);
	free(copy);
	return (o);
}

/* dash_alias_json - the public view of an alias (new) */
json_t *
dash_alias_json(const struct alias *a, const char *domain)
{
	static const char *const state[] = {
		[ALIAS_ACTIVE] = "active", [ALIAS_INACTIVE] = "inactive",
		[ALIAS_DELETED] = "deleted",
	};
	char	 addr[TOKEN_MAX + 2 + 256];
	char	 ctx[((CONTEXT_MAX + 2) / 3) * 4 + 1];
	json_t	*j;

	snprintf(addr, sizeof(addr), "%s@%s", a->token, domain);
	j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I}}",
	    "token", a->token, "alias", addr, "origin", a->origin,
	    "status", a->status <= ALIAS_DELETED ? state[a->status] : "?",
	    "created", (json_int_t)a->created,
	    "updated", (json_int_t)a->updated,
	    "expires_at", (json_int_t)a->expires_at,
	    "counters", "forwarded", (json_int_t)a->forwarded,
	    "blocked", (json_int_t)a->blocked,
	    "replied", (json_int_t)a->replied,
	    "last_seen", (json_int_t)a->last_seen);
	if (a->context_len > 0) {
		EVP_EncodeBlock((unsigned char *)ctx, a->context,
		    (int)a->context_len);
		json_object_set_new(j, "context", json_string(ctx));
	} else
		json_object_set_new(j, "context", json_null());
	return (j);
}


