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
 * target.  Built without, main() replays fixed cases and the files of
 * $top_srcdir/fuzz/corpus/json, printing TAP: make check runs that.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

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
/* main - fixed cases, then the corpus */
int
main(int argc, char **argv)
{
	static const char *const cases[] = {
		"", "{", "}", "{}", "[]", "\"", "\"\\", "{\"a\":\"[[[[\"}",
		"{\"origin\":\"shop.example\",\"context\":\"aGVsbG8=\"}",
		"{\"a\":1,\"a\":2}", "[1,2,3", "\"\\u0000\"", "1e999999",
		"{\"x\":\"\\\"]]]]]]]]]]]]]]]]]]]]]]]]]]\"}",
	};
	char	 deep[4096], path[4096];
	const char *dir = getenv("top_srcdir");
	int	 tn = 0, bad = 0, i;
	size_t	 k;
	DIR	*d;
	struct dirent *e;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		LLVMFuzzerTestOneInput((const uint8_t *)cases[k],
		    strlen(cases[k]));
		printf("ok %d - %s\n", ++tn, cases[k]);
	}
	for (i = 0; i < 2000; i++)
		deep[i] = '[';
	for (; i < 4000; i++)
		deep[i] = ']';
	LLVMFuzzerTestOneInput((const uint8_t *)deep, 4000);
	printf("ok %d - 2000 levels\n", ++tn);
	bad = dash_json_depth_ok(deep, 4000, DASH_JSON_DEPTH);
	printf("%s %d - 2000 levels refused\n", bad ? "not ok" : "ok", ++tn);
	bad = !dash_json_depth_ok(deep + 2000 - DASH_JSON_DEPTH,
	    2 * DASH_JSON_DEPTH, DASH_JSON_DEPTH);
	printf("%s %d - %d levels accepted\n", bad ? "not ok" : "ok", ++tn,
	    DASH_JSON_DEPTH);
	for (i = 1; i < argc; i++) {
		FILE	*f = fopen(argv[i], "rb");
		char	 buf[65536];
		size_t	 n;

		if (f == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput((const uint8_t *)buf, n);
		printf("ok %d - %s\n", ++tn, argv[i]);
	}
	snprintf(path, sizeof(path), "%s/fuzz/corpus/json", dir ? dir : ".");
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char	 file[8192], buf[65536];
			FILE	*f;
			size_t	 n;

			if (e->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
			if ((f = fopen(file, "rb")) == NULL)
				continue;
			n = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			LLVMFuzzerTestOneInput((const uint8_t *)buf, n);
			printf("ok %d - %s\n", ++tn, e->d_name);
		}
		closedir(d);
	}
	printf("1..%d\n", tn);
	return (0);
}
#endif
