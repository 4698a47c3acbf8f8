/*
 * netstring.c - strict netstring framing ("len:data,") for the socketmap
 *
 * Interface: netstring_parse() looks at the start of a buffer that may
 * hold a partial frame and answers OK (one whole frame), MORE (a valid
 * prefix: read more) or BAD (never valid whatever follows).  The length
 * is decimal digits only, no sign, no blanks, no leading zero (a lone "0"
 * is allowed), and never more than the caller's max; the data is followed
 * by exactly one ','.  netstring_format() writes one frame.
 *
 * Failure: BAD comes with a static reason for the log; the caller closes
 * the connection, since a stream cannot be resynchronised.
 * Ownership: *data points into the caller's buffer (borrowed).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "netstring.h"

/* netstring_parse - parse one frame at buf[0..len) */
enum netstring_status
netstring_parse(const char *buf, size_t len, size_t max, const char **data,
    size_t *dlen, size_t *used, const char **why)
{
	size_t	i, n;

	*why = NULL;
	n = 0;
	for (i = 0; i < len && buf[i] != ':'; i++) {
		if (buf[i] < '0' || buf[i] > '9') {
			*why = "non-digit in netstring length";
			return (NETSTRING_BAD);
		}
		if (i == 1 && buf[0] == '0') {
			*why = "leading zero in netstring length";
			return (NETSTRING_BAD);
		}
		n = n * 10 + (size_t)(buf[i] - '0');
		if (n > max) {
			*why = "netstring length over limit";
			return (NETSTRING_BAD);
		}
	}
	if (i == len)
		return (NETSTRING_MORE);	/* no ':' yet */
	if (i == 0) {
		*why = "empty netstring length";
		return (NETSTRING_BAD);
	}
	/* buf[i] == ':'; data at i+1 .. i+n, then ',' at i+1+n */
	if (len - (i + 1) < n + 1)
		return (NETSTRING_MORE);
	if (buf[i + 1 + n] != ',') {
		*why = "missing comma after netstring";
		return (NETSTRING_BAD);
	}
	*data = buf + i + 1;
	*dlen = n;
	*used = i + 2 + n;
	return (NETSTRING_OK);
}

/* netstring_format - write "len:data," into out */
size_t
netstring_format(char *out, size_t size, const char *data, size_t dlen)
{
	char	head[24];
	int	hl;

	hl = snprintf(head, sizeof(head), "%zu:", dlen);
	if (hl < 0 || (size_t)hl + dlen + 1 > size)
		return (0);
	memcpy(out, head, (size_t)hl);
	if (dlen > 0)
		memcpy(out + hl, data, dlen);
	out[hl + dlen] = ',';
	return ((size_t)hl + dlen + 1);
}
