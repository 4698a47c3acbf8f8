/*
 * netstring_fuzz - fuzz target over the socketmap netstring parser
 *
 * Any byte string is a stream of frames: netstring_parse must take frames
 * off its front until it answers MORE or BAD, never read outside the
 * buffer, and every frame it accepts must be canonical: formatting its
 * payload again gives back exactly the bytes it consumed (so "05:" or
 * "+5:" can never pass), with a length within the limit.
 *
 * Built with -DFUZZ_LIBFUZZER (make fuzz-netstring, clang) it is a
 * libFuzzer target.  Built without, fuzz/replay.c runs the fixed cases
 * below and replays fuzz/corpus/netstring and every file given on the
 * command line, printing TAP: make check runs that.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"
#include "replay.h"

#define FUZZ_MAX	2048

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *d, *why;
	char	*copy, out[FUZZ_MAX + 32];
	size_t	off = 0, dlen, used, n;
	enum netstring_status s;

	/* a private copy of exactly size bytes: ASan sees any overread */
	copy = malloc(size ? size : 1);
	memcpy(copy, buf, size);
	for (;;) {
		s = netstring_parse(copy + off, size - off, FUZZ_MAX, &d, &dlen,
		    &used, &why);
		if (s == NETSTRING_BAD && why == NULL)
			__builtin_trap();	/* a refusal says why */
		if (s != NETSTRING_OK)
			break;
		if (used == 0 || used > size - off || dlen > FUZZ_MAX ||
		    d < copy + off || d + dlen > copy + off + used)
			__builtin_trap();
		n = netstring_format(out, sizeof(out), d, dlen);
		if (n != used || memcmp(out, copy + off, used) != 0)
			__builtin_trap();	/* not canonical */
		off += used;
	}
	free(copy);
	return (0);
}

#ifndef FUZZ_LIBFUZZER
/* expect - parse one frame and compare with the wanted status */
static void
expect(const char *in, enum netstring_status want)
{
	const char *d, *why;
	size_t	dlen, used;
	enum netstring_status s;

	s = netstring_parse(in, strlen(in), 100, &d, &dlen, &used, &why);
	replay_ok(s == want, "\"%s\" -> %d", in, (int)s);
}

/* fuzz_cases - the fixed cases, before the corpus */
void
fuzz_cases(void)
{
	expect("5:alias,", NETSTRING_OK);
	expect("0:,", NETSTRING_OK);
	expect("5:alias", NETSTRING_MORE);
	expect("12", NETSTRING_MORE);
	expect("", NETSTRING_MORE);
	expect("05:alias,", NETSTRING_BAD);
	expect("00:,", NETSTRING_BAD);
	expect("+5:alias,", NETSTRING_BAD);
	expect(" 5:alias,", NETSTRING_BAD);
	expect("5 :alias,", NETSTRING_BAD);
	expect(":,", NETSTRING_BAD);
	expect("5:aliasX", NETSTRING_BAD);
	expect("101:", NETSTRING_BAD);
	expect("100:", NETSTRING_MORE);
	expect("99999999999999999999999:", NETSTRING_BAD);
	replay_input("pipelined frames", "1:a,2:bc,0:,3:def,", 18);
}
#endif
