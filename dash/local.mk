# bipostal-dash: the REST API, health, metrics and the web page.
sbin_PROGRAMS += bipostal-dash
bipostal_dash_SOURCES = dash/dash.h dash/dash.c dash/dash_router.c \
	dash/dash_json.c \
	dash/dash_session.c dash/dash_totp.c dash/dash_user.c \
	dash/dash_alias.c dash/dash_blob.c dash/dash_queue.c \
	dash/dash_contact.c \
	dash/dash_events.c \
	dash/dash_apikey.c \
	dash/dash_nodes.c dash/dash_metrics.c dash/dash_jwt.c dash/dash_page.c
bipostal_dash_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS) \
	$(OATH_CFLAGS) $(CRYPTO_CFLAGS) $(QRENCODE_CFLAGS) $(PNG_CFLAGS) \
	$(HIREDIS_CFLAGS) $(ARGON2_CFLAGS)
bipostal_dash_LDADD = $(MHD_LIBS) $(JANSSON_LIBS) $(OATH_LIBS) \
	$(QRENCODE_LIBS) $(PNG_LIBS) $(CRYPTO_LIBS) $(BIPOSTAL_LIBS)

dist_man_MANS += dash/bipostal-dash.8
EXTRA_DIST += dash/bipostal-dash.service
dist_doc_DATA = dash/openapi.yaml

# dash/www: the web page bipostal-dash serves at / (dash_static_dir)
wwwdir = $(pkgdatadir)/www
dist_www_DATA = dash/www/index.html dash/www/app.js dash/www/style.css \
	dash/www/icon.svg
