/*
 * auth_fuzz - fuzz target over what bipostal-dash reads from the
 * Authorization header before the store is asked: JWTs (dash_jwt_verify,
 * with a secret and a JWKS holding an RSA and an EC key), Basic
 * credentials (dash_basic_parse) and base64url.
 *
 * Invariants checked: no crash or overread (ASan); a token is accepted
 * only if it is the one HS256 token the harness signs itself (the fuzzer
 * has no key, so any other acceptance is a forgery); accepted claims are
 * a JSON object with a future "exp"; Basic answers fit their buffers.
 *
 * Built with -DFUZZ_LIBFUZZER (make fuzz-auth, clang) it is a libFuzzer
 * target.  Built without, fuzz/replay.c runs the fixed cases below and
 * replays fuzz/corpus/auth, printing TAP: make check runs that.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dash.h"
#include "passwd.h"
#include "replay.h"

#define NOW	1800000000LL

/* A real P-256 and a real RSA public key (RFC 7515 appendix examples). */
static const char jwks_text[] =
    "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"e\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"RSA\",\"kid\":\"r\",\"e\":\"AQAB\",\"n\":"
    "\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
    "4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2j"
    "Z47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WT"
    "BEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DW"
    "NmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}]}";

/* LLVMFuzzerInitialize - the secret and the provider keys, once */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	path[] = "/tmp/auth_fuzz_jwks.XXXXXX", err[256];
	FILE	*f;
	int	fd;

	memcpy(dash_keys.secret, "fuzz-secret-fuzz-secret-0123456789", 34);
	dash_keys.secret_len = 34;
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL)
		abort();
	fputs(jwks_text, f);
	fclose(f);
	if (dash_jwks_load(path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	unlink(path);
	return (0);
}

/* good_token - the one HS256 token the harness signs (new) */
static char *
good_token(void)
{
	static const char payload[] =
	    "{\"iss\":\"bipostal-dash\",\"sub\":\"7\",\"exp\":1900000000}";
	char	h64[128], p64[256], sig[64], *t = malloc(512);

	dash_b64url_encode((const unsigned char *)"{\"alg\":\"HS256\"}", 15,
	    h64, sizeof(h64));
	dash_b64url_encode((const unsigned char *)payload, sizeof(payload) - 1,
	    p64, sizeof(p64));
	snprintf(t, 512, "%s.%s", h64, p64);
	dash_hs256(t, strlen(t), sig, sizeof(sig));
	strcat(t, ".");
	strcat(t, sig);
	return (t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s, *good, user[EMAIL_MAX + 1], pass[PASSWD_MAX + 1];
	char		 enc[8192 * 2];
	unsigned char	 dec[8192];
	const char	*why;
	json_t		*c;
	int		 ext;
	long		 n;

	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	c = dash_jwt_verify(s, NOW, &ext, &why);
	if (c != NULL) {
		good = good_token();
		if (strcmp(s, good) != 0 || !json_is_object(c) ||
		    json_integer_value(json_object_get(c, "exp")) <= NOW)
			__builtin_trap();	/* a forgery passed */
		free(good);
		json_decref(c);
	} else if (why == NULL)
		__builtin_trap();

	if (size < sizeof(enc) - 8) {
		char hdr[sizeof(enc)];

		snprintf(hdr, sizeof(hdr), "Basic %s", s);
		if (dash_basic_parse(hdr, user, sizeof(user), pass,
		    sizeof(pass)) == 0 &&
		    (strlen(user) >= sizeof(user) || strlen(pass) >= sizeof(pass)))
			__builtin_trap();
	}

	/* base64url: decode, encode, decode gives the same bytes */
	n = dash_b64url_decode(s, size, dec, sizeof(dec));
	if (n >= 0) {
		unsigned char again[8192];

		if (dash_b64url_encode(dec, (size_t)n, enc, sizeof(enc)) < 0 ||
		    dash_b64url_decode(enc, strlen(enc), again,
		    sizeof(again)) != n || memcmp(again, dec, (size_t)n) != 0)
			__builtin_trap();
	}
	free(s);
	return (0);
}

#ifndef FUZZ_LIBFUZZER
/* check - dash_jwt_verify accepts tok or not, as wanted */
static void
check(const char *name, const char *tok, int want)
{
	const char	*why;
	int		 ext;
	json_t		*c = dash_jwt_verify(tok, NOW, &ext, &why);

	replay_ok((c != NULL) == want, "%s", name);
	json_decref(c);
}

/* fuzz_cases - the fixed cases, before the corpus */
void
fuzz_cases(void)
{
	static const char *const cases[] = {
		"", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30",
		"eyJhbGciOiJub25lIn0.eyJleHAiOjE5MDAwMDAwMDB9.",
		"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE5MDAwMDAwMDB9.AAAA",
		"eyJhbGciOiJSUzI1NiIsImtpZCI6InIifQ.e30.AAAA",
		"eyJhbGciOiJFUzI1NiJ9.e30." "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"dXNlcjpwYXNz", "OnBhc3M=", "dXNlcg==", "////", "====",
		"eyJhbGciOltbW1tbW1tbW1tbW1tbW1tbXV1dXV1dXV1dXV1dXV1dXV1dXX0.e30.e30",
	};
	char	*good, *bad;
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		replay_input(cases[i], cases[i], strlen(cases[i]));
	good = good_token();
	check("the harness's own HS256 token passes", good, 1);
	replay_input("the good token through every parser", good, strlen(good));
	bad = strdup(good);
	bad[strlen(bad) - 5] ^= 1;
	check("a changed signature fails", bad, 0);
	free(bad);
	free(good);
}
#endif
