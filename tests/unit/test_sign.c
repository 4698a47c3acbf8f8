/*
 * test_sign - sign.c against fixed vectors: the one-click disable link,
 * the link to a kept attachment, the bounce address MAC and the reply
 * Message-ID MAC
 *
 * The expected values were made by the code that signed before sign.c
 * existed (rewrite_unsub_sig in the milter, mac_hex in bounce.c, id_map
 * in milter_reply.c); links and bounce addresses already sent carry
 * them, so they may never change.  The attachment link vectors were
 * computed apart from sign.c (HMAC-SHA256 of "blob:" id ":" exp, the
 * first 16 bytes in hex).  The checks must accept exactly these and
 * refuse a changed digit, a prefix, another key and NULL.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bounce.h"
#include "sign.h"
#include "tap.h"

static const unsigned char K1[] = "0123456789abcdef0123456789abcdef";
static const unsigned char K2[] = "another secret key, 38 bytes long....";
#define K1LEN	(sizeof(K1) - 1)
#define K2LEN	(sizeof(K2) - 1)
#define LONGTOK	"x9y8z7w6v5u4t3s2r1q0p9o8n7m6l5k4j3i2h1g0f9e8d7c6b5"

/* hex - lower-case hex of n bytes into out (2n + 1) */
static void
hex(const unsigned char *b, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static void
test_unsub(void)
{
	char	 s[SIGN_UNSUB_HEX + 1];

	ok(sign_unsub(K1, K1LEN, "abc123", s) == 0, "unsub: signs");
	is_str(s, "6b6cec8536c1a454f1527eb6983e42a0", "unsub: k1 abc123");
	ok(sign_unsub(K2, K2LEN, LONGTOK, s) == 0, "unsub: signs long");
	is_str(s, "80da90afeff8fefb55ff31e106339b8c", "unsub: k2 long token");
	ok(sign_unsub_check(K1, K1LEN, "abc123",
	    "6b6cec8536c1a454f1527eb6983e42a0"), "unsub check: good");
	ok(!sign_unsub_check(K1, K1LEN, "abc123",
	    "6b6cec8536c1a454f1527eb6983e42a1"), "unsub check: digit");
	ok(!sign_unsub_check(K1, K1LEN, "abc123",
	    "6b6cec8536c1a454f1527eb6983e42a"), "unsub check: prefix");
	ok(!sign_unsub_check(K1, K1LEN, "abc123", ""), "unsub check: empty");
	ok(!sign_unsub_check(K1, K1LEN, "abc123", NULL), "unsub check: NULL");
	ok(!sign_unsub_check(K1, K1LEN - 1, "abc123",
	    "6b6cec8536c1a454f1527eb6983e42a0"), "unsub check: other key");
	ok(!sign_unsub_check(K1, K1LEN, "abc124",
	    "6b6cec8536c1a454f1527eb6983e42a0"), "unsub check: other token");
}

#define BLOBID	"k3j9x0aab7c2d4e6"
#define BLOBSIG	"9f5178e9c8680a4d21f109bf8fbe7697"

static void
test_blob(void)
{
	char	 s[SIGN_BLOB_HEX + 1];

	ok(sign_blob(K1, K1LEN, BLOBID, 1700003600, s) == 0, "blob: signs");
	is_str(s, BLOBSIG, "blob: k1");
	ok(sign_blob(K2, K2LEN, LONGTOK, 4102444800LL, s) == 0,
	    "blob: signs a long id");
	is_str(s, "4930fc9693315e41d3444999df67e547", "blob: k2 long id");
	ok(sign_blob(K1, K1LEN, "abc123", 0, s) == 0, "blob: signs exp 0");
	is_str(s, "c304399f7104931034eb45579b8c8540", "blob: exp 0");
	ok(sign_blob(K1, K1LEN, BLOBID, -1, s) < 0, "blob: exp < 0 refused");
	ok(sign_blob_check(K1, K1LEN, BLOBID, 1700003600, BLOBSIG),
	    "blob check: good");
	ok(!sign_blob_check(K1, K1LEN, BLOBID, 1700003600,
	    "9f5178e9c8680a4d21f109bf8fbe7698"), "blob check: a changed digit");
	ok(!sign_blob_check(K1, K1LEN, BLOBID, 1700003600,
	    "9F5178E9C8680A4D21F109BF8FBE7697"), "blob check: upper case");
	ok(!sign_blob_check(K1, K1LEN, BLOBID, 1700003600,
	    "9f5178e9c8680a4d21f109bf8fbe769"), "blob check: prefix");
	ok(!sign_blob_check(K1, K1LEN, BLOBID, 1700003600,
	    BLOBSIG "0"), "blob check: a digit more");
	ok(!sign_blob_check(K1, K1LEN, BLOBID, 1700003600, ""),
	    "blob check: empty");
	ok(!sign_blob_check(K1, K1LEN, BLOBID, 1700003600, NULL),
	    "blob check: NULL");
	ok(!sign_blob_check(K2, K2LEN, BLOBID, 1700003600, BLOBSIG),
	    "blob check: another key");
	ok(!sign_blob_check(K1, K1LEN, "k3j9x0aab7c2d4e7", 1700003600,
	    BLOBSIG), "blob check: another id");
	ok(!sign_blob_check(K1, K1LEN, BLOBID, 1700003601, BLOBSIG),
	    "blob check: another exp");
	ok(!sign_blob_check(K1, K1LEN, BLOBID, -1, BLOBSIG),
	    "blob check: exp < 0");
	/* the id's purpose is in the MAC: an unsubscribe signature of the
	 * same bytes is not a blob signature */
	ok(sign_unsub(K1, K1LEN, BLOBID ":1700003600", s) == 0 &&
	    !sign_blob_check(K1, K1LEN, BLOBID, 1700003600, s),
	    "blob check: an unsubscribe signature is refused");
}

static void
test_bounce(void)
{
	char	 m[2 * BOUNCE_MAC_BYTES + 1], a[256];

	ok(sign_bounce(K1, K1LEN, "s44we8", "abc123", BOUNCE_MAC_BYTES,
	    m) == 0, "bounce: signs");
	is_str(m, "9e99d22c36fd76e16397", "bounce: k1");
	ok(sign_bounce(K2, K2LEN, "1", "q0p9o8", BOUNCE_MAC_BYTES, m) == 0,
	    "bounce: signs k2");
	is_str(m, "ec33967430080373aae7", "bounce: k2");
	ok(sign_bounce_check(K1, K1LEN, "s44we8", "abc123", BOUNCE_MAC_BYTES,
	    "9e99d22c36fd76e16397"), "bounce check: good");
	ok(!sign_bounce_check(K1, K1LEN, "s44we9", "abc123", BOUNCE_MAC_BYTES,
	    "9e99d22c36fd76e16397"), "bounce check: other time");
	ok(!sign_bounce_check(K1, K1LEN, "s44we8", "abc123", BOUNCE_MAC_BYTES,
	    "9e99d22c36fd76e1639"), "bounce check: prefix");
	ok(!sign_bounce_check(K1, K1LEN, "s44we8", "abc123", BOUNCE_MAC_BYTES,
	    NULL), "bounce check: NULL");
	ok(sign_bounce(K1, K1LEN, "1", "a", 33, m) < 0, "bounce: n > 32");

	/* the whole address, as bounce.c writes it */
	ok(bounce_address(K1, K1LEN, "abc123", 1700000000, "alias.test", a,
	    sizeof(a)) == 0, "bounce_address: writes");
	is_str(a, "bounce+s44we8+abc123+9e99d22c36fd76e16397@alias.test",
	    "bounce_address: k1");
	ok(bounce_address(K2, K2LEN, "q0p9o8", 1, "d.test", a,
	    sizeof(a)) == 0, "bounce_address: writes k2");
	is_str(a, "bounce+1+q0p9o8+ec33967430080373aae7@d.test",
	    "bounce_address: k2");
}

static void
test_reply_id(void)
{
	unsigned char b[32];
	char	 h[65], big[4096];

	ok(sign_reply_id(K1, K1LEN, "<a.b@example.org>", b, 32) == 0,
	    "reply id: signs");
	hex(b, 32, h);
	is_str(h, "07bcd9d16651a545cb98ef1bf0efea9e"
	    "68edcfd125f62dce8bfa897567be2000", "reply id: k1");
	ok(sign_reply_id(K2, K2LEN, "<CAF1234+x@mail.gmail.com>", b, 16) == 0,
	    "reply id: signs k2");
	hex(b, 16, h);
	is_str(h, "4d60277683eae1076f22857dae9e2063", "reply id: k2, 16 bytes");
	ok(sign_reply_id(K1, K1LEN, "<x@y>", b, 33) < 0, "reply id: n > 32");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(sign_reply_id(K1, K1LEN, big, b, 16) == 0,
	    "reply id: a long id (heap) signs");
	hex(b, 16, h);
	is_str(h, "38c77b8bca67103d550e9f5496bbafad", "reply id: long id");
}

int
main(void)
{
	test_unsub();
	test_blob();
	test_bounce();
	test_reply_id();
	return (tap_done());
}
