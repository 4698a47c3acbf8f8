/*
 * milter_reply.c - the rewrite of an owner's reply (owner -> reply
 * address -> site); see milter_rewrite.h for the interface
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
 * Body.  multipart/signed (PGP or S/MIME) becomes its signed content,
 * since the signature names the owner; a stray signature or an attached
 * key is dropped; multipart/encrypted, application/pkcs7-mime and inline
 * PGP are refused: they cannot be read, and they name a key.  In every
 * text part at any depth, the owner's address becomes the alias, in any
 * case, also written with %40 or with an HTML character reference (&#64;
 * &#x40; &commat;, for any of its characters).  Content-IDs on the
 * owner's domain are mapped like Message-IDs, and their cid: links in
 * HTML with them.  Part fields other than Content-* are removed, and each
 * multipart gets a new boundary and loses its preamble and epilogue (a
 * client's boundaries identify it as well as its User-Agent does).
 *
 * Last, the check: if the owner's address still shows in a field the
 * reply keeps, in a part's fields, in a decoded part or in an attached
 * message, the reply is refused rather than sent.
 *
 * The driver (milter_rewrite.c) hands over the message it parsed and
 * its header fields; the new body is written by its body_write().
 *
 * Failure: rw->status REWRITE_TEMP with the reason in rw->res->why for an
 * internal error or for a refusal (then also in env->reply_out->refused,
 * a static text for the 550 5.7.1), REWRITE_TOO_DEEP and
 * REWRITE_TOO_MANY_PARTS for the limits.  Ownership: what is allocated
 * here is freed here; the result holds copies (op_add).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "milter_authres.h"
#include "milter_rewrite_int.h"
#include "util.h"

#define REPLY_ID_BYTES	16		/* of the MAC in an id we write */

/* Refusals: the text of the 550 5.7.1, which the owner's own server
 * puts into the bounce it sends them. */
static const char R_ENCRYPTED[] = "Encrypted mail cannot be sent through "
    "an alias: send the reply unencrypted";
static const char R_PGP[] = "Inline PGP names your key: send the reply "
    "without it";
static const char R_SIGNED[] = "A signed reply without its signed content "
    "cannot be sent";
static const char R_LEAK[] = "The reply still shows your own address: "
    "remove it and send again";

struct sub {				/* one replacement in text */
	char	*from;
	char	*to;
	int	 html_only;		/* cid: links */
};

struct reply {				/* state of one reply rewrite */
	struct rw	*rw;
	const char	*owner;
	const char	*alias_domain;
	const char	*owner_domain;
	char		*own_rhs;	/* of the reply's Message-ID, or NULL */
	GPtrArray	*subs;		/* struct sub *; [0] is the owner's */
	int		 parts;
	int		 changed;	/* the body is written anew */
	const char	*refused;	/* R_* */
	const char	*temp;		/* internal failure */
};

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
static void
refuse(struct reply *rp, const char *why)
{
	if (rp->refused == NULL)
		rp->refused = why;
}

/* stop - end the rewrite with a status and its reason */
static void
stop(struct reply *rp, enum rewrite_status st, const char *why)
{
	if (rp->rw->status == REWRITE_OK) {
		rp->rw->status = st;
		rp->rw->res->why = why;
	}
}

/* ---------------------------------------------- the owner's address */

/* hexval - the value of a hex digit, or -1 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = g_ascii_tolower(c);
	return (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
}

/* char_ref - an HTML character reference at s: its length and the
 * character in *c (-1 for one outside ASCII), or 0 if there is none */
static size_t
char_ref(const char *s, size_t len, int *c)
{
	static const struct {
		const char	*name;
		int		 c;
	} named[] = {
		{ "&commat;", '@' }, { "&period;", '.' }, { "&lowbar;", '_' },
		{ "&plus;", '+' }, { "&hyphen;", '-' }, { "&amp;", '&' },
	};
	size_t	 i, k, n;
	long	 v = 0;
	int	 base = 10, d, digits = 0;

	for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
		n = strlen(named[k].name);
		if (len >= n && g_ascii_strncasecmp(s, named[k].name, n) == 0) {
			*c = named[k].c;
			return (n);
		}
	}
	if (len < 3 || s[1] != '#')
		return (0);
	i = 2;
	if (s[2] == 'x' || s[2] == 'X') {
		base = 16;
		i = 3;
	}
	/* any number of digits, as browsers read them */
	for (; i < len; i++, digits++) {
		d = base == 16 ? hexval((unsigned char)s[i]) :
		    (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
		if (d < 0)
			break;
		if (v <= 0x10ffff)
			v = v * base + d;
	}
	if (digits == 0)
		return (0);
	if (i < len && s[i] == ';')
		i++;
	*c = v <= 0x7f ? (int)v : -1;
	return (i);
}

/* one_char - the character written at s[i] and the bytes it takes:
 * itself, %HH, or an HTML character reference */
static size_t
one_char(const char *s, size_t len, size_t i, int *c)
{
	size_t	 n;

	if (s[i] == '%' && len - i > 2 && hexval((unsigned char)s[i + 1]) >= 0 &&
	    hexval((unsigned char)s[i + 2]) >= 0) {
		*c = 16 * hexval((unsigned char)s[i + 1]) +
		    hexval((unsigned char)s[i + 2]);
		return (3);
	}
	if (s[i] == '&' && (n = char_ref(s + i, len - i, c)) > 0)
		return (n);
	*c = (unsigned char)s[i];
	return (1);
}

/* match_at - the bytes needle takes at s[i], in any case and in any of
 * the forms one_char reads; 0 if it is not there */
static size_t
match_at(const char *s, size_t len, size_t i, const char *needle)
{
	size_t	 j = i;
	int	 c;

	if (*needle == '\0')
		return (0);
	for (; *needle; needle++) {
		if (j >= len)
			return (0);
		j += one_char(s, len, j, &c);
		if (c < 0 || g_ascii_tolower(c) !=
		    g_ascii_tolower((unsigned char)*needle))
			return (0);
	}
	return (j - i);
}

/* has_owner - the owner's address anywhere in s[0..len) */
static int
has_owner(const struct reply *rp, const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (match_at(s, len, i, rp->owner) > 0)
			return (1);
	return (0);
}

/* substitute - text with the owner's address turned into the alias
 * (and, in HTML, the mapped cid: links); new (g_free), or NULL when
 * nothing changed */
static char *
substitute(const struct reply *rp, const char *text, size_t len, int html)
{
	GString *out = NULL;
	const struct sub *hit;
	size_t	 i = 0, start = 0, n = 0;
	guint	 k;

	while (i < len) {
		for (hit = NULL, k = 0; k < rp->subs->len && hit == NULL; k++) {
			const struct sub *sb = g_ptr_array_index(rp->subs, k);

			if ((html || !sb->html_only) &&
			    (n = match_at(text, len, i, sb->from)) > 0)
				hit = sb;
		}
		if (hit == NULL) {
			i++;
			continue;
		}
		if (out == NULL)
			out = g_string_sized_new(len + 64);
		g_string_append_len(out, text + start, (gssize)(i - start));
		g_string_append(out, hit->to);
		i += n;
		start = i;
	}
	if (out == NULL)
		return (NULL);
	g_string_append_len(out, text + start, (gssize)(len - start));
	return (g_string_free(out, FALSE));
}

/* value_leaks - the owner's address in a field value, as written or
 * RFC 2047-decoded */
static int
value_leaks(const struct reply *rp, const char *v)
{
	char	*dec;
	int	 found;

	if (v == NULL)
		return (0);
	if (has_owner(rp, v, strlen(v)))
		return (1);
	dec = g_mime_utils_header_decode_text(NULL, v);
	found = dec != NULL && has_owner(rp, dec, strlen(dec));
	g_free(dec);
	return (found);
}

/* fields_leak - the owner's address in any field of a list */
static int
fields_leak(const struct reply *rp, GMimeHeaderList *hl)
{
	int	 i, n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (i = 0; i < n; i++) {
		GMimeHeader *gh = g_mime_header_list_get_header_at(hl, i);

		if (value_leaks(rp, g_mime_header_get_raw_value(gh)) ||
		    value_leaks(rp, g_mime_header_get_value(gh)))
			return (1);
	}
	return (0);
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
 * REPLY_ID_BYTES of HMAC-SHA256(key, "reply-id:" id), its right-hand
 * side folded to lower case; new, or NULL (rp->temp) */
static char *
id_map(struct reply *rp, const char *id)
{
	const struct rewrite_env *env = rp->rw->env;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char	*norm = g_strdup_printf("reply-id:%s", id), *p, *out = NULL;

	if ((p = strrchr(norm, '@')) != NULL)
		for (; *p; p++)
			*p = g_ascii_tolower(*p);
	if (HMAC(EVP_sha256(), env->key, (int)env->keylen,
	    (const unsigned char *)norm, strlen(norm), md, &mdlen) != NULL &&
	    mdlen >= REPLY_ID_BYTES)
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
static int
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

/* ----------------------------------------------------------- the body */

/* is_encrypted - content that cannot be read, so cannot be checked */
static int
is_encrypted(GMimeObject *obj)
{
	return (GMIME_IS_MULTIPART_ENCRYPTED(obj) ||
	    is_type(obj, "multipart", "encrypted") ||
	    is_type(obj, "application", "pkcs7-mime") ||
	    is_type(obj, "application", "x-pkcs7-mime") ||
	    is_type(obj, "application", "pgp-encrypted"));
}

/* is_keyed - a part that names its owner's key: a signature outside
 * multipart/signed, or a key */
static int
is_keyed(GMimeObject *obj)
{
	return (is_type(obj, "application", "pgp-signature") ||
	    is_type(obj, "application", "pkcs7-signature") ||
	    is_type(obj, "application", "x-pkcs7-signature") ||
	    is_type(obj, "application", "pgp-keys"));
}

/* armored - text holding an OpenPGP block of its own (a line that
 * starts it, not one quoted from the site) */
static int
armored(const char *text)
{
	static const char begin[] = "-----BEGIN PGP ";
	const char *p;

	for (p = text; (p = strstr(p, begin)) != NULL; p++)
		if (p == text || p[-1] == '\n')
			return (1);
	return (0);
}

/* strip_fields - a part keeps only its Content-* fields */
static void
strip_fields(struct reply *rp, GMimeObject *obj)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int	 i;

	for (i = hl ? g_mime_header_list_get_count(hl) : 0; i-- > 0;) {
		GMimeHeader *gh = g_mime_header_list_get_header_at(hl, i);

		if (g_ascii_strncasecmp(g_mime_header_get_name(gh),
		    "Content-", 8) != 0) {
			g_mime_header_list_remove_at(hl, i);
			rp->changed = 1;
		}
	}
}

/* map_cid - a Content-ID on the owner's side becomes one of ours, and
 * its cid: links with it */
static void
map_cid(struct reply *rp, GMimeObject *obj)
{
	const char *cid = g_mime_object_get_content_id(obj);
	struct sub *sb;
	char	*m;

	if (cid == NULL || !id_owners(rp, cid) || (m = id_map(rp, cid)) == NULL)
		return;
	sb = g_new0(struct sub, 1);
	sb->from = g_strdup_printf("cid:%s", cid);
	sb->to = g_strdup_printf("cid:%s", m);
	sb->html_only = 1;
	g_ptr_array_add(rp->subs, sb);
	g_mime_object_set_content_id(obj, m);
	g_free(m);
	rp->changed = 1;
}

/* inspect - count parts and levels, refuse encrypted content, and
 * (outside attached messages, which are another message's business)
 * map the owner's Content-IDs and strip part fields; -1 to stop */
static int
inspect(struct reply *rp, GMimeObject *obj, int depth, int attached)
{
	int	 max_depth = rp->rw->env->max_depth > 0 ?
		    rp->rw->env->max_depth : 64;
	int	 i, n;

	if (++rp->parts > REWRITE_MAX_PARTS) {
		stop(rp, REWRITE_TOO_MANY_PARTS, "too many MIME parts");
		return (-1);
	}
	if (depth > max_depth) {
		stop(rp, REWRITE_TOO_DEEP, "MIME nesting too deep");
		return (-1);
	}
	if (is_encrypted(obj)) {
		refuse(rp, R_ENCRYPTED);
		return (-1);
	}
	if (!attached) {
		strip_fields(rp, obj);
		map_cid(rp, obj);
		if (rp->temp != NULL)
			return (-1);
	}
	if (GMIME_IS_MULTIPART(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			if (inspect(rp, g_mime_multipart_get_part(
			    GMIME_MULTIPART(obj), i), depth + 1, attached) < 0)
				return (-1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));

		if (m != NULL && g_mime_message_get_mime_part(m) != NULL)
			return (inspect(rp, g_mime_message_get_mime_part(m),
			    depth + 1, 1));
	}
	return (0);
}

/* rewrite_text - the owner's address out of one text part */
static void
rewrite_text(struct reply *rp, GMimePart *part)
{
	char	*text = text_utf8(part), *now;

	if (armored(text))
		refuse(rp, R_PGP);
	else if ((now = substitute(rp, text, strlen(text),
	    is_type(GMIME_OBJECT(part), "text", "html"))) != NULL) {
		set_text(part, now);
		g_free(now);
		rp->changed = 1;
	}
	g_free(text);
}

static void	rewrite_multipart(struct reply *, GMimeMultipart *, int);

/* rewrite - the body under obj; what goes in obj's place: obj itself,
 * its signed content (borrowed from obj), or NULL to drop it */
static GMimeObject *
rewrite(struct reply *rp, GMimeObject *obj, int depth)
{
	if (rp->refused != NULL || rp->temp != NULL)
		return (obj);
	if (GMIME_IS_MULTIPART(obj) && is_type(obj, "multipart", "signed")) {
		rp->changed = 1;
		if (g_mime_multipart_get_count(GMIME_MULTIPART(obj)) < 1) {
			refuse(rp, R_SIGNED);
			return (obj);
		}
		return (rewrite(rp, g_mime_multipart_get_part(
		    GMIME_MULTIPART(obj), 0), depth + 1));
	}
	if (GMIME_IS_MULTIPART(obj))
		rewrite_multipart(rp, GMIME_MULTIPART(obj), depth);
	else if (GMIME_IS_TEXT_PART(obj))
		rewrite_text(rp, GMIME_PART(obj));
	else if (is_keyed(obj)) {
		rp->changed = 1;
		return (NULL);
	}
	return (obj);
}

/* rewrite_multipart - new boundary, no preamble or epilogue (unless
 * GMime found no part: then the preamble is the text), each part
 * rewritten, replaced or dropped in place */
static void
rewrite_multipart(struct reply *rp, GMimeMultipart *mp, int depth)
{
	int	 i, n = g_mime_multipart_get_count(mp);
	const char *pro = g_mime_multipart_get_prologue(mp);
	char	*now;

	g_mime_multipart_set_boundary(mp, NULL);
	mp->write_end_boundary = TRUE;
	rp->changed = 1;
	if (n == 0 && pro != NULL) {
		if ((now = substitute(rp, pro, strlen(pro), 0)) != NULL) {
			g_mime_multipart_set_prologue(mp, now);
			g_free(now);
		}
	} else
		g_mime_multipart_set_prologue(mp, NULL);
	g_mime_multipart_set_epilogue(mp, NULL);
	for (i = n - 1; i >= 0; i--) {
		GMimeObject *part = g_mime_multipart_get_part(mp, i);
		GMimeObject *now_part = rewrite(rp, part, depth + 1);

		if (now_part == NULL)
			g_object_unref(g_mime_multipart_remove_at(mp, i));
		else if (now_part != part) {
			/* now_part lives in part, which goes */
			g_object_ref(now_part);
			g_object_unref(g_mime_multipart_replace(mp, i, now_part));
			g_object_unref(now_part);
		}
	}
}

/* leaks - does the owner's address show anywhere under obj: its fields,
 * the text around parts, a decoded part, an attached message? */
static int
leaks(const struct reply *rp, GMimeObject *obj)
{
	GByteArray *ba;
	char	*t;
	int	 i, n, found;

	if (fields_leak(rp, g_mime_object_get_header_list(obj)))
		return (1);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		if (value_leaks(rp, g_mime_multipart_get_prologue(mp)) ||
		    value_leaks(rp, g_mime_multipart_get_epilogue(mp)))
			return (1);
		n = g_mime_multipart_get_count(mp);
		for (i = 0; i < n; i++)
			if (leaks(rp, g_mime_multipart_get_part(mp, i)))
				return (1);
		return (0);
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));

		return (m != NULL && (fields_leak(rp,
		    g_mime_object_get_header_list(GMIME_OBJECT(m))) ||
		    (g_mime_message_get_mime_part(m) != NULL &&
		    leaks(rp, g_mime_message_get_mime_part(m)))));
	}
	if (GMIME_IS_TEXT_PART(obj)) {
		t = text_utf8(GMIME_PART(obj));
		found = has_owner(rp, t, strlen(t));
		g_free(t);
		return (found);
	}
	if (GMIME_IS_PART(obj)) {
		ba = part_bytes(GMIME_PART(obj));
		found = has_owner(rp, (const char *)ba->data, ba->len);
		g_byte_array_free(ba, TRUE);
		return (found);
	}
	return (0);
}

/* body - rewrite and check the body of m; the new body in the result
 * when it changed */
static void
body(struct reply *rp, GMimeMessage *m)
{
	GMimeObject *top = g_mime_message_get_mime_part(m), *now;

	if (top == NULL || inspect(rp, top, 1, 0) < 0)
		return;
	now = rewrite(rp, top, 1);
	if (rp->refused != NULL || rp->temp != NULL)
		return;
	if (now == NULL) {
		/* a reply that was nothing but a key: an empty text */
		GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");

		set_text(GMIME_PART(tp), "");
		g_mime_message_set_mime_part(m, GMIME_OBJECT(tp));
		g_object_unref(tp);
	} else if (now != top) {
		/* now lives in top, which GMime lets go of first */
		g_object_ref(now);
		g_mime_message_set_mime_part(m, now);
		g_object_unref(now);
	}
	if (leaks(rp, g_mime_message_get_mime_part(m)))
		refuse(rp, R_LEAK);
}

/* body_out - the new body and the top part's fields, as the MTA gets
 * them */
static void
body_out(struct reply *rp, GMimeMessage *m, int have_mimev)
{
	GMimeObject *top = g_mime_message_get_mime_part(m);
	GMimeFormatOptions *fo;
	char	*fields = NULL, *line, *next, *colon, *v;

	if (body_write(rp->rw->res, top) < 0) {
		rp->temp = "the body cannot be written";
		return;
	}

	/* the top part's fields (only Content-* are left: strip_fields),
	 * formatted by GMime, one field at a time */
	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_UNIX);
	fields = g_mime_object_get_headers(top, fo);
	if (value_leaks(rp, fields)) {
		refuse(rp, R_LEAK);
		goto out;
	}
	for (line = fields; line != NULL && *line; line = next) {
		for (next = line; (next = strchr(next, '\n')) != NULL &&
		    (next[1] == ' ' || next[1] == '\t'); next++)
			;
		if (next != NULL)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		v = unfold(colon + 1);
		op_add(rp->rw, line, 0, v);
		free(v);
	}
	if (!have_mimev)
		op_add(rp->rw, "MIME-Version", 0, "1.0");
out:
	g_free(fields);
	g_mime_format_options_free(fo);
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
	body(&rp, m);
	if (rw->status != REWRITE_OK || rp.refused || rp.temp)
		goto done;
	fields(&rp, h, nh, orig_id, &have_mimev);
	if (rp.changed && rp.refused == NULL && rp.temp == NULL)
		body_out(&rp, m, have_mimev);
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
