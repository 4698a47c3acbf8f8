/*
 * bounce.c - signed bounce addresses (see bounce.h)
 *
 * Purpose: one implementation of the signing and the verification of
 * bounce+TS+TOKEN+MAC local parts, for the milter and for postmapd.
 *
 * Interface: bounce_address, bounce_check, bounce_strverdict.
 *
 * Failure: bounce_address answers -1 (buffer too small, HMAC failed);
 * bounce_check answers a verdict; the MAC is made and compared in
 * constant time by sign.c.
 * The input is untrusted (it comes from an RCPT TO): every field has a
 * fixed maximum length and a fixed alphabet, checked before any use.
 *
 * Ownership: the caller owns every buffer; no state is kept.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounce.h"
#include "sign.h"
#include "store.h"
#include "util.h"

#define TS_MAX	12			/* base-36 digits; 36^12 < 2^63 */
#define MAC_HEX	(2 * BOUNCE_MAC_BYTES)

/* b36 - a non-negative number in base 36 into out (TS_MAX + 1 bytes) */
static void
b36(int64_t v, char *out)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char	 tmp[TS_MAX + 1];
	int	 n = 0, i;

	if (v <= 0) {
		strcpy(out, "0");
		return;
	}
	while (v > 0 && n < TS_MAX) {
		tmp[n++] = digits[v % 36];
		v /= 36;
	}
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

/* bounce_address - see bounce.h */
int
bounce_address(const unsigned char *key, size_t keylen, const char *token,
    int64_t now, const char *domain, char *out, size_t outlen)
{
	char	 ts[TS_MAX + 1], mac[MAC_HEX + 1];
	int	 n;

	if (strlen(token) > TOKEN_MAX)
		return (-1);
	b36(now, ts);
	if (sign_bounce(key, keylen, ts, token, BOUNCE_MAC_BYTES, mac) < 0)
		return (-1);
	n = snprintf(out, outlen, BOUNCE_PREFIX "%s+%s+%s@%s", ts, token, mac,
	    domain);
	return (n < 0 || (size_t)n >= outlen ? -1 : 0);
}

/* field - copy the next '+'-separated field of p[0..len) folded to lower
 * case into out if it has 1..max characters of alphabet; the number of
 * bytes used (with the '+'), or 0 */
static size_t
field(const char *p, size_t len, const char *alphabet, char *out, size_t max)
{
	size_t	 i;

	for (i = 0; i < len && p[i] != '+'; i++) {
		char	 c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (i >= max || c == '\0' || strchr(alphabet, c) == NULL)
			return (0);
		out[i] = c;
	}
	out[i] = '\0';
	if (i == 0)
		return (0);
	return (i < len ? i + 1 : i);
}

/* bounce_check - see bounce.h */
enum bounce_verdict
bounce_check(const unsigned char *key, size_t keylen, const char *local,
    size_t len, int64_t now, char *token, size_t toklen, int64_t *ts)
{
	static const char b36set[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char	 t[TS_MAX + 1], tok[TOKEN_MAX + 1], got[MAC_HEX + 1];
	size_t	 plen = strlen(BOUNCE_PREFIX), n;
	int64_t	 when = 0;

	if (len < plen || strncasecmp(local, BOUNCE_PREFIX, plen) != 0)
		return (BOUNCE_NOT);
	local += plen;
	len -= plen;
	if ((n = field(local, len, b36set, t, TS_MAX)) == 0 || n >= len)
		return (BOUNCE_FORGED);
	local += n;
	len -= n;
	if ((n = field(local, len, b36set, tok, TOKEN_MAX)) == 0 || n >= len)
		return (BOUNCE_FORGED);
	local += n;
	len -= n;
	if (field(local, len, "0123456789abcdef", got, MAC_HEX) != len ||
	    len != MAC_HEX)
		return (BOUNCE_FORGED);
	if (keylen < 16 ||
	    !sign_bounce_check(key, keylen, t, tok, BOUNCE_MAC_BYTES, got))
		return (BOUNCE_FORGED);
	for (n = 0; t[n]; n++)
		when = when * 36 + (strchr(b36set, t[n]) - b36set);
	if (bp_strlcpy(token, tok, toklen) >= toklen)
		return (BOUNCE_FORGED);
	if (ts != NULL)
		*ts = when;
	if (when > now + BOUNCE_SKEW || now - when > BOUNCE_MAX_AGE)
		return (BOUNCE_EXPIRED);
	return (BOUNCE_OK);
}

/* bounce_strverdict - for log lines */
const char *
bounce_strverdict(enum bounce_verdict v)
{
	switch (v) {
	case BOUNCE_OK:
		return ("ok");
	case BOUNCE_NOT:
		return ("not a bounce address");
	case BOUNCE_FORGED:
		return ("forged");
	case BOUNCE_EXPIRED:
		return ("expired");
	}
	return ("?");
}
