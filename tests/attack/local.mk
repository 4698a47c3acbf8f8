# The attack catalogue: SMTP dialogues through the whole system, checked on
# the bytes that reach the owner's and the sites' mailboxes.
EXTRA_DIST += tests/attack/catalogue.tsv tests/attack/run.py tests/attack/msgs
dist_check_SCRIPTS += tests/attack/attack.test tests/attack/limits.test
TESTS += tests/attack/attack.test tests/attack/limits.test
