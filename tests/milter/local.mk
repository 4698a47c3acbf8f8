# tests/milter: the rewrite over a corpus, and miltertest scripts
check_PROGRAMS += tests/milter/rewrite_corpus
tests_milter_rewrite_corpus_SOURCES = tests/milter/rewrite_corpus.c
tests_milter_rewrite_corpus_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) -I$(top_srcdir)/milter
tests_milter_rewrite_corpus_LDADD = $(REWRITE_LIBS)
TESTS += tests/milter/rewrite_corpus
EXTRA_DIST += tests/milter/corpus
