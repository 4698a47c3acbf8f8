/*
 * sign.h - the MACs BIPostal puts in what it sends out: the signature of
 * the one-click disable link, of the link to a kept attachment, the MAC
 * of a bounce address and the MAC that stands for a Message-ID in a reply
 *
 * Every one is HMAC-SHA256 with the contents of secret_key_file over a
 * message that names its use first, so that no MAC made for one purpose
 * is valid for another:
 *	unsubscribe link  hex of the first 16 bytes of
 *			  HMAC(key, "unsubscribe:" token)
 *	attachment link	  hex of the first 16 bytes of
 *			  HMAC(key, "blob:" id ":" exp), exp in decimal
 *	bounce address	  hex of the first BOUNCE_MAC_BYTES bytes of
 *			  HMAC(key, "bounce:" ts ":" token)
 *	reply Message-ID  the first n bytes of HMAC(key, "reply-id:" id)
 * Links and bounce addresses already sent out must keep working, so
 * these formulas never change (tests/unit/test_sign.c holds vectors).
 *
 * Interface: sign_unsub, sign_unsub_check, sign_blob, sign_blob_check,
 * sign_bounce, sign_bounce_check, sign_reply_id.  The *_check functions compare in constant time.
 *
 * Failure: the signing functions return -1 when memory runs out or the
 * crypto library fails, and leave out unspecified; the checks answer 0
 * (bad) in those cases.
 *
 * Ownership: the caller owns the key and every buffer; nothing is kept,
 * so any thread may call at any time.
 */
#ifndef BIPOSTAL_SIGN_H
#define BIPOSTAL_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define SIGN_UNSUB_BYTES	16
#define SIGN_UNSUB_HEX		(2 * SIGN_UNSUB_BYTES)	/* 32 */

/* sign_unsub - the signature of the one-click disable link for token
 * (lower case) into out: SIGN_UNSUB_HEX hex digits and a NUL; 0 or -1 */
int	sign_unsub(const unsigned char *key, size_t keylen, const char *token,
	    char out[SIGN_UNSUB_HEX + 1]);

/* sign_unsub_check - sig is the link signature of token; 1 or 0 */
int	sign_unsub_check(const unsigned char *key, size_t keylen,
	    const char *token, const char *sig);

#define SIGN_BLOB_BYTES		16
#define SIGN_BLOB_HEX		(2 * SIGN_BLOB_BYTES)	/* 32 */

/* sign_blob - the signature of the link to kept attachment id (lower
 * case) that stops working at exp (Unix time, >= 0) into out:
 * SIGN_BLOB_HEX hex digits and a NUL; 0 or -1 */
int	sign_blob(const unsigned char *key, size_t keylen, const char *id,
	    int64_t exp, char out[SIGN_BLOB_HEX + 1]);

/* sign_blob_check - sig is the link signature of id and exp; 1 or 0.
 * Whether exp has passed is the caller's question. */
int	sign_blob_check(const unsigned char *key, size_t keylen,
	    const char *id, int64_t exp, const char *sig);

/* sign_bounce - the MAC of a bounce address for ts (base 36) and token
 * into out: nbytes * 2 hex digits and a NUL; 0 or -1 */
int	sign_bounce(const unsigned char *key, size_t keylen, const char *ts,
	    const char *token, size_t nbytes, char *out);

/* sign_bounce_check - got (nbytes * 2 hex digits, lower case) is the MAC
 * of ts and token; 1 or 0 */
int	sign_bounce_check(const unsigned char *key, size_t keylen,
	    const char *ts, const char *token, size_t nbytes, const char *got);

/* sign_reply_id - the first n (at most 32) bytes of the MAC that stands
 * for Message-ID id (as given: the caller folds it) into out; 0 or -1 */
int	sign_reply_id(const unsigned char *key, size_t keylen, const char *id,
	    unsigned char *out, size_t n);

#endif /* BIPOSTAL_SIGN_H */
