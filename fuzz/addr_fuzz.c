/*
 * addr_fuzz - fuzz target over addr.c, the one reading of an address
 * that bipostal-postmapd and bipostal-milter classify recipients with
 *
 * Any byte string is tried as an address: addr_parse must never read
 * outside it, must refuse every control character and NUL, and what it
 * accepts must hold a non-empty local part within ADDR_LOCAL_MAX and a
 * lower-case domain within ADDR_DOMAIN_MAX.  addr_route must then agree
 * with itself: an alias token is 1..TOKEN_MAX of [0-9a-z], a role or
 * bounce address only in the alias domain.  The canonical form
 * local@domain, parsed again, reads the same (for a local part that
 * needs no quotes).
 *
 * Built with -DFUZZ_LIBFUZZER (make fuzz-addr, clang) it is a libFuzzer
 * target; without, fuzz/replay.c replays fuzz/corpus/addr (make check).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "store.h"
#include "replay.h"

#define DOMAIN	"alias.test"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr a, b;
	char	*copy, tok[TOKEN_MAX + 1], ext[ADDR_LOCAL_MAX + 1], canon[600];
	enum addr_kind k;
	size_t	 i;

	copy = malloc(size ? size : 1);	/* exactly size bytes for ASan */
	memcpy(copy, data, size);
	k = addr_classify(copy, size, DOMAIN, &a, tok, sizeof(tok), ext,
	    sizeof(ext));
	if (addr_parse(copy, size, &a) == 0) {
		for (i = 0; i < size; i++)
			if ((unsigned char)copy[i] < 0x20 || copy[i] == 0x7f)
				__builtin_trap();
		if (a.local[0] == '\0' || strlen(a.local) > ADDR_LOCAL_MAX ||
		    strlen(a.domain) > ADDR_DOMAIN_MAX)
			__builtin_trap();
		for (i = 0; a.domain[i]; i++)
			if (a.domain[i] >= 'A' && a.domain[i] <= 'Z')
				__builtin_trap();
		if (k == ADDR_ALIAS) {
			if (tok[0] == '\0' || strlen(tok) > TOKEN_MAX)
				__builtin_trap();
			for (i = 0; tok[i]; i++)
				if (!((tok[i] >= '0' && tok[i] <= '9') ||
				    (tok[i] >= 'a' && tok[i] <= 'z')))
					__builtin_trap();
		}
		if ((k == ADDR_ROLE || k == ADDR_BOUNCE || k == ADDR_ALIAS) &&
		    strcmp(a.domain, DOMAIN) != 0)
			__builtin_trap();
		if (a.domain[0] != '\0' && a.local[strcspn(a.local,
		    " \"<>\\,;@")] == '\0') {
			size_t	 n = strlen(a.local) + 1 + strlen(a.domain);

			memcpy(canon, a.local, strlen(a.local));
			canon[strlen(a.local)] = '@';
			memcpy(canon + strlen(a.local) + 1, a.domain,
			    strlen(a.domain));
			if (addr_parse(canon, n, &b) != 0 ||
			    strcmp(a.local, b.local) != 0 ||
			    strcmp(a.domain, b.domain) != 0)
				__builtin_trap();
		}
	} else if (k == ADDR_ALIAS || k == ADDR_ROLE || k == ADDR_BOUNCE)
		__builtin_trap();	/* only a parsed address names one */
	free(copy);
	return (0);
}
