/*
 * milter_authres.c - a reader of Authentication-Results header fields
 * (RFC 8601, section 2.2); see milter_authres.h for the interface
 *
 * Written by hand: no library in Debian parses this header (OpenDMARC
 * and OpenDKIM write it, rspamd keeps its reader to itself).  The
 * grammar, with CFWS (whitespace, folding and nested comments) allowed
 * between any two of its words:
 *
 *	authserv-id [version] ( ";" "none" / 1*( ";" resinfo ) )
 *	resinfo    = method ["/" version] "=" result
 *		     ["reason" "=" value] *( ptype "." property "=" pvalue )
 *	value      = token / quoted-string	(RFC 2045)
 *
 * The structure is read strictly: keywords are letters, digits, '-' and
 * '_', and a word where another belongs is an error.  Property values
 * are read as verifiers write them rather than as the grammar says: a
 * quoted string (an address with a quoted local part after it), or a
 * run of printable characters up to whitespace, a comment or ';', so
 * that "header.b=ab/c+d=" and "smtp.mailfrom=a@b" pass.  A trailing ';'
 * is tolerated.  Keywords are folded to lower case; the authserv-id and
 * the values are kept as written.
 *
 * Failure: -1 with a static reason; a field that does not fit the
 * limits of milter_authres.h is refused, never cut.  No allocation.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "milter_authres.h"

#define AR_NAME		"Authentication-Results"

struct lex {				/* a cursor over one field value */
	const char	*p;
	const char	*end;
	const char	*why;		/* set by the first error */
};

/* lex_fail - record the first error; always -1 */
static int
lex_fail(struct lex *lx, const char *why)
{
	if (lx->why == NULL)
		lx->why = why;
	return (-1);
}

/* is_wsp - whitespace or a line end of a folded field */
static int
is_wsp(int c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

/* is_word - a character of a keyword */
static int
is_word(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_');
}

/* is_token - a character of an RFC 2045 token */
static int
is_token(int c)
{
	return (c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL);
}

/* skip_cfws - whitespace and comments, nested to any depth; -1 for an
 * unterminated comment or a NUL byte */
static int
skip_cfws(struct lex *lx)
{
	int	 depth;

	while (lx->p < lx->end) {
		if (is_wsp((unsigned char)*lx->p)) {
			lx->p++;
			continue;
		}
		if (*lx->p != '(')
			break;
		for (depth = 0; lx->p < lx->end; lx->p++) {
			if (*lx->p == '\0')
				return (lex_fail(lx, "NUL byte in a comment"));
			if (*lx->p == '\\' && lx->p + 1 < lx->end)
				lx->p++;	/* quoted-pair */
			else if (*lx->p == '(')
				depth++;
			else if (*lx->p == ')' && --depth == 0)
				break;
		}
		if (lx->p == lx->end)
			return (lex_fail(lx, "unterminated comment"));
		lx->p++;
	}
	return (0);
}

/* put - append c to a field of size bytes at *n; -1 when it is full */
static int
put(struct lex *lx, char *out, size_t size, size_t *n, int c)
{
	if (*n + 1 >= size)
		return (lex_fail(lx, "word or value too long"));
	out[(*n)++] = (char)c;
	out[*n] = '\0';
	return (0);
}

/* read_keyword - a keyword, folded to lower case, into out */
static int
read_keyword(struct lex *lx, char *out, size_t size)
{
	size_t	 n = 0;

	out[0] = '\0';
	if (lx->p == lx->end || !is_word((unsigned char)*lx->p))
		return (lex_fail(lx, "keyword expected"));
	while (lx->p < lx->end && is_word((unsigned char)*lx->p)) {
		int	 c = (unsigned char)*lx->p++;

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (put(lx, out, size, &n, c) < 0)
			return (-1);
	}
	return (0);
}

/* read_quoted - a quoted-string, unquoted, appended to out at *n; *pairs
 * counts the quoted-pairs */
static int
read_quoted(struct lex *lx, char *out, size_t size, size_t *n, int *pairs)
{
	lx->p++;			/* the opening quote */
	while (lx->p < lx->end && *lx->p != '"') {
		if (*lx->p == '\0')
			return (lex_fail(lx, "NUL byte in a quoted string"));
		if (*lx->p == '\\' && lx->p + 1 < lx->end) {
			lx->p++;
			(*pairs)++;
		}
		if (*lx->p != '\r' && *lx->p != '\n' &&
		    put(lx, out, size, n, (unsigned char)*lx->p) < 0)
			return (-1);
		lx->p++;
	}
	if (lx->p == lx->end)
		return (lex_fail(lx, "unterminated quoted string"));
	lx->p++;
	return (0);
}

/* read_value - token or quoted-string (the authserv-id); *pairs counts
 * quoted-pairs */
static int
read_value(struct lex *lx, char *out, size_t size, int *pairs)
{
	size_t	 n = 0;

	out[0] = '\0';
	*pairs = 0;
	if (lx->p < lx->end && *lx->p == '"')
		return (read_quoted(lx, out, size, &n, pairs));
	if (lx->p == lx->end || !is_token((unsigned char)*lx->p))
		return (lex_fail(lx, "value expected"));
	while (lx->p < lx->end && is_token((unsigned char)*lx->p))
		if (put(lx, out, size, &n, (unsigned char)*lx->p++) < 0)
			return (-1);
	return (0);
}

/* read_pvalue - a property or reason value as verifiers write it: a
 * quoted string (and whatever sticks to it, "a b"@c), or printable
 * characters up to whitespace, '(' or ';' */
static int
read_pvalue(struct lex *lx, char *out, size_t size)
{
	size_t	 n = 0;
	int	 pairs = 0, quoted = 0;

	out[0] = '\0';
	if (lx->p < lx->end && *lx->p == '"') {
		if (read_quoted(lx, out, size, &n, &pairs) < 0)
			return (-1);
		quoted = 1;
	}
	while (lx->p < lx->end && *lx->p > ' ' && *lx->p < 0x7f &&
	    *lx->p != '(' && *lx->p != ';' && *lx->p != '"')
		if (put(lx, out, size, &n, (unsigned char)*lx->p++) < 0)
			return (-1);
	if (n == 0 && !quoted)
		return (lex_fail(lx, "property value expected"));
	return (0);
}

/* read_digits - a version number (at most 9 digits) */
static int
read_digits(struct lex *lx, int *out)
{
	int	 v = 0, n = 0;

	while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
		if (++n > 9)
			return (lex_fail(lx, "version number too long"));
		v = v * 10 + (*lx->p++ - '0');
	}
	if (n == 0)
		return (lex_fail(lx, "version number expected"));
	*out = v;
	return (0);
}

/* expect - skip CFWS, then one character c */
static int
expect(struct lex *lx, int c, const char *why)
{
	if (skip_cfws(lx) < 0)
		return (-1);
	if (lx->p == lx->end || *lx->p != c)
		return (lex_fail(lx, why));
	lx->p++;
	return (skip_cfws(lx));
}

/* read_props - reasonspec and propspecs after a methodspec, up to ';'
 * or the end */
static int
read_props(struct lex *lx, struct authres *ar, struct authres_result *r)
{
	char	 word[AUTHRES_WORD_MAX + 1];
	struct authres_prop *pp;

	r->prop = ar->nprops;
	for (;;) {
		if (skip_cfws(lx) < 0)
			return (-1);
		if (lx->p == lx->end || *lx->p == ';')
			return (0);
		if (read_keyword(lx, word, sizeof(word)) < 0 ||
		    skip_cfws(lx) < 0)
			return (-1);
		if (strcmp(word, "reason") == 0 && lx->p < lx->end &&
		    *lx->p == '=') {
			if (r->reason[0] != '\0')
				return (lex_fail(lx, "two reasons"));
			if (expect(lx, '=', "'=' expected") < 0 ||
			    read_pvalue(lx, r->reason, sizeof(r->reason)) < 0)
				return (-1);
			continue;
		}
		if (ar->nprops == AUTHRES_PROPS_MAX)
			return (lex_fail(lx, "too many properties"));
		pp = &ar->props[ar->nprops];
		memcpy(pp->ptype, word, sizeof(pp->ptype));
		if (expect(lx, '.', "'.' expected after a property type") < 0 ||
		    read_keyword(lx, pp->property, sizeof(pp->property)) < 0 ||
		    expect(lx, '=', "'=' expected after a property") < 0 ||
		    read_pvalue(lx, pp->value, sizeof(pp->value)) < 0)
			return (-1);
		ar->nprops++;
		r->nprops++;
	}
}

/* read_resinfo - one methodspec with its reason and properties */
static int
read_resinfo(struct lex *lx, struct authres *ar, const char *method)
{
	struct authres_result *r;

	if (ar->nresults == AUTHRES_RESULTS_MAX)
		return (lex_fail(lx, "too many results"));
	r = &ar->results[ar->nresults];
	memset(r, 0, sizeof(*r));
	memcpy(r->method, method, sizeof(r->method));
	if (lx->p < lx->end && *lx->p == '/') {
		if (expect(lx, '/', "'/' expected") < 0 ||
		    read_digits(lx, &r->version) < 0 || skip_cfws(lx) < 0)
			return (-1);
	}
	if (expect(lx, '=', "'=' expected after a method") < 0 ||
	    read_keyword(lx, r->result, sizeof(r->result)) < 0 ||
	    read_props(lx, ar, r) < 0)
		return (-1);
	ar->nresults++;
	return (0);
}

/* authres_parse - see milter_authres.h */
int
authres_parse(const char *val, size_t len, struct authres *ar,
    const char **why)
{
	struct lex lx = { val, val + len, NULL };
	char	 word[AUTHRES_WORD_MAX + 1];
	int	 pairs, none = 0;

	memset(ar, 0, sizeof(*ar));
	if (skip_cfws(&lx) < 0 ||
	    read_value(&lx, ar->id, sizeof(ar->id), &pairs) < 0 ||
	    skip_cfws(&lx) < 0)
		goto bad;
	ar->id_plain = pairs == 0;
	if (ar->id[0] == '\0') {
		lex_fail(&lx, "empty authserv-id");
		goto bad;
	}
	if (lx.p < lx.end && *lx.p >= '0' && *lx.p <= '9' &&
	    (read_digits(&lx, &ar->version) < 0 || skip_cfws(&lx) < 0))
		goto bad;
	while (lx.p < lx.end) {
		if (*lx.p != ';') {
			lex_fail(&lx, "';' expected");
			goto bad;
		}
		lx.p++;
		if (skip_cfws(&lx) < 0)
			goto bad;
		if (lx.p == lx.end)
			break;		/* a trailing ';' */
		if (none) {
			lex_fail(&lx, "results after \"none\"");
			goto bad;
		}
		if (read_keyword(&lx, word, sizeof(word)) < 0 ||
		    skip_cfws(&lx) < 0)
			goto bad;
		if (strcmp(word, "none") == 0 && (lx.p == lx.end ||
		    *lx.p == ';') && ar->nresults == 0) {
			none = 1;
			continue;
		}
		if (read_resinfo(&lx, ar, word) < 0)
			goto bad;
	}
	if (!none && ar->nresults == 0) {
		lex_fail(&lx, "no result");
		goto bad;
	}
	*why = NULL;
	return (0);
bad:
	*why = lx.why ? lx.why : "unreadable";
	return (-1);
}

/* authres_prop - see milter_authres.h */
const char *
authres_prop(const struct authres *ar, const struct authres_result *r,
    const char *ptype, const char *property)
{
	size_t	 i;

	for (i = r->prop; i < r->prop + r->nprops && i < ar->nprops; i++)
		if (strcasecmp(ar->props[i].ptype, ptype) == 0 &&
		    strcasecmp(ar->props[i].property, property) == 0)
			return (ar->props[i].value);
	return (NULL);
}

/* line_end - the end of the line at p (at its LF, or end) */
static const unsigned char *
line_end(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));

	return (nl ? nl : end);
}

/* field_value - if the header field starting at p (its first line
 * ending at e) is named name, where its value starts; NULL if it is
 * another field; *bad = 1 if the line is no header field at all */
static const unsigned char *
field_value(const unsigned char *p, const unsigned char *e, const char *name,
    int *bad)
{
	const unsigned char *q = p;
	size_t	 n = strlen(name);

	while (q < e && *q != ':' && *q > ' ' && *q < 0x7f)
		q++;
	*bad = q == p;
	if ((size_t)(q - p) != n || strncasecmp((const char *)p, name, n) != 0)
		n = 0;
	while (q < e && (*q == ' ' || *q == '\t'))
		q++;			/* obsolete: blanks before the colon */
	if (q == e || *q != ':')
		*bad = 1;
	return (*bad || n == 0 ? NULL : q + 1);
}

/* authres_top - see milter_authres.h */
int
authres_top(const unsigned char *msg, size_t len, const char **val,
    size_t *vlen)
{
	const unsigned char *p = msg, *end = msg + len, *e, *v;
	int	 bad;

	while (p < end) {
		e = line_end(p, end);
		if (p == e || (*p == '\r' && p + 1 == e))
			return (0);		/* the blank line */
		if (*p != ' ' && *p != '\t') {	/* not a continuation */
			v = field_value(p, e, AR_NAME, &bad);
			if (bad)
				return (0);	/* the header ends here */
			if (v != NULL) {
				/* the field goes on over folded lines */
				while (e < end && end - e > 1 &&
				    (e[1] == ' ' || e[1] == '\t'))
					e = line_end(e + 1, end);
				if (e > v && e[-1] == '\r')
					e--;	/* without its line end */
				*val = (const char *)v;
				*vlen = (size_t)(e - v);
				return (1);
			}
		}
		p = e < end ? e + 1 : end;
	}
	return (0);
}

/* same_domain - a and b name the same domain (case, one trailing dot);
 * a may be an address: its domain counts */
static int
same_domain(const char *a, const char *b)
{
	const char *at = strrchr(a, '@');
	size_t	 la, lb;

	if (at != NULL)
		a = at + 1;
	la = strlen(a);
	lb = strlen(b);
	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return (la > 0 && la == lb && strncasecmp(a, b, la) == 0);
}

/* authres_dmarc - see milter_authres.h */
enum authres_dmarc
authres_dmarc(const char *val, size_t len, const char *trusted,
    const char *domain, const char **why)
{
	struct authres ar;
	const struct authres_result *r, *dm = NULL;
	const char *from;
	size_t	 i;

	if (val == NULL) {
		*why = "no Authentication-Results";
		return (AUTHRES_DMARC_TEMP);
	}
	if (authres_parse(val, len, &ar, why) < 0)
		return (AUTHRES_DMARC_TEMP);
	if (trusted == NULL || !ar.id_plain || strcasecmp(ar.id, trusted) != 0) {
		*why = "topmost Authentication-Results not from the trusted "
		    "verifier";
		return (AUTHRES_DMARC_TEMP);
	}
	for (i = 0; i < ar.nresults; i++) {
		r = &ar.results[i];
		if (strcmp(r->method, "dmarc") != 0)
			continue;
		if (dm != NULL && strcmp(dm->result, r->result) != 0) {
			*why = "conflicting dmarc results";
			return (AUTHRES_DMARC_TEMP);
		}
		dm = r;
	}
	if (dm == NULL) {
		*why = "no dmarc result";
		return (AUTHRES_DMARC_TEMP);
	}
	from = authres_prop(&ar, dm, "header", "from");
	if (strcmp(dm->result, "fail") == 0) {
		*why = "dmarc=fail";
		return (AUTHRES_DMARC_FAIL);
	}
	if (strcmp(dm->result, "pass") == 0) {
		if (from == NULL) {
			*why = "dmarc=pass without header.from";
			return (AUTHRES_DMARC_TEMP);
		}
		if (!same_domain(from, domain)) {
			*why = "dmarc=pass for another domain";
			return (AUTHRES_DMARC_FAIL);
		}
		*why = "dmarc=pass";
		return (AUTHRES_DMARC_PASS);
	}
	if (strcmp(dm->result, "none") == 0) {
		if (from != NULL && !same_domain(from, domain)) {
			*why = "dmarc=none for another domain";
			return (AUTHRES_DMARC_FAIL);
		}
		*why = "dmarc=none";
		return (AUTHRES_DMARC_NONE);
	}
	*why = "dmarc result is neither pass, none nor fail";
	return (AUTHRES_DMARC_TEMP);
}

/* authres_strdmarc - see milter_authres.h */
const char *
authres_strdmarc(enum authres_dmarc d)
{
	static const char *const word[] = {
		[AUTHRES_DMARC_PASS] = "pass", [AUTHRES_DMARC_NONE] = "none",
		[AUTHRES_DMARC_FAIL] = "fail", [AUTHRES_DMARC_TEMP] = "temp",
	};

	return ((unsigned)d < sizeof(word) / sizeof(word[0]) ? word[d] : "?");
}
