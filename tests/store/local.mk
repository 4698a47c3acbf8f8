# tests/store: the store contract, one body run against each backend.
check_PROGRAMS += tests/store/contract
tests_store_contract_SOURCES = tests/store/contract.c
tests_store_contract_LDADD = $(BIPOSTAL_LIBS)
dist_check_SCRIPTS += tests/store/sqlite.test tests/store/mysql.test
TESTS += tests/store/sqlite.test tests/store/mysql.test
