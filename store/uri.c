/*
 * uri.c - one reading of the URIs in bipostal.conf (store, redis)
 *
 * Interface and grammar: uri.h.  The parser reads the text once, from
 * the left: the scheme up to ":", the query from the first "?", the
 * user and password up to the last "@" before the query (after a "//"),
 * then host and port up to the next "/" and the path up to the query.
 * Every part is checked and copied into a fixed field of the caller's
 * struct uri; a part that does not fit is an error, never truncated.
 *
 * Failure: -1 with a static reason; the reason never quotes the text.
 * Ownership: nothing is allocated; the caller owns struct uri.
 */
#include "config.h"

#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "uri.h"

/* uri_visible - a byte a URI may hold: printable ASCII, not a space */
static int
uri_visible(int c)
{
	return (c > 0x20 && c < 0x7f);
}

/* uri_alnum - an ASCII letter or digit (no locale) */
static int
uri_alnum(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'));
}

/* uri_hex - the value of one hex digit, or -1 */
static int
uri_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * uri_decode - percent-decode s[0..n) into out (size bytes, always
 * NUL-terminated); a raw character of stop (NULL: none) is refused, and
 * so is an escape of NUL; too_long is the reason when out is too small.
 * 0, or -1 with *why.
 */
static int
uri_decode(const char *s, size_t n, const char *stop, char *out, size_t size,
    const char *too_long, const char **why)
{
	size_t	 i, o = 0;
	int	 c, hi, lo;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (stop != NULL && strchr(stop, c) != NULL) {
			*why = "a fragment (#) or a stray character";
			return (-1);
		}
		if (c == '%') {
			if (n - i < 3 || (hi = uri_hex(s[i + 1])) < 0 ||
			    (lo = uri_hex(s[i + 2])) < 0) {
				*why = "a % not followed by two hex digits";
				return (-1);
			}
			if ((c = hi * 16 + lo) == 0) {
				*why = "%00 (NUL) in the URI";
				return (-1);
			}
			i += 2;
		}
		if (o + 1 >= size) {
			*why = too_long;
			return (-1);
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (0);
}

/* uri_name - s is a host name: labels of 1 to 63 letters, digits, "-"
 * and "_", no "-" at either end of a label */
static int
uri_name(const char *s)
{
	size_t	 label = 0;
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return (0);
			label = 0;
			continue;
		}
		if (!uri_alnum((unsigned char)*p) && *p != '-' && *p != '_')
			return (0);
		if ((label == 0 && *p == '-') || ++label > 63)
			return (0);
	}
	return (label > 0 && p[-1] != '-');
}

/* uri_host - host [":" port] in [p, e) into u; 0 or -1 with *why */
static int
uri_host(struct uri *u, const char *p, const char *e, const char **why)
{
	unsigned char addr[sizeof(struct in6_addr)];
	const char *hend, *q;
	size_t	 n;
	long	 port;

	if (p < e && *p == '[') {
		if ((hend = memchr(p, ']', (size_t)(e - p))) == NULL) {
			*why = "a [ without a ] around the host";
			return (-1);
		}
		n = (size_t)(hend - p - 1);
		if (n == 0 || n > URI_HOST_MAX) {
			*why = "the host in [ ] is not an IPv6 address";
			return (-1);
		}
		memcpy(u->host, p + 1, n);
		u->host[n] = '\0';
		if (inet_pton(AF_INET6, u->host, addr) != 1) {
			*why = "the host in [ ] is not an IPv6 address";
			return (-1);
		}
		u->host_type = URI_HOST_IPV6;
		p = hend + 1;
		if (p < e && *p != ':') {
			*why = "text after the ] of the host";
			return (-1);
		}
	} else {
		if ((hend = memchr(p, ':', (size_t)(e - p))) == NULL)
			hend = e;
		if ((n = (size_t)(hend - p)) > URI_HOST_MAX) {
			*why = "a host name longer than 253 bytes";
			return (-1);
		}
		memcpy(u->host, p, n);
		u->host[n] = '\0';
		if (n > 0 && u->host[strspn(u->host, "0123456789.")] == '\0') {
			if (inet_pton(AF_INET, u->host, addr) != 1) {
				*why = "a host of digits that is not an IPv4 "
				    "address";
				return (-1);
			}
			u->host_type = URI_HOST_IPV4;
		} else if (n > 0) {
			if (!uri_name(u->host)) {
				*why = "the host is not a name, an IPv4 "
				    "address or an [IPv6] address";
				return (-1);
			}
			u->host_type = URI_HOST_NAME;
		}
		p = hend;
	}
	if (p == e)
		return (0);
	/* ":" port: 1 to 5 digits, 1 to 65535 */
	p++;
	if (p == e || e - p > 5) {
		*why = "a port that is not 1 to 65535";
		return (-1);
	}
	for (port = 0, q = p; q < e; q++) {
		if (*q < '0' || *q > '9') {
			*why = "a port that is not 1 to 65535";
			return (-1);
		}
		port = port * 10 + (*q - '0');
	}
	if (port < 1 || port > 65535) {
		*why = "a port that is not 1 to 65535";
		return (-1);
	}
	u->port = (int)port;
	return (0);
}

/* uri_query - name=value pairs in [p, e) into u; 0 or -1 with *why */
static int
uri_query(struct uri *u, const char *p, const char *e, const char **why)
{
	struct uri_param *pa;
	const char *amp, *eq, *c;
	size_t	 i;

	for (;;) {
		if ((amp = memchr(p, '&', (size_t)(e - p))) == NULL)
			amp = e;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL || eq == p) {
			*why = "a query that is not name=value&name=value";
			return (-1);
		}
		if ((size_t)(eq - p) > URI_PNAME_MAX) {
			*why = "a query option name longer than 32 bytes";
			return (-1);
		}
		for (c = p; c < eq; c++)
			if (!uri_alnum((unsigned char)*c) && *c != '_' &&
			    *c != '-' && *c != '.') {
				*why = "a query option name that is not "
				    "letters, digits, -, _ and .";
				return (-1);
			}
		if (u->nparam == URI_PARAM_MAX) {
			*why = "more than 8 query options";
			return (-1);
		}
		pa = &u->param[u->nparam];
		memcpy(pa->name, p, (size_t)(eq - p));
		pa->name[eq - p] = '\0';
		for (i = 0; i < u->nparam; i++)
			if (strcmp(u->param[i].name, pa->name) == 0) {
				*why = "a query option given twice";
				return (-1);
			}
		if (uri_decode(eq + 1, (size_t)(amp - eq - 1), "#", pa->value,
		    sizeof(pa->value), "a query value longer than 512 bytes",
		    why) != 0)
			return (-1);
		u->nparam++;
		if (amp == e)
			return (0);
		p = amp + 1;
	}
}

/* uri_read - the parser proper; may leave a part filled on error */
static int
uri_read(const char *text, size_t len, struct uri *u, const char **why)
{
	const char *end, *p, *q, *at, *colon, *aend;
	size_t	 i;

	memset(u, 0, sizeof(*u));
	if (len == 0) {
		*why = "an empty URI";
		return (-1);
	}
	if (len > URI_TEXT_MAX) {
		*why = "a URI longer than 2048 bytes";
		return (-1);
	}
	for (i = 0; i < len; i++)
		if (!uri_visible((unsigned char)text[i])) {
			*why = "a space, control or non-ASCII byte in the URI";
			return (-1);
		}
	end = text + len;

	/* scheme ":" */
	for (p = text; p < end && *p != ':'; p++)
		if (!uri_alnum((unsigned char)*p) && (p == text ||
		    (*p != '+' && *p != '-' && *p != '.')))
			break;
	if (p == text || p == end || *p != ':' ||
	    (text[0] >= '0' && text[0] <= '9')) {
		*why = "no scheme (want scheme:...)";
		return (-1);
	}
	if ((size_t)(p - text) > URI_SCHEME_MAX) {
		*why = "a scheme longer than 16 bytes";
		return (-1);
	}
	for (i = 0; text + i < p; i++)
		u->scheme[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ?
		    text[i] - 'A' + 'a' : text[i]);
	p++;
	if ((q = memchr(p, '?', (size_t)(end - p))) == NULL)
		q = end;

	/* "//" [ user [ ":" password ] "@" ] host [ ":" port ] */
	if (end - p >= 2 && p[0] == '/' && p[1] == '/') {
		u->has_authority = 1;
		p += 2;
		for (at = NULL, aend = p; aend < q; aend++)
			if (*aend == '@')
				at = aend;
		if (at != NULL) {
			u->has_user = 1;
			colon = memchr(p, ':', (size_t)(at - p));
			if (uri_decode(p, (size_t)((colon ? colon : at) - p),
			    NULL, u->user, sizeof(u->user),
			    "a user name longer than 128 bytes", why) != 0)
				return (-1);
			if (colon != NULL) {
				u->has_password = 1;
				if (uri_decode(colon + 1, (size_t)(at - colon -
				    1), NULL, u->password, sizeof(u->password),
				    "a password longer than 256 bytes",
				    why) != 0)
					return (-1);
			}
			p = at + 1;
		}
		for (aend = p; aend < q && *aend != '/'; aend++)
			;
		if (uri_host(u, p, aend, why) != 0)
			return (-1);
		p = aend;
	}

	/* path, then "?" query */
	if (uri_decode(p, (size_t)(q - p), "#", u->path, sizeof(u->path),
	    "a path longer than 1024 bytes", why) != 0)
		return (-1);
	if (q == end)
		return (0);
	if (q + 1 == end) {
		*why = "a ? with no query after it";
		return (-1);
	}
	return (uri_query(u, q + 1, end, why));
}

/* uri_parse - read len bytes of text into *u; 0, or -1 with *why and
 * *u wiped (a password read before the error goes with it) */
int
uri_parse(const char *text, size_t len, struct uri *u, const char **why)
{
	if (uri_read(text, len, u, why) == 0)
		return (0);
	uri_clear(u);
	return (-1);
}

/* uri_param - the decoded value of query name (borrowed), or NULL */
const char *
uri_param(const struct uri *u, const char *name)
{
	size_t	 i;

	for (i = 0; i < u->nparam; i++)
		if (strcmp(u->param[i].name, name) == 0)
			return (u->param[i].value);
	return (NULL);
}

/* uri_clear - wipe u, password included; NULL is fine */
void
uri_clear(struct uri *u)
{
	if (u != NULL)
		explicit_bzero(u, sizeof(*u));
}
