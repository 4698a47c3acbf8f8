/*
 * addr.c - one reading of an address (see addr.h)
 *
 * The grammar is RFC 5321's Path and Mailbox with the forms Postfix
 * takes as well: <> around it or not, "@a,@b:" source routes (dropped,
 * as RFC 5321 C says a server should), a quoted local part whose quoted
 * pairs are unescaped, and a domain or address literal.  What Postfix
 * does further (lower-casing, the trailing dot) is done here too, so
 * that the canonical form is the one Postfix itself hands to the maps
 * and to the milter as {rcpt_addr}.  Written by hand: no library in
 * Debian reads RFC 5321 paths; the grammar is small and fuzzed
 * (fuzz/addr_fuzz.c).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "addr.h"
#include "bounce.h"
#include "store.h"

/* lower - ASCII lower case */
static char
lower(char c)
{
	return (c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
}

/* addr_parse - see addr.h */
int
addr_parse(const char *s, size_t len, struct addr *out)
{
	const char *end = s + len, *p, *at;
	size_t	 n = 0, i;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > ADDR_TEXT_MAX || memchr(s, '\0', len) != NULL)
		return (-1);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (-1);
	if (*s == '<') {
		if (len < 2 || end[-1] != '>')
			return (-1);
		s++;
		end--;
	}
	if (s == end)
		return (-1);			/* <>: no address */
	if (*s == '@') {
		/* source route: "@dom" *("," "@dom") ":" */
		for (p = s; p < end && *p != ':'; p++)
			if (*p == '"' || *p == '<' || *p == '>' || *p == ' ')
				return (-1);
		if (p == end)
			return (-1);
		s = p + 1;
	}
	if (s == end)
		return (-1);
	if (*s == '"') {
		for (p = s + 1; p < end && *p != '"'; p++) {
			if (*p == '\\') {
				if (++p == end)
					return (-1);
			}
			if (n >= ADDR_LOCAL_MAX)
				return (-1);
			out->local[n++] = *p;
		}
		if (p == end)
			return (-1);		/* no closing quote */
		p++;
		if (p < end && *p != '@')
			return (-1);
		at = p < end ? p : NULL;
	} else {
		at = NULL;
		for (p = s; p < end; p++)
			if (*p == '@')
				at = p;
		p = at ? at : end;
		if ((size_t)(p - s) > ADDR_LOCAL_MAX)
			return (-1);
		for (; s < p; s++) {
			if (*s == ' ' || *s == '"' || *s == '<' || *s == '>' ||
			    *s == '\\' || *s == ',' || *s == ';')
				return (-1);
			out->local[n++] = *s;
		}
	}
	out->local[n] = '\0';
	if (n == 0)
		return (-1);
	if (at == NULL)
		return (0);			/* "postmaster" alone */
	s = at + 1;
	if (end > s && end[-1] == '.' && *s != '[')
		end--;			/* one trailing dot: the root */
	if (s == end || (size_t)(end - s) > ADDR_DOMAIN_MAX || *s == '.' ||
	    end[-1] == '.' || memmem(s, (size_t)(end - s), "..", 2) != NULL)
		return (-1);		/* no empty label */
	for (n = 0; s < end; s++, n++) {
		if (*s == ' ' || *s == '@' || *s == '"' || *s == '<' ||
		    *s == '>' || *s == ',' || *s == ';' || *s == '\\')
			return (-1);
		out->domain[n] = lower(*s);
	}
	out->domain[n] = '\0';
	return (0);
}

/* addr_route - see addr.h */
enum addr_kind
addr_route(const struct addr *a, const char *alias_domain, char *tok,
    size_t toksize, char *ext, size_t extsize)
{
	size_t	 n, i;
	const char *plus;

	if (toksize > 0)
		*tok = '\0';
	if (extsize > 0)
		*ext = '\0';
	if (alias_domain == NULL || *alias_domain == '\0' ||
	    strcasecmp(a->domain, alias_domain) != 0)
		return (ADDR_OTHER);
	if (strcasecmp(a->local, "postmaster") == 0 ||
	    strcasecmp(a->local, "abuse") == 0)
		return (ADDR_ROLE);
	if (strncasecmp(a->local, BOUNCE_PREFIX, strlen(BOUNCE_PREFIX)) == 0)
		return (ADDR_BOUNCE);
	plus = strchr(a->local, '+');
	n = plus ? (size_t)(plus - a->local) : strlen(a->local);
	if (n == 0 || n > TOKEN_MAX || n >= toksize)
		return (ADDR_BAD);
	for (i = 0; i < n; i++) {
		char	 c = lower(a->local[i]);

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
			return (ADDR_BAD);
		tok[i] = c;
	}
	tok[n] = '\0';
	if (plus != NULL && extsize > 0) {
		n = strlen(plus + 1);
		if (n >= extsize)
			n = extsize - 1;
		memcpy(ext, plus + 1, n);
		ext[n] = '\0';
	}
	return (ADDR_ALIAS);
}

/* names_domain - does text, not one address, still end in @domain? */
static int
names_domain(const char *s, size_t len, const char *domain)
{
	const char *at = NULL, *end = s + len;
	size_t	 i, dl = strlen(domain);

	for (i = 0; i < len; i++)
		if (s[i] == '@')
			at = s + i;
	if (at == NULL || dl == 0)
		return (0);
	if (end > at && end[-1] == '>')
		end--;
	if (end > at + 1 && end[-1] == '.')
		end--;
	return ((size_t)(end - at - 1) == dl &&
	    strncasecmp(at + 1, domain, dl) == 0);
}

/* addr_classify - see addr.h */
enum addr_kind
addr_classify(const char *text, size_t len, const char *alias_domain,
    struct addr *out, char *tok, size_t toksize, char *ext, size_t extsize)
{
	if (toksize > 0)
		*tok = '\0';
	if (extsize > 0)
		*ext = '\0';
	if (addr_parse(text, len, out) < 0)
		return (alias_domain && names_domain(text, len, alias_domain) ?
		    ADDR_BAD : ADDR_OTHER);
	return (addr_route(out, alias_domain, tok, toksize, ext, extsize));
}

/* addr_email_ok - see addr.h */
int
addr_email_ok(const char *a)
{
	const unsigned char *p;
	size_t	 len;
	int	 at = 0;

	if (a == NULL || (len = strnlen(a, EMAIL_MAX + 1)) < 3 ||
	    len > EMAIL_MAX)
		return (0);
	for (p = (const unsigned char *)a; *p; p++) {
		if (*p <= ' ' || *p >= 0x7f || strchr("<>()[],;:\\\"", *p))
			return (0);
		if (*p == '@')
			at++;
	}
	return (at == 1 && a[0] != '@' && a[len - 1] != '@');
}

/* addr_origin_ok - see addr.h */
int
addr_origin_ok(const char *o)
{
	size_t	 len, i;
	char	 c;

	if (o == NULL || (len = strnlen(o, ORIGIN_MAX + 1)) < 1 ||
	    len > ORIGIN_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		c = o[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
		    c == '_' || c == ':'))
			return (0);
	}
	return (o[0] != '.' && o[0] != '-');
}

/* addr_domain_of - see addr.h */
void
addr_domain_of(const char *email, char *out, size_t size)
{
	const char *at = strrchr(email, '@');
	size_t	 n = 0;

	if (size == 0)
		return;
	if (at != NULL)
		for (at++; *at && n + 1 < size; at++)
			out[n++] = lower(*at);
	out[n] = '\0';
}
