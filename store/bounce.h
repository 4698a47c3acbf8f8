/*
 * bounce.h - signed bounce addresses (VERP), shared by bipostal-milter,
 * which writes them, and bipostal-postmapd, which verifies them
 *
 * Forwarded mail leaves with the envelope sender
 *	bounce+TS+TOKEN+MAC@alias_domain
 * TS the signing time in base 36, TOKEN the alias, MAC the first
 * BOUNCE_MAC_BYTES bytes of HMAC-SHA256(secret, "bounce:" TS ":" TOKEN)
 * in lower-case hex, secret the contents of secret_key_file.  Only the
 * holder of the secret can make one, so a delivery status notification
 * sent to such an address is known to answer mail we forwarded; anything
 * else under "bounce+" is forged.  An address older than BOUNCE_MAX_AGE
 * (longer than any MTA keeps retrying) or signed more than BOUNCE_SKEW
 * in the future is expired: a bounce that late is refused like a forged
 * one, so an address seen once cannot be replayed for ever.
 *
 * Failure: bounce_address returns -1 when out is too small or the crypto
 * library fails; bounce_check never fails, it judges.  Ownership: the
 * caller owns every buffer; nothing is kept.
 */
#ifndef BIPOSTAL_BOUNCE_H
#define BIPOSTAL_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#define BOUNCE_PREFIX		"bounce+"
#define BOUNCE_MAC_BYTES	10
#define BOUNCE_MAX_AGE		(8 * 86400)	/* seconds */
#define BOUNCE_SKEW		3600		/* seconds of clock skew */

enum bounce_verdict {
	BOUNCE_OK = 0,		/* signed by us, in time */
	BOUNCE_NOT,		/* does not begin with "bounce+" */
	BOUNCE_FORGED,		/* malformed, or the MAC does not verify */
	BOUNCE_EXPIRED,		/* signed by us, but too old or too new */
};

/* bounce_address - write the signed address for mail forwarded through
 * token at time now into out; 0, or -1 */
int	bounce_address(const unsigned char *key, size_t keylen,
	    const char *token, int64_t now, const char *domain, char *out,
	    size_t outlen);
/* bounce_check - judge local[0..len) (a local part, no "@domain") at time
 * now; on BOUNCE_OK and BOUNCE_EXPIRED the alias token (lower case) is in
 * token and the signing time in *ts (ts may be NULL).  A key shorter than
 * 16 bytes verifies nothing (BOUNCE_FORGED). */
enum bounce_verdict bounce_check(const unsigned char *key, size_t keylen,
	    const char *local, size_t len, int64_t now, char *token,
	    size_t toklen, int64_t *ts);
/* bounce_strverdict - "ok", "not a bounce address", "forged", "expired" */
const char *bounce_strverdict(enum bounce_verdict);

#endif
