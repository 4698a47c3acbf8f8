# Tests: each area adds itself in its own fragment.  TAP everywhere.
EXTRA_DIST += tests/lib/tap.h tests/lib/servers.sh tests/lib/postfix.sh
EXTRA_DIST += tests/README
include tests/unit/local.mk
include tests/store/local.mk
include tests/postmapd/local.mk
include tests/milter/local.mk
include tests/dash/local.mk
include tests/e2e/local.mk
include tests/badinput/local.mk
include tests/attack/local.mk
include tests/browser/local.mk
include tests/faults/local.mk
include tests/ctl/local.mk
include tests/security/local.mk
# make install / uninstall with DESTDIR
dist_check_SCRIPTS += tests/install.test
TESTS += tests/install.test
# every man page lints clean
dist_check_SCRIPTS += tests/man.test
TESTS += tests/man.test
