/*
 * json_fuzz - fuzz target over the way bipostal-dash reads JSON bodies:
 * the nesting-depth check (dash_json_depth_ok) that runs before jansson,
 * jansson's parser with the flags the dash uses, and the alias context
 * decoder (base64 of at most CONTEXT_MAX bytes).
 *
 * Invariants checked: no crash or overread (ASan); whatever passes the
 * depth check and parses really nests no deeper than the limit; a parsed
 * document dumps and parses back to an equal value.
 *
 * Built with -DFUZZ_LIBFUZZER (make fuzz-json, clang) it is a libFuzzer
 * target.  Built without, fuzz/replay.c runs the fixed cases below and
 * replays fuzz/corpus/json, printing TAP: make check runs that.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"
#include "replay.h"

/* depth - the real nesting depth of a parsed value */
static int
depth(json_t *j)
{
	const char	*k;
	json_t		*v;
	size_t		 i;
	int		 d, max = 0;

	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			if ((d = depth(v)) > max)
				max = d;
		return (max + 1);
	}
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if ((d = depth(v)) > max)
				max = d;
		return (max + 1);
	}
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*copy = malloc(size ? size : 1), *out;
	json_t		*j, *back;
	unsigned char	 ctx[CONTEXT_MAX];

	memcpy(copy, data, size);
	if (dash_json_depth_ok(copy, size, DASH_JSON_DEPTH)) {
		j = json_loadb(copy, size, JSON_REJECT_DUPLICATES, NULL);
		if (j != NULL) {
			if (depth(j) > DASH_JSON_DEPTH)
				__builtin_trap();	/* the check missed */
			out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
			back = out ? json_loads(out, JSON_DECODE_ANY, NULL) :
			    NULL;
			if (out == NULL || back == NULL || !json_equal(j, back))
				__builtin_trap();
			free(out);
			json_decref(back);
			json_decref(j);
		}
	}
	(void)dash_b64url_decode(copy, size, ctx, sizeof(ctx));
	free(copy);
	return (0);
}

#ifndef FUZZ_LIBFUZZER
/* fuzz_cases - the fixed cases, before the corpus */
void
fuzz_cases(void)
{
	static const char *const cases[] = {
		"", "{", "}", "{}", "[]", "\"", "\"\\", "{\"a\":\"[[[[\"}",
		"{\"origin\":\"shop.example\",\"context\":\"aGVsbG8=\"}",
		"{\"a\":1,\"a\":2}", "[1,2,3", "\"\\u0000\"", "1e999999",
		"{\"x\":\"\\\"]]]]]]]]]]]]]]]]]]]]]]]]]]\"}",
	};
	char	 deep[4000];
	size_t	 k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		replay_input(cases[k], cases[k], strlen(cases[k]));
	memset(deep, '[', 2000);
	memset(deep + 2000, ']', 2000);
	replay_input("2000 levels", deep, sizeof(deep));
	replay_ok(!dash_json_depth_ok(deep, sizeof(deep), DASH_JSON_DEPTH),
	    "2000 levels refused");
	replay_ok(dash_json_depth_ok(deep + 2000 - DASH_JSON_DEPTH,
	    2 * DASH_JSON_DEPTH, DASH_JSON_DEPTH), "%d levels accepted",
	    DASH_JSON_DEPTH);
}
#endif
