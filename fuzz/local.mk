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
