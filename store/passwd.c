/*
 * passwd.c - argon2id password hashes with libargon2
 *
 * Parameters: argon2id, t = 2 passes, m = 19456 KiB, p = 1 lane, 16-byte
 * salt, 32-byte hash (the OWASP minimum for argon2id; about 30-60 ms per
 * hash on one core).  Verification takes its parameters from the encoded
 * hash, so stored hashes keep working when these change; encoded hashes
 * that ask for more than PASSWD_VERIFY_MAX_KIB of memory or are not
 * argon2id are refused rather than run.
 *
 * passwd_verify_dummy verifies against a hash made once per process with
 * the same parameters, so that an unknown login costs as much as a known
 * one.  The functions are thread-safe.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <argon2.h>

#include "log.h"
#include "passwd.h"
#include "store.h"
#include "token.h"

#define PASSWD_T		2
#define PASSWD_M_KIB		19456
#define PASSWD_P		1
#define PASSWD_SALT		16
#define PASSWD_HASH		32
#define PASSWD_VERIFY_MAX_KIB	(256 * 1024)

static pthread_once_t passwd_dummy_once = PTHREAD_ONCE_INIT;
static char passwd_dummy_hash[PWHASH_MAX + 1];

/* passwd_hash - a new encoded argon2id hash of pw */
int
passwd_hash(const char *pw, char *out, size_t size)
{
	unsigned char salt[PASSWD_SALT];
	size_t	pwlen, need;
	int	rc;

	if (pw == NULL || (pwlen = strnlen(pw, PASSWD_MAX + 1)) > PASSWD_MAX)
		return (-1);
	need = argon2_encodedlen(PASSWD_T, PASSWD_M_KIB, PASSWD_P,
	    PASSWD_SALT, PASSWD_HASH, Argon2_id);
	if (need > size || need > PWHASH_MAX + 1) {
		log_error("passwd_hash: %zu bytes needed for the hash", need);
		return (-1);
	}
	if (token_random_bytes(salt, sizeof(salt)) < 0)
		return (-1);
	rc = argon2id_hash_encoded(PASSWD_T, PASSWD_M_KIB, PASSWD_P, pw, pwlen,
	    salt, sizeof(salt), PASSWD_HASH, out, size);
	if (rc != ARGON2_OK) {
		log_error("passwd_hash: %s", argon2_error_message(rc));
		return (-1);
	}
	return (0);
}

/* passwd_sane - an argon2id encoding whose cost we are willing to pay */
static int
passwd_sane(const char *encoded)
{
	unsigned long m, t, p;

	if (encoded == NULL || strncmp(encoded, "$argon2id$", 10) != 0 ||
	    strnlen(encoded, PWHASH_MAX + 1) > PWHASH_MAX)
		return (0);
	if (sscanf(encoded, "$argon2id$v=%*u$m=%lu,t=%lu,p=%lu$", &m, &t,
	    &p) != 3)
		return (0);
	return (m <= PASSWD_VERIFY_MAX_KIB && t >= 1 && t <= 16 && p >= 1 &&
	    p <= 16);
}

/* passwd_verify - 1 if pw matches encoded, else 0 */
int
passwd_verify(const char *encoded, const char *pw)
{
	size_t	pwlen;

	if (pw == NULL || (pwlen = strnlen(pw, PASSWD_MAX + 1)) > PASSWD_MAX)
		return (passwd_verify_dummy(""));
	if (!passwd_sane(encoded))
		return (0);
	/* argon2 compares the hashes in constant time */
	return (argon2id_verify(encoded, pw, pwlen) == ARGON2_OK);
}

/* passwd_dummy_init - the hash an unknown user is checked against */
static void
passwd_dummy_init(void)
{
	if (passwd_hash("bipostal dummy password", passwd_dummy_hash,
	    sizeof(passwd_dummy_hash)) < 0)
		passwd_dummy_hash[0] = '\0';
}

/* passwd_verify_dummy - the work of one verification; always 0 */
int
passwd_verify_dummy(const char *pw)
{
	size_t	pwlen;

	pthread_once(&passwd_dummy_once, passwd_dummy_init);
	if (pw == NULL)
		pw = "";
	pwlen = strnlen(pw, PASSWD_MAX);
	if (passwd_dummy_hash[0] != '\0')
		(void)argon2id_verify(passwd_dummy_hash, pw, pwlen);
	return (0);
}
