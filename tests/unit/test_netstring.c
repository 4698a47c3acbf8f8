/*
 * test_netstring - netstring.c, the socketmap framing: netstring_parse on
 * whole frames, valid prefixes (MORE) and every refusal the header
 * names (non-digit, leading zero, empty length, over the limit, missing
 * comma), each BAD with a reason; netstring_format exactly filling its
 * buffer or refusing one byte less.  Table-driven; fuzz/netstring_fuzz.c
 * checks the same parser on arbitrary bytes.
 *
 * The input of each case is copied into a heap buffer of exactly its
 * length, so that the sanitizers see a read past the end.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netstring.h"
#include "tap.h"

#define S(x)	x, sizeof(x) - 1	/* a literal and its length */

static const struct {
	const char	*name;
	const char	*in;
	size_t		 len;
	size_t		 max;
	enum netstring_status want;
	const char	*data;		/* OK: the payload */
	size_t		 dlen;
	size_t		 used;		/* OK: the frame's size */
	const char	*why;		/* BAD: the reason */
} cases[] = {
	/* whole frames */
	{ "one frame", S("5:hello,"), 100, NETSTRING_OK, S("hello"), 8, NULL },
	{ "empty payload", S("0:,"), 100, NETSTRING_OK, S(""), 3, NULL },
	{ "payload holds ':' and ','", S("3:a:,,"), 100, NETSTRING_OK,
	    S("a:,"), 6, NULL },
	{ "payload holds NUL and 8-bit bytes", S("3:\0\377\n,"), 100,
	    NETSTRING_OK, S("\0\377\n"), 6, NULL },
	{ "two digits", S("10:0123456789,"), 100, NETSTRING_OK,
	    S("0123456789"), 14, NULL },
	{ "a following frame is left alone", S("1:a,1:b,"), 100,
	    NETSTRING_OK, S("a"), 4, NULL },
	{ "trailing garbage is the next frame's problem", S("1:a,xyz"), 100,
	    NETSTRING_OK, S("a"), 4, NULL },
	{ "length equal to max", S("3:abc,"), 3, NETSTRING_OK, S("abc"), 6,
	    NULL },
	{ "max 0 takes the empty frame", S("0:,"), 0, NETSTRING_OK, S(""), 3,
	    NULL },
	/* valid prefixes: read more */
	{ "nothing yet", S(""), 100, NETSTRING_MORE, NULL, 0, 0, NULL },
	{ "a digit", S("5"), 100, NETSTRING_MORE, NULL, 0, 0, NULL },
	{ "a lone zero", S("0"), 100, NETSTRING_MORE, NULL, 0, 0, NULL },
	{ "length and colon", S("5:"), 100, NETSTRING_MORE, NULL, 0, 0, NULL },
	{ "part of the payload", S("5:hel"), 100, NETSTRING_MORE, NULL, 0, 0,
	    NULL },
	{ "payload without its comma", S("5:hello"), 100, NETSTRING_MORE,
	    NULL, 0, 0, NULL },
	{ "empty payload without its comma", S("0:"), 100, NETSTRING_MORE,
	    NULL, 0, 0, NULL },
	{ "digits up to max, no colon yet", S("100"), 100, NETSTRING_MORE,
	    NULL, 0, 0, NULL },
	/* never valid, whatever follows */
	{ "leading zero", S("05:hello,"), 100, NETSTRING_BAD, NULL, 0, 0,
	    "leading zero in netstring length" },
	{ "leading zero, seen before the colon", S("00"), 100, NETSTRING_BAD,
	    NULL, 0, 0, "leading zero in netstring length" },
	{ "empty length", S(":,"), 100, NETSTRING_BAD, NULL, 0, 0,
	    "empty netstring length" },
	{ "sign", S("+5:hello,"), 100, NETSTRING_BAD, NULL, 0, 0,
	    "non-digit in netstring length" },
	{ "minus", S("-1:,"), 100, NETSTRING_BAD, NULL, 0, 0,
	    "non-digit in netstring length" },
	{ "blank before the length", S(" 5:hello,"), 100, NETSTRING_BAD, NULL,
	    0, 0, "non-digit in netstring length" },
	{ "blank after the length", S("5 :hello,"), 100, NETSTRING_BAD, NULL,
	    0, 0, "non-digit in netstring length" },
	{ "hex digit", S("a:0123456789,"), 100, NETSTRING_BAD, NULL, 0, 0,
	    "non-digit in netstring length" },
	{ "non-digit in a partial length", S("1x"), 100, NETSTRING_BAD, NULL,
	    0, 0, "non-digit in netstring length" },
	{ "NUL in the length", S("1\0:a,"), 100, NETSTRING_BAD, NULL, 0, 0,
	    "non-digit in netstring length" },
	{ "one over max", S("4:abcd,"), 3, NETSTRING_BAD, NULL, 0, 0,
	    "netstring length over limit" },
	{ "over max before the colon arrives", S("101"), 100, NETSTRING_BAD,
	    NULL, 0, 0, "netstring length over limit" },
	{ "max 0 refuses one byte", S("1:a,"), 0, NETSTRING_BAD, NULL, 0, 0,
	    "netstring length over limit" },
	{ "a length that would overflow size_t", S("99999999999999999999999:"),
	    4096, NETSTRING_BAD, NULL, 0, 0, "netstring length over limit" },
	{ "missing comma", S("5:hello;"), 100, NETSTRING_BAD, NULL, 0, 0,
	    "missing comma after netstring" },
	{ "payload longer than its length", S("3:hello,"), 100, NETSTRING_BAD,
	    NULL, 0, 0, "missing comma after netstring" },
	{ "empty payload, no comma", S("0:x"), 100, NETSTRING_BAD, NULL, 0, 0,
	    "missing comma after netstring" },
};

static void
test_parse(void)
{
	const char *data, *why;
	size_t	 i, dlen, used;
	char	*buf;
	enum netstring_status s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf = malloc(cases[i].len ? cases[i].len : 1);
		if (buf == NULL)
			bail("out of memory");
		memcpy(buf, cases[i].in, cases[i].len);
		data = NULL;
		dlen = used = (size_t)-1;
		why = "unset";
		s = netstring_parse(buf, cases[i].len, cases[i].max, &data,
		    &dlen, &used, &why);
		is_int(s, cases[i].want, "parse %s: status", cases[i].name);
		switch (cases[i].want) {
		case NETSTRING_OK:
			ok(data == buf + (used - dlen - 1) && dlen ==
			    cases[i].dlen && memcmp(data, cases[i].data,
			    dlen) == 0, "parse %s: payload points into the "
			    "buffer", cases[i].name);
			is_int(used, cases[i].used, "parse %s: used",
			    cases[i].name);
			ok(why == NULL, "parse %s: no reason", cases[i].name);
			break;
		case NETSTRING_MORE:
			ok(why == NULL && data == NULL && dlen == (size_t)-1 &&
			    used == (size_t)-1, "parse %s: no reason, outputs "
			    "untouched", cases[i].name);
			break;
		case NETSTRING_BAD:
			is_str(why, cases[i].why, "parse %s: reason",
			    cases[i].name);
			break;
		}
		free(buf);
	}
}

/* test_stream - frames taken one after another off one buffer, and a
 * frame fed one byte at a time answers MORE until it is whole */
static void
test_stream(void)
{
	static const char in[] = "3:get,0:,11:hello world,";
	const char *data, *why;
	size_t	 off = 0, dlen, used, k, n = 0;
	enum netstring_status s;
	int	 more = 1;

	while ((s = netstring_parse(in + off, sizeof(in) - 1 - off, 100,
	    &data, &dlen, &used, &why)) == NETSTRING_OK) {
		n++;
		off += used;
	}
	is_int(n, 3, "stream: three frames");
	is_int(off, sizeof(in) - 1, "stream: every byte used");
	is_int(s, NETSTRING_MORE, "stream: then MORE on nothing left");

	for (k = 0; k < 15; k++)
		if (netstring_parse("11:hello world,", k, 100, &data, &dlen,
		    &used, &why) != NETSTRING_MORE)
			more = 0;
	ok(more, "stream: each of the 15 prefixes of a frame is MORE");
	s = netstring_parse("11:hello world,", 15, 100, &data, &dlen, &used,
	    &why);
	ok(s == NETSTRING_OK && used == 15 && dlen == 11,
	    "stream: the 15th byte completes it");
}

static void
test_format(void)
{
	char	 out[64], round[64];
	const char *data, *why;
	size_t	 n, dlen, used;

	memset(out, 'X', sizeof(out));
	n = netstring_format(out, sizeof(out), "hello", 5);
	is_int(n, 8, "format: returns the frame's size");
	ok(memcmp(out, "5:hello,", 8) == 0, "format: \"5:hello,\"");
	ok(out[8] == 'X', "format: writes no NUL after the comma");

	n = netstring_format(out, sizeof(out), NULL, 0);
	ok(n == 3 && memcmp(out, "0:,", 3) == 0, "format: empty payload, "
	    "NULL data");

	n = netstring_format(out, sizeof(out), "a\0b", 3);
	ok(n == 6 && memcmp(out, "3:a\0b,", 6) == 0,
	    "format: NUL in the payload");

	memset(out, 'X', sizeof(out));
	is_int(netstring_format(out, 8, "hello", 5), 8,
	    "format: a buffer of exactly the frame's size");
	memset(out, 'X', sizeof(out));
	is_int(netstring_format(out, 7, "hello", 5), 0,
	    "format: one byte short is refused");
	ok(out[0] == 'X', "format: a refusal writes nothing");
	is_int(netstring_format(out, 0, "", 0), 0, "format: size 0 refused");
	is_int(netstring_format(out, 2, "", 0), 0,
	    "format: \"0:,\" does not fit in 2");

	memset(round, 'z', 10);
	n = netstring_format(out, sizeof(out), round, 10);
	ok(n == 14 && netstring_parse(out, n, 10, &data, &dlen, &used, &why) ==
	    NETSTRING_OK && used == n && dlen == 10 && memcmp(data, round,
	    10) == 0, "format then parse: the same payload back");
}

int
main(void)
{
	test_parse();
	test_stream();
	test_format();
	return (tap_done());
}
