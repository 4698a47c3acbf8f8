# tests/postmapd: bipostal-postmapd over a real socket
check_PROGRAMS += tests/postmapd/proto
tests_postmapd_proto_SOURCES = tests/postmapd/proto.c tests/postmapd/pmtest.c \
	tests/postmapd/pmtest.h
tests_postmapd_proto_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
tests_postmapd_proto_LDADD = $(BIPOSTAL_LIBS)
TESTS += tests/postmapd/proto
dist_check_SCRIPTS += tests/postmapd/proto-mysql.test
TESTS += tests/postmapd/proto-mysql.test

# two postmapd hosts on one MariaDB: changes seen everywhere within 1 s
check_PROGRAMS += tests/postmapd/multi
tests_postmapd_multi_SOURCES = tests/postmapd/multi.c tests/postmapd/pmtest.c \
	tests/postmapd/pmtest.h
tests_postmapd_multi_LDADD = $(BIPOSTAL_LIBS)
dist_check_SCRIPTS += tests/postmapd/multi-mysql.test
TESTS += tests/postmapd/multi-mysql.test
