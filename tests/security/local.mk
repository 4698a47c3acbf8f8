# tests/security: the security properties, each a test of its own
#	ct.test		no secret compared with strcmp/memcmp (static check)
#	test_ct		ct_equal: equal, differ first/last byte, lengths
EXTRA_DIST += tests/security/ct_check.py
check_PROGRAMS += tests/security/test_ct
tests_security_test_ct_SOURCES = tests/security/test_ct.c
tests_security_test_ct_LDADD = $(BIPOSTAL_LIBS)
dist_check_SCRIPTS += tests/security/ct.test
TESTS += tests/security/test_ct tests/security/ct.test
#	smuggling.test	bare-LF/CR end-of-data never makes a second message
EXTRA_DIST += tests/security/smuggle.py
dist_check_SCRIPTS += tests/security/smuggling.test
TESTS += tests/security/smuggling.test
#	privileges.test	the daemons run as daemon_user; secrets unreadable to others
dist_check_SCRIPTS += tests/security/privileges.test
TESTS += tests/security/privileges.test
