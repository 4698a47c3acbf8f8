# tests/security: the security properties, each a test of its own
#	test_ct		ct_equal: equal, differ at first/last byte, lengths
#	ct.test		no secret compared with strcmp/memcmp (ct_check.py)
#	smuggling.test	bare-LF/CR end of data never makes a second message
#	privileges.test	daemons started as root run as daemon_user; the
#			keys and the store unreadable to others
#	valgrind.test	memcheck over the daemons in a realistic run
#	rss.test	the daemons' RSS flat over a long run
# valgrind.test and rss.test share a plain build (plain-build.sh) in
# tests/security/plain of the build directory.
check_PROGRAMS += tests/security/test_ct
tests_security_test_ct_SOURCES = tests/security/test_ct.c
tests_security_test_ct_LDADD = $(BIPOSTAL_LIBS)
EXTRA_DIST += tests/security/ct_check.py tests/security/smuggle.py \
	tests/security/scenario.py tests/security/load.py \
	tests/security/taplib.py tests/security/valgrind.supp
dist_check_SCRIPTS += tests/security/ct.test tests/security/smuggling.test \
	tests/security/privileges.test tests/security/valgrind.test \
	tests/security/rss.test
dist_noinst_SCRIPTS += tests/security/plain-build.sh
TESTS += tests/security/test_ct tests/security/ct.test \
	tests/security/smuggling.test tests/security/privileges.test \
	tests/security/valgrind.test tests/security/rss.test

clean-local: clean-security-plain
clean-security-plain:
	rm -rf tests/security/plain
.PHONY: clean-security-plain
