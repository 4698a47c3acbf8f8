/*
 * netstring.h - strict netstring framing ("len:data,") for the socketmap
 *
 * The length has no leading zeros (a lone "0" is fine), only digits, and
 * never more than the caller's max; anything else is NETSTRING_BAD with a
 * static reason.  The parser works on a buffer that may hold a partial
 * frame: NETSTRING_MORE asks for more bytes.
 */
#ifndef BIPOSTAL_NETSTRING_H
#define BIPOSTAL_NETSTRING_H

#include <stddef.h>

enum netstring_status {
	NETSTRING_OK = 0,
	NETSTRING_MORE,		/* incomplete: read more and call again */
	NETSTRING_BAD,		/* framing error: close the connection */
};

/* netstring_parse - parse one frame at buf[0..len); on NETSTRING_OK,
 * *data and *dlen point into buf (borrowed) and *used is the frame's size */
enum netstring_status netstring_parse(const char *buf, size_t len, size_t max,
		    const char **data, size_t *dlen, size_t *used,
		    const char **why);
/* netstring_format - write "len:data," into out (size bytes); returns the
 * bytes written, or 0 if out is too small */
size_t	netstring_format(char *out, size_t size, const char *data, size_t dlen);

#endif
