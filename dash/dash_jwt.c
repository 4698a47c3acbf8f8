/*
 * dash_jwt.c - credentials as bytes: JWT verification (HS256 with the
 * secret key, RS256/ES256 with the OpenID provider's JWKS), Basic header
 * parsing, base64url and the JSON depth check
 *
 * Purpose: everything an attacker's bytes reach before the store is
 * asked, with no I/O and no request state, so that it can be fuzzed
 * (fuzz/auth_fuzz.c, fuzz/json_fuzz.c) apart from the daemon.
 *
 * Interface: dash_jwt_verify checks algorithm, key, signature and expiry
 * and returns the claims; only "HS256", "RS256" and "ES256" are accepted
 * and an algorithm is only ever checked against a key of its own kind,
 * so "none" or an HS256 token keyed with a public key cannot pass.
 *
 * Failure: every function returns NULL / -1 / 0 on malformed input and
 * never reads past its arguments.  jwks_load logs and skips keys it
 * cannot use.
 *
 * Ownership: dash_keys and the JWKS are loaded once at startup and only
 * read afterwards; claims returned by dash_jwt_verify are new.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "dash.h"
#include "log.h"
#include "passwd.h"
#include "util.h"

#define JWT_MAX		8192
#define JWKS_MAX_KEYS	16

struct dash_keys dash_keys;

struct jwk {
	char		 kid[128];
	int		 is_ec;
	EVP_PKEY	*pkey;
};

static struct jwk jwks[JWKS_MAX_KEYS];
static int njwks;

/*
 * dash_json_depth_ok - 1 if no array/object nesting in s goes deeper than
 * max.  Brackets inside strings do not count.
 */
int
dash_json_depth_ok(const char *s, size_t len, int max)
{
	size_t	i;
	int	depth = 0, instr = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (instr) {
			if (c == '\\')
				i++;
			else if (c == '"')
				instr = 0;
			continue;
		}
		if (c == '"')
			instr = 1;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				return (0);
		} else if (c == ']' || c == '}')
			depth--;
	}
	return (1);
}

/* dash_b64url_encode - unpadded base64url; length written or -1 */
int
dash_b64url_encode(const unsigned char *in, size_t len, char *out,
    size_t size)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t	i, o = 0;

	if (size < (len * 4 + 2) / 3 + 1)
		return (-1);
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (len - i == 1) {
		unsigned v = in[i] << 16;

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = in[i] << 16 | in[i + 1] << 8;

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
	}
	out[o] = '\0';
	return ((int)o);
}

/* dash_b64url_decode - base64url (padding optional); length or -1 */
long
dash_b64url_decode(const char *in, size_t len, unsigned char *out,
    size_t size)
{
	unsigned	v = 0;
	int		bits = 0;
	size_t		i, o = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)in[i], d;

		if (c >= 'A' && c <= 'Z')
			d = c - 'A';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			d = c - '0' + 52;
		else if (c == '-' || c == '+')
			d = 62;
		else if (c == '_' || c == '/')
			d = 63;
		else
			return (-1);
		v = (v << 6 | (unsigned)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return (-1);
			out[o++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	if (bits >= 6)
		return (-1);	/* a lone sextet cannot end a valid encoding */
	return ((long)o);
}

/* jwk_bn - a base64url big number member of a JWK (new) or NULL */
static BIGNUM *
jwk_bn(json_t *k, const char *name)
{
	const char	*s = json_string_value(json_object_get(k, name));
	unsigned char	 buf[1024];
	long		 n;

	if (s == NULL || (n = dash_b64url_decode(s, strlen(s), buf,
	    sizeof(buf))) <= 0)
		return (NULL);
	return (BN_bin2bn(buf, (int)n, NULL));
}

/* jwk_load - one key of a JWKS into an EVP_PKEY; 0 or -1 */
static int
jwk_load(json_t *k, struct jwk *out)
{
	const char	*kty = json_string_value(json_object_get(k, "kty"));
	const char	*kid = json_string_value(json_object_get(k, "kid"));
	OSSL_PARAM_BLD	*bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	unsigned char	 pub[65];	/* the builder keeps a pointer to it */
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	bp_strlcpy(out->kid, kid ? kid : "", sizeof(out->kid));
	if (bld == NULL || kty == NULL)
		goto done;
	if (strcmp(kty, "RSA") == 0) {
		if ((n = jwk_bn(k, "n")) == NULL || (e = jwk_bn(k, "e")) ==
		    NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N,
		    n) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto done;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else if (strcmp(kty, "EC") == 0) {
		const char *crv = json_string_value(json_object_get(k, "crv"));
		const char *x = json_string_value(json_object_get(k, "x"));
		const char *y = json_string_value(json_object_get(k, "y"));

		if (crv == NULL || strcmp(crv, "P-256") != 0 || x == NULL ||
		    y == NULL ||
		    dash_b64url_decode(x, strlen(x), pub + 1, 32) != 32 ||
		    dash_b64url_decode(y, strlen(y), pub + 33, 32) != 32)
			goto done;
		pub[0] = 0x04;
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)))
			goto done;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		out->is_ec = 1;
	} else
		goto done;
	if (ctx == NULL || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &out->pkey, EVP_PKEY_PUBLIC_KEY,
	    params) <= 0)
		goto done;
	rc = 0;
done:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return (rc);
}

/* jwks_load - read dash_jwks_file; 0 or -1 with err */
int
dash_jwks_load(const char *path, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*j, *keys, *k;
	size_t		 i;

	if ((j = json_load_file(path, 0, &je)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, je.text);
		return (-1);
	}
	keys = json_object_get(j, "keys");
	if (!json_is_array(keys)) {
		snprintf(err, errlen, "%s: no \"keys\" array", path);
		json_decref(j);
		return (-1);
	}
	json_array_foreach(keys, i, k) {
		if (njwks >= JWKS_MAX_KEYS)
			break;
		if (jwk_load(k, &jwks[njwks]) < 0) {
			log_warn("%s: key %zu skipped (unsupported or bad)",
			    path, i);
			continue;
		}
		njwks++;
	}
	json_decref(j);
	return (0);
}

/*
 * The HMAC-SHA256 context keyed with the secret once (the key is set at
 * startup and never changes), copied for each use: fetching the algorithm
 * and keying it again would cost more than the MAC.
 */
static pthread_once_t hs256_once = PTHREAD_ONCE_INIT;
static EVP_MAC_CTX *hs256_ctx;

/* hs256_init - key hs256_ctx; it stays NULL on failure */
static void
hs256_init(void)
{
	EVP_MAC	*mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM p[2];
	EVP_MAC_CTX *c;

	if (mac == NULL)
		return;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	if ((c = EVP_MAC_CTX_new(mac)) != NULL && EVP_MAC_init(c,
	    dash_keys.secret, dash_keys.secret_len, p))
		hs256_ctx = c;
	else
		EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
}

/* hs256 - HMAC-SHA256 of data with the secret key, base64url in out */
void
dash_hs256(const char *data, size_t len, char *out, size_t size)
{
	unsigned char	mac[EVP_MAX_MD_SIZE];
	unsigned int	maclen = 0;
	size_t		n = 0;
	EVP_MAC_CTX	*c;

	pthread_once(&hs256_once, hs256_init);
	if (hs256_ctx != NULL && (c = EVP_MAC_CTX_dup(hs256_ctx)) != NULL) {
		if (EVP_MAC_update(c, (const unsigned char *)data, len) &&
		    EVP_MAC_final(c, mac, &n, sizeof(mac)))
			maclen = (unsigned int)n;
		EVP_MAC_CTX_free(c);
	}
	if (maclen == 0)
		HMAC(EVP_sha256(), dash_keys.secret,
		    (int)dash_keys.secret_len, (const unsigned char *)data,
		    len, mac, &maclen);
	dash_b64url_encode(mac, maclen, out, size);
}

/* es256_der - raw r||s (64 bytes) to a DER ECDSA signature; length or -1 */
static int
es256_der(const unsigned char *raw, unsigned char *der, size_t size)
{
	ECDSA_SIG	*s = ECDSA_SIG_new();
	BIGNUM		*br = BN_bin2bn(raw, 32, NULL);
	BIGNUM		*bs = BN_bin2bn(raw + 32, 32, NULL);
	unsigned char	*p = der;
	int		 n = -1;

	if (s == NULL || br == NULL || bs == NULL || !ECDSA_SIG_set0(s, br,
	    bs)) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(s);
		return (-1);
	}
	if (i2d_ECDSA_SIG(s, NULL) <= (int)size)
		n = i2d_ECDSA_SIG(s, &p);
	ECDSA_SIG_free(s);
	return (n);
}

/* pk_verify - RS256/ES256 signature check with one key; 1 good */
static int
pk_verify(EVP_PKEY *pkey, const unsigned char *sig, size_t siglen,
    const char *data, size_t len)
{
	EVP_MD_CTX	*m = EVP_MD_CTX_new();
	int		 ok;

	if (m == NULL)
		return (0);
	ok = EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestVerify(m, sig, siglen, (const unsigned char *)data,
	    len) == 1;
	EVP_MD_CTX_free(m);
	return (ok);
}

/*
 * dash_jwt_verify - check a JWT's algorithm, signature and expiry; the
 * claims (new) or NULL with a reason in *why (static).  *external is set
 * for tokens of the OpenID provider.  Store-free, so it can be fuzzed.
 */
json_t *
dash_jwt_verify(const char *tok, int64_t now, int *external,
    const char **why)
{
	const char	*d1, *d2, *alg, *kid;
	unsigned char	 hbuf[1024], pbuf[4096], sig[512], der[128];
	long		 hlen, plen, slen;
	json_t		*h = NULL, *c = NULL, *exp;
	size_t		 len = strlen(tok);
	int		 good = 0, i;

	*external = 0;
	*why = "malformed token";
	if (len > JWT_MAX || (d1 = strchr(tok, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		return (NULL);
	if ((hlen = dash_b64url_decode(tok, (size_t)(d1 - tok), hbuf,
	    sizeof(hbuf))) <= 0 ||
	    (plen = dash_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), pbuf,
	    sizeof(pbuf))) <= 0 ||
	    (slen = dash_b64url_decode(d2 + 1, strlen(d2 + 1), sig,
	    sizeof(sig))) < 0)
		return (NULL);
	if (!dash_json_depth_ok((char *)hbuf, (size_t)hlen, 4) ||
	    (h = json_loadb((char *)hbuf, (size_t)hlen, 0, NULL)) == NULL ||
	    (alg = json_string_value(json_object_get(h, "alg"))) == NULL)
		goto done;
	kid = json_string_value(json_object_get(h, "kid"));
	if (strcmp(alg, "HS256") == 0) {
		char want[64];

		dash_hs256(tok, (size_t)(d2 - tok), want, sizeof(want));
		good = ct_equal(d2 + 1, strlen(d2 + 1), want, strlen(want));
	} else if (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0) {
		int	is_ec = alg[0] == 'E';
		const unsigned char *s = sig;
		long	sl = slen;

		*external = 1;
		if (njwks == 0) {
			*why = "no OpenID provider keys configured";
			goto done;
		}
		if (is_ec) {
			if (slen != 64 || (sl = es256_der(sig, der,
			    sizeof(der))) < 0)
				goto bad;
			s = der;
		}
		for (i = 0; i < njwks && !good; i++) {
			if (jwks[i].is_ec != is_ec)
				continue;
			if (kid != NULL && jwks[i].kid[0] != '\0' &&
			    strcmp(kid, jwks[i].kid) != 0)
				continue;
			good = pk_verify(jwks[i].pkey, s, (size_t)sl, tok,
			    (size_t)(d2 - tok));
		}
	} else {
		*why = "unsupported algorithm";
		goto done;
	}
bad:
	if (!good) {
		*why = "bad signature";
		goto done;
	}
	if (!dash_json_depth_ok((char *)pbuf, (size_t)plen, 4) ||
	    (c = json_loadb((char *)pbuf, (size_t)plen, 0, NULL)) == NULL ||
	    !json_is_object(c)) {
		json_decref(c);
		c = NULL;
		goto done;
	}
	exp = json_object_get(c, "exp");
	if (!json_is_integer(exp) && !json_is_real(exp)) {
		*why = "token without expiry";
		json_decref(c);
		c = NULL;
	} else if ((int64_t)json_number_value(exp) <= now) {
		*why = "token expired";
		json_decref(c);
		c = NULL;
	}
done:
	json_decref(h);
	return (c);
}

/*
 * dash_basic_parse - split "Basic base64(user:pass)"; 0 or -1.  user and
 * pass are NUL-terminated; a NUL inside either is refused.
 */
int
dash_basic_parse(const char *h, char *user, size_t ulen, char *pass,
    size_t plen)
{
	unsigned char	 buf[EMAIL_MAX + PASSWD_MAX + 8];
	long		 n;
	const char	*p;
	unsigned char	*colon;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return (-1);
	for (p = h + 6; *p == ' '; p++)
		;
	if (strlen(p) > ((sizeof(buf) - 1) / 3) * 4 || (n =
	    dash_b64url_decode(p, strlen(p), buf, sizeof(buf) - 1)) <= 0)
		return (-1);
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n) != NULL ||
	    (colon = (unsigned char *)strchr((char *)buf, ':')) == NULL)
		return (-1);
	*colon = '\0';
	if ((size_t)(colon - buf) >= ulen || strlen((char *)colon + 1) >= plen)
		return (-1);
	memcpy(user, buf, (size_t)(colon - buf) + 1);
	memcpy(pass, colon + 1, strlen((char *)colon + 1) + 1);
	OPENSSL_cleanse(buf, sizeof(buf));
	return (0);
}

