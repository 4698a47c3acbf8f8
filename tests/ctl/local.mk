# tests/ctl: bipostalctl against SQLite and MariaDB
dist_check_SCRIPTS += tests/ctl/ctl.test
TESTS += tests/ctl/ctl.test
