/*
 * test_passwd.c - argon2id hashes: format, verify, mismatch, malformed
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "passwd.h"
#include "store.h"
#include "../lib/tap.h"

#define PREFIX	"$argon2id$v=19$m=19456,t=2,p=1$"

static const struct {
	const char	*name;
	const char	*encoded;
} malformed[] = {
	{ "empty", "" },
	{ "garbage", "not a hash" },
	{ "argon2i", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$"
	  "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g" },
	{ "no hash", PREFIX "c2FsdHNhbHRzYWx0c2FsdA$" },
	{ "no salt", PREFIX "$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g" },
	{ "bad base64", PREFIX "!!!!$????" },
	{ "huge memory", "$argon2id$v=19$m=4194304,t=2,p=1$"
	  "c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g" },
	{ "no params", "$argon2id$v=19$c2FsdA$aGFzaA" },
};

int
main(void)
{
	char	h1[PWHASH_MAX + 1], h2[PWHASH_MAX + 1], small[40];
	char	*longpw;
	struct timespec t0, t1;
	double	ms;
	size_t	i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(passwd_hash("correct horse", h1, sizeof(h1)), 0, "hash");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	diag("one hash: %.1f ms", ms);
	ok(strncmp(h1, PREFIX, strlen(PREFIX)) == 0,
	    "argon2id with t=2 m=19456 p=1 (%s)", h1);
	ok(strlen(h1) <= PWHASH_MAX, "fits PWHASH_MAX");
	is_int(passwd_hash("correct horse", h2, sizeof(h2)), 0, "hash again");
	ok(strcmp(h1, h2) != 0, "fresh salt each time");
	is_int(passwd_verify(h1, "correct horse"), 1, "verify");
	is_int(passwd_verify(h2, "correct horse"), 1, "verify the other");
	is_int(passwd_verify(h1, "correct horsE"), 0, "mismatch");
	is_int(passwd_verify(h1, ""), 0, "empty password mismatch");
	is_int(passwd_verify(h1, NULL), 0, "NULL password mismatch");
	is_int(passwd_verify(NULL, "x"), 0, "NULL hash mismatch");
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		is_int(passwd_verify(malformed[i].encoded, "x"), 0,
		    "malformed hash refused: %s", malformed[i].name);
	h2[strlen(h2) - 1] ^= 1;
	is_int(passwd_verify(h2, "correct horse"), 0, "altered hash refused");

	is_int(passwd_hash("", h2, sizeof(h2)), 0, "empty password hashes");
	is_int(passwd_verify(h2, ""), 1, "empty password verifies");
	is_int(passwd_hash("x", small, sizeof(small)), -1,
	    "short output buffer refused");

	longpw = malloc(PASSWD_MAX + 2);
	memset(longpw, 'p', PASSWD_MAX + 1);
	longpw[PASSWD_MAX + 1] = '\0';
	is_int(passwd_hash(longpw, h2, sizeof(h2)), -1,
	    "password over PASSWD_MAX refused");
	longpw[PASSWD_MAX] = '\0';
	is_int(passwd_hash(longpw, h2, sizeof(h2)), 0,
	    "password of PASSWD_MAX hashes");
	is_int(passwd_verify(h2, longpw), 1, "and verifies");
	free(longpw);

	is_int(passwd_verify_dummy("anything"), 0, "dummy verify is 0");
	is_int(passwd_verify_dummy(NULL), 0, "dummy verify of NULL is 0");
	return (tap_done());
}
