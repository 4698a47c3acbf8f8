# tests/dash: bipostal-dash driven over HTTP by curl, on SQLite and MariaDB;
# lint.test checks its OpenAPI file against the router, its man page and unit;
# sse-redis.test runs the event stream on a Redis that wants a password.
check_PROGRAMS += tests/dash/dash_tool
tests_dash_dash_tool_SOURCES = tests/dash/dash_tool.c
tests_dash_dash_tool_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(OATH_CFLAGS)
tests_dash_dash_tool_LDADD = $(OATH_LIBS) $(CRYPTO_LIBS) $(BIPOSTAL_LIBS)
dist_check_SCRIPTS += tests/dash/api-sqlite.test tests/dash/api-mysql.test \
	tests/dash/lint.test tests/dash/sse-redis.test
TESTS += tests/dash/api-sqlite.test tests/dash/api-mysql.test \
	tests/dash/lint.test tests/dash/sse-redis.test
EXTRA_DIST += tests/dash/api.sh tests/dash/dash_lib.sh
