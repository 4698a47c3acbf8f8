/*
 * milter_reply.c - the rewrite of an owner's reply (owner -> reply
 * address -> site): its header fields and its ids, and the order of the
 * whole; see milter_rewrite.h for the interface
 *
 * The site must learn nothing of the owner but what they wrote.
 *
 * Header fields, by allowlist.  From becomes the alias and To the site;
 * Subject stays, with the owner's address in it turned into the alias;
 * Date keeps its instant, written in UTC (the zone tells where the owner
 * lives); Message-ID is new: <hex@alias_domain>, hex from
 * HMAC-SHA256(secret key, the original id), the same each time for the
 * same id; In-Reply-To and References keep the ids of others and map
 * the owner's (on the owner's domain or below it, or on the domain of
 * the reply's own Message-ID) the same way, so that a thread holds
 * together and the owner's domain never shows; MIME-Version is "1.0"
 * (clients sign it with their name); the top part's Content-* fields
 * stay, or are written anew when the body changed.  Every other field
 * goes: Cc, Bcc, Received, X-*, User-Agent, DKIM and ARC signatures,
 * Authentication-Results, Organization, Autocrypt, OpenPGP, and
 * whatever a client invents next.
 *
 * The body is milter_reply_body.c's: signatures, keys and encrypted
 * content, the owner's address in every text part, Content-IDs, part
 * fields and boundaries.
 *
 * Last, the check: if the owner's address still shows in a field the
 * reply keeps, in a part's fields, in a decoded part or in an attached
 * message, the reply is refused rather than sent.
 *
 * The driver (milter_rewrite.c) hands over the message it parsed and
 * its header fields; reply_rewrite() rewrites the body (reply_body),
 * then the fields, then has the new body written (reply_body_out, with
 * the driver's body_write()).  refuse(), stop(), id_map(), id_owners()
 * and the refusal texts serve milter_reply_body.c as well.
 *
 * Failure: rw->status REWRITE_TEMP with the reason in rw->res->why for an
 * internal error or for a refusal (then also in env->reply_out->refused,
 * a static text for the 550 5.7.1), REWRITE_TOO_DEEP and
 * REWRITE_TOO_MANY_PARTS for the limits.  Ownership: what is allocated
 * here is freed here; the result holds copies (op_add).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "milter_authres.h"
#include "milter_rewrite_int.h"
#include "sign.h"
#include "util.h"

#define REPLY_ID_BYTES	16		/* of the MAC in an id we write */

/* Refusals: the text of the 550 5.7.1, which the owner's own server
 * puts into the bounce it sends them. */
const char R_ENCRYPTED[] = "Encrypted mail cannot be sent through "
    "an alias: send the reply unencrypted";
const char R_PGP[] = "Inline PGP names your key: send the reply "
    "without it";
const char R_SIGNED[] = "A signed reply without its signed content "
    "cannot be sent";
const char R_LEAK[] = "The reply still shows your own address: "
    "remove it and send again";

/* the fields a reply keeps, each once (the first) */
enum kept {
	K_FROM, K_TO, K_SUBJECT, K_DATE, K_MSGID, K_IRT, K_REFS, K_MIMEV,
	K_NONE,
};
static const char *const kept_name[] = {
	[K_FROM] = "From", [K_TO] = "To", [K_SUBJECT] = "Subject",
	[K_DATE] = "Date", [K_MSGID] = "Message-ID",
	[K_IRT] = "In-Reply-To", [K_REFS] = "References",
	[K_MIMEV] = "MIME-Version",
};

/* refuse - the reply must not leave; the first reason counts */
void
refuse(struct reply *rp, const char *why)
{
	if (rp->refused == NULL)
		rp->refused = why;
}

/* stop - end the rewrite with a status and its reason */
void
stop(struct reply *rp, enum rewrite_status st, const char *why)
{
	if (rp->rw->status == REWRITE_OK) {
		rp->rw->status = st;
		rp->rw->res->why = why;
	}
}

/* ------------------------------------------------------------ the ids */

/* hex_id - "hex@domain" of n bytes; new */
static char *
hex_id(const unsigned char *b, size_t n, const char *domain)
{
	static const char digit[] = "0123456789abcdef";
	GString *s = g_string_sized_new(2 * n + strlen(domain) + 2);
	size_t	 i;

	for (i = 0; i < n; i++) {
		g_string_append_c(s, digit[b[i] >> 4]);
		g_string_append_c(s, digit[b[i] & 15]);
	}
	g_string_append_c(s, '@');
	g_string_append(s, domain);
	return (g_string_free(s, FALSE));
}

/* id_map - the id that stands for id on the alias domain: the first
 * REPLY_ID_BYTES of HMAC-SHA256(key, "reply-id:" id) (sign_reply_id), its
 * right-hand side folded to lower case; new, or NULL (rp->temp) */
char *
id_map(struct reply *rp, const char *id)
{
	const struct rewrite_env *env = rp->rw->env;
	unsigned char md[REPLY_ID_BYTES];
	char	*norm = g_strdup(id), *p, *out = NULL;

	if ((p = strrchr(norm, '@')) != NULL)
		for (; *p; p++)
			*p = g_ascii_tolower(*p);
	if (sign_reply_id(env->key, env->keylen, norm, md, sizeof(md)) == 0)
		out = hex_id(md, REPLY_ID_BYTES, rp->alias_domain);
	else
		rp->temp = "message id MAC failed";
	g_free(norm);
	return (out);
}

/* id_fresh - a random id on the alias domain, for a reply without a
 * Message-ID; new, or NULL (rp->temp) */
static char *
id_fresh(struct reply *rp)
{
	unsigned char b[REPLY_ID_BYTES];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		rp->temp = "no random bytes";
		return (NULL);
	}
	return (hex_id(b, sizeof(b), rp->alias_domain));
}

/* under - domain d is dom or below it */
static int
under(const char *d, const char *dom)
{
	size_t	 ld = strlen(d), lo = strlen(dom);

	if (lo == 0 || ld < lo || g_ascii_strcasecmp(d + ld - lo, dom) != 0)
		return (0);
	return (ld == lo || d[ld - lo - 1] == '.');
}

/* id_owners - an id the owner's side made: on the owner's domain or
 * below it, or on that of the reply's own Message-ID; never one of ours */
int
id_owners(const struct reply *rp, const char *id)
{
	const char *at = strrchr(id, '@');

	if (at == NULL || at[1] == '\0' ||
	    g_ascii_strcasecmp(at + 1, rp->alias_domain) == 0)
		return (0);
	return (under(at + 1, rp->owner_domain) ||
	    (rp->own_rhs != NULL && under(at + 1, rp->own_rhs)));
}

/* map_ids - In-Reply-To or References: every id, the owner's mapped,
 * comments and junk left out; "<a> <b>" new (g_free), or NULL when no
 * id is left (the field goes) */
static char *
map_ids(struct reply *rp, const char *raw)
{
	GMimeReferences *refs = g_mime_references_parse(NULL, raw);
	GString *out = g_string_new(NULL);
	int	 i, n = refs ? g_mime_references_length(refs) : 0;

	for (i = 0; i < n && rp->temp == NULL; i++) {
		const char *id = g_mime_references_get_message_id(refs, i);
		char	*m = NULL;

		if (id == NULL || *id == '\0')
			continue;
		if (id_owners(rp, id) && (m = id_map(rp, id)) == NULL)
			break;
		g_string_append_printf(out, "%s<%s>", out->len ? " " : "",
		    m ? m : id);
		g_free(m);
	}
	if (refs)
		g_mime_references_free(refs);
	if (out->len == 0 || rp->temp != NULL) {
		g_string_free(out, TRUE);
		return (NULL);
	}
	return (g_string_free(out, FALSE));
}

/* date_utc - the instant of a Date field written in UTC (now when there
 * is none or it cannot be read); new (g_free) */
static char *
date_utc(const char *raw)
{
	GDateTime *d = raw ? g_mime_utils_header_decode_date(raw) : NULL, *u;
	char	*s;

	if (d == NULL)
		d = g_date_time_new_now_utc();
	u = g_date_time_to_utc(d);
	s = g_mime_utils_header_format_date(u);
	g_date_time_unref(u);
	g_date_time_unref(d);
	return (s);
}

/* ---------------------------------------------------------- the fields */

/* kept_field - which kept field name is, K_NONE if it goes */
static enum kept
kept_field(const char *name)
{
	int	 k;

	for (k = 0; k < K_NONE; k++)
		if (g_ascii_strcasecmp(name, kept_name[k]) == 0)
			return ((enum kept)k);
	return (K_NONE);
}

/* reply_from - the address of the one mailbox of the one From field,
 * or "" */
static void
reply_from(struct hdr *h, size_t nh, char *out, size_t size)
{
	InternetAddressList *l;
	InternetAddress *ia;
	const char *raw = NULL, *a;
	size_t	 i;
	int	 nfrom = 0;

	out[0] = '\0';
	for (i = 0; i < nh; i++)
		if (g_ascii_strcasecmp(h[i].name, "From") == 0 && nfrom++ == 0)
			raw = h[i].raw;
	if (nfrom != 1 || (l = internet_address_list_parse(NULL, raw)) == NULL)
		return;
	if (internet_address_list_length(l) == 1) {
		ia = internet_address_list_get_address(l, 0);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia) &&
		    (a = internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(ia))) != NULL && strchr(a, '@'))
			bp_strlcpy(out, a, size);
	}
	g_object_unref(l);
}

/* field_new - the value kept field k (first occurrence, raw value)
 * gets; new (free); NULL: it goes, or it stays as it is (*keep) */
static char *
field_new(struct reply *rp, enum kept k, const char *raw, int *keep)
{
	const struct rewrite_env *env = rp->rw->env;
	char	*s, *t, *v = NULL;

	*keep = 0;
	switch (k) {
	case K_FROM:
		return (xstrdup(env->alias_addr));
	case K_TO:
		return (env->recipient ? xstrdup(env->recipient) : NULL);
	case K_SUBJECT:
		t = unfold(raw);	/* raw ends in its line end */
		s = g_mime_utils_header_decode_text(NULL, t);
		free(t);
		if ((t = substitute(rp, s, strlen(s), 0)) == NULL)
			*keep = 1;
		else {
			g_free(s);
			s = g_mime_utils_header_encode_text(NULL, t, NULL);
			v = unfold(s);
			g_free(t);
		}
		g_free(s);
		return (v);
	case K_DATE:
		s = date_utc(raw);
		v = xstrdup(s);
		g_free(s);
		return (v);
	case K_MSGID:
		return (NULL);		/* written after the walk */
	case K_IRT:
	case K_REFS:
		if ((s = map_ids(rp, raw)) != NULL) {
			v = xstrdup(s);
			g_free(s);
		}
		return (v);
	case K_MIMEV:
		return (xstrdup("1.0"));
	default:
		return (NULL);
	}
}

/* msgid_new - the reply's Message-ID: its original mapped, or a fresh
 * one; "<id>" new (free), or NULL (rp->temp) */
static char *
msgid_new(struct reply *rp, const char *orig)
{
	char	*id = orig ? id_map(rp, orig) : id_fresh(rp), *v;

	if (id == NULL)
		return (NULL);
	v = xmalloc(strlen(id) + 3);
	sprintf(v, "<%s>", id);
	g_free(id);
	return (v);
}

/* fields - every field by the allowlist; the top part's Content-*
 * fields go too when the body is written anew */
static void
fields(struct reply *rp, struct hdr *h, size_t nh, const char *orig_id,
    int *have_mimev)
{
	const struct rewrite_env *env = rp->rw->env;
	int	 seen[K_NONE] = { 0 }, keep;
	enum kept k;
	size_t	 i;
	char	*v;

	for (i = 0; i < nh && rp->temp == NULL; i++) {
		if (g_ascii_strncasecmp(h[i].name, "Content-", 8) == 0) {
			if (rp->changed)
				op_add(rp->rw, h[i].name, h[i].idx, NULL);
			continue;
		}
		k = kept_field(h[i].name);
		if (k == K_NONE || seen[k]++) {
			op_add(rp->rw, h[i].name, h[i].idx, NULL);
			continue;
		}
		if (k == K_MSGID)
			v = msgid_new(rp, orig_id);
		else
			v = field_new(rp, k, h[i].raw, &keep);
		if (k == K_SUBJECT && keep) {
			if (value_leaks(rp, h[i].raw))
				refuse(rp, R_LEAK);
			continue;
		}
		if (v != NULL && value_leaks(rp, v))
			refuse(rp, R_LEAK);
		op_add(rp->rw, h[i].name, h[i].idx, v);	/* NULL: delete */
		free(v);
	}
	if (rp->temp != NULL)
		return;
	if (!seen[K_FROM])
		op_add(rp->rw, "From", 0, env->alias_addr);
	if (!seen[K_TO] && env->recipient)
		op_add(rp->rw, "To", 0, env->recipient);
	if (!seen[K_DATE] && (v = date_utc(NULL)) != NULL) {
		op_add(rp->rw, "Date", 0, v);
		g_free(v);
	}
	if (!seen[K_MSGID] && (v = msgid_new(rp, NULL)) != NULL) {
		op_add(rp->rw, "Message-ID", 0, v);
		free(v);
	}
	*have_mimev = seen[K_MIMEV] > 0;
}

/* first_value - the raw value of the first field named name, or NULL */
static const char *
first_value(struct hdr *h, size_t nh, const char *name)
{
	size_t	 i;

	for (i = 0; i < nh; i++)
		if (g_ascii_strcasecmp(h[i].name, name) == 0)
			return (h[i].raw);
	return (NULL);
}

/* sub_free - GDestroyNotify for rp->subs */
static void
sub_free(gpointer p)
{
	struct sub *sb = p;

	g_free(sb->from);
	g_free(sb->to);
	g_free(sb);
}

/* raw_leak - does the owner's address show in the bytes the site would
 * get (the new body, or the body as it came when it is kept), any case?
 * The checks before read what parses; this one reads what is sent, so a
 * part whose encoding does not decode (bad base64, say) cannot carry
 * the address past them */
static int
raw_leak(struct reply *rp, GMimeMessage *m)
{
	const struct rewrite_result *res = rp->rw->res;
	size_t	 n = strlen(rp->owner), i;
	int	 found = 0;
	GByteArray *ba = NULL;
	GMimeStream *mem = NULL;
	const unsigned char *p;
	size_t	 len;

	if (res->body_changed) {
		p = res->body;
		len = res->body_len;
	} else if (g_mime_message_get_mime_part(m) != NULL) {
		mem = g_mime_stream_mem_new();
		g_mime_object_write_content_to_stream(
		    g_mime_message_get_mime_part(m), NULL, mem);
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		p = ba->data;
		len = ba->len;
	} else
		return (0);
	for (i = 0; n > 0 && i + n <= len && !found; i++)
		found = g_ascii_strncasecmp((const char *)p + i, rp->owner,
		    n) == 0;
	if (mem != NULL)
		g_object_unref(mem);
	return (found);
}

/* reply_rewrite - see milter_rewrite_int.h: the whole reply rewrite */
void
reply_rewrite(struct rw *rw, GMimeMessage *m, struct hdr *h, size_t nh)
{
	const struct rewrite_env *env = rw->env;
	struct reply rp;
	struct sub *own;
	const char *ar, *why, *at;
	char	*orig_id = NULL, from[REWRITE_ADDR_MAX + 1];
	int	 have_mimev = 0;

	memset(&rp, 0, sizeof(rp));
	rp.rw = rw;
	rp.owner = env->owner;
	at = env->alias_addr ? strrchr(env->alias_addr, '@') : NULL;
	rp.alias_domain = at ? at + 1 : "";
	at = env->owner ? strrchr(env->owner, '@') : NULL;
	rp.owner_domain = at ? at + 1 : "";
	rp.subs = g_ptr_array_new_with_free_func(sub_free);

	reply_from(h, nh, from, sizeof(from));
	bp_strlcpy(rw->res->from_addr, from, sizeof(rw->res->from_addr));
	if (env->reply_out != NULL) {
		memset(env->reply_out, 0, sizeof(*env->reply_out));
		bp_strlcpy(env->reply_out->from_addr, from,
		    sizeof(env->reply_out->from_addr));
	}
	if ((ar = first_value(h, nh, "Authentication-Results")) != NULL &&
	    env->trusted_authserv != NULL && *env->trusted_authserv &&
	    authres_dmarc(ar, strlen(ar), env->trusted_authserv,
	    rp.owner_domain, &why) == AUTHRES_DMARC_PASS)
		rw->res->dmarc_pass = 1;

	if (env->key == NULL || env->keylen == 0 ||
	    *rp.owner_domain == '\0' || *rp.alias_domain == '\0') {
		stop(&rp, REWRITE_TEMP, "reply mode needs the key, the owner "
		    "and the alias");
		goto done;
	}
	own = g_new0(struct sub, 1);
	own->from = g_strdup(env->owner);
	own->to = g_strdup(env->alias_addr);
	g_ptr_array_add(rp.subs, own);
	if (first_value(h, nh, "Message-ID") != NULL &&
	    (orig_id = g_mime_utils_decode_message_id(
	    first_value(h, nh, "Message-ID"))) != NULL && *orig_id != '\0' &&
	    (at = strrchr(orig_id, '@')) != NULL && at[1] != '\0' &&
	    g_ascii_strcasecmp(at + 1, rp.alias_domain) != 0)
		rp.own_rhs = g_strdup(at + 1);
	if (orig_id != NULL && *orig_id == '\0') {
		g_free(orig_id);
		orig_id = NULL;
	}
	reply_body(&rp, m);
	if (rw->status != REWRITE_OK || rp.refused || rp.temp)
		goto done;
	fields(&rp, h, nh, orig_id, &have_mimev);
	if (rp.changed && rp.refused == NULL && rp.temp == NULL)
		reply_body_out(&rp, m, have_mimev);
	if (rp.refused == NULL && rp.temp == NULL && raw_leak(&rp, m))
		refuse(&rp, R_LEAK);
done:
	if (rp.temp != NULL)
		stop(&rp, REWRITE_TEMP, rp.temp);
	else if (rp.refused != NULL) {
		stop(&rp, REWRITE_TEMP, rp.refused);
		if (env->reply_out != NULL)
			env->reply_out->refused = rp.refused;
	}
	g_ptr_array_free(rp.subs, TRUE);
	g_free(rp.own_rhs);
	g_free(orig_id);
}
