/*
 * store_apikey.c - the public store calls on API keys
 *
 * A third part of store.c (read its comment for what every call checks
 * and what each status means): the key is drawn here (APIKEY_PREFIX and
 * token_new, 256 bits from the OS random source), hashed here (hex
 * SHA-256: the key is random, so a fast hash is right and no salt is
 * needed) and only its hash goes to the backend.  A key found by its
 * hash is compared again with ct_equal, in constant time.
 *
 * Interface: store_apikey_create, store_apikey_list, store_apikey_revoke,
 * store_apikey_hash, store_apikey_find_by_hash, store_apikey_touch
 * (store.h).
 *
 * Failures: a malformed argument is STORE_INVALID and never reaches the
 * backend; a malformed hash or id is STORE_NOTFOUND (no key has it);
 * otherwise the backend's status.
 *
 * Ownership: the key buffer is the caller's, and the key is wiped from
 * this file's own buffers; the list from store_apikey_list is new.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "store.h"
#include "store_int.h"
#include "token.h"
#include "util.h"

/* store_apikey_hash - hex SHA-256 of key */
int
store_apikey_hash(const char *key, char out[APIKEY_HASH_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	out[0] = '\0';
	if (key == NULL || EVP_Digest(key, strlen(key), md, &mdlen,
	    EVP_sha256(), NULL) != 1 || mdlen * 2 != APIKEY_HASH_LEN)
		return (-1);
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[APIKEY_HASH_LEN] = '\0';
	return (0);
}

/* store_apikey_hash_ok - 64 lower-case hex digits */
static int
store_apikey_hash_ok(const char *hash)
{
	return (hash != NULL && strlen(hash) == APIKEY_HASH_LEN &&
	    strspn(hash, "0123456789abcdef") == APIKEY_HASH_LEN);
}

/* store_apikey_create - a fresh key; only its hash is stored */
enum store_status
store_apikey_create(struct store *st, int64_t user_id, const char *name,
    enum apikey_scope scope, char *key, size_t keysize, struct apikey *out)
{
	char	tok[TOKEN_MAX + 1], hash[APIKEY_HASH_LEN + 1];
	enum store_status s;

	if (user_id <= 0 || name == NULL || name[0] == '\0' ||
	    !store_printable(name, APIKEY_NAME_MAX, 1) ||
	    (scope != APIKEY_CREATE && scope != APIKEY_FULL) ||
	    key == NULL || keysize < APIKEY_LEN + 1 || out == NULL)
		return (store_trace_id(st, "apikey_create", user_id,
		    STORE_INVALID));
	key[0] = '\0';
	if (token_new(tok, sizeof(tok)) < 0)
		return (store_trace_id(st, "apikey_create", user_id,
		    STORE_TEMP));
	memcpy(key, APIKEY_PREFIX, sizeof(APIKEY_PREFIX) - 1);
	memcpy(key + sizeof(APIKEY_PREFIX) - 1, tok, TOKEN_LEN + 1);
	OPENSSL_cleanse(tok, sizeof(tok));
	if (store_apikey_hash(key, hash) < 0) {
		OPENSSL_cleanse(key, keysize);
		return (store_trace_id(st, "apikey_create", user_id,
		    STORE_TEMP));
	}
	s = st->be->apikey_create(st, user_id, name, scope, hash, bp_now(),
	    out);
	if (s != STORE_OK)
		OPENSSL_cleanse(key, keysize);
	return (store_trace_id(st, "apikey_create", user_id, s));
}

/* store_apikey_list - the user's live keys; *out new */
enum store_status
store_apikey_list(struct store *st, int64_t user_id, struct apikey **out,
    size_t *n)
{
	*out = NULL;
	*n = 0;
	if (user_id <= 0)
		return (store_trace_id(st, "apikey_list", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "apikey_list", user_id,
	    st->be->apikey_list(st, user_id, out, n)));
}

/* store_apikey_revoke - the owner's live key id, for good */
enum store_status
store_apikey_revoke(struct store *st, int64_t user_id, int64_t id)
{
	if (user_id <= 0 || id <= 0)
		return (store_trace_id(st, "apikey_revoke", id,
		    STORE_NOTFOUND));
	return (store_trace_id(st, "apikey_revoke", id,
	    st->be->apikey_revoke(st, user_id, id, bp_now())));
}

/* store_apikey_find_by_hash - the live key with this hash */
enum store_status
store_apikey_find_by_hash(struct store *st, const char *hash,
    struct apikey *out)
{
	enum store_status s;

	if (!store_apikey_hash_ok(hash) || out == NULL)
		return (store_trace(st, "apikey_find", NULL, STORE_NOTFOUND));
	s = st->be->apikey_find_by_hash(st, hash, out);
	if (s == STORE_OK && !ct_equal(out->hash, strlen(out->hash), hash,
	    APIKEY_HASH_LEN))
		s = STORE_NOTFOUND;	/* an engine that folded the key */
	return (store_trace_id(st, "apikey_find", s == STORE_OK ? out->id : 0,
	    s));
}

/* store_apikey_touch - last_used, at most once a minute */
enum store_status
store_apikey_touch(struct store *st, int64_t id)
{
	if (id <= 0)
		return (store_trace_id(st, "apikey_touch", id,
		    STORE_NOTFOUND));
	return (store_trace_id(st, "apikey_touch", id,
	    st->be->apikey_touch(st, id, bp_now())));
}
