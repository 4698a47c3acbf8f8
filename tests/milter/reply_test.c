/*
 * reply_test.c - an owner's reply as the site receives it, and the
 * reading of Authentication-Results behind the decision to send it
 *
 * Tables first: authres_parse() on fields as verifiers write them and
 * on broken ones; authres_dmarc() on the verdicts the milter acts on;
 * authres_top() on where the topmost field is.  Then rewrite_message()
 * in reply mode over messages built here: the header edits are applied
 * as the MTA applies them, the body replaced, and the bytes the site
 * would get are read again with GMime: they must hold no field but the
 * allowed ones, no trace of the owner's address in any spelling in any
 * header or decoded part, ids on the alias domain that stay the same for
 * the same original, and what the owner wrote.  TAP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "milter_authres.h"
#include "milter_rewrite.h"
#include "../lib/tap.h"

#define OWNER		"owner@real.example"
#define ALIAS		"tok@alias.test"
#define SITE		"news@shop.example"

/* ------------------------------------------------ authres_parse table */

static const struct {
	const char	*name;
	const char	*in;
	int		 rc;		/* 0 or -1 */
	const char	*id;
	int		 nresults;
	const char	*method;	/* of the last result */
	const char	*result;
	const char	*hfrom;		/* its header.from, NULL if none */
} parse_cases[] = {
	{ "OpenDMARC", " mx.alias.test; dmarc=pass (p=none dis=none) header.from=real.example",
	    0, "mx.alias.test", 1, "dmarc", "pass", "real.example" },
	{ "rspamd, three results, folded",
	    " mx.alias.test;\r\n\tdkim=pass header.d=real.example header.s=s1 header.b=Ab/+9=;\r\n"
	    "\tspf=pass (mx.alias.test: domain of owner@real.example designates 192.0.2.1 "
	    "as permitted sender) smtp.mailfrom=owner@real.example;\r\n\tdmarc=pass (policy=reject) "
	    "header.from=real.example", 0, "mx.alias.test", 3, "dmarc", "pass", "real.example" },
	{ "version and comments everywhere",
	    "(a (nested) comment) mx.alias.test (x) 1 (y); (z) dmarc (m) = (n) fail (o) "
	    "header (p) . (q) from (r) = (s) real.example (t)",
	    0, "mx.alias.test", 1, "dmarc", "fail", "real.example" },
	{ "method version", "mx; dkim/1=pass header.i=@real.example", 0, "mx", 1, "dkim", "pass", NULL },
	{ "quoted authserv-id", "\"mx.alias.test\"; dmarc=none header.from=real.example",
	    0, "mx.alias.test", 1, "dmarc", "none", "real.example" },
	{ "reason before properties", "mx; dmarc=fail reason=\"p=reject; aligned\" header.from=real.example",
	    0, "mx", 1, "dmarc", "fail", "real.example" },
	{ "quoted local part in a value", "mx; spf=pass smtp.mailfrom=\"a b\"@real.example",
	    0, "mx", 1, "spf", "pass", NULL },
	{ "keywords in upper case", "MX; DMARC=PASS HEADER.FROM=Real.Example",
	    0, "MX", 1, "dmarc", "pass", "Real.Example" },
	{ "a trailing semicolon", "mx; dmarc=pass header.from=real.example;",
	    0, "mx", 1, "dmarc", "pass", "real.example" },
	{ "none", "mx.alias.test; none", 0, "mx.alias.test", 0, NULL, NULL, NULL },
	{ "no authserv-id (Exchange)", "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=real.example; dmarc=pass",
	    -1, NULL, 0, NULL, NULL, NULL },
	{ "nothing", "", -1, NULL, 0, NULL, NULL, NULL },
	{ "only an id", "mx.alias.test", -1, NULL, 0, NULL, NULL, NULL },
	{ "only an id and ';'", "mx.alias.test;", -1, NULL, 0, NULL, NULL, NULL },
	{ "unclosed comment", "mx; dmarc=pass (p=none header.from=real.example", -1, NULL, 0, NULL, NULL, NULL },
	{ "unclosed quote", "\"mx; dmarc=pass", -1, NULL, 0, NULL, NULL, NULL },
	{ "result missing", "mx; dmarc= header.from=real.example", -1, NULL, 0, NULL, NULL, NULL },
	{ "property without a type", "mx; dmarc=pass action=none", -1, NULL, 0, NULL, NULL, NULL },
	{ "results after none", "mx; none; dmarc=pass", -1, NULL, 0, NULL, NULL, NULL },
	{ "two reasons", "mx; dmarc=fail reason=a reason=b", -1, NULL, 0, NULL, NULL, NULL },
	{ "8-bit in a value", "mx; dmarc=pass header.from=r\xc3\xa9" "al.example", -1, NULL, 0, NULL, NULL, NULL },
	{ "a value too long", NULL, -1, NULL, 0, NULL, NULL, NULL },	/* built below */
};

static void
check_parse(void)
{
	struct authres ar;
	const struct authres_result *r;
	const char *why, *hf, *v;
	char	 longv[600];
	size_t	 i;
	int	 rc;

	snprintf(longv, sizeof(longv), "mx; dmarc=pass header.from=%0*d", 300, 7);
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const char *in = parse_cases[i].in ? parse_cases[i].in : longv;

		rc = authres_parse(in, strlen(in), &ar, &why);
		is_int(rc, parse_cases[i].rc, "authres_parse: %s%s%s",
		    parse_cases[i].name, rc < 0 ? ": " : "", rc < 0 ? why : "");
		if (rc < 0 || parse_cases[i].rc < 0)
			continue;
		is_str(ar.id, parse_cases[i].id, "... authserv-id");
		is_int(ar.nresults, parse_cases[i].nresults, "... results");
		if (ar.nresults == 0)
			continue;
		r = &ar.results[ar.nresults - 1];
		is_str(r->method, parse_cases[i].method, "... method");
		is_str(r->result, parse_cases[i].result, "... result");
		hf = authres_prop(&ar, r, "header", "from");
		if (parse_cases[i].hfrom)
			is_str(hf, parse_cases[i].hfrom, "... header.from");
		else
			ok(hf == NULL, "... no header.from");
	}
	v = "mx; dmarc=fail reason=\"p=reject; aligned\" header.from=x";
	rc = authres_parse(v, strlen(v), &ar, &why);
	is_str(rc == 0 ? ar.results[0].reason : "", "p=reject; aligned",
	    "authres_parse: the reason, unquoted");
	v = "\"mx.alias\\.test\"; none";
	rc = authres_parse(v, strlen(v), &ar, &why);
	ok(rc == 0 && !ar.id_plain && strcmp(ar.id, "mx.alias.test") == 0,
	    "authres_parse: a quoted-pair in the id is marked");
}

/* ------------------------------------------------ authres_dmarc table */

static const struct {
	const char	*name;
	const char	*in;		/* NULL: no field */
	enum authres_dmarc want;
} dmarc_cases[] = {
	{ "no field", NULL, AUTHRES_DMARC_TEMP },
	{ "pass", "mx.alias.test; dmarc=pass header.from=real.example", AUTHRES_DMARC_PASS },
	{ "pass, domain with a dot and in capitals", "mx.alias.test; dmarc=pass header.from=REAL.EXAMPLE.",
	    AUTHRES_DMARC_PASS },
	{ "id in another case", "MX.Alias.Test; dmarc=pass header.from=real.example", AUTHRES_DMARC_PASS },
	{ "none", "mx.alias.test; dmarc=none header.from=real.example", AUTHRES_DMARC_NONE },
	{ "none without header.from", "mx.alias.test; dmarc=none", AUTHRES_DMARC_NONE },
	{ "fail", "mx.alias.test; dmarc=fail header.from=real.example", AUTHRES_DMARC_FAIL },
	{ "pass for another domain", "mx.alias.test; dmarc=pass header.from=evil.example", AUTHRES_DMARC_FAIL },
	{ "pass for a subdomain", "mx.alias.test; dmarc=pass header.from=x.real.example", AUTHRES_DMARC_FAIL },
	{ "none for another domain", "mx.alias.test; dmarc=none header.from=evil.example", AUTHRES_DMARC_FAIL },
	{ "pass without header.from", "mx.alias.test; dmarc=pass", AUTHRES_DMARC_TEMP },
	{ "temperror", "mx.alias.test; dmarc=temperror header.from=real.example", AUTHRES_DMARC_TEMP },
	{ "permerror", "mx.alias.test; dmarc=permerror header.from=real.example", AUTHRES_DMARC_TEMP },
	{ "bestguesspass", "mx.alias.test; dmarc=bestguesspass header.from=real.example", AUTHRES_DMARC_TEMP },
	{ "no dmarc result", "mx.alias.test; dkim=pass header.d=real.example", AUTHRES_DMARC_TEMP },
	{ "conflicting dmarc results", "mx.alias.test; dmarc=pass header.from=real.example; dmarc=fail",
	    AUTHRES_DMARC_TEMP },
	{ "two agreeing dmarc results", "mx.alias.test; dmarc=pass header.from=real.example; dmarc=pass "
	    "header.from=real.example", AUTHRES_DMARC_PASS },
	{ "another verifier", "mx.evil.example; dmarc=pass header.from=real.example", AUTHRES_DMARC_TEMP },
	{ "a lookalike id", "mx.alias.test.evil.example; dmarc=pass header.from=real.example",
	    AUTHRES_DMARC_TEMP },
	{ "an id that ends like ours", "evilmx.alias.test; dmarc=pass header.from=real.example",
	    AUTHRES_DMARC_TEMP },
	{ "a quoted-pair in the id", "\"mx.alias\\.test\"; dmarc=pass header.from=real.example",
	    AUTHRES_DMARC_TEMP },
	{ "unreadable", "mx.alias.test; dmarc=pass (header.from=real.example", AUTHRES_DMARC_TEMP },
};

static void
check_dmarc(void)
{
	const char *why;
	size_t	 i;
	enum authres_dmarc d;

	for (i = 0; i < sizeof(dmarc_cases) / sizeof(dmarc_cases[0]); i++) {
		const char *in = dmarc_cases[i].in;

		d = authres_dmarc(in, in ? strlen(in) : 0, "mx.alias.test",
		    "real.example", &why);
		ok(d == dmarc_cases[i].want, "authres_dmarc: %s -> %s (%s)",
		    dmarc_cases[i].name, authres_strdmarc(d), why);
	}
	d = authres_dmarc("mx.alias.test; dmarc=pass header.from=real.example", 49,
	    "", "real.example", &why);
	ok(d == AUTHRES_DMARC_TEMP, "authres_dmarc: no trusted id trusts nothing");
}

/* -------------------------------------------------- authres_top table */

static const struct {
	const char	*name;
	const char	*msg;
	const char	*want;		/* the value, NULL: none */
} top_cases[] = {
	{ "the first of two", "Received: x\r\nAuthentication-Results: a; none\r\n"
	    "Authentication-Results: b; none\r\n\r\nbody\r\n", " a; none" },
	{ "folded, LF line ends", "authentication-results: a;\n\tdmarc=pass\nFrom: x\n\n", " a;\n\tdmarc=pass" },
	{ "blanks before the colon", "Authentication-Results  : a; none\r\n\r\n", " a; none" },
	{ "a longer name is another field", "Authentication-Results-Old: a; none\r\n\r\n", NULL },
	{ "only in the body", "From: x\r\n\r\nAuthentication-Results: a; none\r\n", NULL },
	{ "after a line that is no field", "From: x\r\nnot a field\r\nAuthentication-Results: a; none\r\n\r\n",
	    NULL },
	{ "at the very end, no line end", "Authentication-Results: a; none", " a; none" },
	{ "none at all", "From: x\r\n\r\n", NULL },
	{ "empty message", "", NULL },
};

static void
check_top(void)
{
	const char *v;
	size_t	 i, vlen;
	int	 got;

	for (i = 0; i < sizeof(top_cases) / sizeof(top_cases[0]); i++) {
		const char *m = top_cases[i].msg, *w = top_cases[i].want;

		got = authres_top((const unsigned char *)m, strlen(m), &v, &vlen);
		if (w == NULL)
			ok(got == 0, "authres_top: %s: none", top_cases[i].name);
		else
			ok(got == 1 && vlen == strlen(w) && memcmp(v, w, vlen) == 0,
			    "authres_top: %s", top_cases[i].name);
	}
}

/* ------------------------------------------------ reply: the whole path */

struct field {
	char	*name;
	char	*value;
};

struct out {				/* a reply as the site gets it */
	enum rewrite_status st;
	struct rewrite_reply_out ro;
	struct rewrite_result r;
	struct field *f;
	size_t	 nf;
	GString	*bytes;			/* fields, blank line, body */
};

/* find_nth - the index of the n-th (1-based) field named name, or -1 */
static long
find_nth(struct out *o, const char *name, int n)
{
	size_t	 i;

	for (i = 0; i < o->nf; i++)
		if (strcasecmp(o->f[i].name, name) == 0 && --n == 0)
			return ((long)i);
	return (-1);
}

/* apply_ops - the edits as smfi_chgheader and smfi_addheader do them */
static void
apply_ops(struct out *o)
{
	size_t	 i;
	long	 k;

	for (i = 0; i < o->r.nops; i++) {
		const struct rewrite_hdr_op *op = &o->r.ops[i];

		k = op->idx > 0 ? find_nth(o, op->name, op->idx) : -1;
		if (k >= 0 && op->value == NULL) {
			free(o->f[k].name);
			free(o->f[k].value);
			memmove(&o->f[k], &o->f[k + 1],
			    (o->nf - (size_t)k - 1) * sizeof(*o->f));
			o->nf--;
		} else if (k >= 0) {
			free(o->f[k].value);
			o->f[k].value = strdup(op->value);
		} else if (op->value != NULL) {
			o->f = realloc(o->f, (o->nf + 1) * sizeof(*o->f));
			o->f[o->nf].name = strdup(op->name);
			o->f[o->nf].value = strdup(op->value);
			o->nf++;
		}
	}
}

/* split - the fields of msg (unfolded) and where its body starts */
static size_t
split(struct out *o, const char *msg)
{
	const char *p = msg, *e, *colon;
	GString	*v;

	while (*p && !(p[0] == '\r' && p[1] == '\n')) {
		e = strstr(p, "\r\n");
		colon = strchr(p, ':');
		v = g_string_new_len(colon + 1, e - colon - 1);
		while (e[2] == ' ' || e[2] == '\t') {
			const char *n = strstr(e + 2, "\r\n");

			g_string_append_len(v, e + 2, n - e - 2);
			e = n;
		}
		o->f = realloc(o->f, (o->nf + 1) * sizeof(*o->f));
		o->f[o->nf].name = strndup(p, (size_t)(colon - p));
		o->f[o->nf].value = g_strstrip(g_string_free(v, FALSE));
		o->nf++;
		p = e + 2;
	}
	return ((size_t)(p + 2 - msg));
}

/* run - rewrite msg as a reply with key; the result in o */
static void
run(struct out *o, const char *msg, const char *key)
{
	struct rewrite_env env;
	size_t	 body, i;

	memset(o, 0, sizeof(*o));
	memset(&env, 0, sizeof(env));
	env.mode = REWRITE_REPLY;
	env.alias_addr = ALIAS;
	env.origin = "shop.example";
	env.brand = "BIPostal";
	env.max_depth = 20;
	env.max_headers = 1000;
	env.owner = OWNER;
	env.recipient = SITE;
	env.trusted_authserv = "mx.alias.test";
	env.key = (const unsigned char *)key;
	env.keylen = strlen(key);
	env.reply_out = &o->ro;
	o->st = rewrite_message(&env, (const unsigned char *)msg, strlen(msg),
	    &o->r);
	body = split(o, msg);
	if (o->st == REWRITE_OK)
		apply_ops(o);
	o->bytes = g_string_new(NULL);
	for (i = 0; i < o->nf; i++)
		g_string_append_printf(o->bytes, "%s: %s\r\n", o->f[i].name,
		    o->f[i].value);
	g_string_append(o->bytes, "\r\n");
	if (o->r.body_changed)
		g_string_append_len(o->bytes, (const char *)o->r.body,
		    (gssize)o->r.body_len);
	else
		g_string_append(o->bytes, msg + body);
}

static void
out_free(struct out *o)
{
	size_t	 i;

	for (i = 0; i < o->nf; i++) {
		free(o->f[i].name);
		g_free(o->f[i].value);
	}
	free(o->f);
	rewrite_result_free(&o->r);
	g_string_free(o->bytes, TRUE);
}

/* field - the value of the first field named name, or NULL */
static const char *
field(struct out *o, const char *name)
{
	long	 k = find_nth(o, name, 1);

	return (k >= 0 ? o->f[k].value : NULL);
}

/* owner_shows - the owner's address in s, in the spellings a reader or
 * a browser would take for it */
static int
owner_shows(const char *s)
{
	static const char *const forms[] = {
		"owner@real.example", "owner%40real.example",
		"owner&#64;real.example", "owner&#x40;real.example",
		"owner&commat;real.example", "&#111;wner@real.example", NULL,
	};
	int	 i;

	for (i = 0; forms[i]; i++)
		if (strcasestr(s, forms[i]))
			return (1);
	return (0);
}

struct walk {
	GString	*text;			/* every decoded part, in order */
	int	 parts;
	int	 signatures;		/* parts naming a key */
	int	 leak;			/* the owner in a part's fields */
};

/* walk - collect the decoded content (text as UTF-8) and the fields of
 * every part */
static void
walk(GMimeObject *obj, struct walk *w)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int	 i;

	w->parts++;
	for (i = 0; hl && i < g_mime_header_list_get_count(hl); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);

		if (owner_shows(g_mime_header_get_raw_value(h)))
			w->leak++;
	}
	if (g_mime_content_type_is_type(g_mime_object_get_content_type(obj),
	    "application", "*") && (strstr(g_mime_content_type_get_mime_type(
	    g_mime_object_get_content_type(obj)), "signature") ||
	    strstr(g_mime_content_type_get_mime_type(
	    g_mime_object_get_content_type(obj)), "keys")))
		w->signatures++;
	if (GMIME_IS_MULTIPART(obj)) {
		for (i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(obj)); i++)
			walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), w);
	} else if (GMIME_IS_TEXT_PART(obj)) {
		char	*t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));

		g_string_append(w->text, t ? t : "");
		g_string_append_c(w->text, '\n');
		g_free(t);
	} else if (GMIME_IS_PART(obj)) {
		GMimeStream *mem = g_mime_stream_mem_new();
		GByteArray *ba;

		g_mime_data_wrapper_write_to_stream(
		    g_mime_part_get_content(GMIME_PART(obj)), mem);
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		g_string_append_len(w->text, (const char *)ba->data, (gssize)ba->len);
		g_string_append_c(w->text, '\n');
		g_object_unref(mem);
	}
}

/* read_back - parse what the site gets; the text of its parts in w */
static GMimeMessage *
read_back(struct out *o, struct walk *w)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(o->bytes->str,
	    o->bytes->len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	memset(w, 0, sizeof(*w));
	w->text = g_string_new(NULL);
	if (m && g_mime_message_get_mime_part(m))
		walk(g_mime_message_get_mime_part(m), w);
	g_object_unref(p);
	g_object_unref(s);
	return (m);
}

/* only_allowed - every field is one a reply may carry */
static int
only_allowed(struct out *o, GString *extra)
{
	static const char *const allowed[] = {
		"From", "To", "Subject", "Date", "Message-ID", "In-Reply-To",
		"References", "MIME-Version", NULL,
	};
	size_t	 i;
	int	 k, good = 1;

	for (i = 0; i < o->nf; i++) {
		for (k = 0; allowed[k]; k++)
			if (strcasecmp(o->f[i].name, allowed[k]) == 0)
				break;
		if (allowed[k] == NULL &&
		    strncasecmp(o->f[i].name, "Content-", 8) != 0) {
			g_string_append_printf(extra, " %s", o->f[i].name);
			good = 0;
		}
	}
	return (good);
}

/* is_our_id_n - v[0..n) is "<32 hex@alias.test>" */
static int
is_our_id_n(const char *v, size_t n)
{
	size_t	 i;

	if (v == NULL || n != 1 + 32 + 11 + 1 || strlen(v) < n || v[0] != '<')
		return (0);
	for (i = 1; i <= 32; i++)
		if (!strchr("0123456789abcdef", v[i]))
			return (0);
	return (strncmp(v + 33, "@alias.test>", 12) == 0);
}

/* is_our_id - v is "<32 hex@alias.test>" */
static int
is_our_id(const char *v)
{
	return (v != NULL && is_our_id_n(v, strlen(v)));
}

#define HDRS_CROWD \
	"Received: from [10.0.0.5] (home.real.example [198.51.100.9])\r\n" \
	"\tby mail.real.example with ESMTPSA id 77\r\n" \
	"Authentication-Results: mx.alias.test; dmarc=pass header.from=real.example\r\n" \
	"ARC-Seal: i=1; a=rsa-sha256; d=real.example; s=a; b=xyz\r\n" \
	"DKIM-Signature: v=1; d=real.example; s=s1; b=abc\r\n" \
	"From: Real Person <Owner@Real.example>\r\n" \
	"Sender: owner@real.example\r\n" \
	"Reply-To: owner@real.example\r\n" \
	"To: \"Shop via BIPostal\" <r123@alias.test>\r\n" \
	"Cc: friend@else.example\r\n" \
	"Bcc: boss@real.example\r\n" \
	"Subject: =?utf-8?q?Re=3A_caf=C3=A9_order=2C_write_to_OWNER=40real=2Eexample?=\r\n" \
	"Date: Mon, 23 Nov 2026 09:30:00 +0900\r\n" \
	"Message-ID: <abc.123@mail.real.example>\r\n" \
	"In-Reply-To: <order-1@shop.example>\r\n" \
	"References: <first@real.example> (mine)\r\n <order-1@shop.example>\r\n" \
	"\t<8a@alias.test>\r\n" \
	"Organization: Owner Inc.\r\n" \
	"User-Agent: Mutt/2.2\r\n" \
	"X-Mailer: Apple Mail (2.3731)\r\n" \
	"X-Originating-IP: [198.51.100.9]\r\n" \
	"Autocrypt: addr=owner@real.example; keydata=AAAA\r\n" \
	"OpenPGP: id=0123456789ABCDEF\r\n" \
	"Disposition-Notification-To: owner@real.example\r\n" \
	"Thread-Index: AdkAbc==\r\n" \
	"MIME-Version: 1.0 (Mac OS X Mail 16.0 \\(3731\\))\r\n"

/* check_fields - the allowlist, the ids, the date */
static void
check_fields(void)
{
	static const char msg[] = HDRS_CROWD
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "Where is my parcel?\r\n";
	struct out o, o2, o3;
	GString	*extra = g_string_new(NULL);
	const char *v;
	char	*subj;
	size_t	 i;
	int	 leak = 0;

	run(&o, msg, "key one");
	is_int(o.st, REWRITE_OK, "reply: ok (%s)", o.r.why ? o.r.why : "");
	is_str(o.ro.from_addr, "Owner@Real.example", "reply: the From to authorise");
	is_int(o.r.dmarc_pass, 1, "reply: the trusted dmarc=pass seen");
	ok(only_allowed(&o, extra), "reply: no field but the allowed ones:%s", extra->str);
	for (i = 0; i < o.nf; i++)
		if (owner_shows(o.f[i].value) || strcasestr(o.f[i].value, "real.example") ||
		    strstr(o.f[i].value, "198.51.100.9") || strstr(o.f[i].value, "+0900"))
			leak++;
	is_int(leak, 0, "reply: no field names the owner, their domain, IP or zone");
	is_str(field(&o, "From"), ALIAS, "reply: From is the alias");
	is_str(field(&o, "To"), SITE, "reply: To is the site");
	subj = g_mime_utils_header_decode_text(NULL, field(&o, "Subject"));
	is_str(subj, "Re: caf\xc3\xa9 order, write to " ALIAS,
	    "reply: Subject with the alias for the owner's address");
	g_free(subj);
	is_str(field(&o, "Date"), "Mon, 23 Nov 2026 00:30:00 +0000",
	    "reply: Date the same instant, in UTC");
	is_str(field(&o, "MIME-Version"), "1.0", "reply: MIME-Version without the client");
	ok(is_our_id(field(&o, "Message-ID")), "reply: Message-ID on the alias domain: %s",
	    field(&o, "Message-ID"));
	is_str(field(&o, "In-Reply-To"), "<order-1@shop.example>",
	    "reply: In-Reply-To: the site's id kept");
	v = field(&o, "References");
	ok(v != NULL && strlen(v) == 45 + 1 + 22 + 1 + 15 && is_our_id_n(v, 45) &&
	    strcmp(v + 45, " <order-1@shop.example> <8a@alias.test>") == 0,
	    "reply: References: the owner's id mapped, the site's and ours kept: %s", v);
	is_int(o.r.body_changed, 0, "reply: a plain text without the owner: body untouched");
	ok(find_nth(&o, "Content-Type", 1) >= 0, "reply: its Content-Type kept");

	/* the same original, the same ids; another key, other ones */
	run(&o2, msg, "key one");
	is_str(field(&o2, "Message-ID"), field(&o, "Message-ID"),
	    "reply: the same Message-ID for the same original");
	run(&o3, msg, "key two");
	ok(strcmp(field(&o3, "Message-ID"), field(&o, "Message-ID")) != 0,
	    "reply: another key, another Message-ID");
	out_free(&o2);
	out_free(&o3);
	out_free(&o);
	g_string_free(extra, TRUE);
}

/* check_thread - the owner's earlier id, met again in References, maps
 * to what the site saw as that message's Message-ID */
static void
check_thread(void)
{
	static const char first[] = "From: owner@real.example\r\n"
	    "To: r@alias.test\r\nSubject: a\r\n"
	    "Message-ID: <ZZ-1@Mail.Real.Example>\r\n\r\nfirst\r\n";
	static const char later[] = "From: owner@real.example\r\n"
	    "To: r@alias.test\r\nSubject: b\r\n"
	    "Message-ID: <x9@smtp.provider.example>\r\n"
	    "In-Reply-To: <ZZ-1@mail.real.example>\r\n"
	    "References: <p1@smtp.provider.example> <ZZ-1@mail.real.example>\r\n"
	    "\r\nlater\r\n";
	static const char fresh[] = "From: owner@real.example\r\n"
	    "To: r@alias.test\r\nSubject: c\r\n\r\nno id\r\n";
	struct out a, b, c;
	char	*want;

	run(&a, first, "k");
	run(&b, later, "k");
	want = g_strdup_printf("%s", field(&a, "Message-ID"));
	is_str(field(&b, "In-Reply-To"), want,
	    "thread: In-Reply-To is the id the site saw (domain case aside)");
	ok(field(&b, "References") && strstr(field(&b, "References"), want) &&
	    !strstr(field(&b, "References"), "provider"),
	    "thread: References too, and ids on the reply's own Message-ID domain mapped: %s",
	    field(&b, "References"));
	run(&c, fresh, "k");
	ok(is_our_id(field(&c, "Message-ID")) && find_nth(&c, "Date", 1) >= 0,
	    "thread: a reply without Message-ID and Date gets both: %s",
	    field(&c, "Message-ID"));
	g_free(want);
	out_free(&a);
	out_free(&b);
	out_free(&c);
}

#define BODY_HEAD \
	"From: owner@real.example\r\nTo: r@alias.test\r\nSubject: re\r\n" \
	"Message-ID: <m1@mail.real.example>\r\nMIME-Version: 1.0\r\n"

static const char alt_body[] =
    "--a\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "Merci, caf=E9 OK.\r\n\r\n-- \r\nReal Owner, OWNER@REAL.EXAMPLE, owner%40real.example\r\n\r\n"
    "On Sun, 22 Nov 2026, Real Owner <owner@real.example> wrote:\r\n"
    "> -----BEGIN PGP SIGNATURE-----\r\n> (quoted from the site)\r\n"
    "--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "PHA+PGEgaHJlZj0ibWFpbHRvOm93bmVyJTQwcmVhbC5leGFtcGxlIj5vd25lciYjNjQ7cmVhbC5l\r\n"
    "eGFtcGxlPC9hPiBvd25lciYjeDQwO3JlYWwuZXhhbXBsZSBvd25lciZjb21tYXQ7cmVhbC5leGFt\r\n"
    "cGxlICYjMTExO3duZXJAcmVhbC5leGFtcGxlIDxpbWcgc3JjPSJjaWQ6cGFydDEuYWJjQHJlYWwu\r\n"
    "ZXhhbXBsZSI+PC9wPg==\r\n"
    "--a\r\nContent-Type: image/png\r\nContent-ID: <part1.abc@real.example>\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--a--\r\n";

/* check_body - text and HTML at any depth, signatures, refusals */
static void
check_body(void)
{
	char	*signed_pgp = g_strdup_printf(BODY_HEAD
	    "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
	    " protocol=\"application/pgp-signature\"; boundary=\"s\"\r\n\r\n"
	    "This is an OpenPGP/MIME signed message.\r\n"
	    "--s\r\nContent-Type: multipart/mixed; boundary=\"a\";\r\n"
	    " protected-headers=\"v1\"\r\nFrom: Real Owner <owner@real.example>\r\n"
	    "Subject: re\r\n\r\n%s--s\r\n"
	    "Content-Type: application/pgp-signature; name=\"OpenPGP_signature.asc\"\r\n\r\n"
	    "-----BEGIN PGP SIGNATURE-----\r\nwsB5BAABCAAj\r\n-----END PGP SIGNATURE-----\r\n"
	    "--s--\r\n", alt_body);
	struct out o;
	struct walk w;
	GMimeMessage *m;

	run(&o, signed_pgp, "k");
	is_int(o.st, REWRITE_OK, "body: a PGP-signed reply is sent (%s)",
	    o.ro.refused ? o.ro.refused : o.r.why ? o.r.why : "");
	ok(o.r.body_changed, "body: written anew");
	m = read_back(&o, &w);
	ok(m != NULL && w.parts == 4, "body: the signed content alone: %d parts", w.parts);
	is_int(w.signatures, 0, "body: no signature left");
	is_int(w.leak, 0, "body: no part field names the owner (protected headers gone)");
	ok(!owner_shows(w.text->str), "body: the owner's address in no spelling in any part");
	ok(strstr(w.text->str, "Merci, caf\xc3\xa9 OK.") != NULL,
	    "body: the text, its accents intact");
	ok(strstr(w.text->str, "Real Owner, " ALIAS ", " ALIAS) != NULL,
	    "body: signature with the alias");
	ok(strstr(w.text->str, "Real Owner <" ALIAS "> wrote:") != NULL,
	    "body: quote line with the alias");
	ok(strstr(w.text->str, "mailto:" ALIAS "\">" ALIAS "</a> " ALIAS " " ALIAS " " ALIAS) != NULL,
	    "body: HTML: %%40, &#64;, &#x40;, &commat; and &#111; all the alias");
	ok(!strstr(o.bytes->str, "real.example") && strstr(w.text->str, "cid:") &&
	    !strstr(w.text->str, "cid:part1.abc@real.example"),
	    "body: Content-ID on the owner's domain mapped, with its cid: link");
	ok(!strstr(o.bytes->str, "OpenPGP/MIME signed") && !strstr(o.bytes->str, "boundary=\"a\""),
	    "body: no preamble, new boundaries");
	if (m)
		g_object_unref(m);
	g_string_free(w.text, TRUE);
	out_free(&o);
	g_free(signed_pgp);
}

static const struct {
	const char	*name;
	const char	*type;		/* top Content-Type */
	const char	*body;
	const char	*refused;	/* a word of the refusal, NULL: sent */
} refuse_cases[] = {
	{ "multipart/encrypted", "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e",
	    "--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e\r\n"
	    "Content-Type: application/octet-stream\r\n\r\nxx\r\n--e--\r\n", "Encrypted" },
	{ "S/MIME enveloped", "application/pkcs7-mime; smime-type=enveloped-data", "MIAG\r\n", "Encrypted" },
	{ "encrypted inside mixed", "multipart/mixed; boundary=m",
	    "--m\r\nContent-Type: text/plain\r\n\r\nhi\r\n--m\r\n"
	    "Content-Type: application/x-pkcs7-mime\r\n\r\nMIAG\r\n--m--\r\n", "Encrypted" },
	{ "inline PGP signature", "text/plain",
	    "-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nhi\r\n", "Inline PGP" },
	{ "inline PGP key", "text/plain", "my key:\r\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n", "Inline PGP" },
	{ "a PGP block quoted from the site", "text/plain",
	    "> -----BEGIN PGP MESSAGE-----\r\n> xx\r\n", NULL },
	{ "the address in an attachment", "multipart/mixed; boundary=m",
	    "--m\r\nContent-Type: text/plain\r\n\r\nsee\r\n--m\r\nContent-Type: application/pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nb3duZXJAcmVhbC5leGFtcGxl\r\n--m--\r\n", "own address" },
	{ "the address in an attached message", "multipart/mixed; boundary=m",
	    "--m\r\nContent-Type: text/plain\r\n\r\nfwd\r\n--m\r\nContent-Type: message/rfc822\r\n\r\n"
	    "From: shop@shop.example\r\nTo: Owner@Real.Example\r\n\r\nyour order\r\n--m--\r\n", "own address" },
	{ "the address in a file name", "multipart/mixed; boundary=m",
	    "--m\r\nContent-Type: text/plain\r\n\r\nsee\r\n--m\r\nContent-Type: application/pdf;\r\n"
	    " name=\"owner@real.example.pdf\"\r\n\r\n%PDF\r\n--m--\r\n", "own address" },
	{ "an attached key is dropped", "multipart/mixed; boundary=m",
	    "--m\r\nContent-Type: text/plain\r\n\r\nhi\r\n--m\r\nContent-Type: application/pgp-keys\r\n\r\n"
	    "-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n--m--\r\n", NULL },
	{ "a multipart GMime finds no part in", "multipart/mixed; boundary=nothere",
	    "text for owner@real.example\r\n", NULL },
};

/* check_refusals - what is refused, and what passes */
static void
check_refusals(void)
{
	struct out o;
	struct walk w;
	GMimeMessage *m;
	char	*msg;
	size_t	 i;

	for (i = 0; i < sizeof(refuse_cases) / sizeof(refuse_cases[0]); i++) {
		msg = g_strdup_printf(BODY_HEAD "Content-Type: %s\r\n\r\n%s",
		    refuse_cases[i].type, refuse_cases[i].body);
		run(&o, msg, "k");
		if (refuse_cases[i].refused) {
			ok(o.st == REWRITE_TEMP && o.ro.refused &&
			    strstr(o.ro.refused, refuse_cases[i].refused) &&
			    o.r.nops == 0 && o.r.body == NULL,
			    "refused: %s: %s", refuse_cases[i].name,
			    o.ro.refused ? o.ro.refused : "(sent)");
		} else {
			m = read_back(&o, &w);
			ok(o.st == REWRITE_OK && o.ro.refused == NULL &&
			    w.signatures == 0 && !owner_shows(w.text->str) &&
			    !owner_shows(o.bytes->str),
			    "sent: %s (%s)", refuse_cases[i].name,
			    o.ro.refused ? o.ro.refused : o.r.why ? o.r.why : "ok");
			if (m)
				g_object_unref(m);
			g_string_free(w.text, TRUE);
		}
		out_free(&o);
		g_free(msg);
	}
}

/* check_limits - what the driver does not measure in reply mode */
static void
check_limits(void)
{
	struct rewrite_env env;
	struct rewrite_result r;
	GString	*m = g_string_new(BODY_HEAD
	    "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
	int	 i;

	for (i = 0; i < 40; i++)
		g_string_append_printf(m, "--b%d\r\nContent-Type: multipart/mixed; "
		    "boundary=\"b%d\"\r\n\r\n", i, i + 1);
	g_string_append(m, "--b40\r\nContent-Type: text/plain\r\n\r\nbottom\r\n");
	memset(&env, 0, sizeof(env));
	env.mode = REWRITE_REPLY;
	env.alias_addr = ALIAS;
	env.owner = OWNER;
	env.recipient = SITE;
	env.key = (const unsigned char *)"k";
	env.keylen = 1;
	env.max_depth = 20;
	is_int(rewrite_message(&env, (const unsigned char *)m->str, m->len, &r),
	    REWRITE_TOO_DEEP, "limits: 40 nested multiparts in a reply: too deep");
	rewrite_result_free(&r);
	env.key = NULL;
	is_int(rewrite_message(&env, (const unsigned char *)m->str, m->len, &r),
	    REWRITE_TEMP, "limits: no key in the env: tempfail, nothing sent");
	ok(r.nops == 0 && r.why != NULL, "... with a reason (%s)", r.why);
	rewrite_result_free(&r);
	g_string_free(m, TRUE);
}

int
main(void)
{
	rewrite_init();
	check_parse();
	check_dmarc();
	check_top();
	check_fields();
	check_thread();
	check_body();
	check_refusals();
	check_limits();
	return (tap_done());
}
