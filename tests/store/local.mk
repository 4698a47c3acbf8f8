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
