# Fault injection through real Postfix, MariaDB and Redis.
EXTRA_DIST += tests/faults/sender.py tests/faults/oracle.py
dist_check_SCRIPTS += tests/faults/faults.test
TESTS += tests/faults/faults.test
