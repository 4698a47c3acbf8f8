/*
 * uri_fuzz - fuzz target over uri.c, the one reading of the store and
 * redis URIs in bipostal.conf
 *
 * Any byte string is tried as a URI: uri_parse must never read outside
 * it, must refuse with a reason or accept, and what it accepts must be
 * consistent: a lower-case scheme, every field NUL-terminated within its
 * limit, a port of 0 to 65535, a host of the type it claims, a password
 * only with a user.  What it accepts, written again in a canonical form
 * (every byte but the unreserved ones percent-encoded), parses to the
 * same struct (when that form is within URI_TEXT_MAX); what it refuses
 * leaves the struct wiped.
 *
 * Built with -DFUZZ_LIBFUZZER (make fuzz-uri, clang) it is a libFuzzer
 * target; without, fuzz/replay.c replays fuzz/corpus/uri (make check).
 */
#include "config.h"

#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uri.h"
#include "replay.h"

#define CANON_MAX	32768	/* every field at its limit, encoded */

/* put - append n bytes of s to buf at *len (CANON_MAX bytes) */
static void
put(char *buf, size_t *len, const char *s, size_t n)
{
	if (*len + n >= CANON_MAX)
		__builtin_trap();
	memcpy(buf + *len, s, n);
	*len += n;
}

/* put_enc - append s percent-encoded, all but [A-Za-z0-9-._~] and the
 * characters of keep */
static void
put_enc(char *buf, size_t *len, const char *s, const char *keep)
{
	char	 esc[4];

	for (; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL ||
		    (keep != NULL && strchr(keep, *s) != NULL))
			put(buf, len, s, 1);
		else {
			snprintf(esc, sizeof(esc), "%%%02X",
			    (unsigned char)*s);
			put(buf, len, esc, 3);
		}
	}
}

/* canon - u written again, canonically; its length */
static size_t
canon(const struct uri *u, char *buf)
{
	size_t	 len = 0, i;
	char	 port[16];

	put(buf, &len, u->scheme, strlen(u->scheme));
	put(buf, &len, ":", 1);
	if (u->has_authority) {
		put(buf, &len, "//", 2);
		if (u->has_user) {
			put_enc(buf, &len, u->user, NULL);
			if (u->has_password) {
				put(buf, &len, ":", 1);
				put_enc(buf, &len, u->password, NULL);
			}
			put(buf, &len, "@", 1);
		}
		if (u->host_type == URI_HOST_IPV6)
			put(buf, &len, "[", 1);
		put(buf, &len, u->host, strlen(u->host));
		if (u->host_type == URI_HOST_IPV6)
			put(buf, &len, "]", 1);
		if (u->port != 0) {
			snprintf(port, sizeof(port), ":%d", u->port);
			put(buf, &len, port, strlen(port));
		}
		put_enc(buf, &len, u->path, "/");
	} else if (u->path[0] == '/' && u->path[1] == '/') {
		put(buf, &len, "%2F", 3);	/* else it reads as "//" host */
		put_enc(buf, &len, u->path + 1, "/");
	} else
		put_enc(buf, &len, u->path, "/");
	for (i = 0; i < u->nparam; i++) {
		put(buf, &len, i ? "&" : "?", 1);
		put(buf, &len, u->param[i].name, strlen(u->param[i].name));
		put(buf, &len, "=", 1);
		put_enc(buf, &len, u->param[i].value, NULL);
	}
	return (len);
}

/* check - what an accepted URI must be */
static void
check(const struct uri *u)
{
	unsigned char addr[sizeof(struct in6_addr)];
	size_t	 i;

	if (strnlen(u->scheme, sizeof(u->scheme)) == sizeof(u->scheme) ||
	    strnlen(u->user, sizeof(u->user)) == sizeof(u->user) ||
	    strnlen(u->password, sizeof(u->password)) ==
	    sizeof(u->password) ||
	    strnlen(u->host, sizeof(u->host)) == sizeof(u->host) ||
	    strnlen(u->path, sizeof(u->path)) == sizeof(u->path) ||
	    u->nparam > URI_PARAM_MAX)
		__builtin_trap();
	if (!(u->scheme[0] >= 'a' && u->scheme[0] <= 'z'))
		__builtin_trap();
	for (i = 0; u->scheme[i] != '\0'; i++)
		if (u->scheme[i] >= 'A' && u->scheme[i] <= 'Z')
			__builtin_trap();
	if (u->port < 0 || u->port > 65535 ||
	    (u->has_password && !u->has_user) ||
	    (!u->has_authority && (u->has_user || u->port != 0 ||
	    u->host_type != URI_HOST_NONE)) ||
	    (u->has_authority && u->path[0] != '\0' && u->path[0] != '/'))
		__builtin_trap();
	switch (u->host_type) {
	case URI_HOST_NONE:
		if (u->host[0] != '\0')
			__builtin_trap();
		break;
	case URI_HOST_NAME:
		if (u->host[0] == '\0' ||
		    inet_pton(AF_INET, u->host, addr) == 1)
			__builtin_trap();
		break;
	case URI_HOST_IPV4:
		if (inet_pton(AF_INET, u->host, addr) != 1)
			__builtin_trap();
		break;
	case URI_HOST_IPV6:
		if (inet_pton(AF_INET6, u->host, addr) != 1)
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
	for (i = 0; i < u->nparam; i++)
		if (u->param[i].name[0] == '\0' ||
		    uri_param(u, u->param[i].name) != u->param[i].value)
			__builtin_trap();	/* empty or given twice */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uri u, v, zero;
	static char buf[CANON_MAX];
	const char *why = NULL;
	char	*copy;
	size_t	 n;

	copy = malloc(size ? size : 1);	/* exactly size bytes for ASan */
	memcpy(copy, data, size);
	if (uri_parse(copy, size, &u, &why) != 0) {
		if (why == NULL || *why == '\0' ||
		    memcmp(&u, &zero, sizeof(u)) != 0)
			__builtin_trap();
	} else {
		check(&u);
		n = canon(&u, buf);
		if (n <= URI_TEXT_MAX && (uri_parse(buf, n, &v, &why) != 0 ||
		    memcmp(&u, &v, sizeof(u)) != 0))
			__builtin_trap();
	}
	free(copy);
	return (0);
}
