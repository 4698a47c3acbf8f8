# fuzz: one fuzz target per parser; see Makefile.am
#
# Each fuzz/NAME_fuzz.c is built twice.  make check links it with
# fuzz/replay.c as fuzz/NAME_fuzz, which runs the target's fixed cases
# and replays fuzz/corpus/NAME under the configured sanitizers, so that
# a crash once found stays fixed.  "make fuzz-NAME" builds
# fuzz/NAME_fuzz-libfuzzer with clang: the harness and the product
# sources it reaches (libfuzzer_NAME_src, under $(top_srcdir)) compiled
# with coverage, ASan and UBSan, linked with libfuzzer_NAME_libs.  By
# hand, from the build directory:
#	make fuzz-html && mkdir -p html-corpus && \
#	    ./fuzz/html_fuzz-libfuzzer -max_len=1024 html-corpus \
#	    $(top_srcdir)/fuzz/corpus/html
# (new inputs go to the first directory: keep it out of the source
# tree); fuzz/run-libfuzzer.sh runs every target, each with its limits.

# rewrite_fuzz: bipostal-milter's rewrite of a message, forward, reply
# and DSN; the replay also runs tests/milter/corpus
check_PROGRAMS += fuzz/rewrite_fuzz
fuzz_rewrite_fuzz_SOURCES = fuzz/rewrite_fuzz.c fuzz/replay.c
fuzz_rewrite_fuzz_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) -I$(top_srcdir)/milter
fuzz_rewrite_fuzz_LDADD = $(REWRITE_LIBS)
libfuzzer_rewrite_src = milter/milter_rewrite.c milter/milter_fwd_headers.c \
	milter/milter_fwd_body.c milter/milter_fwd_banner.c \
	milter/milter_reply.c milter/milter_reply_body.c milter/milter_dsn.c \
	milter/milter_html.c milter/milter_authres.c store/sign.c \
	store/util.c store/log.c
libfuzzer_rewrite_libs = $(GMIME_LIBS) $(GUMBO_LIBS) $(CRYPTO_LIBS)

# html_fuzz: milter_html.c, header and footer put into a site's HTML and
# proven to show
check_PROGRAMS += fuzz/html_fuzz
fuzz_html_fuzz_SOURCES = fuzz/html_fuzz.c fuzz/replay.c
fuzz_html_fuzz_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) $(GUMBO_CFLAGS) \
	-I$(top_srcdir)/milter
fuzz_html_fuzz_LDADD = $(REWRITE_LIBS)
libfuzzer_html_src = milter/milter_html.c
libfuzzer_html_libs = $(GMIME_LIBS) $(GUMBO_LIBS)

# authres_fuzz: milter_authres.c, Authentication-Results (RFC 8601) as
# the reply decision reads it
check_PROGRAMS += fuzz/authres_fuzz
fuzz_authres_fuzz_SOURCES = fuzz/authres_fuzz.c fuzz/replay.c \
	milter/milter_authres.c
fuzz_authres_fuzz_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/milter
libfuzzer_authres_src = milter/milter_authres.c

# auth_fuzz and json_fuzz: bipostal-dash's JWTs, Basic, base64url and
# JSON bodies
check_PROGRAMS += fuzz/auth_fuzz fuzz/json_fuzz
DASH_FUZZ_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS) \
	$(MHD_CFLAGS) -I$(top_srcdir)/dash
DASH_FUZZ_LIBS = $(JANSSON_LIBS) $(CRYPTO_LIBS) store/libbipostal.a
fuzz_auth_fuzz_SOURCES = fuzz/auth_fuzz.c fuzz/replay.c dash/dash_jwt.c
fuzz_auth_fuzz_CFLAGS = $(DASH_FUZZ_CFLAGS)
fuzz_auth_fuzz_LDADD = $(DASH_FUZZ_LIBS)
fuzz_json_fuzz_SOURCES = fuzz/json_fuzz.c fuzz/replay.c dash/dash_jwt.c
fuzz_json_fuzz_CFLAGS = $(DASH_FUZZ_CFLAGS)
fuzz_json_fuzz_LDADD = $(DASH_FUZZ_LIBS)
libfuzzer_auth_src = dash/dash_jwt.c store/util.c store/log.c
libfuzzer_auth_libs = $(JANSSON_LIBS) $(CRYPTO_LIBS)
libfuzzer_json_src = $(libfuzzer_auth_src)
libfuzzer_json_libs = $(libfuzzer_auth_libs)

# the parsers of libbipostal.a: the socketmap framing (netstring), the
# bipostal.conf parser (conf), the reading of a recipient (addr), the
# local part of a bounce+... RCPT (bounce), the store and redis URIs (uri)
check_PROGRAMS += fuzz/netstring_fuzz fuzz/conf_fuzz fuzz/addr_fuzz \
	fuzz/bounce_fuzz fuzz/uri_fuzz
fuzz_netstring_fuzz_SOURCES = fuzz/netstring_fuzz.c fuzz/replay.c
fuzz_netstring_fuzz_LDADD = store/libbipostal.a
fuzz_conf_fuzz_SOURCES = fuzz/conf_fuzz.c fuzz/replay.c
fuzz_conf_fuzz_LDADD = store/libbipostal.a
fuzz_addr_fuzz_SOURCES = fuzz/addr_fuzz.c fuzz/replay.c
fuzz_addr_fuzz_LDADD = store/libbipostal.a
fuzz_bounce_fuzz_SOURCES = fuzz/bounce_fuzz.c fuzz/replay.c
fuzz_bounce_fuzz_LDADD = $(BIPOSTAL_LIBS)
fuzz_uri_fuzz_SOURCES = fuzz/uri_fuzz.c fuzz/replay.c
fuzz_uri_fuzz_LDADD = store/libbipostal.a
libfuzzer_netstring_src = store/netstring.c
libfuzzer_conf_src = store/conf.c store/addr.c store/uri.c store/util.c \
	store/log.c
libfuzzer_addr_src = store/addr.c
libfuzzer_bounce_src = store/bounce.c store/sign.c store/util.c store/log.c
libfuzzer_bounce_libs = $(CRYPTO_LIBS)
libfuzzer_uri_src = store/uri.c

# automake writes each test's log rule only for names it can read here
TESTS += fuzz/rewrite_fuzz fuzz/html_fuzz fuzz/authres_fuzz fuzz/auth_fuzz \
	fuzz/json_fuzz fuzz/netstring_fuzz fuzz/conf_fuzz fuzz/addr_fuzz \
	fuzz/bounce_fuzz fuzz/uri_fuzz
FUZZ_NAMES = rewrite html authres auth json netstring conf addr bounce uri
EXTRA_DIST += fuzz/replay.h fuzz/libfuzzer.c $(FUZZ_NAMES:%=fuzz/corpus/%)
CLEANFILES += $(FUZZ_NAMES:%=fuzz/%_fuzz-libfuzzer)

# one clang command for every libFuzzer binary: -O2, as the product is
# built, since libFuzzer's executions a second are what it is for;
# fuzz/libfuzzer.c sets the ASan defaults of a long run
LIBFUZZER_CC = clang -g -O2 -fsanitize=fuzzer,address,undefined \
	-DFUZZ_LIBFUZZER -I$(top_builddir) -I$(top_srcdir)/store \
	-I$(top_srcdir)/milter -I$(top_srcdir)/dash $(GMIME_CFLAGS) \
	$(GUMBO_CFLAGS) $(JANSSON_CFLAGS) $(MHD_CFLAGS)

fuzz-rewrite fuzz-html fuzz-authres fuzz-auth fuzz-json fuzz-netstring \
fuzz-conf fuzz-addr fuzz-bounce fuzz-uri:
	$(LIBFUZZER_CC) $(top_srcdir)/fuzz/$(@:fuzz-%=%)_fuzz.c \
	    $(top_srcdir)/fuzz/libfuzzer.c \
	    $(libfuzzer_$(@:fuzz-%=%)_src:%=$(top_srcdir)/%) \
	    $(libfuzzer_$(@:fuzz-%=%)_libs) -o fuzz/$(@:fuzz-%=%)_fuzz-libfuzzer
.PHONY: fuzz-rewrite fuzz-html fuzz-authres fuzz-auth fuzz-json
.PHONY: fuzz-netstring fuzz-conf fuzz-addr fuzz-bounce fuzz-uri

# Every target under libFuzzer for FUZZ_SECONDS (default 20) each.
dist_noinst_SCRIPTS += fuzz/run-libfuzzer.sh
dist_check_SCRIPTS += fuzz/libfuzzer.test
TESTS += fuzz/libfuzzer.test
