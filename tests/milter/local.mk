# tests/milter: the rewrite over a corpus, and miltertest scripts
check_PROGRAMS += tests/milter/rewrite_corpus
tests_milter_rewrite_corpus_SOURCES = tests/milter/rewrite_corpus.c
tests_milter_rewrite_corpus_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) $(GUMBO_CFLAGS) \
	-I$(top_srcdir)/milter
tests_milter_rewrite_corpus_LDADD = $(REWRITE_LIBS)
TESTS += tests/milter/rewrite_corpus
EXTRA_DIST += tests/milter/corpus

check_PROGRAMS += tests/milter/seed
tests_milter_seed_SOURCES = tests/milter/seed.c
tests_milter_seed_LDADD = $(BIPOSTAL_LIBS)
dist_check_SCRIPTS += tests/milter/miltertest.test
TESTS += tests/milter/miltertest.test
EXTRA_DIST += tests/milter/lua tests/milter/tmpl

# reply_test: Authentication-Results read as the reply decision needs it,
# and an owner's reply as the site gets it
check_PROGRAMS += tests/milter/reply_test
tests_milter_reply_test_SOURCES = tests/milter/reply_test.c
tests_milter_reply_test_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) -I$(top_srcdir)/milter
tests_milter_reply_test_LDADD = $(REWRITE_LIBS)
TESTS += tests/milter/reply_test
