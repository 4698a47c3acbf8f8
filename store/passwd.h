/*
 * passwd.h - argon2id password hashes (libargon2)
 *
 * Hashes are argon2's encoded form ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"),
 * salts 16 bytes from the OS CSPRNG.  Verification runs in constant time
 * over the hash; passwd_verify_dummy spends the same work for an unknown
 * user so that timing does not tell which users exist.
 */
#ifndef BIPOSTAL_PASSWD_H
#define BIPOSTAL_PASSWD_H

#include <stddef.h>

#define PASSWD_MAX	1024		/* longest password accepted */

/* passwd_hash - 0 and the encoded hash in out (PWHASH_MAX+1 bytes), or -1 */
int	passwd_hash(const char *pw, char *out, size_t size);
/* passwd_verify - 1 match, 0 mismatch or malformed hash */
int	passwd_verify(const char *encoded, const char *pw);
/* passwd_verify_dummy - one verification's worth of work, always 0 */
int	passwd_verify_dummy(const char *pw);

#endif
