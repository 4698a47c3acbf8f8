/*
 * dash_tool.c - what the dash tests need to play a client and an OpenID
 * provider: JWTs signed with any algorithm, JWKS entries, TOTP codes and
 * one-click link signatures
 *
 *	dash_tool jwt KEYFILE ALG KID PAYLOAD   ALG: HS256 (KEYFILE = raw
 *		secret), RS256, ES256 (KEYFILE = PEM private key), none
 *	dash_tool jwk PEMFILE KID              public JWK of a private key
 *	dash_tool totp BASE32SECRET [OFFSET]   the TOTP code now (+OFFSET s)
 *	dash_tool unsub SECRETFILE TOKEN       one-click link signature
 *	dash_tool blob STORE USERID ALIAS NAME DATA   put a blob, print its id
 *
 * Failure: prints a reason on stderr and exits 1.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "store.h"

/* b64url - unpadded base64url of in (new) */
static char *
b64url(const unsigned char *in, size_t len)
{
	char	*out = malloc(len * 2 + 8), *p;
	int	 n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	out[n] = '\0';
	for (p = out; *p; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	return (out);
}

/* slurp - a whole file (new), its length in *len */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE		*f = fopen(path, "rb");
	unsigned char	*buf = malloc(65536);

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
		(*len)--;
	return (buf);
}

/* load_key - a PEM private key */
static EVP_PKEY *
load_key(const char *path)
{
	FILE		*f = fopen(path, "r");
	EVP_PKEY	*k;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		fprintf(stderr, "%s: not a private key\n", path);
		exit(1);
	}
	return (k);
}

/* cmd_jwt - sign a JWT */
static int
cmd_jwt(const char *keyfile, const char *alg, const char *kid,
    const char *payload)
{
	char		 hdr[512], *h64, *p64, *input, *s64 = NULL;
	unsigned char	 sig[1024];
	size_t		 siglen = sizeof(sig), klen;

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"%s%s%s}",
	    alg, *kid ? ",\"kid\":\"" : "", kid, *kid ? "\"" : "");
	h64 = b64url((unsigned char *)hdr, strlen(hdr));
	p64 = b64url((const unsigned char *)payload, strlen(payload));
	input = malloc(strlen(h64) + strlen(p64) + 2);
	sprintf(input, "%s.%s", h64, p64);
	if (strcmp(alg, "none") == 0) {
		printf("%s.\n", input);
		return (0);
	}
	if (strcmp(alg, "HS256") == 0) {
		unsigned char	*key = slurp(keyfile, &klen);
		unsigned int	 n = 0;

		HMAC(EVP_sha256(), key, (int)klen, (unsigned char *)input,
		    strlen(input), sig, &n);
		siglen = n;
	} else {
		EVP_PKEY	*k = load_key(keyfile);
		EVP_MD_CTX	*m = EVP_MD_CTX_new();

		if (EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k) != 1 ||
		    EVP_DigestSign(m, sig, &siglen, (unsigned char *)input,
		    strlen(input)) != 1) {
			fprintf(stderr, "sign failed\n");
			return (1);
		}
		if (strcmp(alg, "ES256") == 0) {
			const unsigned char *p = sig;
			ECDSA_SIG	*es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
			const BIGNUM	*r, *s;

			if (es != NULL) {	/* else: a mismatched key, on purpose */
				ECDSA_SIG_get0(es, &r, &s);
				BN_bn2binpad(r, sig, 32);
				BN_bn2binpad(s, sig + 32, 32);
				siglen = 64;
				ECDSA_SIG_free(es);
			}
		}
		EVP_MD_CTX_free(m);
		EVP_PKEY_free(k);
	}
	s64 = b64url(sig, siglen);
	printf("%s.%s\n", input, s64);
	return (0);
}

/* bn_b64 - a BIGNUM as base64url, padded to pad bytes when pad > 0 */
static char *
bn_b64(const BIGNUM *bn, int pad)
{
	unsigned char	buf[1024];
	int		n = pad > 0 ? BN_bn2binpad(bn, buf, pad) :
			    BN_bn2bin(bn, buf);

	return (b64url(buf, (size_t)n));
}

/* cmd_jwk - the public JWK of a private key */
static int
cmd_jwk(const char *keyfile, const char *kid)
{
	EVP_PKEY	*k = load_key(keyfile);
	BIGNUM		*a = NULL, *b = NULL;

	if (EVP_PKEY_is_a(k, "RSA")) {
		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &a);
		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &b);
		printf("{\"kty\":\"RSA\",\"kid\":\"%s\",\"alg\":\"RS256\","
		    "\"n\":\"%s\",\"e\":\"%s\"}\n", kid, bn_b64(a, 0),
		    bn_b64(b, 0));
	} else {
		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &a);
		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &b);
		printf("{\"kty\":\"EC\",\"kid\":\"%s\",\"alg\":\"ES256\","
		    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}\n", kid,
		    bn_b64(a, 32), bn_b64(b, 32));
	}
	return (0);
}

/* cmd_totp - the current TOTP code of a base32 secret */
static int
cmd_totp(const char *secret, long offset)
{
	char	*raw = NULL, code[16];
	size_t	 len = 0;

	oath_init();
	if (oath_base32_decode(secret, strlen(secret), &raw, &len) != OATH_OK ||
	    oath_totp_generate(raw, len, time(NULL) + offset, 30, 0, 6,
	    code) != OATH_OK) {
		fprintf(stderr, "bad secret\n");
		return (1);
	}
	printf("%s\n", code);
	return (0);
}

/* cmd_unsub - sig = hex HMAC-SHA256(secret, "unsubscribe:" + token)[:32] */
static int
cmd_unsub(const char *keyfile, const char *token)
{
	size_t		 klen;
	unsigned char	*key = slurp(keyfile, &klen), mac[64];
	char		 msg[256];
	unsigned int	 n = 0, i;

	snprintf(msg, sizeof(msg), "unsubscribe:%s", token);
	HMAC(EVP_sha256(), key, (int)klen, (unsigned char *)msg, strlen(msg),
	    mac, &n);
	for (i = 0; i < 16; i++)
		printf("%02x", mac[i]);
	printf("\n");
	return (0);
}

/* cmd_blob - store a stripped part as the milter would */
static int
cmd_blob(const char *uri, const char *uid, const char *alias,
    const char *name, const char *data)
{
	enum store_status s;
	const char	*why = "?";
	struct store	*st = store_open(uri, &s, &why);
	struct blob	 b;

	if (st == NULL) {
		fprintf(stderr, "store: %s\n", why);
		return (1);
	}
	memset(&b, 0, sizeof(b));
	b.user_id = atoll(uid);
	snprintf(b.alias, sizeof(b.alias), "%s", alias);
	snprintf(b.name, sizeof(b.name), "%s", name);
	snprintf(b.type, sizeof(b.type), "text/html");
	b.data = (unsigned char *)data;
	b.size = strlen(data);
	if ((s = store_blob_put(st, &b, 3600)) != STORE_OK) {
		fprintf(stderr, "blob_put: %s\n", store_strstatus(s));
		return (1);
	}
	printf("%s\n", b.id);
	store_close(st);
	return (0);
}

/* main - dispatch the sub-command */
int
main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "jwt") == 0)
		return (cmd_jwt(argv[2], argv[3], argv[4], argv[5]));
	if (argc == 4 && strcmp(argv[1], "jwk") == 0)
		return (cmd_jwk(argv[2], argv[3]));
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "totp") == 0)
		return (cmd_totp(argv[2], argc == 4 ? atol(argv[3]) : 0));
	if (argc == 4 && strcmp(argv[1], "unsub") == 0)
		return (cmd_unsub(argv[2], argv[3]));
	if (argc == 7 && strcmp(argv[1], "blob") == 0)
		return (cmd_blob(argv[2], argv[3], argv[4], argv[5], argv[6]));
	fprintf(stderr, "usage: dash_tool jwt|jwk|totp|unsub|blob ...\n");
	return (2);
}
