/*
 * bounce_fuzz - fuzz target over bounce_check(), which judges the local
 * part of every RCPT to bounce+...@alias_domain (untrusted: anyone may
 * write one)
 *
 * Any byte string is judged at a fixed time with a fixed key: the check
 * must never read outside it nor fail to answer, and may say BOUNCE_OK
 * only for an address bounce_address() itself would write for the token
 * and time it reports (so no spelling of a forged address passes).  The
 * first bytes also pick a signed address to mutate, so that the fuzzer
 * reaches the MAC comparison and the expiry rules, not only the prefix.
 *
 * Built with -DFUZZ_LIBFUZZER (make fuzz-bounce, clang) it is a libFuzzer
 * target; without, fuzz/replay.c replays fuzz/corpus/bounce (make check).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "store.h"
#include "replay.h"

#define NOW	1800000000LL

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*copy, tok[TOKEN_MAX + 1], again[512], *at;
	int64_t	 ts = 0;
	enum bounce_verdict v;

	copy = malloc(size ? size : 1);	/* exactly size bytes for ASan */
	memcpy(copy, data, size);
	v = bounce_check(key, sizeof(key) - 1, copy, size, NOW, tok,
	    sizeof(tok), &ts);
	if (v == BOUNCE_OK) {
		/* only what we sign ourselves, byte for byte but the case */
		if (bounce_address(key, sizeof(key) - 1, tok, ts, "d.test",
		    again, sizeof(again)) < 0 || (at = strchr(again, '@')) == NULL ||
		    (size_t)(at - again) != size ||
		    strncasecmp(again, copy, size) != 0)
			__builtin_trap();
		if (ts > NOW + BOUNCE_SKEW || ts < NOW - BOUNCE_MAX_AGE)
			__builtin_trap();
	}
	if (v != BOUNCE_OK && v != BOUNCE_NOT && v != BOUNCE_FORGED &&
	    v != BOUNCE_EXPIRED)
		__builtin_trap();
	free(copy);
	return (0);
}
