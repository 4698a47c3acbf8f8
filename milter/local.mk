# bipostal-milter: libmilter filter that strips, wraps and rewrites mail.
# The rewrite itself (milter_rewrite.c, the driver, and the milter_fwd_*,
# milter_reply*, milter_html, milter_authres and milter_dsn files it
# uses) is a library of its own so that the corpus tests and the fuzz
# targets call exactly the code the milter runs; the callbacks are
# milter_mail.c, milter_rcpt.c and milter_eom.c.
noinst_LIBRARIES += milter/librewrite.a
# milter_html.c puts header and footer into HTML and proves they show,
# with gumbo (Debian libgumbo-dev) as the HTML5 parser.
milter_librewrite_a_SOURCES = milter/milter_rewrite.c milter/milter_rewrite.h \
	milter/milter_rewrite_int.h milter/milter_fwd_headers.c \
	milter/milter_fwd_body.c milter/milter_fwd_banner.c \
	milter/milter_reply.c milter/milter_reply_body.c milter/milter_dsn.c \
	milter/milter_html.c milter/milter_authres.c milter/milter_authres.h
milter_librewrite_a_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) $(GUMBO_CFLAGS) \
	$(CRYPTO_CFLAGS)

REWRITE_LIBS = milter/librewrite.a $(BIPOSTAL_LIBS) $(GMIME_LIBS) \
	$(GUMBO_LIBS) $(CRYPTO_LIBS)

milter_templatesdir = $(pkgdatadir)/templates
dist_milter_templates_DATA = milter/templates/header.txt \
	milter/templates/footer.txt milter/templates/header.html \
	milter/templates/footer.html

sbin_PROGRAMS += bipostal-milter
bipostal_milter_SOURCES = milter/milter.c milter/milter_mail.c \
	milter/milter_mail.h milter/milter_rcpt.c milter/milter_eom.c \
	milter/milter_later.c milter/milter.h
bipostal_milter_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) $(CRYPTO_CFLAGS) \
	$(JANSSON_CFLAGS)
bipostal_milter_LDADD = $(REWRITE_LIBS) $(MILTER_LIBS) $(JANSSON_LIBS)
dist_man_MANS += milter/bipostal-milter.8
EXTRA_DIST += milter/bipostal-milter.service
