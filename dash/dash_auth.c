/*
 * dash_auth.c - who is calling: Basic (argon2id), bearer tokens, server key,
 * TOTP, sessions, users and their settings
 *
 * Purpose: turn the Authorization header into r->auth / r->user, and serve
 * the endpoints that create credentials (/v1/session, /v1/users, TOTP
 * enrolment, the legacy /0.5/new_token).
 *
 * Interface: three credentials are accepted on API calls:
 *   Authorization: Bearer <JWT>   HS256 signed with secret_key_file by
 *       /v1/session; or RS256/ES256 signed by the OpenID provider whose
 *       public keys are in dash_jwks_file (iss and aud checked when set);
 *   Authorization: BIPostal-Server-Key <key>   the ops key (admin rights);
 *   Authorization: Basic ...   only on /v1/session and /0.5/new_token, so
 *       argon2 runs once per session, never per API call.
 * Any "alg" other than HS256, RS256 and ES256 (notably "none") is refused,
 * and the algorithm must match the key: an HS256 token is never checked
 * against a public key.
 *
 * Failure: bad credentials answer 401 (errno 104, or 109 for TOTP); a
 * failed login costs one argon2 verification whether or not the user
 * exists; login, signup and alias creation are rate limited (429 with
 * Retry-After).  Secrets are compared with ct_equal.
 *
 * Ownership: keys are loaded once at startup into static storage.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <png.h>
#include <qrencode.h>

#include "dash.h"
#include "log.h"
#include "passwd.h"
#include "redis.h"
#include "token.h"
#include "util.h"

#define TOTP_DIGITS	6
#define TOTP_STEP	30
#define TOTP_TICKET_TTL	600	/* seconds from enrolment to verify */





/* dash_auth_init - load the secret, the server key and the JWKS */
int
dash_auth_init(struct conf *cf, char *err, size_t errlen)
{
	long	n;

	oath_init();
	if (cf->secret_key_file[0] != '\0') {
		n = conf_read_secret(cf->secret_key_file,
		    (char *)dash_keys.secret, sizeof(dash_keys.secret), err,
		    errlen);
		if (n < 0)
			return (-1);
		if (n < 16) {
			snprintf(err, errlen, "%s: secret shorter than 16 bytes",
			    cf->secret_key_file);
			return (-1);
		}
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


/* totp_cmp - liboath's comparison callback: 0 when the candidate code
 * equals the one sent, compared in constant time */
static int
totp_cmp(void *sent, const char *candidate)
{
	return (ct_equal(sent, strlen(sent), candidate, strlen(candidate)) ?
	    0 : 1);
}

/* totp_check - 1 if code is valid now (one step of drift) for secret */
static int
totp_check(const char *secret32, const char *code)
{
	char	*raw = NULL;
	size_t	 rawlen = 0;
	int	 rc;

	if (code == NULL || strlen(code) != TOTP_DIGITS ||
	    strspn(code, "0123456789") != TOTP_DIGITS)
		return (0);
	if (oath_base32_decode(secret32, strlen(secret32), &raw, &rawlen) !=
	    OATH_OK)
		return (0);
	rc = oath_totp_validate_callback(raw, rawlen, time(NULL), TOTP_STEP,
	    0, TOTP_DIGITS, 1, totp_cmp, (void *)code);
	free(raw);
	return (rc >= 0);
}

/* totp_code - the TOTP code of a request: X-TOTP header or "totp" field */
static const char *
totp_code(struct req *r, json_t *body)
{
	const char *c = dash_header(r, "X-TOTP");

	if (c == NULL && body != NULL)
		c = json_string_value(json_object_get(body, "totp"));
	return (c);
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
		code = totp_code(r, body);
		if (code == NULL) {
			json_decref(body);
			dash_error(r, 401, DASH_E_TOTP,
			    "a TOTP code is required (X-TOTP or \"totp\")");
			return (-1);
		}
		good = totp_check(u->totp, code);
		json_decref(body);
		if (!good) {
			dash_metrics_inc("login_failures");
			dash_error(r, 401, DASH_E_TOTP, "wrong TOTP code");
			return (-1);
		}
	}
	return (0);
}

/* user_json - the public view of a user (new) */
static json_t *
user_json(const struct user *u)
{
	return (json_pack("{s:I,s:s,s:s,s:s,s:b,s:b,s:s,s:s,s:I}",
	    "id", (json_int_t)u->id, "email", u->email,
	    "queue_id", u->queue_id,
	    "status", u->status == USER_ACTIVE ? "active" : "revoked",
	    "admin", u->is_admin, "totp", u->totp[0] != '\0',
	    "disabled_action", u->disabled_action == DISABLED_REJECT ?
	    "reject" : "discard",
	    "content_policy", u->content_policy == CONTENT_KEEP ? "keep" :
	    "strip", "created", (json_int_t)u->created));
}

/* dash_user_json - exported for the admin endpoints (new) */
json_t *
dash_user_json(const struct user *u)
{
	return (user_json(u));
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
	    "user", user_json(u)));
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

/* dash_h_legacy_new_token - GET /0.5/new_token: Basic, or a bearer token
 * to refresh */
void
dash_h_legacy_new_token(struct req *r, const char *arg)
{
	struct user u;

	if (r->auth == AUTH_USER) {
		session_reply(r, &r->user, 200);
		return;
	}
	if (r->auth == AUTH_SERVER) {
		dash_error(r, 403, DASH_E_FORBIDDEN, "tokens are for users");
		return;
	}
	if (dash_basic_login(r, &u) < 0)
		return;
	session_reply(r, &u, 200);
}

/* email_ok - a plausible address: local@domain, printable, no spaces */
static int
email_ok(const char *e)
{
	const char	*at = strchr(e, '@'), *p;
	size_t		 len = strlen(e);

	if (len < 3 || len > EMAIL_MAX || at == NULL || at == e ||
	    at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return (0);
	for (p = e; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127 ||
		    strchr("<>()[],;:\\\"", *p) != NULL)
			return (0);
	return (1);
}

/* password_ok - length bounds for a new password */
static int
password_ok(const char *pw)
{
	size_t len = strlen(pw);

	return (len >= 8 && len <= PASSWD_MAX);
}

/*
 * dash_h_signup - POST /v1/users {email, password}.  Open to anyone when
 * dash_signup = open (rate limited per address), else admins only.
 */
void
dash_h_signup(struct req *r, const char *arg)
{
	json_t		*b, *adm;
	const char	*email, *pw;
	char		 hash[PWHASH_MAX + 1];
	struct user	 u;
	enum store_status s;

	if (!r->is_admin) {
		if (strcmp(r->cf->dash_signup, "open") != 0) {
			dash_error(r, r->auth == AUTH_NONE ? 401 : 403,
			    DASH_E_FORBIDDEN, "signup is by an administrator");
			return;
		}
		if (dash_ratelimit(r, "signup", r->ip, r->cf->dash_rate_signup,
		    3600) < 0)
			return;
	}
	if ((b = dash_body_json(r)) == NULL)
		return;
	email = json_string_value(json_object_get(b, "email"));
	pw = json_string_value(json_object_get(b, "password"));
	adm = json_object_get(b, "admin");
	if (email == NULL || !email_ok(email)) {
		dash_error(r, 400, DASH_E_PARAM, "email: a valid address");
		goto done;
	}
	if (pw == NULL || !password_ok(pw)) {
		dash_error(r, 400, DASH_E_PARAM,
		    "password: 8 to %d characters", PASSWD_MAX);
		goto done;
	}
	if (adm != NULL && (!json_is_boolean(adm) || (json_is_true(adm) &&
	    !r->is_admin))) {
		dash_error(r, json_is_boolean(adm) ? 403 : 400,
		    json_is_boolean(adm) ? DASH_E_FORBIDDEN : DASH_E_PARAM,
		    "admin: only an administrator makes administrators");
		goto done;
	}
	if (passwd_hash(pw, hash, sizeof(hash)) < 0) {
		dash_error(r, 500, DASH_E_INTERNAL, "cannot hash password");
		goto done;
	}
	s = store_user_create(r->db->st, email, hash, &u);
	if (dash_store_status(r, s, "user") < 0)
		goto done;
	if (json_is_true(adm)) {
		u.is_admin = 1;
		if (dash_store_status(r, store_user_update(r->db->st, &u),
		    "user") < 0)
			goto done;
	}
	dash_metrics_inc("signups");
	dash_reply_json(r, 201, user_json(&u));
done:
	json_decref(b);
}

/* dash_h_me - GET /v1/me */
void
dash_h_me(struct req *r, const char *arg)
{
	dash_reply_json(r, 200, user_json(&r->user));
}

/*
 * dash_h_settings - PATCH /v1/me {disabled_action: discard|reject,
 * content_policy: strip|keep, password + old_password}
 */
void
dash_h_settings(struct req *r, const char *arg)
{
	json_t		*b, *v;
	struct user	 u = r->user;
	const char	*key, *s;

	if ((b = dash_body_json(r)) == NULL)
		return;
	json_object_foreach(b, key, v) {
		if (strcmp(key, "disabled_action") == 0) {
			s = json_string_value(v);
			if (s != NULL && strcmp(s, "discard") == 0)
				u.disabled_action = DISABLED_DISCARD;
			else if (s != NULL && strcmp(s, "reject") == 0)
				u.disabled_action = DISABLED_REJECT;
			else {
				dash_error(r, 400, DASH_E_PARAM,
				    "disabled_action: discard or reject");
				goto done;
			}
		} else if (strcmp(key, "content_policy") == 0) {
			s = json_string_value(v);
			if (s != NULL && strcmp(s, "strip") == 0)
				u.content_policy = CONTENT_STRIP;
			else if (s != NULL && strcmp(s, "keep") == 0)
				u.content_policy = CONTENT_KEEP;
			else {
				dash_error(r, 400, DASH_E_PARAM,
				    "content_policy: strip or keep");
				goto done;
			}
		} else if (strcmp(key, "password") == 0) {
			const char *old = json_string_value(json_object_get(b,
			    "old_password"));

			s = json_string_value(v);
			if (s == NULL || !password_ok(s)) {
				dash_error(r, 400, DASH_E_PARAM,
				    "password: 8 to %d characters", PASSWD_MAX);
				goto done;
			}
			if (old == NULL || u.pwhash[0] == '\0' ||
			    !passwd_verify(u.pwhash, old)) {
				dash_error(r, 403, DASH_E_FORBIDDEN,
				    "old_password is wrong");
				goto done;
			}
			if (passwd_hash(s, u.pwhash, sizeof(u.pwhash)) < 0) {
				dash_error(r, 500, DASH_E_INTERNAL,
				    "cannot hash password");
				goto done;
			}
		} else if (strcmp(key, "old_password") != 0) {
			dash_error(r, 400, DASH_E_PARAM, "unknown setting %.40s",
			    key);
			goto done;
		}
	}
	if (dash_store_status(r, store_user_update(r->db->st, &u), "user") < 0)
		goto done;
	r->user = u;
	dash_reply_json(r, 200, user_json(&u));
done:
	json_decref(b);
}

/* otpauth_uri - the Key URI Format string for secret (new) */
static char *
otpauth_uri(const char *email, const char *secret)
{
	char	 enc[3 * EMAIL_MAX + 1], *o = enc, *uri;
	const char *p;
	size_t	 n;

	for (p = email; *p; p++) {
		if (isalnum((unsigned char)*p) || strchr(".-_", *p) != NULL)
			*o++ = *p;
		else
			o += sprintf(o, "%%%02X", (unsigned char)*p);
	}
	*o = '\0';
	n = strlen(enc) + strlen(secret) + 128;
	uri = xmalloc(n);
	snprintf(uri, n, "otpauth://totp/BIPostal:%s?secret=%s&issuer=BIPostal"
	    "&algorithm=SHA1&digits=%d&period=%d", enc, secret, TOTP_DIGITS,
	    TOTP_STEP);
	return (uri);
}

/* secret_ok - a base32 TOTP secret of sane length */
static int
secret_ok(const char *s)
{
	size_t len;

	if (s == NULL)
		return (0);
	len = strlen(s);
	return (len >= 16 && len <= TOTP_MAX &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == len);
}

/*
 * totp_ticket - the enrolment ticket of secret for u, valid until exp:
 *	EXP "." base64url HMAC-SHA256(secret_key, "totp-enrol:" id ":"
 *	    new secret ":" present secret ":" EXP)
 * It carries the proof given at enrolment (the present code) to verify;
 * it dies with its expiry and as soon as the present secret changes.
 */
static void
totp_ticket(const struct user *u, const char *secret, long long exp,
    char *out, size_t size)
{
	char	msg[64 + 2 * TOTP_MAX + 64], mac[64];
	int	n;

	n = snprintf(msg, sizeof(msg), "totp-enrol:%lld:%s:%s:%lld",
	    (long long)u->id, secret, u->totp, exp);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	dash_hs256(msg, (size_t)n, mac, sizeof(mac));
	snprintf(out, size, "%lld.%s", exp, mac);
}

/* ticket_ok - 1 if ticket is a live enrolment ticket of secret for u */
static int
ticket_ok(const struct user *u, const char *secret, const char *ticket)
{
	char		 want[128], *end;
	long long	 exp;

	if (ticket == NULL || strlen(ticket) >= sizeof(want))
		return (0);
	exp = strtoll(ticket, &end, 10);
	if (end == ticket || *end != '.' || exp < bp_now())
		return (0);
	totp_ticket(u, secret, exp, want, sizeof(want));
	return (ct_equal(ticket, strlen(ticket), want, strlen(want)));
}

/*
 * dash_h_totp_enrol - POST /v1/me/totp: a fresh secret, its otpauth URI,
 * the address of its QR code and its enrolment ticket.  Nothing is stored
 * until verify; replacing an enrolled secret needs a current code here
 * (X-TOTP or "totp"), which the ticket then stands for at verify.
 */
void
dash_h_totp_enrol(struct req *r, const char *arg)
{
	unsigned char	 raw[20];
	char		*b32 = NULL, *uri, qr[128], ticket[128];
	size_t		 len = 0;
	json_t		*b = NULL;

	if (r->user.totp[0] != '\0') {
		if (r->len > 0 && (b = dash_body_json(r)) == NULL)
			return;
		if (!totp_check(r->user.totp, totp_code(r, b))) {
			json_decref(b);
			dash_error(r, 401, DASH_E_TOTP,
			    "already enrolled: a current TOTP code is required");
			return;
		}
		json_decref(b);
	}
	if (token_random_bytes(raw, sizeof(raw)) < 0 ||
	    oath_base32_encode((char *)raw, sizeof(raw), &b32, &len) !=
	    OATH_OK) {
		dash_error(r, 500, DASH_E_INTERNAL, "cannot make a secret");
		return;
	}
	while (len > 0 && b32[len - 1] == '=')
		b32[--len] = '\0';
	uri = otpauth_uri(r->user.email, b32);
	snprintf(qr, sizeof(qr), "/v1/me/totp/qr?secret=%s", b32);
	totp_ticket(&r->user, b32, (long long)(bp_now() + TOTP_TICKET_TTL),
	    ticket, sizeof(ticket));
	dash_reply_json(r, 201, json_pack("{s:s,s:s,s:s,s:s}", "secret", b32,
	    "uri", uri, "qr", qr, "ticket", ticket));
	free(uri);
	free(b32);
}

/*
 * dash_h_totp_verify - POST /v1/me/totp/verify {secret, code, ticket?,
 * totp?}: store secret once code proves it.  A user already enrolled
 * must also prove the present secret, by the ticket of an enrolment that
 * was given a current code or by a current code here (X-TOTP or "totp"),
 * so a stolen bearer token cannot replace the second factor.
 */
void
dash_h_totp_verify(struct req *r, const char *arg)
{
	json_t		*b;
	const char	*secret, *code;
	struct user	 u = r->user;

	if ((b = dash_body_json(r)) == NULL)
		return;
	secret = json_string_value(json_object_get(b, "secret"));
	code = json_string_value(json_object_get(b, "code"));
	if (!secret_ok(secret) || code == NULL) {
		dash_error(r, 400, DASH_E_PARAM,
		    "secret (base32) and code are required");
	} else if (u.totp[0] != '\0' && !ticket_ok(&u, secret,
	    json_string_value(json_object_get(b, "ticket"))) &&
	    !totp_check(u.totp, totp_code(r, b))) {
		dash_metrics_inc("auth_failures");
		dash_error(r, 401, DASH_E_TOTP, "already enrolled: the ticket "
		    "of the enrolment or a current TOTP code is required");
	} else if (!totp_check(secret, code)) {
		dash_error(r, 401, DASH_E_TOTP, "wrong TOTP code");
	} else {
		bp_strlcpy(u.totp, secret, sizeof(u.totp));
		if (dash_store_status(r, store_user_update(r->db->st, &u),
		    "user") == 0) {
			r->user = u;
			dash_reply_json(r, 200, user_json(&u));
		}
	}
	json_decref(b);
}

struct pngbuf {
	unsigned char	*data;
	size_t		 len, cap;
};

/* png_write_mem - libpng write callback into a growing buffer */
static void
png_write_mem(png_structp p, png_bytep data, png_size_t len)
{
	struct pngbuf *b = png_get_io_ptr(p);

	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->data = xrealloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* png_flush_mem - nothing to flush */
static void
png_flush_mem(png_structp p)
{
}

/* qr_png - the QR code of text as a PNG (new in *out); 0 or -1 */
static int
qr_png(const char *text, unsigned char **out, size_t *outlen)
{
	enum { SCALE = 6, MARGIN = 4 };
	QRcode		*q;
	png_structp	 p;
	png_infop	 info;
	struct pngbuf	 b = {NULL, 0, 0};
	unsigned char	*row = NULL;
	int		 size, x, y;

	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) ==
	    NULL)
		return (-1);
	size = (q->width + 2 * MARGIN) * SCALE;
	p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = p ? png_create_info_struct(p) : NULL;
	if (p == NULL || info == NULL || setjmp(png_jmpbuf(p))) {
		png_destroy_write_struct(&p, &info);
		QRcode_free(q);
		free(row);
		free(b.data);
		return (-1);
	}
	png_set_write_fn(p, &b, png_write_mem, png_flush_mem);
	png_set_IHDR(p, info, (png_uint_32)size, (png_uint_32)size, 8,
	    PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(p, info);
	row = xmalloc((size_t)size);
	for (y = 0; y < size; y++) {
		int my = y / SCALE - MARGIN;

		for (x = 0; x < size; x++) {
			int mx = x / SCALE - MARGIN, dark = 0;

			if (mx >= 0 && my >= 0 && mx < q->width &&
			    my < q->width)
				dark = q->data[my * q->width + mx] & 1;
			row[x] = dark ? 0 : 255;
		}
		png_write_row(p, row);
	}
	png_write_end(p, NULL);
	png_destroy_write_struct(&p, &info);
	QRcode_free(q);
	free(row);
	*out = b.data;
	*outlen = b.len;
	return (0);
}

/* dash_h_totp_qr - GET /v1/me/totp/qr?secret=...: the QR code PNG */
void
dash_h_totp_qr(struct req *r, const char *arg)
{
	const char	*secret = dash_arg(r, "secret");
	unsigned char	*png;
	size_t		 len;
	char		*uri;
	int		 rc;

	if (!secret_ok(secret)) {
		dash_error(r, 400, DASH_E_PARAM, "secret: base32 is required");
		return;
	}
	uri = otpauth_uri(r->user.email, secret);
	rc = qr_png(uri, &png, &len);
	free(uri);
	if (rc < 0) {
		dash_error(r, 500, DASH_E_INTERNAL, "cannot draw the QR code");
		return;
	}
	dash_reply_raw(r, 200, "image/png", png, len, 1);
	free(png);
}

