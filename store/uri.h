/*
 * uri.h - one reading of the URIs in bipostal.conf (store, redis)
 *
 *	scheme ":" [ "//" [ user [ ":" password ] "@" ] host [ ":" port ] ]
 *	    path [ "?" name "=" value *( "&" name "=" value ) ]
 *
 * uri_parse() splits a URI into its parts and percent-decodes the user,
 * the password, the path and the values of the query.  It is strict: the
 * scheme is letters, digits, "+", "-" and "."; the host is a name
 * (letters, digits, "-", "_", labels of 1 to 63), a dotted IPv4 address
 * or an IPv6 address in brackets; a port is 1 to 65535; the query is
 * name=value pairs with distinct names; every "%" starts two hex digits;
 * nothing decodes to NUL; no space, control, non-ASCII byte or fragment
 * ("#") anywhere outside the user and password; every part has a size
 * limit below.  Because passwords are often pasted as they are, the user
 * and password run up to the last "@" before the query, and may hold any
 * visible character ("@", "/", "#" and ":" after the first included).
 * What each scheme means (default host and port, what the path names,
 * which query names exist) is for the caller.
 *
 * Failure: uri_parse returns -1 with *why, a static reason that never
 * quotes the text (it may hold a password).  Ownership: results go into
 * the caller's struct uri, whose fixed fields need no freeing; the
 * caller clears it with uri_clear when it held a password.
 */
#ifndef BIPOSTAL_URI_H
#define BIPOSTAL_URI_H

#include <stddef.h>

#define URI_TEXT_MAX		2048	/* the whole URI */
#define URI_SCHEME_MAX		16
#define URI_USER_MAX		128	/* decoded */
#define URI_PASSWORD_MAX	256	/* decoded */
#define URI_HOST_MAX		253	/* RFC 1035; IPv6 without brackets */
#define URI_PATH_MAX		1024	/* decoded */
#define URI_PARAM_MAX		8	/* name=value pairs in the query */
#define URI_PNAME_MAX		32
#define URI_PVALUE_MAX		512	/* decoded */

enum uri_host {
	URI_HOST_NONE = 0,	/* no "//", or an empty host */
	URI_HOST_NAME,
	URI_HOST_IPV4,
	URI_HOST_IPV6,		/* host holds it without the brackets */
};

struct uri_param {
	char		 name[URI_PNAME_MAX + 1];
	char		 value[URI_PVALUE_MAX + 1];
};

struct uri {
	char		 scheme[URI_SCHEME_MAX + 1];	/* lower case */
	int		 has_authority;	/* "//" follows the scheme */
	int		 has_user;	/* "...@" was given (user may be "") */
	int		 has_password;	/* "user:password@" (may be "") */
	char		 user[URI_USER_MAX + 1];
	char		 password[URI_PASSWORD_MAX + 1];
	enum uri_host	 host_type;
	char		 host[URI_HOST_MAX + 1];	/* "" with URI_HOST_NONE */
	int		 port;		/* 0: none given */
	char		 path[URI_PATH_MAX + 1];	/* with "//": "" or "/..." */
	size_t		 nparam;
	struct uri_param param[URI_PARAM_MAX];
};

/* uri_parse - read len bytes of text into *out; 0, or -1 with *why */
int		 uri_parse(const char *text, size_t len, struct uri *out,
		    const char **why);
/* uri_param - the decoded value of query name (borrowed from u), or NULL */
const char	*uri_param(const struct uri *u, const char *name);
/* uri_clear - wipe u, password included; NULL is fine */
void		 uri_clear(struct uri *u);

#endif
