/*
 * sign.c - the MACs in links, bounce addresses and reply Message-IDs
 * (see sign.h)
 *
 * Purpose: one implementation of HMAC-SHA256 with the secret key for
 * every signature BIPostal hands out, for the milter (which writes them),
 * the dashboard (which checks the link) and bounce.c (bounce addresses).
 *
 * Interface: sign_unsub, sign_unsub_check, sign_blob, sign_blob_check,
 * sign_bounce, sign_bounce_check, sign_reply_id.
 *
 * Failure: -1 when memory runs out or the crypto library fails; the
 * checks then answer 0.  A message shorter than SIGN_MSG_MAX is built on
 * the stack, a longer one (a long Message-ID) on the heap.  Expected MACs are wiped
 * after use and compared with ct_equal.
 *
 * Ownership: the caller owns the key and every buffer; no state is kept.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sign.h"
#include "util.h"

#define SIGN_MSG_MAX	1024		/* "<use>:" and the signed fields */
#define SIGN_MAC_BYTES	32		/* SHA-256 */

/* sign_mac - HMAC-SHA256(key, use ":" a [":" b]) into md; 0 or -1 */
static int
sign_mac(const unsigned char *key, size_t keylen, const char *use,
    const char *a, const char *b, unsigned char md[EVP_MAX_MD_SIZE])
{
	char	 buf[SIGN_MSG_MAX], *msg = buf;
	size_t	 len;
	unsigned int mdlen = 0;
	int	 rc = -1;

	len = strlen(use) + 1 + strlen(a) + (b != NULL ? 1 + strlen(b) : 0);
	if (len >= sizeof(buf) && (msg = malloc(len + 1)) == NULL)
		return (-1);
	snprintf(msg, len + 1, "%s:%s%s%s", use, a, b != NULL ? ":" : "",
	    b != NULL ? b : "");
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	    len, md, &mdlen) != NULL && mdlen >= SIGN_MAC_BYTES)
		rc = 0;
	if (msg != buf)
		free(msg);
	return (rc);
}

/* sign_hex - lower-case hex of the first n bytes of the MAC of use, a and
 * b (see sign_mac) and a NUL into out; 0 or -1 */
static int
sign_hex(const unsigned char *key, size_t keylen, const char *use,
    const char *a, const char *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t	 i;

	if (n > SIGN_MAC_BYTES || sign_mac(key, keylen, use, a, b, md) < 0)
		return (-1);
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return (0);
}

/* sign_unsub - see sign.h */
int
sign_unsub(const unsigned char *key, size_t keylen, const char *token,
    char out[SIGN_UNSUB_HEX + 1])
{
	return (sign_hex(key, keylen, "unsubscribe", token, NULL,
	    SIGN_UNSUB_BYTES, out));
}

/* sign_unsub_check - see sign.h */
int
sign_unsub_check(const unsigned char *key, size_t keylen, const char *token,
    const char *sig)
{
	char	 want[SIGN_UNSUB_HEX + 1];
	int	 good;

	if (sig == NULL || sign_unsub(key, keylen, token, want) < 0)
		return (0);
	good = ct_equal(sig, strlen(sig), want, strlen(want));
	OPENSSL_cleanse(want, sizeof(want));
	return (good);
}

/* sign_blob - see sign.h */
int
sign_blob(const unsigned char *key, size_t keylen, const char *id,
    int64_t exp, char out[SIGN_BLOB_HEX + 1])
{
	char	 e[24];

	if (exp < 0)
		return (-1);
	snprintf(e, sizeof(e), "%" PRId64, exp);
	return (sign_hex(key, keylen, "blob", id, e, SIGN_BLOB_BYTES, out));
}

/* sign_blob_check - see sign.h */
int
sign_blob_check(const unsigned char *key, size_t keylen, const char *id,
    int64_t exp, const char *sig)
{
	char	 want[SIGN_BLOB_HEX + 1];
	int	 good;

	if (sig == NULL || sign_blob(key, keylen, id, exp, want) < 0)
		return (0);
	good = ct_equal(sig, strlen(sig), want, strlen(want));
	OPENSSL_cleanse(want, sizeof(want));
	return (good);
}

/* sign_bounce - see sign.h */
int
sign_bounce(const unsigned char *key, size_t keylen, const char *ts,
    const char *token, size_t nbytes, char *out)
{
	return (sign_hex(key, keylen, "bounce", ts, token, nbytes, out));
}

/* sign_bounce_check - see sign.h */
int
sign_bounce_check(const unsigned char *key, size_t keylen, const char *ts,
    const char *token, size_t nbytes, const char *got)
{
	char	 want[2 * SIGN_MAC_BYTES + 1];
	int	 good;

	if (got == NULL || sign_bounce(key, keylen, ts, token, nbytes,
	    want) < 0)
		return (0);
	good = ct_equal(got, strlen(got), want, 2 * nbytes);
	OPENSSL_cleanse(want, sizeof(want));
	return (good);
}

/* sign_reply_id - see sign.h */
int
sign_reply_id(const unsigned char *key, size_t keylen, const char *id,
    unsigned char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];

	if (n > SIGN_MAC_BYTES ||
	    sign_mac(key, keylen, "reply-id", id, NULL, md) < 0)
		return (-1);
	memcpy(out, md, n);
	OPENSSL_cleanse(md, sizeof(md));
	return (0);
}
