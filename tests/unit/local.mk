# tests/unit
check_PROGRAMS += tests/unit/test_conf
TESTS += tests/unit/test_conf
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_conf_LDADD = $(BIPOSTAL_LIBS)

check_PROGRAMS += tests/unit/test_token tests/unit/test_passwd
TESTS += tests/unit/test_token tests/unit/test_passwd
tests_unit_test_token_SOURCES = tests/unit/test_token.c
tests_unit_test_token_LDADD = $(BIPOSTAL_LIBS)
tests_unit_test_passwd_SOURCES = tests/unit/test_passwd.c
tests_unit_test_passwd_LDADD = $(BIPOSTAL_LIBS)

check_PROGRAMS += tests/unit/test_log
TESTS += tests/unit/test_log
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_log_LDADD = $(BIPOSTAL_LIBS)

check_PROGRAMS += tests/unit/test_route tests/unit/test_addr
TESTS += tests/unit/test_route tests/unit/test_addr
tests_unit_test_route_SOURCES = tests/unit/test_route.c
tests_unit_test_route_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_route_LDADD = $(BIPOSTAL_LIBS)
tests_unit_test_addr_SOURCES = tests/unit/test_addr.c
tests_unit_test_addr_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_addr_LDADD = $(BIPOSTAL_LIBS)

check_PROGRAMS += tests/unit/test_uri
TESTS += tests/unit/test_uri
tests_unit_test_uri_SOURCES = tests/unit/test_uri.c
tests_unit_test_uri_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_uri_LDADD = $(BIPOSTAL_LIBS)

check_PROGRAMS += tests/unit/test_sign
TESTS += tests/unit/test_sign
tests_unit_test_sign_SOURCES = tests/unit/test_sign.c
tests_unit_test_sign_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_sign_LDADD = $(BIPOSTAL_LIBS)

check_PROGRAMS += tests/unit/test_pool
TESTS += tests/unit/test_pool
tests_unit_test_pool_SOURCES = tests/unit/test_pool.c
tests_unit_test_pool_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_pool_LDADD = $(BIPOSTAL_LIBS)

check_PROGRAMS += tests/unit/test_bounce tests/unit/test_netstring \
	tests/unit/test_util
TESTS += tests/unit/test_bounce tests/unit/test_netstring \
	tests/unit/test_util
tests_unit_test_bounce_SOURCES = tests/unit/test_bounce.c
tests_unit_test_bounce_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_bounce_LDADD = $(BIPOSTAL_LIBS)
tests_unit_test_netstring_SOURCES = tests/unit/test_netstring.c
tests_unit_test_netstring_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_netstring_LDADD = $(BIPOSTAL_LIBS)
tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_util_LDADD = $(BIPOSTAL_LIBS)

check_PROGRAMS += tests/unit/test_listen
TESTS += tests/unit/test_listen
tests_unit_test_listen_SOURCES = tests/unit/test_listen.c
tests_unit_test_listen_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
tests_unit_test_listen_LDADD = $(BIPOSTAL_LIBS)
