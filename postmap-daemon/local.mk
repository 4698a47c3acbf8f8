# bipostal-postmapd: the Postfix socketmap server (see postmapd.c).
sbin_PROGRAMS += bipostal-postmapd
bipostal_postmapd_SOURCES = postmap-daemon/postmapd.c \
	postmap-daemon/postmapd_pool.c \
	postmap-daemon/postmapd_query.c postmap-daemon/postmapd.h
bipostal_postmapd_LDADD = $(BIPOSTAL_LIBS)
dist_man_MANS += postmap-daemon/bipostal-postmapd.8
EXTRA_DIST += postmap-daemon/bipostal-postmapd.service
