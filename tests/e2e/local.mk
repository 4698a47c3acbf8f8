# tests/e2e: real Postfix on loopback (tests/lib/postfix.sh), swaks
dist_check_SCRIPTS += tests/e2e/postmapd.test tests/e2e/postmapd-mysql.test
TESTS += tests/e2e/postmapd.test tests/e2e/postmapd-mysql.test
EXTRA_DIST += tests/e2e/postmapd-run.sh
# postfix-conf/ pasted into a stock Debian main.cf/master.cf, chroot on
dist_check_SCRIPTS += tests/e2e/postmapd-stock.test
TESTS += tests/e2e/postmapd-stock.test
# bipostal-milter end to end (milter engineer)
dist_check_SCRIPTS += tests/e2e/milter.test
TESTS += tests/e2e/milter.test
# the README's run command, foreground, as a new user runs it
dist_check_SCRIPTS += tests/e2e/run-demo.test
TESTS += tests/e2e/run-demo.test
# bounces to forwarded mail (milter engineer)
dist_check_SCRIPTS += tests/e2e/milter-dsn.test
TESTS += tests/e2e/milter-dsn.test
EXTRA_DIST += tests/e2e/milter-lib.sh
# forwarded mail on a running bipostal-dash (milter engineer)
dist_check_SCRIPTS += tests/e2e/milter-dash.test
TESTS += tests/e2e/milter-dash.test
# an alias's contacts and blocked senders, through the dash and Postfix
dist_check_SCRIPTS += tests/e2e/milter-contacts.test
TESTS += tests/e2e/milter-contacts.test
