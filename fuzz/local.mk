# fuzz: see Makefile.am

# rewrite_fuzz (bipostal-milter's rewrite): make check replays it over
# tests/milter/corpus and fuzz/corpus/rewrite; "make fuzz-rewrite" builds
# the libFuzzer binary with clang:
#	make fuzz-rewrite && ./fuzz/rewrite_fuzz-libfuzzer -max_len=8192 \
#	    fuzz/corpus/rewrite $(top_srcdir)/tests/milter/corpus
check_PROGRAMS += fuzz/rewrite_fuzz
fuzz_rewrite_fuzz_SOURCES = fuzz/rewrite_fuzz.c
fuzz_rewrite_fuzz_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) -I$(top_srcdir)/milter
fuzz_rewrite_fuzz_LDADD = $(REWRITE_LIBS)
TESTS += fuzz/rewrite_fuzz
EXTRA_DIST += fuzz/corpus/rewrite
CLEANFILES += fuzz/rewrite_fuzz-libfuzzer

fuzz-rewrite:
	clang -g -O1 -fsanitize=fuzzer,address,undefined -DFUZZ_LIBFUZZER \
	    -I$(top_builddir) -I$(top_srcdir)/store -I$(top_srcdir)/milter \
	    $(GMIME_CFLAGS) $(top_srcdir)/fuzz/rewrite_fuzz.c \
	    $(top_srcdir)/milter/milter_rewrite.c $(top_srcdir)/store/util.c \
	    $(top_srcdir)/store/log.c $(GMIME_LIBS) $(CRYPTO_LIBS) \
	    -o fuzz/rewrite_fuzz-libfuzzer
.PHONY: fuzz-rewrite

# netstring_fuzz (the socketmap framing of bipostal-postmapd): make check
# replays fixed cases and fuzz/corpus/netstring; "make fuzz-netstring"
# builds the libFuzzer binary with clang:
#	make fuzz-netstring && mkdir -p ns-corpus && \
#	    ./fuzz/netstring_fuzz-libfuzzer -max_len=4096 ns-corpus \
#	    $(top_srcdir)/fuzz/corpus/netstring
# (new inputs go to the first directory: keep it out of the source tree)
check_PROGRAMS += fuzz/netstring_fuzz
fuzz_netstring_fuzz_SOURCES = fuzz/netstring_fuzz.c
fuzz_netstring_fuzz_LDADD = store/libbipostal.a
TESTS += fuzz/netstring_fuzz
EXTRA_DIST += fuzz/corpus/netstring
CLEANFILES += fuzz/netstring_fuzz-libfuzzer

fuzz-netstring:
	clang -g -O1 -fsanitize=fuzzer,address,undefined -DFUZZ_LIBFUZZER \
	    -I$(top_builddir) -I$(top_srcdir)/store \
	    $(top_srcdir)/fuzz/netstring_fuzz.c $(top_srcdir)/store/netstring.c \
	    -o fuzz/netstring_fuzz-libfuzzer
.PHONY: fuzz-netstring
