/*
 * dash_session.c - who is calling: bearer tokens, the server key, Basic
 * (argon2id) logins, sessions and the rate limits on credentials
 *
 * Purpose: turn the Authorization header into r->auth / r->user, and serve
 * the endpoint that creates sessions (/v1/session); identify the user of a
 * legacy call (dash_legacy_user); the legacy /0.5/new_token.  TOTP is dash_totp.c's, users and their settings
 * dash_user.c's; the JWT and Basic parsers are dash_jwt.c's.
 *
 * Interface: three credentials are accepted on API calls:
 *   Authorization: Bearer <JWT>   HS256 signed with secret_key_file by
 *       /v1/session; or RS256/ES256 signed by the OpenID provider whose
 *       public keys are in dash_jwks_file (iss and aud checked when set);
 *   Authorization: BIPostal-Server-Key <key>   the ops key (admin rights);
 *   Authorization: Basic ...   only on /v1/session, so argon2 runs once
 *       per session, never per API call; and on the legacy calls that
 *       take credentials (dash_legacy_user), whose old clients send Basic
 *       with every call (the login rate limit applies there too).
 * Any "alg" other than HS256, RS256 and ES256 (notably "none") is refused,
 * and the algorithm must match the key: an HS256 token is never checked
 * against a public key.
 *
 * Failure: bad credentials answer 401 (errno 104, or 109 for TOTP); a
 * failed login costs one argon2 verification whether or not the user
 * exists; login, signup and alias creation are rate limited (429 with
 * Retry-After).  Secrets are compared with ct_equal.
 *
 * Ownership: keys are loaded once at startup into static storage; each
 * connection thread keeps the last token it verified (token_kept).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dash.h"
#include "log.h"
#include "passwd.h"
#include "redis.h"
#include "token.h"
#include "util.h"

/* dash_auth_init - load the secret, the server key and the JWKS */
int
dash_auth_init(struct conf *cf, char *err, size_t errlen)
{
	long	n;

	dash_totp_init();
	if (cf->secret_key_file[0] != '\0') {
		n = conf_read_key(cf->secret_key_file, dash_keys.secret,
		    sizeof(dash_keys.secret), err, errlen);
		if (n < 0)
			return (-1);
		dash_keys.secret_len = (size_t)n;
	} else {
		if (token_random_bytes(dash_keys.secret, 32) < 0) {
			snprintf(err, errlen, "no random source");
			return (-1);
		}
		dash_keys.secret_len = 32;
		log_warn("secret_key_file not set: sessions and one-click links "
		    "die with this process");
	}
	if (cf->server_key_file[0] != '\0') {
		n = conf_read_secret(cf->server_key_file, dash_keys.server,
		    sizeof(dash_keys.server), err, errlen);
		if (n < 0)
			return (-1);
		dash_keys.server_len = (size_t)n;
	}
	if (cf->dash_jwks_file[0] != '\0' &&
	    dash_jwks_load(cf->dash_jwks_file, err, errlen) < 0)
		return (-1);
	return (0);
}

/* dash_ratelimit - 0 allowed, or answer 429 with Retry-After and -1 */
int
dash_ratelimit(struct req *r, const char *kind, const char *who, long limit,
    long window)
{
	char	key[256], ra[32];
	long	retry = window;

	snprintf(key, sizeof(key), "%s:%s", kind, who);
	if (redis_ratelimit(r->db->rd, key, limit, window, &retry))
		return (0);
	if (retry < 1)
		retry = 1;
	dash_metrics_inc("ratelimited");
	dash_error(r, 429, DASH_E_RATE, "too many %s requests", kind);
	snprintf(ra, sizeof(ra), "%ld", retry);
	MHD_add_response_header(r->resp, "Retry-After", ra);
	return (-1);
}

/* dash_token_issue - a signed bearer token for u; 0 or -1 */
int
dash_token_issue(const struct user *u, long ttl, char *out, size_t size)
{
	static const char hdr[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
	char	 payload[512], b64[700], sig[64];
	int64_t	 now = bp_now();
	int	 n;

	/* hdr is base64url of {"alg":"HS256","typ":"JWT"} */
	n = snprintf(payload, sizeof(payload),
	    "{\"iss\":\"bipostal-dash\",\"sub\":\"%lld\",\"qid\":\"%s\","
	    "\"iat\":%lld,\"exp\":%lld}", (long long)u->id, u->queue_id,
	    (long long)now, (long long)(now + ttl));
	if (n < 0 || (size_t)n >= sizeof(payload))
		return (-1);
	dash_b64url_encode((unsigned char *)payload, (size_t)n, b64,
	    sizeof(b64));
	n = snprintf(out, size, "%s.%s", hdr, b64);
	if (n < 0 || (size_t)n + 50 >= size)
		return (-1);
	dash_hs256(out, (size_t)n, sig, sizeof(sig));
	snprintf(out + n, size - (size_t)n, ".%s", sig);
	return (0);
}

/* aud_ok - the aud claim (string or array) names want */
static int
aud_ok(json_t *aud, const char *want)
{
	size_t	 i;
	json_t	*v;

	if (json_is_string(aud))
		return (strcmp(json_string_value(aud), want) == 0);
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return (1);
	return (0);
}

/* external_user - map an OpenID token to a user, creating one on open
 * signup; 0 or -1 with why */
static int
external_user(struct req *r, json_t *c, struct user *u, const char **why)
{
	const char	*sub = json_string_value(json_object_get(c, "sub"));
	const char	*email = json_string_value(json_object_get(c, "email"));
	const char	*iss = r->cf->dash_oidc_issuer;
	const char	*aud = r->cf->dash_oidc_audience;
	char		 ident[EMAIL_MAX + 1];
	enum store_status s;

	*why = "token rejected";
	if (*iss != '\0' && !json_is_string(json_object_get(c, "iss")))
		return (-1);
	if (*iss != '\0' && strcmp(json_string_value(json_object_get(c,
	    "iss")), iss) != 0) {
		*why = "wrong issuer";
		return (-1);
	}
	if (*aud != '\0' && !aud_ok(json_object_get(c, "aud"), aud)) {
		*why = "wrong audience";
		return (-1);
	}
	if (sub == NULL || (size_t)snprintf(ident, sizeof(ident), "oidc:%s",
	    sub) >= sizeof(ident))
		return (-1);
	s = store_user_by_identity(r->db->st, ident, u);
	if (s == STORE_NOTFOUND && email != NULL &&
	    strcmp(r->cf->dash_signup, "open") == 0 &&
	    json_is_true(json_object_get(c, "email_verified"))) {
		s = store_user_create(r->db->st, email, "", u);
		if (s == STORE_OK)
			s = store_identity_add(r->db->st, u->id, ident);
	}
	if (s == STORE_NOTFOUND) {
		*why = "unknown user";
		return (-1);
	}
	if (s != STORE_OK) {
		dash_store_status(r, s, "user");
		return (-2);
	}
	return (0);
}

/*
 * Each connection thread remembers the last of our own tokens it verified,
 * with its user id and expiry: a client that keeps its connection open
 * sends the same token again and again, and the same bytes need not be
 * parsed and checked again until they expire.  The user is looked up
 * every time all the same (token_user: revocation takes effect at once).
 */
#define TOKEN_KEEP_MAX	512
static __thread struct {
	char		 tok[TOKEN_KEEP_MAX];
	size_t		 len;		/* 0: none */
	int64_t		 user_id;
	int64_t		 exp;
} token_kept;

/* token_user_id - 1 with *id for one of our tokens; 0 with *ext set and
 * *claims (new) for the OpenID provider's; -1 with *why if refused */
static int
token_user_id(const char *tok, int64_t *id, int *ext, json_t **claims,
    const char **why)
{
	size_t		 len = strlen(tok);
	int64_t		 now = bp_now(), exp;
	const char	*sub, *iss;
	json_t		*c;
	char		*end;
	long long	 n;

	*claims = NULL;
	*ext = 0;
	if (len == token_kept.len && now < token_kept.exp &&
	    ct_equal(tok, len, token_kept.tok, token_kept.len)) {
		*id = token_kept.user_id;
		return (1);
	}
	if ((c = dash_jwt_verify(tok, now, ext, why)) == NULL)
		return (-1);
	if (*ext) {
		*claims = c;
		return (0);
	}
	sub = json_string_value(json_object_get(c, "sub"));
	iss = json_string_value(json_object_get(c, "iss"));
	exp = (int64_t)json_number_value(json_object_get(c, "exp"));
	if (sub == NULL || iss == NULL || strcmp(iss, "bipostal-dash") != 0 ||
	    (n = strtoll(sub, &end, 10)) <= 0 || *end != '\0') {
		json_decref(c);
		*why = "token rejected";
		return (-1);
	}
	json_decref(c);
	*id = (int64_t)n;
	if (len < TOKEN_KEEP_MAX) {
		memcpy(token_kept.tok, tok, len);
		token_kept.len = len;
		token_kept.user_id = *id;
		token_kept.exp = exp;
	}
	return (1);
}

/*
 * token_user - the user with this id, as the store has it now.  The last
 * one read on the store handle is kept with the store's mark: while the
 * mark is the same, nothing changed (revoked users included) and the kept
 * copy is the answer.  The mark stays in r for the handler (list_reply).
 */
static enum store_status
token_user(struct req *r, int64_t id, struct user *u)
{
	struct dash_db	*d = r->db;
	enum store_status s;

	r->has_mark = store_mark(d->st, &r->mark) == STORE_OK;
	if (r->has_mark && d->user.id == id && d->user_mark == r->mark) {
		*u = d->user;
		return (STORE_OK);
	}
	d->user.id = 0;
	if ((s = store_user_get(d->st, id, u)) == STORE_OK && r->has_mark) {
		d->user = *u;
		d->user_mark = r->mark;
	}
	return (s);
}

/* dash_token_check - a bearer token to its live user; 0, or -1 answered */
int
dash_token_check(struct req *r, const char *tok, struct user *u)
{
	const char	*why;
	json_t		*c;
	int		 ext, rc;
	int64_t		 id;
	enum store_status s;

	if ((rc = token_user_id(tok, &id, &ext, &c, &why)) < 0)
		goto refuse;
	if (ext) {
		rc = external_user(r, c, u, &why);
		json_decref(c);
		if (rc == -2)
			return (-1);
		if (rc < 0)
			goto refuse;
	} else {
		s = token_user(r, id, u);
		if (s == STORE_NOTFOUND) {
			why = "unknown user";
			goto refuse;
		}
		if (s != STORE_OK)
			return (dash_store_status(r, s, "user"));
	}
	if (u->status != USER_ACTIVE) {
		why = "account revoked";
		goto refuse;
	}
	return (0);
refuse:
	dash_metrics_inc("auth_failures");
	dash_error(r, 401, DASH_E_AUTH, "%s", why);
	MHD_add_response_header(r->resp, "WWW-Authenticate",
	    "Bearer error=\"invalid_token\"");
	return (-1);
}

/* dash_authenticate - read the Authorization header; 0, or -1 answered */
int
dash_authenticate(struct req *r)
{
	const char *h = dash_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

	r->auth = AUTH_NONE;
	if (h == NULL || strncasecmp(h, "Basic ", 6) == 0)
		return (0);	/* Basic is read by the handlers that take it */
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		if (strncmp(h, APIKEY_PREFIX, strlen(APIKEY_PREFIX)) == 0)
			return (dash_apikey_auth(r, h));	/* an API key */
		if (dash_token_check(r, h, &r->user) < 0)
			return (-1);
		r->auth = AUTH_USER;
		r->is_admin = r->user.is_admin;
		return (0);
	}
	if (strncasecmp(h, "BIPostal-Server-Key ", 20) == 0) {
		h += 20;
		while (*h == ' ')
			h++;
		if (dash_keys.server_len > 0 && ct_equal(h, strlen(h),
		    dash_keys.server, dash_keys.server_len)) {
			r->auth = AUTH_SERVER;
			r->is_admin = 1;
			return (0);
		}
		dash_metrics_inc("auth_failures");
		dash_error(r, 401, DASH_E_AUTH, "bad server key");
		return (-1);
	}
	dash_error(r, 401, DASH_E_AUTH, "unsupported Authorization scheme");
	return (-1);
}

/*
 * dash_basic_login - check Basic credentials (and TOTP when enrolled);
 * 0 with *u, or -1 answered.  Unknown users cost one argon2 run too.
 */
int
dash_basic_login(struct req *r, struct user *u)
{
	char		 name[EMAIL_MAX + 1], pw[PASSWD_MAX + 1];
	enum store_status s;
	json_t		*body = NULL;
	int		 good;

	if (dash_ratelimit(r, "login", r->ip, r->cf->dash_rate_login, 60) < 0)
		return (-1);
	if (dash_basic_parse(dash_header(r, MHD_HTTP_HEADER_AUTHORIZATION),
	    name, sizeof(name), pw, sizeof(pw)) < 0) {
		dash_error(r, 401, DASH_E_AUTH, "Basic credentials required");
		MHD_add_response_header(r->resp, "WWW-Authenticate",
		    "Basic realm=\"bipostal\"");
		return (-1);
	}
	s = store_user_by_identity(r->db->st, name, u);
	if (s != STORE_OK && s != STORE_NOTFOUND) {
		OPENSSL_cleanse(pw, sizeof(pw));
		return (dash_store_status(r, s, "user"));
	}
	if (s == STORE_OK && u->pwhash[0] != '\0')
		good = passwd_verify(u->pwhash, pw);
	else
		good = passwd_verify_dummy(pw);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (!good || u->status != USER_ACTIVE) {
		dash_metrics_inc("login_failures");
		dash_error(r, 401, DASH_E_AUTH, "wrong user name or password");
		MHD_add_response_header(r->resp, "WWW-Authenticate",
		    "Basic realm=\"bipostal\"");
		return (-1);
	}
	if (u->totp[0] != '\0') {
		const char *code;

		if (r->len > 0 && r->body[0] == '{' &&
		    dash_json_depth_ok(r->body, r->len, DASH_JSON_DEPTH))
			body = json_loadb(r->body, r->len, 0, NULL);
		code = dash_totp_code(r, body);
		if (code == NULL) {
			json_decref(body);
			dash_error(r, 401, DASH_E_TOTP,
			    "a TOTP code is required (X-TOTP or \"totp\")");
			return (-1);
		}
		good = dash_totp_check(u->totp, code);
		json_decref(body);
		if (!good) {
			dash_metrics_inc("login_failures");
			dash_error(r, 401, DASH_E_TOTP, "wrong TOTP code");
			return (-1);
		}
	}
	return (0);
}

/* session_reply - answer with a fresh bearer token for u */
static void
session_reply(struct req *r, const struct user *u, unsigned status)
{
	char	tok[1024];

	if (dash_token_issue(u, r->cf->dash_token_ttl, tok, sizeof(tok)) < 0) {
		dash_error(r, 500, DASH_E_INTERNAL, "cannot issue token");
		return;
	}
	dash_reply_json(r, status, json_pack("{s:s,s:s,s:I,s:o}", "token", tok,
	    "token_type", "Bearer", "expires_in", (json_int_t)r->cf->dash_token_ttl,
	    "user", dash_user_json(u)));
}

/* dash_h_session - POST /v1/session: Basic (+TOTP) for a bearer token */
void
dash_h_session(struct req *r, const char *arg)
{
	struct user u;

	if (dash_basic_login(r, &u) < 0)
		return;
	dash_metrics_inc("sessions");
	session_reply(r, &u, 201);
}

/*
 * dash_legacy_user - the user of a legacy /0.5/ call: a bearer token
 * (already read by dash_authenticate), or HTTP Basic with the user's email
 * and password (with the login rate limit per address, and TOTP when the
 * user has it, as on /v1/session); 0 with r->user, or -1 answered
 */
int
dash_legacy_user(struct req *r)
{
	const char *h = dash_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

	if (r->auth == AUTH_USER)
		return (0);
	if (r->auth == AUTH_SERVER) {
		dash_error(r, 403, DASH_E_FORBIDDEN, "a user's credentials are "
		    "required");
		return (-1);
	}
	if (h == NULL) {
		dash_error(r, 401, DASH_E_AUTH, "credentials required: HTTP "
		    "Basic (email and password) or a bearer token");
		MHD_add_response_header(r->resp, "WWW-Authenticate",
		    "Basic realm=\"bipostal\"");
		return (-1);
	}
	if (dash_basic_login(r, &r->user) < 0)
		return (-1);
	r->auth = AUTH_USER;
	r->is_admin = r->user.is_admin;
	return (0);
}

/*
 * dash_h_legacy_new_token - GET /0.5/new_token: a fresh alias token as a
 * JSON string, for the client to choose as the "token" of its next
 * new_subscription.  Nothing is stored and no credentials are read: the
 * token is worth nothing until a user subscribes with it.
 */
void
dash_h_legacy_new_token(struct req *r, const char *arg)
{
	char	tok[TOKEN_MAX + 1];

	if (token_new(tok, sizeof(tok)) < 0) {
		dash_error(r, 503, DASH_E_STORE, "no random source, retry");
		MHD_add_response_header(r->resp, "Retry-After", "5");
		return;
	}
	dash_reply_json(r, 200, json_string(tok));
}
