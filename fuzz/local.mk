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
	    $(GMIME_CFLAGS) $(GUMBO_CFLAGS) $(top_srcdir)/fuzz/rewrite_fuzz.c \
	    $(top_srcdir)/milter/milter_rewrite.c \
	    $(top_srcdir)/milter/milter_fwd_headers.c \
	    $(top_srcdir)/milter/milter_fwd_body.c \
	    $(top_srcdir)/milter/milter_fwd_banner.c \
	    $(top_srcdir)/milter/milter_reply.c \
	    $(top_srcdir)/milter/milter_reply_body.c \
	    $(top_srcdir)/milter/milter_dsn.c $(top_srcdir)/milter/milter_html.c \
	    $(top_srcdir)/milter/milter_authres.c \
	    $(top_srcdir)/store/sign.c \
	    $(top_srcdir)/store/util.c $(top_srcdir)/store/log.c \
	    $(GMIME_LIBS) $(GUMBO_LIBS) $(CRYPTO_LIBS) \
	    -o fuzz/rewrite_fuzz-libfuzzer
.PHONY: fuzz-rewrite

# html_fuzz (milter_html.c: header and footer put into a site's HTML and
# proven to show): make check replays fuzz/corpus/html through
# fuzz/replay.c; "make fuzz-html" builds the libFuzzer binary with clang:
#	make fuzz-html && mkdir -p html-corpus && \
#	    ./fuzz/html_fuzz-libfuzzer -max_len=65536 html-corpus \
#	    $(top_srcdir)/fuzz/corpus/html
check_PROGRAMS += fuzz/html_fuzz
fuzz_html_fuzz_SOURCES = fuzz/html_fuzz.c fuzz/replay.c
fuzz_html_fuzz_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"html"'
fuzz_html_fuzz_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) $(GUMBO_CFLAGS) \
	-I$(top_srcdir)/milter
fuzz_html_fuzz_LDADD = $(REWRITE_LIBS)
TESTS += fuzz/html_fuzz
EXTRA_DIST += fuzz/corpus/html
CLEANFILES += fuzz/html_fuzz-libfuzzer

fuzz-html:
	clang -g -O1 -fsanitize=fuzzer,address,undefined -DFUZZ_LIBFUZZER \
	    -I$(top_builddir) -I$(top_srcdir)/store -I$(top_srcdir)/milter \
	    $(GMIME_CFLAGS) $(GUMBO_CFLAGS) $(top_srcdir)/fuzz/html_fuzz.c \
	    $(top_srcdir)/milter/milter_html.c $(GMIME_LIBS) $(GUMBO_LIBS) \
	    -o fuzz/html_fuzz-libfuzzer
.PHONY: fuzz-html

# authres_fuzz (milter_authres.c: Authentication-Results, RFC 8601, as
# the reply decision reads it): make check replays fuzz/corpus/authres
# through fuzz/replay.c; "make fuzz-authres" builds the libFuzzer binary
# with clang:
#	make fuzz-authres && mkdir -p ar-corpus && \
#	    ./fuzz/authres_fuzz-libfuzzer -max_len=4096 ar-corpus \
#	    $(top_srcdir)/fuzz/corpus/authres
check_PROGRAMS += fuzz/authres_fuzz
fuzz_authres_fuzz_SOURCES = fuzz/authres_fuzz.c fuzz/replay.c \
	milter/milter_authres.c
fuzz_authres_fuzz_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"authres"' \
	-I$(top_srcdir)/milter
TESTS += fuzz/authres_fuzz
EXTRA_DIST += fuzz/corpus/authres
CLEANFILES += fuzz/authres_fuzz-libfuzzer

fuzz-authres:
	clang -g -O1 -fsanitize=fuzzer,address,undefined -DFUZZ_LIBFUZZER \
	    -I$(top_builddir) -I$(top_srcdir)/milter \
	    $(top_srcdir)/fuzz/authres_fuzz.c $(top_srcdir)/milter/milter_authres.c \
	    -o fuzz/authres_fuzz-libfuzzer
.PHONY: fuzz-authres

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

# conf_fuzz (the bipostal.conf parser): make check replays
# fuzz/corpus/conf through fuzz/replay.c; "make fuzz-conf" builds the
# libFuzzer binary with clang.
check_PROGRAMS += fuzz/conf_fuzz
fuzz_conf_fuzz_SOURCES = fuzz/conf_fuzz.c fuzz/replay.c
fuzz_conf_fuzz_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"conf"'
fuzz_conf_fuzz_LDADD = store/libbipostal.a
TESTS += fuzz/conf_fuzz
EXTRA_DIST += fuzz/corpus/conf
CLEANFILES += fuzz/conf_fuzz-libfuzzer

fuzz-conf:
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -I$(top_builddir) -I$(top_srcdir)/store \
	    $(top_srcdir)/fuzz/conf_fuzz.c $(top_srcdir)/store/conf.c \
	    $(top_srcdir)/store/addr.c $(top_srcdir)/store/uri.c \
	    $(top_srcdir)/store/util.c $(top_srcdir)/store/log.c \
	    -o fuzz/conf_fuzz-libfuzzer
.PHONY: fuzz-conf

# Every target under libFuzzer for FUZZ_SECONDS (default 20) each.
dist_noinst_SCRIPTS += fuzz/run-libfuzzer.sh
dist_check_SCRIPTS += fuzz/libfuzzer.test
TESTS += fuzz/libfuzzer.test

# auth_fuzz and json_fuzz (bipostal-dash: JWTs, Basic, base64url, JSON
# bodies): make check replays fixed cases and fuzz/corpus/{auth,json};
# "make fuzz-auth" / "make fuzz-json" build the libFuzzer binaries:
#	make fuzz-auth && mkdir -p auth-corpus && \
#	    ./fuzz/auth_fuzz-libfuzzer -max_len=4096 auth-corpus \
#	    $(top_srcdir)/fuzz/corpus/auth
DASH_FUZZ_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS) \
	$(MHD_CFLAGS) -I$(top_srcdir)/dash
DASH_FUZZ_LIBS = $(JANSSON_LIBS) $(CRYPTO_LIBS) store/libbipostal.a
check_PROGRAMS += fuzz/auth_fuzz fuzz/json_fuzz
fuzz_auth_fuzz_SOURCES = fuzz/auth_fuzz.c dash/dash_jwt.c
fuzz_auth_fuzz_CFLAGS = $(DASH_FUZZ_CFLAGS)
fuzz_auth_fuzz_LDADD = $(DASH_FUZZ_LIBS)
fuzz_json_fuzz_SOURCES = fuzz/json_fuzz.c dash/dash_jwt.c
fuzz_json_fuzz_CFLAGS = $(DASH_FUZZ_CFLAGS)
fuzz_json_fuzz_LDADD = $(DASH_FUZZ_LIBS)
TESTS += fuzz/auth_fuzz fuzz/json_fuzz
EXTRA_DIST += fuzz/corpus/auth fuzz/corpus/json
CLEANFILES += fuzz/auth_fuzz-libfuzzer fuzz/json_fuzz-libfuzzer

fuzz-auth fuzz-json:
	clang -g -O1 -fsanitize=fuzzer,address,undefined -DFUZZ_LIBFUZZER \
	    -I$(top_builddir) -I$(top_srcdir)/store -I$(top_srcdir)/dash \
	    $(JANSSON_CFLAGS) $(MHD_CFLAGS) \
	    $(top_srcdir)/fuzz/$(@:fuzz-%=%)_fuzz.c $(top_srcdir)/dash/dash_jwt.c \
	    $(top_srcdir)/store/util.c $(top_srcdir)/store/log.c \
	    $(JANSSON_LIBS) $(CRYPTO_LIBS) -o fuzz/$(@:fuzz-%=%)_fuzz-libfuzzer
.PHONY: fuzz-auth fuzz-json

# addr_fuzz (addr.c: how postmapd and the milter read a recipient): make
# check replays fuzz/corpus/addr through fuzz/replay.c; "make fuzz-addr"
# builds the libFuzzer binary with clang.
check_PROGRAMS += fuzz/addr_fuzz
fuzz_addr_fuzz_SOURCES = fuzz/addr_fuzz.c fuzz/replay.c
fuzz_addr_fuzz_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"addr"'
fuzz_addr_fuzz_LDADD = store/libbipostal.a
TESTS += fuzz/addr_fuzz
EXTRA_DIST += fuzz/corpus/addr
CLEANFILES += fuzz/addr_fuzz-libfuzzer

fuzz-addr:
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -I$(top_builddir) -I$(top_srcdir)/store \
	    $(top_srcdir)/fuzz/addr_fuzz.c $(top_srcdir)/store/addr.c \
	    -o fuzz/addr_fuzz-libfuzzer
.PHONY: fuzz-addr

# bounce_fuzz (bounce_check: the local part of every bounce+... RCPT):
# make check replays fuzz/corpus/bounce through fuzz/replay.c; "make
# fuzz-bounce" builds the libFuzzer binary with clang.
check_PROGRAMS += fuzz/bounce_fuzz
fuzz_bounce_fuzz_SOURCES = fuzz/bounce_fuzz.c fuzz/replay.c
fuzz_bounce_fuzz_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"bounce"'
fuzz_bounce_fuzz_LDADD = $(BIPOSTAL_LIBS)
TESTS += fuzz/bounce_fuzz
EXTRA_DIST += fuzz/corpus/bounce
CLEANFILES += fuzz/bounce_fuzz-libfuzzer

fuzz-bounce:
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -I$(top_builddir) -I$(top_srcdir)/store \
	    $(top_srcdir)/fuzz/bounce_fuzz.c $(top_srcdir)/store/bounce.c \
	    $(top_srcdir)/store/sign.c $(top_srcdir)/store/util.c $(top_srcdir)/store/log.c \
	    $(CRYPTO_LIBS) -o fuzz/bounce_fuzz-libfuzzer
.PHONY: fuzz-bounce

# uri_fuzz (uri.c: the store and redis URIs of bipostal.conf): make check
# replays fuzz/corpus/uri through fuzz/replay.c; "make fuzz-uri" builds
# the libFuzzer binary with clang:
#	make fuzz-uri && mkdir -p uri-corpus && \
#	    ./fuzz/uri_fuzz-libfuzzer -max_len=4096 uri-corpus \
#	    $(top_srcdir)/fuzz/corpus/uri
check_PROGRAMS += fuzz/uri_fuzz
fuzz_uri_fuzz_SOURCES = fuzz/uri_fuzz.c fuzz/replay.c
fuzz_uri_fuzz_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"uri"'
fuzz_uri_fuzz_LDADD = store/libbipostal.a
TESTS += fuzz/uri_fuzz
EXTRA_DIST += fuzz/corpus/uri
CLEANFILES += fuzz/uri_fuzz-libfuzzer

fuzz-uri:
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -I$(top_builddir) -I$(top_srcdir)/store \
	    $(top_srcdir)/fuzz/uri_fuzz.c $(top_srcdir)/store/uri.c \
	    -o fuzz/uri_fuzz-libfuzzer
.PHONY: fuzz-uri
