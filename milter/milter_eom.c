/*
 * milter_eom.c - end of message: the rewrite computed, then applied
 *
 * rewrite_message() computes every change first; only when all of it
 * succeeded are the changes sent to the MTA.  Then notifications are
 * queued (the last step that can fail, see queue_note) and counters and
 * events recorded for the background writer (milter_later.c).  A reply
 * is judged here, never at RCPT: from anyone but its alias owner
 * (envelope and From; DMARC pass or none when a verifier's
 * Authentication-Results is trusted) it is discarded and the owner told.
 * A bounce becomes a notification for the alias owner and is discarded:
 * the DSN itself goes nowhere, neither to the mailbox that refused the
 * mail nor to the site.  A message that would pass one of the owner's
 * quotas is deferred (452 4.2.2).  A message whose header From the
 * alias's owner blocked is discarded or refused (550 5.7.1) before any
 * rewrite, as a disabled alias's mail would be, and counted as blocked.
 *
 * Failure: any internal error (store, rewrite, libmilter) answers
 * 451 4.3.0: never discarded, never half rewritten.  Events are built
 * with jansson.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "bounce.h"
#include "log.h"
#include "milter.h"
#include "milter_authres.h"
#include "milter_mail.h"
#include "route.h"
#include "sign.h"
#include "store.h"
#include "util.h"

/* callbacks for rewrite_message, over this connection's store */
struct cb {
	struct conn	*c;
	int64_t		 user_id;
	const char	*alias;
	struct store_usage usage;	/* read on first need */
	int		 have_usage;
	int64_t		 new_replies;	/* made for this message */
	int64_t		 new_bytes;	/* parts kept for this message */
	const char	*quota;		/* what is full, or NULL */
};

/*
 * Quotas: what one user may keep (user_blob_quota bytes of parts,
 * user_queue_quota notifications, user_reply_quota reply addresses), so
 * that a sender cannot fill the disk.  The user's usage is read only when
 * this message would add to it (a new correspondent, a part to keep, a
 * notification), never for the common message from a known sender.
 * Full: the message is deferred with 452 4.2.2 (the sending side keeps
 * it; kept parts and notifications expire, the owner can make room) and
 * the owner gets a "quota" event saying what is full.
 */
/* cb_usage - the user's usage, read once per message; -1 on failure */
static int
cb_usage(struct cb *cb)
{
	if (cb->have_usage)
		return (0);
	if (store_usage(cb->c->st, cb->user_id, &cb->usage) != STORE_OK)
		return (-1);
	cb->have_usage = 1;
	return (0);
}

static int
cb_reply_addr(void *arg, const char *sender, char *out, size_t outlen)
{
	struct cb *cb = arg;
	struct reply rp;
	enum store_status s;
	int	 n;

	s = store_reply_find(cb->c->st, cb->alias, sender, &rp);
	if (s == STORE_NOTFOUND) {
		if (cb_usage(cb) < 0)
			return (-1);
		if (cb->usage.replies + cb->new_replies >=
		    milter_g.conf->user_reply_quota) {
			cb->quota = "reply addresses";
			return (-1);
		}
		s = store_reply_get_or_create(cb->c->st, cb->alias, sender, &rp);
		cb->new_replies++;
	}
	if (s != STORE_OK)
		return (-1);
	n = snprintf(out, outlen, "%s@%s", rp.token, milter_g.conf->alias_domain);
	return (n < 0 || (size_t)n >= outlen ? -1 : 0);
}

/*
 * cb_blob_put - keep one stripped part and write the rest of its link:
 * "ID?exp=EXP&sig=SIG", EXP the blob's expiry and SIG sign_blob's MAC
 * of both, so that the link opens from a mail client without a session
 * (the dash checks the MAC, see dash_blob.c) and the id alone opens
 * nothing.
 */
static int
cb_blob_put(void *arg, const char *name, const char *type,
    const unsigned char *data, size_t len, char *ref, size_t reflen)
{
	struct cb *cb = arg;
	struct blob b;
	char	 sig[SIGN_BLOB_HEX + 1];
	int	 n;

	if (cb_usage(cb) < 0)
		return (-1);
	if (cb->usage.blob_bytes + cb->new_bytes + (int64_t)len >
	    milter_g.conf->user_blob_quota) {
		cb->quota = "kept attachments";
		return (-1);
	}
	cb->new_bytes += (int64_t)len;
	memset(&b, 0, sizeof(b));
	b.user_id = cb->user_id;
	bp_strlcpy(b.alias, cb->alias, sizeof(b.alias));
	bp_strlcpy(b.name, name, sizeof(b.name));
	bp_strlcpy(b.type, type, sizeof(b.type));
	b.size = len;
	b.data = (unsigned char *)data;
	if (store_blob_put(cb->c->st, &b, milter_g.conf->blob_ttl) != STORE_OK)
		return (-1);
	if (sign_blob(milter_g.key, milter_g.keylen, b.id, b.expires_at,
	    sig) < 0)
		return (-1);
	n = snprintf(ref, reflen, "%s?exp=%lld&sig=%s", b.id,
	    (long long)b.expires_at, sig);
	return (n < 0 || (size_t)n >= reflen ? -1 : 0);
}

/*
 * The new body goes to the MTA in pieces of BODY_CHUNK bytes.  Postfix
 * takes up to 64 KiB at a time, but Debian's miltertest (the test
 * harness of tests/milter) reads every reply into a 1 KiB buffer and
 * overruns it on a longer one; 1000 bytes costs Postfix a few more
 * messages per body and nothing else.
 */
#define BODY_CHUNK	1000

/* apply - send every change to the MTA; -1 if libmilter refused one */
static int
apply(SMFICTX *ctx, const struct rewrite_result *r, const char *env_from)
{
	size_t	 i, off;

	for (i = 0; i < r->nops; i++) {
		const struct rewrite_hdr_op *op = &r->ops[i];
		int	 rc;

		if (op->idx > 0)
			rc = smfi_chgheader(ctx, op->name, op->idx, op->value);
		else
			rc = smfi_addheader(ctx, op->name, op->value);
		if (rc != MI_SUCCESS)
			return (-1);
	}
	if (r->body_changed) {
		for (off = 0; off < r->body_len || off == 0; off += BODY_CHUNK) {
			size_t	n = r->body_len - off < BODY_CHUNK ?
			    r->body_len - off : BODY_CHUNK;

			if (smfi_replacebody(ctx, r->body + off, (int)n) != MI_SUCCESS)
				return (-1);
			if (r->body_len == 0)
				break;
		}
	}
	if (env_from && smfi_chgfrom(ctx, (char *)env_from, NULL) != MI_SUCCESS)
		return (-1);
	return (0);
}

/*
 * A notification must reach the owner's queue once, also when the same
 * message comes again: after our tempfail (say the queue failed on the
 * second of two notes, so the first is in already) or after the MTA
 * failed the message past our answer, the sender retries with the same
 * message.  So the appends are the last step that can fail (after the
 * rewrite and after every change was handed to the MTA), and each note
 * appended is remembered here for SEEN_TTL by the SHA-256 of (user,
 * Message-ID -- or the body when there is none --, position in the
 * message, bytes); a note already seen is not appended again.  The table
 * lives in this process, so a retry that reaches another MX host, or this
 * one after a restart, may still queue a note twice: at least once, never
 * lost, and in the common case exactly once.
 */
#define SEEN_MAX	4096
#define SEEN_TTL	(5 * 86400)

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	unsigned char	 digest[32];	/* note_digest */
	int64_t		 at;		/* 0 = empty */
} seen[SEEN_MAX];
static size_t seen_next;

/* note_digest - the identity of note number i of message m; -1 if the
 * digest failed */
static int
note_digest(const struct mail *m, size_t i, const char *data, size_t len,
    unsigned char digest[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int64_t	 uid = m->route.user_id;
	uint64_t pos = i;
	int	 ok;

	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(md, &uid, sizeof(uid)) &&
	    EVP_DigestUpdate(md, &pos, sizeof(pos));
	if (ok && m->msgid[0] != '\0')
		ok = EVP_DigestUpdate(md, "I", 1) &&
		    EVP_DigestUpdate(md, m->msgid, strlen(m->msgid));
	else if (ok)
		ok = EVP_DigestUpdate(md, "B", 1) &&
		    EVP_DigestUpdate(md, m->buf + m->body_off,
		    m->len - m->body_off);
	ok = ok && EVP_DigestUpdate(md, data, len) &&
	    EVP_DigestFinal_ex(md, digest, &n) && n == 32;
	EVP_MD_CTX_free(md);
	return (ok ? 0 : -1);
}

/* seen_has - was the note with this digest queued lately? */
static int
seen_has(const unsigned char digest[32])
{
	int64_t	 old = bp_now() - SEEN_TTL;
	size_t	 i;
	int	 found = 0;

	pthread_mutex_lock(&seen_lock);
	for (i = 0; i < SEEN_MAX && !found; i++)
		found = seen[i].at > old &&
		    ct_equal(seen[i].digest, 32, digest, 32);
	pthread_mutex_unlock(&seen_lock);
	return (found);
}

/* seen_add - remember a queued note (the oldest entry makes room) */
static void
seen_add(const unsigned char digest[32])
{
	pthread_mutex_lock(&seen_lock);
	memcpy(seen[seen_next].digest, digest, 32);
	seen[seen_next].at = bp_now();
	seen_next = (seen_next + 1) % SEEN_MAX;
	pthread_mutex_unlock(&seen_lock);
}

/* queue_note - append note number i of message m to its owner's queue
 * (unless it was queued already) and announce it; 0, or -1 when the
 * store failed (logged; the caller tempfails) */
static int
queue_note(SMFICTX *ctx, struct conn *c, struct mail *m, size_t i,
    const char *data, size_t len)
{
	unsigned char digest[32];
	int64_t	 idx;
	enum store_status s;
	int	 have_digest;

	have_digest = note_digest(m, i, data, len, digest) == 0;
	if (have_digest && seen_has(digest)) {
		log_info("%s: alias=%.8s note %zu queued before: not again",
		    qid(ctx), m->alias, i + 1);
		return (0);
	}
	s = store_queue_append(c->st, m->route.user_id, data, len,
	    milter_g.conf->queue_ttl, &idx);
	if (s != STORE_OK) {
		log_warn("%s: alias=%.8s notification queue: %s", qid(ctx),
		    m->alias, store_strstatus(s));
		conn_store_reset(c);
		return (-1);
	}
	if (have_digest)
		seen_add(digest);
	mail_announce(m->route.user_id, "queue", json_pack("{s:I, s:s}",
	    "index", (json_int_t)idx, "alias", m->alias));
	return (0);
}

/* refuse_limit - the permanent reply for a limit the rewrite found
 * passed, logged with its code */
static sfsistat
refuse_limit(SMFICTX *ctx, const struct mail *m, enum rewrite_status rs,
    const char *why)
{
	static const struct {
		enum rewrite_status rs;
		const char	*code, *esc, *text;
	} limits[] = {
		{ REWRITE_TOO_DEEP, "554", "5.6.0", "MIME nesting too deep" },
		{ REWRITE_TOO_MANY_PARTS, "554", "5.6.0", "Too many MIME parts" },
		{ REWRITE_TOO_MANY_HEADERS, "552", "5.3.4", "Too many header lines" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (limits[i].rs == rs)
			break;
	if (i == sizeof(limits) / sizeof(limits[0]))
		return (tempfail(ctx, "message rewrite failed, try again later"));
	log_info("%s: alias=%.8s action=reject code=%s %s (%s)", qid(ctx),
	    m->alias, limits[i].code, limits[i].esc, why ? why : limits[i].text);
	smfi_setreply(ctx, (char *)limits[i].code, (char *)limits[i].esc,
	    (char *)limits[i].text);
	return (SMFIS_REJECT);
}

/* quota_full - 452 4.2.2 for a message that would pass one of the
 * owner's quotas (what), and a "quota" event for the owner */
static sfsistat
quota_full(SMFICTX *ctx, const struct mail *m, const char *what)
{
	mail_announce(m->route.user_id, "quota", json_pack("{s:s, s:s, s:s}",
	    "what", what, "alias", m->alias, "origin", m->route.origin));
	log_info("%s: alias=%.8s action=defer code=452 4.2.2 (quota: %s)",
	    qid(ctx), m->alias, what);
	smfi_setreply(ctx, "452", "4.2.2",
	    "Mailbox full: the recipient's storage is full, try again later");
	return (SMFIS_TEMPFAIL);
}

/* eom_forward - rewrite a message for the alias owner */
static sfsistat
eom_forward(SMFICTX *ctx, struct conn *c, struct mail *m)
{
	const struct conf *cf = milter_g.conf;
	struct rewrite_env env;
	struct rewrite_result r;
	enum rewrite_status rs;
	struct cb cb;
	char	 alias_addr[REWRITE_ADDR_MAX + 1], sig[SIGN_UNSUB_HEX + 1], bounce[REWRITE_ADDR_MAX + 1];
	char	*manage, *disable, *blob_url;
	size_t	 i;
	sfsistat ret = SMFIS_CONTINUE;

	if (conn_store(c) == NULL)
		return (tempfail(ctx, "alias store unavailable"));
	memset(&cb, 0, sizeof(cb));
	cb.c = c;
	cb.user_id = m->route.user_id;
	cb.alias = m->alias;
	snprintf(alias_addr, sizeof(alias_addr), "%s@%s", m->alias, cf->alias_domain);
	if (sign_unsub(milter_g.key, milter_g.keylen, m->alias, sig) < 0 ||
	    bounce_address(milter_g.key, milter_g.keylen, m->alias,
	    bp_now(), cf->alias_domain, bounce, sizeof(bounce)) < 0)
		return (tempfail(ctx, "signing failed"));
	manage = xmalloc(strlen(cf->dash_url) + TOKEN_MAX + 32);
	sprintf(manage, "%s/#alias=%s", cf->dash_url, m->alias);
	disable = xmalloc(strlen(cf->dash_url) + TOKEN_MAX + 64);
	sprintf(disable, "%s/v1/unsubscribe/%s?sig=%s", cf->dash_url, m->alias, sig);
	blob_url = xmalloc(strlen(cf->dash_url) + 16);
	sprintf(blob_url, "%s/v1/blobs/", cf->dash_url);

	memset(&env, 0, sizeof(env));
	env.mode = REWRITE_FORWARD;
	env.alias_addr = alias_addr;
	env.origin = m->route.origin;
	env.manage_url = manage;
	env.disable_url = disable;
	env.blob_url = blob_url;
	env.brand = "BIPostal";
	env.envelope_from = m->sender;
	env.strip = m->route.content_policy == CONTENT_STRIP;
	env.max_depth = (int)cf->milter_max_depth;
	env.max_headers = (int)cf->milter_max_headers;
	env.tmpl = &milter_g.tmpl;
	env.reply_addr = cb_reply_addr;
	env.blob_put = cb_blob_put;
	env.arg = &cb;

	rs = rewrite_message(&env, m->buf, m->len, &r);
	switch (rs) {
	case REWRITE_OK:
		break;
	case REWRITE_TOO_DEEP:
	case REWRITE_TOO_MANY_PARTS:
	case REWRITE_TOO_MANY_HEADERS:
		ret = refuse_limit(ctx, m, rs, r.why);
		goto out;
	default:
		if (cb.quota != NULL) {
			ret = quota_full(ctx, m, cb.quota);
			goto out;
		}
		log_warn("%s: alias=%.8s rewrite failed: %s", qid(ctx), m->alias,
		    r.why ? r.why : "?");
		conn_store_reset(c);
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	if (r.nnotes > 0) {
		if (cb_usage(&cb) < 0) {
			conn_store_reset(c);
			ret = tempfail(ctx, "alias store unavailable");
			goto out;
		}
		if (cb.usage.queue_msgs + (int64_t)r.nnotes >
		    cf->user_queue_quota) {
			ret = quota_full(ctx, m, "notifications");
			goto out;
		}
	}
	if (apply(ctx, &r, bounce) < 0) {
		log_warn("%s: alias=%.8s the MTA refused a change", qid(ctx), m->alias);
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	for (i = 0; i < r.nnotes; i++)
		if (queue_note(ctx, c, m, i, r.notes[i].data, r.notes[i].len) < 0) {
			ret = tempfail(ctx, "notification queue unavailable");
			goto out;
		}
	later_count(m->alias, COUNT_FORWARDED);
	mail_event(&m->route, m->alias, "forward");
	log_info("%s: alias=%.8s action=forward size=%zu blobs=%zu notes=%zu",
	    qid(ctx), m->alias, m->len, r.nblobs, r.nnotes);
out:
	rewrite_result_free(&r);
	free(manage);
	free(disable);
	free(blob_url);
	return (ret);
}

/* stranger_domain - the domain of whoever sent a refused reply (the
 * envelope sender, else From, whichever is not the owner's), printable
 * and cut, for the owner's event and the log; "" when both claim to be
 * the owner (DMARC said otherwise) */
static void
stranger_domain(char *out, size_t size, const struct mail *m,
    const char *from)
{
	const char *a = m->sender, *at;
	size_t	 n = 0;

	if (*a == '\0' || strcasecmp(a, m->route.email) == 0)
		a = strcasecmp(from, m->route.email) == 0 ? "" : from;
	at = strrchr(a, '@');
	for (at = at ? at + 1 : ""; *at && n + 1 < size && n < 253; at++)
		out[n++] = (isalnum((unsigned char)*at) || *at == '.' ||
		    *at == '-') ? *at : '?';
	out[n] = '\0';
}

/* reply_refused - a reply its owner did not send, or that failed
 * DMARC: discarded (the sender learns nothing), logged and announced
 * to the owner with the sender's domain alone, never forwarded */
static sfsistat
reply_refused(SMFICTX *ctx, const struct mail *m, const char *from,
    const char *why)
{
	char	 dom[256];

	stranger_domain(dom, sizeof(dom), m, from);
	mail_announce(m->route.user_id, "mail", json_pack(
	    "{s:s, s:s, s:s, s:s, s:s}", "action", "reply_refused", "alias",
	    m->alias, "origin", m->route.origin, "sender_domain", dom,
	    "reason", why));
	log_info("%s: reply=%.8s action=discard (%s) sender_domain=%s",
	    qid(ctx), m->token, why, dom[0] ? dom : "none");
	return (SMFIS_DISCARD);
}

/* reply_dmarc - the trusted verifier's DMARC verdict on the owner's
 * domain, from the topmost Authentication-Results; *why static */
static enum authres_dmarc
reply_dmarc(const struct mail *m, const char **why)
{
	const char *v = NULL, *at = strrchr(m->route.email, '@');
	size_t	 vlen = 0;

	if (!authres_top(m->buf, m->len, &v, &vlen))
		v = NULL;
	return (authres_dmarc(v, vlen, milter_g.conf->milter_trusted_authserv,
	    at ? at + 1 : "", why));
}

/*
 * eom_reply - a reply, out from the alias when its owner sent it.  The
 * order keeps the answer a stranger gets free of the owner: limits and
 * internal errors (the content's alone), then a missing verdict
 * (tempfail), then the sender: not the owner, or DMARC fail, is a
 * discard (250, as if sent).  Only the owner can then be refused for
 * what the reply holds (550 5.7.1, which their own server bounces to
 * them).
 */
static sfsistat
eom_reply(SMFICTX *ctx, struct conn *c, struct mail *m)
{
	const struct conf *cf = milter_g.conf;
	struct rewrite_env env;
	struct rewrite_result r;
	struct rewrite_reply_out out;
	enum rewrite_status rs;
	enum authres_dmarc dm = AUTHRES_DMARC_NONE;
	const char *why = NULL;
	char	 alias_addr[REWRITE_ADDR_MAX + 1];
	sfsistat ret = SMFIS_CONTINUE;

	snprintf(alias_addr, sizeof(alias_addr), "%s@%s", m->alias, cf->alias_domain);
	memset(&env, 0, sizeof(env));
	memset(&out, 0, sizeof(out));
	env.mode = REWRITE_REPLY;
	env.alias_addr = alias_addr;
	env.origin = m->route.origin;
	env.brand = "BIPostal";
	env.max_depth = (int)cf->milter_max_depth;
	env.max_headers = (int)cf->milter_max_headers;
	env.tmpl = &milter_g.tmpl;
	env.owner = m->route.email;
	env.recipient = m->site;
	env.trusted_authserv = cf->milter_trusted_authserv;
	env.key = milter_g.key;
	env.keylen = milter_g.keylen;
	env.reply_out = &out;

	rs = rewrite_message(&env, m->buf, m->len, &r);
	if (rs == REWRITE_TOO_MANY_HEADERS || rs == REWRITE_TOO_DEEP ||
	    rs == REWRITE_TOO_MANY_PARTS) {
		ret = refuse_limit(ctx, m, rs, r.why);
		goto out;
	}
	if (rs != REWRITE_OK && out.refused == NULL) {
		log_warn("%s: reply=%.8s rewrite failed: %s", qid(ctx), m->token,
		    r.why ? r.why : "?");
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	if (cf->milter_trusted_authserv[0] != '\0' &&
	    (dm = reply_dmarc(m, &why)) == AUTHRES_DMARC_TEMP) {
		log_info("%s: reply=%.8s dmarc=temp (%s)", qid(ctx), m->token, why);
		ret = tempfail(ctx, "sender authentication unavailable, try "
		    "again later");
		goto out;
	}
	if (strcasecmp(m->sender, m->route.email) != 0 ||
	    strcasecmp(out.from_addr, m->route.email) != 0) {
		ret = reply_refused(ctx, m, out.from_addr, "not from the owner");
		goto out;
	}
	if (dm == AUTHRES_DMARC_FAIL) {
		ret = reply_refused(ctx, m, out.from_addr, why);
		goto out;
	}
	if (rs != REWRITE_OK) {
		log_info("%s: reply=%.8s action=reject code=550 5.7.1 (%s)",
		    qid(ctx), m->token, out.refused);
		smfi_setreply(ctx, "550", "5.7.1", (char *)out.refused);
		ret = SMFIS_REJECT;
		goto out;
	}
	if (apply(ctx, &r, alias_addr) < 0) {
		ret = tempfail(ctx, "message rewrite failed, try again later");
		goto out;
	}
	later_count(m->alias, COUNT_REPLIED);
	log_info("%s: alias=%.8s action=reply size=%zu dmarc=%s", qid(ctx),
	    m->alias, m->len, cf->milter_trusted_authserv[0] != '\0' ?
	    authres_strdmarc(dm) : "unchecked");
out:
	rewrite_result_free(&r);
	return (ret);
}

/* eom_bounce - a DSN for mail we forwarded: a notification for the
 * owner instead, and the DSN itself discarded */
static sfsistat
eom_bounce(SMFICTX *ctx, struct conn *c, struct mail *m)
{
	struct rewrite_dsn d;
	char	 site[ORIGIN_MAX + 1], text[600], *note;
	json_t	*o;
	const char *what;

	rewrite_dsn(m->buf, m->len, &d);
	if (m->route.user_id == 0 || !route_live(&m->route, bp_now())) {
		log_info("%s: alias=%.8s action=discard (bounce for a gone alias)",
		    qid(ctx), m->alias);
		return (SMFIS_DISCARD);
	}
	if (d.kind == DSN_AUTOREPLY || d.kind == DSN_OTHER) {
		log_info("%s: alias=%.8s action=discard (%s to a bounce address)",
		    qid(ctx), m->alias, d.kind == DSN_AUTOREPLY ? "auto-reply" :
		    "success notice");
		return (SMFIS_DISCARD);
	}
	if (conn_store(c) == NULL)
		return (tempfail(ctx, "alias store unavailable"));
	what = d.kind == DSN_DELAYED ? "is delayed on its way" :
	    "could not be delivered";
	bp_strlcpy(site, m->route.origin[0] ? m->route.origin : "a site",
	    sizeof(site));
	snprintf(text, sizeof(text), "Mail from %s to your alias %s@%s "
	    "%s to your mailbox%s%s%s.", site, m->alias,
	    milter_g.conf->alias_domain, what, d.status[0] ? " (" : "",
	    d.status, d.status[0] ? ")" : "");
	o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "type", "bounce",
	    "alias", m->alias, "origin", m->route.origin, "status", d.status,
	    "delayed", d.kind == DSN_DELAYED, "text", text);
	note = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (note == NULL)
		return (tempfail(ctx, "notification cannot be made"));
	if (queue_note(ctx, c, m, 0, note, strlen(note)) < 0) {
		free(note);
		return (tempfail(ctx, "notification queue unavailable"));
	}
	free(note);
	mail_event(&m->route, m->alias, "bounce");
	log_info("%s: alias=%.8s action=bounce status=%s%s", qid(ctx), m->alias,
	    d.status[0] ? d.status : "unknown",
	    d.kind == DSN_DELAYED ? " (delayed)" : "");
	return (SMFIS_DISCARD);
}

/* eom_from_blocked - the header From of a message to forward, when the
 * alias's owner blocks it (the envelope sender was judged at RCPT):
 * discarded, or refused with 550 5.7.1, as the owner chose for disabled
 * aliases, and counted as blocked.  1 with *ret when so (a store that
 * cannot say: tempfail), 0 to forward. */
static int
eom_from_blocked(SMFICTX *ctx, struct conn *c, struct mail *m, sfsistat *ret)
{
	char	 from[REWRITE_ADDR_MAX + 1];
	int	 b;

	if (m->hfrom[0] == '\0' ||
	    rewrite_mailbox(m->hfrom, from, sizeof(from)) < 0 ||
	    strcasecmp(from, m->sender) == 0 ||
	    (b = block_sender(ctx, c, from, "from")) == 0)
		return (0);
	if (b < 0)
		*ret = tempfail(ctx, "alias store unavailable");
	else if (m->route.disabled_action == DISABLED_REJECT) {
		block_once(ctx, m, &m->route, m->alias, "reject",
		    "blocked sender");
		smfi_setreply(ctx, "550", "5.7.1", BLOCKED_TEXT);
		*ret = SMFIS_REJECT;
	} else {
		block_once(ctx, m, &m->route, m->alias, "discard",
		    "blocked sender");
		*ret = SMFIS_DISCARD;
	}
	return (1);
}

/* mlfi_eom - compute everything, then apply it */
sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	struct mail *m;
	sfsistat ret;

	if (c == NULL || c->mail == NULL)
		return (tempfail(ctx, "milter state lost"));
	m = c->mail;
	if (m->refuse != NULL && m->kind != MAIL_DISCARD &&
	    m->kind != MAIL_BOUNCE) {
		log_info("%s: alias=%.8s action=reject code=552 5.3.4 (%s)",
		    qid(ctx), m->alias, m->refuse);
		smfi_setreply(ctx, "552", "5.3.4", (char *)m->refuse);
		mail_free(c->mail);
		c->mail = NULL;
		return (SMFIS_REJECT);
	}
	switch (m->kind) {
	case MAIL_FORWARD:
		if (!eom_from_blocked(ctx, c, m, &ret))
			ret = eom_forward(ctx, c, m);
		break;
	case MAIL_REPLY:
		ret = eom_reply(ctx, c, m);
		break;
	case MAIL_BOUNCE:
		ret = eom_bounce(ctx, c, m);
		break;
	case MAIL_DISCARD:
		block_once(ctx, m, &m->route, m->alias, "discard",
		    m->why != NULL ? m->why : "disabled");
		ret = SMFIS_DISCARD;
		break;
	default:
		ret = SMFIS_CONTINUE;
		break;
	}
	mail_free(c->mail);
	c->mail = NULL;
	return (ret);
}
