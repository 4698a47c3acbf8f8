# tests/store: the store contract, one body run against each backend.
check_PROGRAMS += tests/store/contract
tests_store_contract_SOURCES = tests/store/contract.c
tests_store_contract_LDADD = $(BIPOSTAL_LIBS)
dist_check_SCRIPTS += tests/store/sqlite.test tests/store/mysql.test
TESTS += tests/store/sqlite.test tests/store/mysql.test

# SQLite only: lock, schema and file failures map to TEMP or PERM.
check_PROGRAMS += tests/store/sqlite_fault
tests_store_sqlite_fault_SOURCES = tests/store/sqlite_fault.c
tests_store_sqlite_fault_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
tests_store_sqlite_fault_LDADD = $(BIPOSTAL_LIBS)
TESTS += tests/store/sqlite_fault

# MariaDB stopped and started under a live store; Redis up, down and back.
# Both need tests/lib/servers.sh (they fail without its variables) and
# inject their faults into a private pair of servers of their own.
check_PROGRAMS += tests/store/mysql_restart tests/store/redis
tests_store_mysql_restart_SOURCES = tests/store/mysql_restart.c \
	tests/store/private_servers.h
tests_store_mysql_restart_CFLAGS = $(AM_CFLAGS) $(MARIADB_CFLAGS)
tests_store_mysql_restart_LDADD = $(BIPOSTAL_LIBS)
tests_store_redis_SOURCES = tests/store/redis.c tests/store/private_servers.h
tests_store_redis_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS)
tests_store_redis_LDADD = $(BIPOSTAL_LIBS)
TESTS += tests/store/mysql_restart tests/store/redis
