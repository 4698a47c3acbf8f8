/*
 * rewrite_corpus.c - every message of tests/milter/corpus rewritten by
 * rewrite_message() and parsed again
 *
 * For each file the table says what must come out: the status, how many
 * parts were parked as blobs and noted as notifications, whether the
 * banner is there, a text that must survive the rewrite, and whether the
 * body must stay byte for byte (signed, encrypted).  The header edits are
 * applied the way the MTA applies smfi_chgheader/smfi_addheader, the body
 * replaced, and the result parsed by GMime: the output must be MIME that
 * closes every multipart, declares a transfer encoding its bytes obey,
 * holds no other part than text (outside signed and encrypted ones), and
 * has exactly one From, pointing to the reply address.  Every address a
 * reply could go to must be on the alias domain, the headers naming
 * other addresses to write to gone, no text part named as a file left,
 * and in each HTML part our header and footer must be elements of the
 * body as an HTML5 parser (gumbo, not the code under test) reads it.
 * Then the cases one by one: reply-all, signed and encrypted containers,
 * attachments sent as text, file names, HTML that tries to hide the
 * banner; reply mode, the bounce address (store/bounce.c) and the
 * one-click signature.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <gumbo.h>

#include "bounce.h"
#include "sign.h"
#include "milter_rewrite.h"
#include "../lib/tap.h"

struct want {
	const char	*file;
	enum rewrite_status status;
	int		 blobs;
	int		 notes;
	int		 banner;
	const char	*keep;		/* must be in the decoded text */
	int		 sealed;	/* body unchanged */
	int		 max_headers;	/* 0 = 1000 */
	const char	*keep2;		/* another text that must survive */
};

static const struct want corpus[] = {
	{ "plain.eml", REWRITE_OK, 0, 0, 1, "Your order 1234 has shipped.", 0, 0, NULL },
	{ "qp.eml", REWRITE_OK, 0, 0, 1, "Votre r\xc3\xa9servation au caf\xc3\xa9", 0, 0, NULL },
	{ "base64.eml", REWRITE_OK, 0, 0, 1, "Hello from Gr\xc3\xbc\xc3\x9f" "e GmbH.", 0, 0, NULL },
	{ "html.eml", REWRITE_OK, 0, 0, 1, "Big sale on shoes &amp; socks", 0, 0, NULL },
	{ "alternative.eml", REWRITE_OK, 0, 0, 1, "HTML version of the newsletter.", 0, 0, NULL },
	{ "mixed.eml", REWRITE_OK, 2, 0, 1, "Please find your invoice attached.", 0, 0, NULL },
	{ "rfc822.eml", REWRITE_OK, 1, 0, 1, "See the message below.", 0, 0, NULL },
	{ "signed.eml", REWRITE_OK, 0, 0, 0, "This text is signed and must not change.", 1, 0, NULL },
	{ "encrypted.eml", REWRITE_OK, 0, 0, 0, NULL, 1, 0, NULL },
	{ "8bit.eml", REWRITE_OK, 0, 0, 1, "K\xc3\xa4se und Stra\xc3\x9f" "e", 0, 0, NULL },
	{ "8bit-nocharset.eml", REWRITE_OK, 0, 0, 1, "without a declared charset", 0, 0, NULL },
	/* no boundary: GMime finds no parts; everything after the headers is
	 * kept as plain text, delimiter lines included */
	{ "noboundary.eml", REWRITE_OK, 0, 0, 1,
	    "Text in a multipart without a boundary.", 0, 0, "--X--" },
	{ "badboundary.eml", REWRITE_OK, 1, 0, 1, "Text before an unterminated attachment.", 0, 0, NULL },
	{ "nul.eml", REWRITE_OK, 1, 0, 1, "Text with a NUL here:", 0, 0,
	    " and after it." },
	{ "nul-latin1.eml", REWRITE_OK, 0, 0, 1, "Caf\xc3\xa9 before the NUL:", 0, 0,
	    "NUL:\xef\xbf\xbd and the text after the NUL survives." },
	{ "deep15.eml", REWRITE_OK, 0, 0, 1, "Fifteen levels down, plain.", 0, 0,
	    "Fifteen levels down, rich." },
	{ "mixed-signed.eml", REWRITE_OK, 1, 0, 1, "Unsigned cover text.", 0, 0,
	    "Signed text inside a mixed message." },
	{ "json.eml", REWRITE_OK, 0, 1, 1, "You have a notification.", 0, 0, NULL },
	{ "pdf-only.eml", REWRITE_OK, 1, 0, 1, NULL, 0, 0, NULL },
	{ "related.eml", REWRITE_OK, 1, 0, 1, "Rich part of related mail.", 0, 0, NULL },
	{ "headers10k.eml", REWRITE_OK, 0, 0, 1, "Body after ten thousand headers.", 0, 20000, NULL },
	{ "headers10k.eml", REWRITE_TOO_MANY_HEADERS, 0, 0, 0, NULL, 0, 1000, NULL },
	{ "deep.eml", REWRITE_TOO_DEEP, 0, 0, 0, NULL, 0, 0, NULL },
	{ "hdr-replyall.eml", REWRITE_OK, 0, 0, 1, "Everybody in To and Cc, please answer.", 0, 0, NULL },
	{ "hdr-crowd.eml", REWRITE_OK, 0, 0, 1, "Twenty-five recipients in one header.", 0, 0, NULL },
	/* signed with an attachment inside: opened, the program and the
	 * signature parked, the banner says why the signature fails */
	{ "signed-attach.eml", REWRITE_OK, 2, 0, 1,
	    "Signed text with an attachment under the signature.", 0, 0,
	    "signed this message; BIPostal removed 1 attachment(s) from it" },
	{ "signed-protected.eml", REWRITE_OK, 1, 0, 1,
	    "Answer me directly, not through the alias.", 0, 0,
	    "BIPostal removed address headers from it" },
	/* "encrypted" around a cleartext program: not sealed, both parked */
	{ "encrypted-fake.eml", REWRITE_OK, 2, 0, 1, NULL, 0, 0, NULL },
	{ "smime-enveloped.eml", REWRITE_OK, 0, 0, 0, NULL, 1, 0, NULL },
	{ "text-exe.eml", REWRITE_OK, 2, 0, 1, "Run the attached tool.", 0, 0, NULL },
	{ "text-exe-only.eml", REWRITE_OK, 1, 0, 1, NULL, 0, 0, NULL },
	{ "text-named-main.eml", REWRITE_OK, 0, 0, 1,
	    "The body itself carries a file name.", 0, 0, NULL },
	{ "names.eml", REWRITE_OK, 6, 0, 1, "Five files with names to clean.", 0, 0, NULL },
	/* HTML that would hide the banner: shown as our text, kept as a blob */
	{ "html-comment.eml", REWRITE_OK, 1, 0, 1, "Visible offer.", 0, 0,
	    "could not show the HTML of this message safely" },
	{ "html-textarea.eml", REWRITE_OK, 1, 0, 1, "Offer before a textarea.", 0, 0,
	    "could not show the HTML of this message safely" },
	{ "html-noscript.eml", REWRITE_OK, 1, 0, 1, "Offer after noscript.", 0, 0,
	    "could not show the HTML of this message safely" },
	{ "html-attribute.eml", REWRITE_OK, 1, 0, 1, "Offer before a broken image.", 0, 0,
	    "could not show the HTML of this message safely" },
	/* ... or that can be mended: wrapped, what was open closed */
	{ "html-body-in-comment.eml", REWRITE_OK, 0, 0, 1,
	    "Offer after a commented body tag.", 0, 0, NULL },
	{ "html-hidden-div.eml", REWRITE_OK, 0, 0, 1, "Offer inside a hidden div.", 0, 0, NULL },
	{ "html-font.eml", REWRITE_OK, 0, 0, 1, "Offer in an invisible font.", 0, 0, NULL },
	{ "html-style.eml", REWRITE_OK, 0, 0, 1, "Offer under a hostile style sheet.", 0, 0, NULL },
};

/* blobs kept by the fake store */
static struct {
	char		 name[256];
	char		 type[128];
	unsigned char	*data;
	size_t		 len;
} blobs[64];
static int nblobs;
static int fail_blobs;

static int nreplies;		/* reply_addr calls */

static int
t_reply_addr(void *arg, const char *sender, char *out, size_t outlen)
{
	unsigned h = 5381;

	nreplies++;
	for (; *sender; sender++)
		h = h * 33 + (unsigned char)*sender;
	snprintf(out, outlen, "r%08x@alias.test", h);
	return (0);
}

static int
t_blob_put(void *arg, const char *name, const char *type,
    const unsigned char *data, size_t len, char *id, size_t idlen)
{
	if (fail_blobs || nblobs == 64)
		return (-1);
	snprintf(blobs[nblobs].name, sizeof(blobs[nblobs].name), "%s", name);
	snprintf(blobs[nblobs].type, sizeof(blobs[nblobs].type), "%s", type);
	blobs[nblobs].data = malloc(len + 1);
	memcpy(blobs[nblobs].data, data, len);
	blobs[nblobs].len = len;
	snprintf(id, idlen, "blob%d", nblobs);
	nblobs++;
	return (0);
}

static void
blobs_reset(void)
{
	int	i;

	for (i = 0; i < nblobs; i++)
		free(blobs[i].data);
	nblobs = 0;
}

/* the MTA's view: a list of headers edited by name and occurrence */
struct mhdr {
	char	*name;
	char	*value;		/* as it follows "name:" */
};

static size_t
split_headers(const char *msg, size_t len, struct mhdr **out, size_t *body_off)
{
	struct mhdr *h = NULL;
	size_t	 n = 0, i = 0;

	while (i < len) {
		size_t	 s = i, e, c;

		if (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n') {
			i += 2;
			break;
		}
		if (msg[i] == '\n') {
			i++;
			break;
		}
		/* one logical header: lines until one not starting with WSP */
		for (e = i; e < len; e++)
			if (msg[e] == '\n' && (e + 1 >= len ||
			    (msg[e + 1] != ' ' && msg[e + 1] != '\t')))
				break;
		for (c = s; c < e && msg[c] != ':'; c++)
			;
		h = realloc(h, (n + 1) * sizeof(*h));
		h[n].name = strndup(msg + s, c - s);
		h[n].value = strndup(msg + c + 1, c < e ? e - c - 1 : 0);
		/* drop the CR before the final LF */
		if (strlen(h[n].value) && h[n].value[strlen(h[n].value) - 1] == '\r')
			h[n].value[strlen(h[n].value) - 1] = '\0';
		n++;
		i = e + 1;
	}
	*out = h;
	*body_off = i;
	return (n);
}

static void
apply_ops(struct mhdr **hp, size_t *np, const struct rewrite_result *r)
{
	struct mhdr *h = *hp;
	size_t	 n = *np, i, k;

	for (i = 0; i < r->nops; i++) {
		const struct rewrite_hdr_op *op = &r->ops[i];
		int	 seen = 0, done = 0;

		if (op->idx > 0) {
			for (k = 0; k < n; k++) {
				if (strcasecmp(h[k].name, op->name) != 0 ||
				    ++seen != op->idx)
					continue;
				if (op->value == NULL) {
					free(h[k].name);
					free(h[k].value);
					memmove(&h[k], &h[k + 1], (n - k - 1) * sizeof(*h));
					n--;
				} else {
					free(h[k].value);
					h[k].value = malloc(strlen(op->value) + 2);
					sprintf(h[k].value, " %s", op->value);
				}
				done = 1;
				break;
			}
			if (done || op->value == NULL)
				continue;
		}
		h = realloc(h, (n + 1) * sizeof(*h));
		h[n].name = strdup(op->name);
		h[n].value = malloc(strlen(op->value) + 2);
		sprintf(h[n].value, " %s", op->value);
		n++;
	}
	*hp = h;
	*np = n;
}

static char *
read_all(const char *path, size_t *len)
{
	FILE	*fp = fopen(path, "rb");
	char	*buf;
	long	 n;

	if (fp == NULL)
		return (NULL);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, fp);
	buf[*len] = '\0';
	fclose(fp);
	return (buf);
}

/* the checks on the parsed output */
struct check {
	int	 stray;		/* non-text leaves outside sealed parts */
	int	 bad_cte;	/* 7bit part with 8-bit bytes or long lines */
	int	 unclosed;	/* multipart without its close delimiter */
	int	 named;		/* text parts a client would offer as a file */
	GString	*text;		/* every decoded text, concatenated */
	GPtrArray *html;	/* each text/html outside sealed parts (new) */
};

static void
walk(GMimeObject *obj, struct check *c, int sealed)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	if (GMIME_IS_MULTIPART(obj)) {
		int	 i, n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		int	 s = sealed || g_mime_content_type_is_type(ct, "multipart", "signed") ||
		    g_mime_content_type_is_type(ct, "multipart", "encrypted");

		if (g_mime_multipart_get_boundary(GMIME_MULTIPART(obj)) == NULL)
			c->unclosed++;
		for (i = 0; i < n; i++)
			walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), c, s);
		return;
	}
	if (GMIME_IS_TEXT_PART(obj) && (g_mime_content_type_is_type(ct, "text", "plain") ||
	    g_mime_content_type_is_type(ct, "text", "html"))) {
		char	*t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
		GMimeContentEncoding enc = g_mime_part_get_content_encoding(GMIME_PART(obj));

		if (t)
			g_string_append(c->text, t);
		if (t && !sealed && g_mime_content_type_is_type(ct, "text", "html"))
			g_ptr_array_add(c->html, g_strdup(t));
		if (!sealed && (g_mime_part_get_filename(GMIME_PART(obj)) != NULL ||
		    (g_mime_object_get_content_disposition(obj) &&
		    g_mime_content_disposition_is_attachment(
		    g_mime_object_get_content_disposition(obj)))))
			c->named++;
		g_free(t);
		if (!sealed && (enc == GMIME_CONTENT_ENCODING_DEFAULT ||
		    enc == GMIME_CONTENT_ENCODING_7BIT)) {
			GMimeStream *mem = g_mime_stream_mem_new();
			GByteArray *ba;
			size_t	 i, line = 0;

			g_mime_data_wrapper_write_to_stream(
			    g_mime_part_get_content(GMIME_PART(obj)), mem);
			ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
			for (i = 0; i < ba->len; i++) {
				if (ba->data[i] >= 0x80 || ba->data[i] == 0)
					c->bad_cte++;
				line = ba->data[i] == '\n' ? 0 : line + 1;
				if (line > 998)
					c->bad_cte++;
			}
			g_object_unref(mem);
		}
		return;
	}
	/* S/MIME enveloped data passes as it came */
	if (!sealed && !g_mime_content_type_is_type(ct, "application", "pkcs7-mime"))
		c->stray++;
}

static struct rewrite_templates tmpl;

static void
env_init(struct rewrite_env *env, enum rewrite_mode mode)
{
	memset(env, 0, sizeof(*env));
	env->mode = mode;
	env->alias_addr = "tok@alias.test";
	env->origin = "shop.example";
	env->manage_url = "https://dash.test/#/aliases/tok";
	env->disable_url = "https://dash.test/v1/unsubscribe/tok?sig=00ff";
	env->blob_url = "https://dash.test/v1/blobs/";
	env->brand = "BIPostal";
	env->envelope_from = "bounces@shop.example";
	env->strip = 1;
	env->max_depth = 20;
	env->max_headers = 1000;
	env->tmpl = &tmpl;
	env->reply_addr = t_reply_addr;
	env->blob_put = t_blob_put;
}

static int
count_header(struct mhdr *h, size_t n, const char *name)
{
	size_t	i;
	int	c = 0;

	for (i = 0; i < n; i++)
		c += strcasecmp(h[i].name, name) == 0;
	return (c);
}

static const char *
get_header(struct mhdr *h, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return (h[i].value);
	return (NULL);
}

static void
free_headers(struct mhdr *h, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

/* output - the message as the MTA delivers it after applying r; new,
 * with the edited headers in *hp (free_headers) */
static GString *
output(const char *msg, size_t len, const struct rewrite_result *r,
    struct mhdr **hp, size_t *nhp)
{
	struct mhdr *h;
	size_t	 nh, body_off, i;
	GString	*out = g_string_new(NULL);

	nh = split_headers(msg, len, &h, &body_off);
	apply_ops(&h, &nh, r);
	for (i = 0; i < nh; i++)
		g_string_append_printf(out, "%s:%s\r\n", h[i].name, h[i].value);
	g_string_append(out, "\r\n");
	if (r->body_changed)
		g_string_append_len(out, (char *)r->body, (gssize)r->body_len);
	else
		g_string_append_len(out, msg + body_off, (gssize)(len - body_off));
	*hp = h;
	*nhp = nh;
	return (out);
}

/* parse - GMime's reading of a message; new, or NULL */
static GMimeMessage *
parse(const GString *text)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(text->str, text->len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(st);
	return (m);
}

/* Headers forwarded mail must not carry (nor any Resent-*): each names
 * an address a client may write to from the owner's real one. */
static const char *const gone_headers[] = {
	"Sender", "Return-Path", "Disposition-Notification-To",
	"Return-Receipt-To", "Errors-To", "X-Confirm-Reading-To", "List-Post",
	"List-Help", "List-Subscribe", "List-Owner", "Bcc", NULL,
};

/* Headers a reply may use: every address in them on the alias domain. */
static const char *const answer_headers[] = {
	"From", "To", "Cc", "Reply-To", "Mail-Followup-To", "Mail-Reply-To", NULL,
};

/* foreign_addrs - mailboxes of an address list (groups' members too)
 * not on alias.test; every mailbox counted in *n */
static int
foreign_addrs(InternetAddressList *l, int *n)
{
	int	 i, bad = 0;

	for (i = 0; l != NULL && i < internet_address_list_length(l); i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);
		const char *a;

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			bad += foreign_addrs(internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(ia)), n);
			continue;
		}
		(*n)++;
		a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		if (a == NULL || strlen(a) < 11 ||
		    strcasecmp(a + strlen(a) - 11, "@alias.test") != 0)
			bad++;
	}
	return (bad);
}

/* header_leaks - headers of the output that name an address to write
 * to off the alias domain (or more than 20), or that must be gone */
static int
header_leaks(struct mhdr *h, size_t nh)
{
	size_t	 i;
	int	 k, bad = 0, n;

	for (i = 0; i < nh; i++) {
		for (k = 0; gone_headers[k]; k++)
			bad += strcasecmp(h[i].name, gone_headers[k]) == 0;
		bad += strncasecmp(h[i].name, "Resent-", 7) == 0;
		for (k = 0; answer_headers[k]; k++) {
			InternetAddressList *l;

			if (strcasecmp(h[i].name, answer_headers[k]) != 0)
				continue;
			n = 0;
			l = internet_address_list_parse(NULL, h[i].value);
			bad += l == NULL || foreign_addrs(l, &n) > 0 || n > 20;
			if (l)
				g_object_unref(l);
		}
	}
	return (bad);
}

/* box_find - the elements under n marked data-bipostal="kind-..." */
static void
box_find(const GumboNode *n, const char *kind, const GumboNode **found,
    int *count)
{
	const GumboVector *c;
	const GumboAttribute *a;
	unsigned int i;

	if (n->type == GUMBO_NODE_DOCUMENT)
		c = &n->v.document.children;
	else if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE)
		c = &n->v.element.children;
	else
		return;
	if (n->type != GUMBO_NODE_DOCUMENT &&
	    (a = gumbo_get_attribute(&n->v.element.attributes, "data-bipostal")) &&
	    strncmp(a->value, kind, strlen(kind)) == 0) {
		*found = n;
		(*count)++;
	}
	for (i = 0; i < c->length; i++)
		box_find(c->data[i], kind, found, count);
}

/* box_has - does n hold a link to href, or the text needle? */
static int
box_has(const GumboNode *n, const char *href, const char *needle)
{
	const GumboAttribute *a;
	unsigned int i;

	if (n->type == GUMBO_NODE_TEXT)
		return (needle && strstr(n->v.text.text, needle) != NULL);
	if (n->type != GUMBO_NODE_ELEMENT)
		return (0);
	if (href && n->v.element.tag == GUMBO_TAG_A &&
	    (a = gumbo_get_attribute(&n->v.element.attributes, "href")) &&
	    strcmp(a->value, href) == 0)
		return (1);
	for (i = 0; i < n->v.element.children.length; i++)
		if (box_has(n->v.element.children.data[i], href, needle))
			return (1);
	return (0);
}

/* box_placed - a child of body, a child of html, a child of the
 * document, its style keeping it shown */
static int
box_placed(const GumboNode *b)
{
	const GumboNode *p = b->parent;
	const GumboAttribute *st = gumbo_get_attribute(&b->v.element.attributes,
	    "style");

	return (p && p->type == GUMBO_NODE_ELEMENT && p->v.element.tag == GUMBO_TAG_BODY &&
	    p->parent && p->parent->type == GUMBO_NODE_ELEMENT &&
	    p->parent->v.element.tag == GUMBO_TAG_HTML && p->parent->parent &&
	    p->parent->parent->type == GUMBO_NODE_DOCUMENT && st &&
	    strstr(st->value, "display:block!important") &&
	    strstr(st->value, "visibility:visible!important"));
}

/* html_ok - our header and footer in an HTML part as an HTML5 parser
 * reads it: each once, placed in the body, the header saying [BIPostal],
 * the footer linking the one-click URL; NULL, or what is wrong */
static const char *
html_ok(const char *html)
{
	GumboOutput *g = gumbo_parse(html);
	const GumboNode *hb = NULL, *fb = NULL;
	const char *why = NULL;
	int	 nh = 0, nf = 0;

	box_find(g->document, "header-", &hb, &nh);
	box_find(g->document, "footer-", &fb, &nf);
	if (nh != 1 || nf != 1)
		why = "not one header and one footer";
	else if (!box_placed(hb) || !box_placed(fb))
		why = "header or footer not a shown child of body";
	else if (!box_has(hb, NULL, "[BIPostal]"))
		why = "header without its text";
	else if (!box_has(fb, "https://dash.test/v1/unsubscribe/tok?sig=00ff", NULL))
		why = "footer without the one-click link";
	gumbo_destroy_output(&kGumboDefaultOptions, g);
	return (why);
}

/* run_one - rewrite one file and check the output */
static void
run_one(const char *dir, const struct want *w)
{
	struct rewrite_env env;
	struct rewrite_result r;
	enum rewrite_status st;
	struct mhdr *h;
	size_t	 len, nh, i;
	char	 path[1024], *msg;
	GString	*out;
	GMimeStream *s;
	GMimeParser *p;
	GMimeMessage *m;
	struct check c;

	snprintf(path, sizeof(path), "%s/%s", dir, w->file);
	if ((msg = read_all(path, &len)) == NULL) {
		ok(0, "%s: read", w->file);
		return;
	}
	env_init(&env, REWRITE_FORWARD);
	if (w->max_headers)
		env.max_headers = w->max_headers;
	blobs_reset();
	st = rewrite_message(&env, (unsigned char *)msg, len, &r);
	is_int(st, w->status, "%s: status (%s)", w->file, r.why ? r.why : "ok");
	if (st != REWRITE_OK || w->status != REWRITE_OK) {
		is_int(r.nops, 0, "%s: nothing to apply after a refusal", w->file);
		rewrite_result_free(&r);
		free(msg);
		return;
	}
	if (w->blobs >= 0)
		is_int(r.nblobs, w->blobs, "%s: parts parked as blobs", w->file);
	is_int(nblobs, r.nblobs, "%s: blob callback calls", w->file);
	is_int(r.nnotes, w->notes, "%s: notifications", w->file);
	ok(r.body_changed == !w->sealed, "%s: body %s", w->file,
	    w->sealed ? "untouched" : "replaced");

	out = output(msg, len, &r, &h, &nh);
	if (w->sealed)
		ok(r.body == NULL, "%s: sealed body kept byte for byte", w->file);

	is_int(count_header(h, nh, "From"), 1, "%s: one From", w->file);
	ok(get_header(h, nh, "From") && strstr(get_header(h, nh, "From"), "@alias.test>") &&
	    strstr(get_header(h, nh, "From"), "via BIPostal"),
	    "%s: From is a reply address with the sender shown: %.120s", w->file,
	    get_header(h, nh, "From") ? get_header(h, nh, "From") : "(none)");
	is_int(count_header(h, nh, "List-Unsubscribe"), 1, "%s: one List-Unsubscribe", w->file);
	ok(get_header(h, nh, "List-Unsubscribe") &&
	    strstr(get_header(h, nh, "List-Unsubscribe"), "<https://dash.test/v1/unsubscribe/tok?sig=00ff>"),
	    "%s: List-Unsubscribe is the one-click link", w->file);
	ok(get_header(h, nh, "List-Unsubscribe-Post") &&
	    strstr(get_header(h, nh, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click"),
	    "%s: List-Unsubscribe-Post (RFC 8058)", w->file);
	if (r.body_changed)
		ok(count_header(h, nh, "Content-Type") == 1 &&
		    count_header(h, nh, "MIME-Version") == 1,
		    "%s: one Content-Type, one MIME-Version", w->file);

	s = g_mime_stream_mem_new_with_buffer(out->str, out->len);
	p = g_mime_parser_new_with_stream(s);
	m = g_mime_parser_construct_message(p, NULL);
	ok(m != NULL, "%s: output parses", w->file);
	memset(&c, 0, sizeof(c));
	c.text = g_string_new(NULL);
	c.html = g_ptr_array_new_with_free_func(g_free);
	if (m && g_mime_message_get_mime_part(m))
		walk(g_mime_message_get_mime_part(m), &c, 0);
	is_int(c.stray, 0, "%s: no part but text left (outside sealed ones)", w->file);
	is_int(c.named, 0, "%s: no text part a client would offer as a file", w->file);
	is_int(header_leaks(h, nh), 0, "%s: every address to answer on the alias "
	    "domain, at most 20 a header; no header naming another", w->file);
	for (i = 0; w->banner && i < c.html->len; i++) {
		const char *why = html_ok(g_ptr_array_index(c.html, i));

		ok(why == NULL, "%s: HTML part %zu shows header and footer (%s)",
		    w->file, i + 1, why ? why : "as an HTML5 parser reads it");
	}
	is_int(c.bad_cte, 0, "%s: 7bit parts are 7bit", w->file);
	is_int(c.unclosed, 0, "%s: every multipart has a boundary", w->file);
	if (r.body_changed) {
		GMimeObject *top = g_mime_message_get_mime_part(m);

		if (top && GMIME_IS_MULTIPART(top)) {
			char	*close = g_strdup_printf("--%s--",
			    g_mime_multipart_get_boundary(GMIME_MULTIPART(top)));

			ok(strstr(out->str, close) != NULL, "%s: top multipart closed", w->file);
			g_free(close);
		}
	}
	if (w->banner) {
		ok(strstr(c.text->str, "[BIPostal] Sent by ") != NULL &&
		    strstr(c.text->str, "shop.example") != NULL,
		    "%s: banner header", w->file);
		ok(strstr(c.text->str, "https://dash.test/v1/unsubscribe/tok?sig=00ff") != NULL,
		    "%s: one-click link in the footer", w->file);
	} else
		ok(strstr(c.text->str, "[BIPostal]") == NULL, "%s: no banner", w->file);
	if (w->banner)
		ok(strstr(c.text->str, "https://dash.test/#/aliases/tok") != NULL,
		    "%s: manage link in the footer", w->file);
	if (w->keep)
		ok(strstr(c.text->str, w->keep) != NULL, "%s: text intact", w->file);
	if (w->keep2)
		ok(strstr(c.text->str, w->keep2) != NULL, "%s: text intact: %s",
		    w->file, w->keep2);
	for (i = 0; i < (size_t)nblobs; i++) {
		char	url[128];

		snprintf(url, sizeof(url), "https://dash.test/v1/blobs/blob%zu", i);
		ok(strstr(c.text->str, url) != NULL, "%s: footer links %s (%s)",
		    w->file, url, blobs[i].name);
	}
	g_string_free(c.text, TRUE);
	g_ptr_array_free(c.html, TRUE);
	if (m)
		g_object_unref(m);
	g_object_unref(p);
	g_object_unref(s);
	g_string_free(out, TRUE);
	free_headers(h, nh);
	rewrite_result_free(&r);
	free(msg);
}

/* top_text - the decoded text of an output whose top part is text; new
 * (g_free), or NULL */
static char *
top_text(const GString *out)
{
	GMimeMessage *m = out ? parse(out) : NULL;
	char	*t = NULL;

	if (m && GMIME_IS_TEXT_PART(g_mime_message_get_mime_part(m)))
		t = g_mime_text_part_get_text(GMIME_TEXT_PART(
		    g_mime_message_get_mime_part(m)));
	if (m)
		g_object_unref(m);
	return (t);
}

/* specific content checks */
static void
check_specifics(const char *dir)
{
	struct rewrite_env env;
	struct rewrite_result r;
	char	 path[1024], *msg;
	size_t	 len;
	gsize	 dlen;
	guchar	*pdf;

	/* mixed.eml: the PDF comes out of the blob exactly */
	snprintf(path, sizeof(path), "%s/mixed.eml", dir);
	msg = read_all(path, &len);
	env_init(&env, REWRITE_FORWARD);
	blobs_reset();
	rewrite_message(&env, (unsigned char *)msg, len, &r);
	pdf = g_base64_decode("JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCkJU"
	    "CkVUCmVuZHN0cmVhbQplbmRvYmoKJSVFT0YK", &dlen);
	ok(nblobs == 2 && blobs[0].len == dlen && memcmp(blobs[0].data, pdf, dlen) == 0,
	    "mixed.eml: the PDF blob is byte for byte the attachment");
	is_str(blobs[0].name, "invoice.pdf", "mixed.eml: blob name");
	is_str(blobs[0].type, "application/pdf", "mixed.eml: blob type");
	g_free(pdf);
	rewrite_result_free(&r);

	/* a failing blob store: tempfail, nothing to apply */
	fail_blobs = 1;
	is_int(rewrite_message(&env, (unsigned char *)msg, len, &r), REWRITE_TEMP,
	    "mixed.eml: blob store down -> tempfail");
	is_int(r.nops + r.body_changed, 0, "mixed.eml: no half rewrite after a failure");
	fail_blobs = 0;
	rewrite_result_free(&r);

	/* content policy keep: nothing parked, banner added */
	env.strip = 0;
	blobs_reset();
	is_int(rewrite_message(&env, (unsigned char *)msg, len, &r), REWRITE_OK,
	    "mixed.eml, keep policy: ok");
	is_int(r.nblobs, 0, "mixed.eml, keep policy: no blob");
	ok(r.body && memmem(r.body, r.body_len, "invoice.pdf", 11) != NULL,
	    "mixed.eml, keep policy: attachment still there");
	rewrite_result_free(&r);
	free(msg);

	/* json.eml: the note is the JSON */
	snprintf(path, sizeof(path), "%s/json.eml", dir);
	msg = read_all(path, &len);
	env_init(&env, REWRITE_FORWARD);
	rewrite_message(&env, (unsigned char *)msg, len, &r);
	ok(r.nnotes == 1 && strstr(r.notes[0].data, "\"status\":\"shipped\"") != NULL,
	    "json.eml: the notification text");
	ok(r.body && memmem(r.body, r.body_len, "application/json", 16) == NULL,
	    "json.eml: JSON removed from the mail");
	rewrite_result_free(&r);
	free(msg);

	/* html.eml: our header container just after <BODY ...>, the footer
	 * container's end just before </BODY> */
	{
		struct mhdr *h;
		size_t	 nh;
		GString	*out;
		char	*t;

		snprintf(path, sizeof(path), "%s/html.eml", dir);
		msg = read_all(path, &len);
		rewrite_message(&env, (unsigned char *)msg, len, &r);
		out = output(msg, len, &r, &h, &nh);
		t = top_text(out);
		ok(t && strstr(t, "<BODY bgcolor=\"#fff\"><div data-bipostal=\"header-"),
		    "html.eml: header right after the body tag");
		ok(t && strstr(t, "</div></BODY>"),
		    "html.eml: footer right before </body>");
		g_free(t);
		g_string_free(out, TRUE);
		free_headers(h, nh);
		rewrite_result_free(&r);
		free(msg);
	}

	/* HTML escaping of the origin */
	snprintf(path, sizeof(path), "%s/html.eml", dir);
	msg = read_all(path, &len);
	env.origin = "<script>x</script>";
	rewrite_message(&env, (unsigned char *)msg, len, &r);
	ok(r.body && memmem(r.body, r.body_len, "<script>", 8) == NULL &&
	    memmem(r.body, r.body_len, "&lt;script&gt;", 14) != NULL,
	    "html.eml: origin HTML-escaped");
	rewrite_result_free(&r);
	free(msg);

	/* Reply-To: every mailbox rewritten */
	snprintf(path, sizeof(path), "%s/alternative.eml", dir);
	msg = read_all(path, &len);
	env_init(&env, REWRITE_FORWARD);
	rewrite_message(&env, (unsigned char *)msg, len, &r);
	{
		size_t	i;
		int	found = 0;

		for (i = 0; i < r.nops; i++)
			if (strcasecmp(r.ops[i].name, "Reply-To") == 0 && r.ops[i].value &&
			    strstr(r.ops[i].value, "help@shop.example") &&
			    strstr(r.ops[i].value, "sales@shop.example") &&
			    strstr(r.ops[i].value, "@alias.test") &&
			    !strstr(r.ops[i].value, "<help@shop.example>"))
				found = 1;
		ok(found, "alternative.eml: Reply-To points to reply addresses");
	}
	rewrite_result_free(&r);
	free(msg);
}

/* alt_banners - every text alternative under obj carries the header
 * banner; counts alternatives seen and those without */
static void
alt_banners(GMimeObject *obj, int in_alt, int *seen, int *bare)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	int	 i;

	if (GMIME_IS_MULTIPART(obj)) {
		int	 alt = g_mime_content_type_is_type(ct, "multipart",
		    "alternative");

		for (i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(obj)); i++)
			alt_banners(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
			    alt, seen, bare);
		return;
	}
	if (in_alt && GMIME_IS_TEXT_PART(obj)) {
		char	*t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
		int	 html = g_mime_content_type_is_type(ct, "text", "html");

		(*seen)++;
		if (t == NULL || (html ? strstr(t, "[BIPostal] Sent by <b ") == NULL ||
		    strstr(t, ">shop.example</b> to your alias <code ") == NULL ||
		    strstr(t, ">tok@alias.test</code>") == NULL || html_ok(t) != NULL :
		    strstr(t, "[BIPostal] Sent by shop.example to your alias tok@alias.test") == NULL))
			(*bare)++;
		g_free(t);
	}
}

/* check_alternatives - the banner in EACH alternative */
static void
check_alternatives(const char *dir)
{
	static const char *const files[] = { "alternative.eml", "deep15.eml" };
	struct rewrite_env env;
	struct rewrite_result r;
	struct mhdr *h;
	size_t	 len, nh, i;
	char	 path[1024], *msg;
	GString	*out;
	GMimeMessage *m;
	int	 seen, bare;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		msg = read_all(path, &len);
		env_init(&env, REWRITE_FORWARD);
		is_int(rewrite_message(&env, (unsigned char *)msg, len, &r),
		    REWRITE_OK, "%s: ok", files[i]);
		out = output(msg, len, &r, &h, &nh);
		m = parse(out);
		seen = bare = 0;
		if (m != NULL)
			alt_banners(g_mime_message_get_mime_part(m), 0, &seen, &bare);
		is_int(seen, 2, "%s: two alternatives", files[i]);
		is_int(bare, 0, "%s: the banner in each alternative", files[i]);
		if (m)
			g_object_unref(m);
		g_string_free(out, TRUE);
		free_headers(h, nh);
		rewrite_result_free(&r);
		free(msg);
	}
}

/* check_signed_inside - a multipart/signed inside a multipart/mixed
 * passes byte for byte, headers and all */
static void
check_signed_inside(const char *dir)
{
	struct rewrite_env env;
	struct rewrite_result r;
	struct mhdr *h;
	size_t	 len, nh;
	char	 path[1024], *msg, *start, *end;
	GString	*out;

	snprintf(path, sizeof(path), "%s/mixed-signed.eml", dir);
	msg = read_all(path, &len);
	env_init(&env, REWRITE_FORWARD);
	blobs_reset();
	is_int(rewrite_message(&env, (unsigned char *)msg, len, &r), REWRITE_OK,
	    "mixed-signed.eml: ok");
	out = output(msg, len, &r, &h, &nh);
	start = strstr(msg, "Content-Type: multipart/signed");
	end = strstr(msg, "--SIG--\r\n");
	ok(start && end && memmem(out->str, out->len, start,
	    (size_t)(end + 9 - start)) != NULL,
	    "mixed-signed.eml: the signed part, headers to closing delimiter, "
	    "byte for byte");
	ok(strstr(out->str, "[BIPostal] Sent by shop.example") != NULL,
	    "mixed-signed.eml: the banner on the unsigned text");
	is_int(nblobs, 1, "mixed-signed.eml: the PDF beside it parked");
	g_string_free(out, TRUE);
	free_headers(h, nh);
	rewrite_result_free(&r);
	free(msg);
}

/* forward_file - one corpus file (or msg, when given) rewritten
 * forward with env; the output as the MTA delivers it, its headers in
 * *hp (free_headers); NULL after a refusal */
static GString *
forward_file(const char *dir, const char *file, const GString *msg,
    struct rewrite_env *env, struct mhdr **hp, size_t *nhp)
{
	struct rewrite_result r;
	char	 path[1024], *buf;
	size_t	 len;
	GString	*out = NULL;

	*hp = NULL;
	*nhp = 0;
	if (msg != NULL) {
		buf = malloc(msg->len + 1);
		memcpy(buf, msg->str, msg->len + 1);
		len = msg->len;
	} else {
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		if ((buf = read_all(path, &len)) == NULL)
			return (NULL);
	}
	blobs_reset();
	if (rewrite_message(env, (unsigned char *)buf, len, &r) == REWRITE_OK)
		out = output(buf, len, &r, hp, nhp);
	rewrite_result_free(&r);
	free(buf);
	return (out);
}

/* addr_count - mailboxes in an address header value */
static int
addr_count(const char *value)
{
	InternetAddressList *l = value ? internet_address_list_parse(NULL, value) : NULL;
	int	 n = 0;

	if (l) {
		foreign_addrs(l, &n);
		g_object_unref(l);
	}
	return (n);
}

/* has - is needle in the header value (NULL: not there)? */
static int
has(const char *value, const char *needle)
{
	return (value != NULL && strstr(value, needle) != NULL);
}

/* check_replyall - every address a client may answer goes to a reply
 * address or stays on the alias domain; the rest of those headers go */
static void
check_replyall(const char *dir)
{
	struct rewrite_env env;
	struct mhdr *h;
	size_t	 nh;
	GString	*out, *msg;
	const char *v;
	int	 i;

	env_init(&env, REWRITE_FORWARD);
	out = forward_file(dir, "hdr-replyall.eml", NULL, &env, &h, &nh);
	v = get_header(h, nh, "To");
	ok(has(v, "tok@alias.test") &&
	    has(v, "\"Alice Example (alice@other.example) via BIPostal\" <r"),
	    "reply-all: To keeps the alias, maps Alice: %s", v ? v : "(none)");
	is_int(count_header(h, nh, "Cc"), 1, "reply-all: the Cc that is no "
	    "address list is gone");
	v = get_header(h, nh, "Cc");
	ok(has(v, "Other alias <other@alias.test>") && has(v, "Team: ") &&
	    has(v, "(dave@team.example) via BIPostal") &&
	    has(v, "carol@team.example via BIPostal") && !has(v, "<bob@x.example>"),
	    "reply-all: Cc mapped, the alias domain kept, the group kept: %s",
	    v ? v : "(none)");
	ok(has(get_header(h, nh, "Reply-To"), "\"Support (help@shop.example) via BIPostal\" <r"),
	    "reply-all: Reply-To mapped");
	v = get_header(h, nh, "Mail-Followup-To");
	ok(has(v, "list@lists.example via BIPostal") && has(v, ", tok@alias.test"),
	    "reply-all: Mail-Followup-To mapped, the alias kept");
	ok(has(get_header(h, nh, "Mail-Reply-To"), "news-replies@shop.example via BIPostal"),
	    "reply-all: Mail-Reply-To mapped");
	is_int(count_header(h, nh, "List-Unsubscribe"), 1,
	    "reply-all: the site's List-Unsubscribe replaced by ours");
	ok(out && strstr(out->str, "@shop.example>") == NULL &&
	    strstr(out->str, "@lists.example>") == NULL &&
	    strstr(out->str, "mailto:") == NULL,
	    "reply-all: no site address in angle brackets, no mailto: left");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);

	out = forward_file(dir, "hdr-crowd.eml", NULL, &env, &h, &nh);
	is_int(addr_count(get_header(h, nh, "To")), 20,
	    "25 addresses in To: the first 20 kept");
	is_str(get_header(h, nh, "Cc"), " undisclosed-recipients: ;",
	    "an empty group stays");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);

	/* 61 correspondents: the store is asked for 50, From first */
	msg = g_string_new("From: a@shop.example\r\n");
	for (i = 0; i < 3; i++) {
		int	 k;

		g_string_append(msg, i == 0 ? "To: " : i == 1 ? "Cc: " : "Reply-To: ");
		for (k = 0; k < 20; k++)
			g_string_append_printf(msg, "u%d@crowd.example%s", 20 * i + k,
			    k < 19 ? ", " : "\r\n");
	}
	g_string_append(msg, "Subject: crowd\r\n\r\nHello.\r\n");
	nreplies = 0;
	out = forward_file(dir, NULL, msg, &env, &h, &nh);
	ok(out != NULL && nreplies == 50, "61 correspondents: 50 reply "
	    "addresses asked for (%d)", nreplies);
	is_int(addr_count(get_header(h, nh, "To")) + addr_count(get_header(h, nh, "Cc")) +
	    addr_count(get_header(h, nh, "Reply-To")), 49,
	    "61 correspondents: From and 49 mapped, 11 dropped");
	ok(has(get_header(h, nh, "From"), "a@shop.example via BIPostal"),
	    "61 correspondents: From mapped first");
	free_headers(h, nh);
	g_string_free(msg, TRUE);
	if (out)
		g_string_free(out, TRUE);

	/* nothing usable: the header goes; an unusable From: the envelope */
	msg = g_string_new("From: garbage text here\r\nFrom: <>\r\n"
	    "Reply-To: garbage text here\r\nTo: tok@alias.test\r\n"
	    "Cc: no-domain\r\nSubject: x\r\n\r\nHello.\r\n");
	out = forward_file(dir, NULL, msg, &env, &h, &nh);
	is_int(count_header(h, nh, "Reply-To") + count_header(h, nh, "Cc"), 0,
	    "Reply-To and Cc that hold no address removed");
	is_int(count_header(h, nh, "From"), 1, "two bad From: one From left");
	ok(has(get_header(h, nh, "From"), "bounces@shop.example via BIPostal"),
	    "two bad From: the envelope sender's reply address");
	free_headers(h, nh);
	g_string_free(msg, TRUE);
	if (out)
		g_string_free(out, TRUE);
}

/* check_containers - signed parts are opened when something must go,
 * encrypted ones only when they are what they say */
static void
check_containers(const char *dir)
{
	struct rewrite_env env;
	struct mhdr *h;
	size_t	 nh;
	GString	*out;

	env_init(&env, REWRITE_FORWARD);
	out = forward_file(dir, "signed-attach.eml", NULL, &env, &h, &nh);
	ok(out && strstr(out->str, "multipart/signed") == NULL &&
	    strstr(out->str, "protocol=") == NULL,
	    "signed-attach.eml: no longer signed (it would not verify)");
	ok(nblobs == 2 && strcmp(blobs[0].name, "setup.exe") == 0 &&
	    blobs[0].len > 2 && memcmp(blobs[0].data, "MZ", 2) == 0,
	    "signed-attach.eml: the program is in a blob, byte for byte");
	ok(nblobs == 2 && strcmp(blobs[1].type, "application/pgp-signature") == 0,
	    "signed-attach.eml: the signature parked");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);

	/* content policy keep: nothing must go, so it stays signed */
	env.strip = 0;
	out = forward_file(dir, "signed-attach.eml", NULL, &env, &h, &nh);
	ok(out && strstr(out->str, "multipart/signed") != NULL && nblobs == 0 &&
	    strstr(out->str, "[BIPostal]") == NULL,
	    "signed-attach.eml, keep policy: left alone, still signed");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);
	env.strip = 1;

	out = forward_file(dir, "signed-protected.eml", NULL, &env, &h, &nh);
	ok(out && strstr(out->str, "direct@shop.example") == NULL,
	    "signed-protected.eml: the Reply-To inside the signed part gone");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);

	out = forward_file(dir, "encrypted-fake.eml", NULL, &env, &h, &nh);
	ok(out && strstr(out->str, "multipart/encrypted") == NULL &&
	    nblobs == 2 && strcmp(blobs[1].name, "setup.exe") == 0,
	    "encrypted-fake.eml: a program called encrypted is parked");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);
}

/* check_text_parts - text a client would offer as a file is parked; the
 * body keeps its text but loses its name */
static void
check_text_parts(const char *dir)
{
	struct rewrite_env env;
	struct mhdr *h;
	size_t	 nh;
	GString	*out;
	const char *v;

	env_init(&env, REWRITE_FORWARD);
	out = forward_file(dir, "text-exe.eml", NULL, &env, &h, &nh);
	ok(nblobs == 2 && strcmp(blobs[0].name, "setup.exe") == 0 &&
	    strcmp(blobs[0].type, "text/plain") == 0 &&
	    memcmp(blobs[0].data, "MZ", 2) == 0 &&
	    strcmp(blobs[1].name, "invoice.html") == 0,
	    "text-exe.eml: the program and the HTML file parked as they came");
	ok(out && strstr(out->str, "name=\"setup.exe\"") == NULL &&
	    strstr(out->str, "phish.example") == NULL,
	    "text-exe.eml: neither left in the mail");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);

	out = forward_file(dir, "text-exe-only.eml", NULL, &env, &h, &nh);
	ok(nblobs == 1 && out && strstr(out->str, "TVq") == NULL &&
	    strstr(out->str, "setup.exe (text/plain, 57 bytes)") != NULL,
	    "text-exe-only.eml: parked; the banner lists it");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);

	out = forward_file(dir, "text-named-main.eml", NULL, &env, &h, &nh);
	v = get_header(h, nh, "Content-Type");
	ok(v && strstr(v, "text/plain") && !strstr(v, "name=") &&
	    !has(get_header(h, nh, "Content-Disposition"), "filename"),
	    "text-named-main.eml: the body kept, without its file name");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);
}

/* check_names - what the footer and the blobs call a parked part */
static void
check_names(const char *dir)
{
	static const char *const want[] = {
		"passwd", "evil.exe", "invoice_fdp.exe", NULL, "a_b_c_d_e.txt",
		"part-6",
	};
	struct rewrite_env env;
	struct mhdr *h;
	size_t	 nh, i;
	GString	*out, *msg;

	env_init(&env, REWRITE_FORWARD);
	out = forward_file(dir, "names.eml", NULL, &env, &h, &nh);
	is_int(nblobs, 6, "names.eml: six parts parked");
	for (i = 0; i < 6 && i < (size_t)nblobs; i++) {
		if (want[i] != NULL) {
			is_str(blobs[i].name, want[i], "names.eml: name %zu", i + 1);
			ok(out && strstr(out->str, want[i]) != NULL,
			    "names.eml: the footer shows %s", want[i]);
		}
	}
	ok(nblobs > 3 && g_utf8_strlen(blobs[3].name, -1) == 100 &&
	    strncmp(blobs[3].name, "aaaa", 4) == 0 &&
	    g_str_has_suffix(blobs[3].name, "\xe2\x80\xa6.exe"),
	    "names.eml: a 304-character name cut to 100, its extension kept");
	ok(out && strstr(out->str, "\xe2\x80\xae") == NULL &&
	    strstr(out->str, "\xe2\x80\x8b") == NULL && strstr(out->str, "../") == NULL,
	    "names.eml: no bidi override, zero-width space or path in the mail");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);

	/* four-byte characters: cut on a character within the blob's bytes */
	msg = g_string_new("From: a@shop.example\r\nTo: tok@alias.test\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
	    "--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Disposition: attachment; filename*=utf-8''");
	for (i = 0; i < 120; i++)
		g_string_append(msg, "%F0%9F%98%80");
	g_string_append(msg, ".exe\r\n\r\nx\r\n--B--\r\n");
	out = forward_file(dir, NULL, msg, &env, &h, &nh);
	ok(nblobs == 1 && strlen(blobs[0].name) <= 255 &&
	    g_utf8_validate(blobs[0].name, -1, NULL) &&
	    g_str_has_suffix(blobs[0].name, "\xe2\x80\xa6.exe"),
	    "120 emoji: at most 255 bytes, valid UTF-8, the extension kept (%zu bytes)",
	    nblobs == 1 ? strlen(blobs[0].name) : 0);
	free_headers(h, nh);
	g_string_free(msg, TRUE);
	if (out)
		g_string_free(out, TRUE);
}

/* check_html - what is kept of HTML shown as text; HTML too large to
 * check; a fresh mark each message */
static void
check_html(const char *dir)
{
	struct rewrite_env env;
	struct mhdr *h;
	size_t	 nh, i;
	GString	*out, *msg;
	char	*t1, *t2;
	const char *a, *b;

	env_init(&env, REWRITE_FORWARD);
	out = forward_file(dir, "html-comment.eml", NULL, &env, &h, &nh);
	ok(nblobs == 1 && strcmp(blobs[0].type, "text/html") == 0 &&
	    strcmp(blobs[0].name, "part-1.html") == 0 && blobs[0].len > 20 &&
	    memcmp(blobs[0].data, "<html><body><p>Visible offer.</p><!--", 20) == 0,
	    "html-comment.eml: the site's HTML kept as a blob, as it came");
	ok(out && strstr(out->str, "could not show the HTML") != NULL,
	    "html-comment.eml: the banner says why");
	free_headers(h, nh);
	if (out)
		g_string_free(out, TRUE);

	/* over HTML_MAX: not parsed, shown as ours, kept as a blob */
	msg = g_string_new("From: a@shop.example\r\nTo: tok@alias.test\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n"
	    "<html><body>\r\n");
	for (i = 0; i < 110000; i++)
		g_string_append(msg, "<p>a long newsletter</p>\r\n");
	g_string_append(msg, "</body></html>\r\n");
	out = forward_file(dir, NULL, msg, &env, &h, &nh);
	ok(out != NULL && nblobs == 1 && blobs[0].len > 2 * 1024 * 1024,
	    "2.6 MB of HTML: kept as a blob");
	if (out) {
		char	*t = top_text(out);
		const char *why = t ? html_ok(t) : "no HTML";

		ok(why == NULL && strstr(t, "could not show the HTML"),
		    "2.6 MB of HTML: our own document in its place (%s)",
		    why ? why : "ok");
		g_free(t);
		g_string_free(out, TRUE);
	}
	free_headers(h, nh);
	g_string_free(msg, TRUE);

	/* the mark is random per message */
	out = forward_file(dir, "html.eml", NULL, &env, &h, &nh);
	free_headers(h, nh);
	t1 = top_text(out);
	if (out)
		g_string_free(out, TRUE);
	out = forward_file(dir, "html.eml", NULL, &env, &h, &nh);
	free_headers(h, nh);
	t2 = top_text(out);
	if (out)
		g_string_free(out, TRUE);
	a = t1 ? strstr(t1, "data-bipostal=\"header-") : NULL;
	b = t2 ? strstr(t2, "data-bipostal=\"header-") : NULL;
	ok(a && b && strlen(a) > 54 && strlen(b) > 54 && strncmp(a, b, 54) != 0,
	    "html.eml: a new mark each time");
	g_free(t1);
	g_free(t2);
}

/* rewrite_text - rewrite a message built here; status, result freed */
static enum rewrite_status
rewrite_text(const GString *msg, const char **why)
{
	struct rewrite_env env;
	struct rewrite_result r;
	enum rewrite_status st;
	static char saved[64];

	env_init(&env, REWRITE_FORWARD);
	blobs_reset();
	st = rewrite_message(&env, (const unsigned char *)msg->str, msg->len, &r);
	snprintf(saved, sizeof(saved), "%s", r.why ? r.why : "");
	*why = saved;
	rewrite_result_free(&r);
	return (st);
}

/* check_structure - limits count MIME structure, never words */
static void
check_structure(void)
{
	GString	*m;
	const char *why;
	int	 i;

	/* shallow, but the text says "boundary" and "message/" a lot */
	m = g_string_new("From: a@shop.example\r\nTo: tok@alias.test\r\n"
	    "Subject: words\r\n\r\n");
	for (i = 0; i < 3000; i++)
		g_string_append(m, "a boundary; boundary=\"x\" message/rfc822 "
		    "message/partial\r\n");
	is_int(rewrite_text(m, &why), REWRITE_OK,
	    "3000 lines saying boundary and message/: forwarded (%s)", why);
	g_string_free(m, TRUE);

	/* the same words inside a real multipart */
	m = g_string_new("From: a@shop.example\r\nTo: tok@alias.test\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"W\"\r\n"
	    "\r\n--W\r\nContent-Type: text/plain\r\n\r\n");
	for (i = 0; i < 3000; i++)
		g_string_append(m, "boundary message/ boundary\r\n");
	g_string_append(m, "--W--\r\n");
	is_int(rewrite_text(m, &why), REWRITE_OK,
	    "a multipart whose text says boundary 9000 times: forwarded (%s)", why);
	g_string_free(m, TRUE);

	/* many parts, none deep */
	m = g_string_new("From: a@shop.example\r\nTo: tok@alias.test\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"P\"\r\n\r\n");
	for (i = 0; i < REWRITE_MAX_PARTS + 50; i++)
		g_string_append_printf(m, "--P\r\nContent-Type: text/plain\r\n\r\n%d\r\n", i);
	g_string_append(m, "--P--\r\n");
	is_int(rewrite_text(m, &why), REWRITE_TOO_MANY_PARTS,
	    "%d parts: too many parts", REWRITE_MAX_PARTS + 50);
	is_str(why, "too many MIME parts", "too many parts: its own reason");
	g_string_free(m, TRUE);

	/* just under the limit is fine */
	m = g_string_new("From: a@shop.example\r\nTo: tok@alias.test\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"P\"\r\n\r\n");
	for (i = 0; i < REWRITE_MAX_PARTS - 10; i++)
		g_string_append_printf(m, "--P\r\nContent-Type: text/plain\r\n\r\n%d\r\n", i);
	g_string_append(m, "--P--\r\n");
	is_int(rewrite_text(m, &why), REWRITE_OK, "%d parts: forwarded (%s)",
	    REWRITE_MAX_PARTS - 10, why);
	g_string_free(m, TRUE);

	/* nesting far deeper than anything legal: refused, no crash */
	m = g_string_new("From: a@shop.example\r\nTo: tok@alias.test\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
	for (i = 0; i < 5000; i++)
		g_string_append_printf(m, "--b%d\r\nContent-Type: multipart/mixed; "
		    "boundary=\"b%d\"\r\n\r\n", i, i + 1);
	g_string_append(m, "--b5000\r\nContent-Type: text/plain\r\n\r\nbottom\r\n");
	is_int(rewrite_text(m, &why), REWRITE_TOO_DEEP,
	    "5000 nested multiparts: too deep (%s)", why);
	g_string_free(m, TRUE);

	/* and nested messages */
	m = g_string_new("");
	for (i = 0; i < 3000; i++)
		g_string_append(m, "From: a@shop.example\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: message/rfc822\r\n\r\n");
	g_string_append(m, "From: a@shop.example\r\n\r\nbottom\r\n");
	is_int(rewrite_text(m, &why), REWRITE_TOO_DEEP,
	    "3000 nested messages: too deep (%s)", why);
	g_string_free(m, TRUE);
}

/* reply mode: From the alias, nothing of the owner left */
static void
check_reply(void)
{
	static const char msg[] =
	    "Received: from [10.0.0.5] (home.owner.example [198.51.100.9])\r\n"
	    "\tby mail.owner.example with ESMTPSA id 77\r\n"
	    "Received: from mail.owner.example by mx.alias.test\r\n"
	    "From: Real Person <Owner@Real.example>\r\n"
	    "To: \"Shop via BIPostal\" <r123@alias.test>\r\n"
	    "Cc: owner@real.example\r\n"
	    "Subject: Re: Your order\r\n"
	    "X-Originating-IP: [198.51.100.9]\r\n"
	    "User-Agent: Mutt/2.2\r\n"
	    "Disposition-Notification-To: owner@real.example\r\n"
	    "X-Whatever: contact me at owner@real.example please\r\n"
	    "Authentication-Results: mx.alias.test; dmarc=pass header.from=real.example\r\n"
	    "Message-ID: <abc@mail.owner.example>\r\n"
	    "\r\n"
	    "Where is my parcel?\r\n";
	struct rewrite_env env;
	struct rewrite_result r;
	struct mhdr *h;
	size_t	 nh, off, i;
	int	 leak = 0;

	env_init(&env, REWRITE_REPLY);
	env.owner = "owner@real.example";
	env.recipient = "news@shop.example";
	env.trusted_authserv = "mx.alias.test";
	env.key = (const unsigned char *)"reply key";
	env.keylen = 9;
	is_int(rewrite_message(&env, (const unsigned char *)msg, sizeof(msg) - 1, &r),
	    REWRITE_OK, "reply: ok");
	is_str(r.from_addr, "Owner@Real.example", "reply: From address reported");
	is_int(r.dmarc_pass, 1, "reply: trusted dmarc=pass seen");
	is_int(r.body_changed, 0, "reply: body untouched");
	nh = split_headers(msg, sizeof(msg) - 1, &h, &off);
	apply_ops(&h, &nh, &r);
	for (i = 0; i < nh; i++) {
		if (strcasestr(h[i].value, "owner@real.example") ||
		    strcasestr(h[i].value, "198.51.100.9"))
			leak++;
	}
	is_int(leak, 0, "reply: no header carries the owner's address or IP");
	is_int(count_header(h, nh, "Received"), 0, "reply: Received lines gone");
	is_int(count_header(h, nh, "User-Agent"), 0, "reply: User-Agent gone");
	is_str(get_header(h, nh, "From"), " tok@alias.test", "reply: From is the alias");
	is_str(get_header(h, nh, "To"), " news@shop.example", "reply: To is the site");
	ok(get_header(h, nh, "Subject") != NULL, "reply: Subject kept");
	free_headers(h, nh);
	rewrite_result_free(&r);

	env.trusted_authserv = "other.test";
	rewrite_message(&env, (const unsigned char *)msg, sizeof(msg) - 1, &r);
	is_int(r.dmarc_pass, 0, "reply: untrusted Authentication-Results ignored");
	rewrite_result_free(&r);
}

/* check_signing - bounce addresses (libbipostal's bounce.c, the one
 * implementation postmapd and the milter share) and the one-click
 * signature */
static void
check_signing(void)
{
	const unsigned char key[] = "0123456789abcdef0123456789abcdef";
	const int64_t t0 = 1763840000;
	char	 addr[320], tok[65], sig[33], sig2[33], *local, *up;
	int64_t	 ts = 0;
	size_t	 i, n;

	ok(bounce_address(key, 32, "abc123", t0, "alias.test", addr,
	    sizeof(addr)) == 0, "bounce address: %s", addr);
	ok(strncmp(addr, "bounce+", 7) == 0 && strstr(addr, "+abc123+") &&
	    strstr(addr, "@alias.test"), "bounce address: shape");
	n = strcspn(addr, "@");
	local = strndup(addr, n);
	is_int(bounce_check(key, 32, local, n, t0 + 60, tok, sizeof(tok), &ts),
	    BOUNCE_OK, "bounce address: verifies");
	is_str(tok, "abc123", "bounce address: token back");
	is_int(ts, t0, "bounce address: time back");
	up = strdup(local);
	for (i = 0; up[i]; i++)
		up[i] = (char)toupper((unsigned char)up[i]);
	is_int(bounce_check(key, 32, up, n, t0, tok, sizeof(tok), NULL),
	    BOUNCE_OK, "bounce address: upper case verifies (MTAs fold case)");
	free(up);
	is_int(bounce_check(key, 32, local, n, t0 + BOUNCE_MAX_AGE + 1, tok,
	    sizeof(tok), NULL), BOUNCE_EXPIRED,
	    "bounce address: older than BOUNCE_MAX_AGE is expired");
	is_int(bounce_check(key, 32, local, n, t0 - BOUNCE_SKEW - 1, tok,
	    sizeof(tok), NULL), BOUNCE_EXPIRED,
	    "bounce address: signed in the future is expired");
	is_int(bounce_check(key, 31, local, n, t0, tok, sizeof(tok), NULL),
	    BOUNCE_FORGED, "bounce address: another key does not verify");
	is_int(bounce_check(key, 8, local, n, t0, tok, sizeof(tok), NULL),
	    BOUNCE_FORGED, "bounce address: a short key verifies nothing");
	local[n - 1] = local[n - 1] == '0' ? '1' : '0';
	is_int(bounce_check(key, 32, local, n, t0, tok, sizeof(tok), NULL),
	    BOUNCE_FORGED, "bounce address: a changed MAC is refused");
	free(local);
	is_int(bounce_check(key, 32, "bounce+1+2", 10, t0, tok, sizeof(tok),
	    NULL), BOUNCE_FORGED, "bounce address: malformed refused");
	is_int(bounce_check(key, 32, "bounce", 6, t0, tok, sizeof(tok), NULL),
	    BOUNCE_NOT, "bounce address: bare 'bounce' is not one");
	is_int(bounce_check(key, 32, "abc123", 6, t0, tok, sizeof(tok), NULL),
	    BOUNCE_NOT, "bounce address: an alias is not one");
	{
		static const char *const bad[] = {
			"bounce+tpdwsc+abc+0123456789abcdef0123+x",
			"bounce+tpdwsc+ab-c+0123456789abcdef0123",
			"bounce+tpdwsc++0123456789abcdef0123",
			"bounce++abc+0123456789abcdef0123",
			"bounce+tpdwsc+abc+0123456789abcdef012",
			"bounce+tpdwsc+abc+0123456789abcdef01234",
			"bounce+tpdwsc+abc+0123456789abcdefg123",
			"bounce+zzzzzzzzzzzzzzzzzz+abc+0123456789abcdef0123",
			"bounce+tpdwsc+abc",
			"bounce+",
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			is_int(bounce_check(key, 32, bad[i], strlen(bad[i]), t0,
			    tok, sizeof(tok), NULL), BOUNCE_FORGED,
			    "bounce address: forged %s", bad[i]);
	}
	ok(bounce_address(key, 32, "abc", 1, "d", addr, 10) < 0,
	    "bounce address: small buffer refused");
	sign_unsub(key, 32, "abc123", sig);
	sign_unsub(key, 31, "abc123", sig2);
	ok(strlen(sig) == 32 && strcmp(sig, sig2) != 0, "unsubscribe sig: 32 hex, keyed");
}

int
main(void)
{
	const char *srcdir = getenv("top_srcdir");
	char	 dir[512], tdir[512], err[256];
	size_t	 i;

	snprintf(dir, sizeof(dir), "%s/tests/milter/corpus", srcdir ? srcdir : ".");
	snprintf(tdir, sizeof(tdir), "%s/milter/templates", srcdir ? srcdir : ".");
	rewrite_init();
	if (rewrite_templates_load(&tmpl, tdir, err, sizeof(err)) < 0)
		bail("templates: %s", err);
	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++)
		run_one(dir, &corpus[i]);
	check_specifics(dir);
	check_alternatives(dir);
	check_signed_inside(dir);
	check_replyall(dir);
	check_containers(dir);
	check_text_parts(dir);
	check_names(dir);
	check_html(dir);
	check_structure();
	check_reply();
	check_signing();
	blobs_reset();
	rewrite_templates_free(&tmpl);
	return (tap_done());
}
