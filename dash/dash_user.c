/*
 * dash_user.c - users: signup, the public view of a user and the
 * settings a user changes (PATCH /v1/me)
 *
 * Purpose: POST /v1/users (open signup when dash_signup = open, else
 * admins only), GET /v1/me, PATCH /v1/me; dash_user_json for every
 * answer that shows a user (sessions, TOTP, the admin endpoints).
 *
 * Interface: a user is {id, email, queue_id, status, admin, totp,
 * disabled_action, content_policy, created}; the password hash and the
 * TOTP secret never leave the store.  A new password is 8 to PASSWD_MAX
 * characters and is hashed with argon2id (passwd.c); changing it needs
 * the old one.
 *
 * Failure: a bad field answers 400 (errno 102) naming it; a store error
 * goes through dash_store_status (503 with errno 201 when it is down).
 *
 * Ownership: request bodies are read and freed here; the user in r is a
 * copy, updated only after the store took the change.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dash.h"
#include "passwd.h"
#include "util.h"

/* dash_user_json - the public view of a user (new) */
json_t *
dash_user_json(const struct user *u)
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
	if (email == NULL || !addr_email_ok(email)) {
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
	dash_reply_json(r, 201, dash_user_json(&u));
done:
	json_decref(b);
}

/* dash_h_me - GET /v1/me */
void
dash_h_me(struct req *r, const char *arg)
{
	dash_reply_json(r, 200, dash_user_json(&r->user));
}

/* setting_word - 0 if v is the string w0, 1 if w1, else -1 */
static int
setting_word(json_t *v, const char *w0, const char *w1)
{
	const char *s = json_string_value(v);

	if (s != NULL && strcmp(s, w0) == 0)
		return (0);
	if (s != NULL && strcmp(s, w1) == 0)
		return (1);
	return (-1);
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
	int		 k;

	if ((b = dash_body_json(r)) == NULL)
		return;
	json_object_foreach(b, key, v) {
		if (strcmp(key, "disabled_action") == 0) {
			if ((k = setting_word(v, "discard", "reject")) < 0) {
				dash_error(r, 400, DASH_E_PARAM,
				    "disabled_action: discard or reject");
				goto done;
			}
			u.disabled_action = k ? DISABLED_REJECT :
			    DISABLED_DISCARD;
		} else if (strcmp(key, "content_policy") == 0) {
			if ((k = setting_word(v, "strip", "keep")) < 0) {
				dash_error(r, 400, DASH_E_PARAM,
				    "content_policy: strip or keep");
				goto done;
			}
			u.content_policy = k ? CONTENT_KEEP : CONTENT_STRIP;
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
	dash_reply_json(r, 200, dash_user_json(&u));
done:
	json_decref(b);
}
