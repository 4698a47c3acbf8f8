# The bad-input catalogue: one table, replayed against each program.
EXTRA_DIST += tests/badinput/catalogue.tsv tests/badinput/run.py
dist_noinst_SCRIPTS += tests/badinput/setup.sh
dist_check_SCRIPTS += tests/badinput/config.test tests/badinput/system.test
TESTS += tests/badinput/config.test tests/badinput/system.test
