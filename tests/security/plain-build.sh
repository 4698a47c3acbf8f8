#!/bin/sh
# plain-build.sh - the daemons built without sanitizers (-O1 -g), for the
# tests that measure them from outside: valgrind.test and rss.test
#
#	tests/security/plain-build.sh DIR
#
# Configures $top_srcdir out of tree in DIR (once, or again when configure
# is newer than DIR/Makefile) and makes bipostal-postmapd, bipostal-milter,
# bipostal-dash and bipostalctl there.  Tests running at the same time
# share DIR: flock serializes the builds.  Exit 1, with the build log's
# tail on stderr, if any step fails.
set -u
: "${top_srcdir:?}"
dir=${1:?usage: plain-build.sh DIR}
mkdir -p "$dir" || exit 1
exec 9>"$dir/.lock"
flock 9
cd "$dir" || exit 1
if [ ! -f Makefile ] || [ "$top_srcdir/configure" -nt Makefile ]; then
	"$top_srcdir/configure" -q CC="${CC:-gcc}" CFLAGS="-O1 -g" \
	    >configure.out 2>&1 || { tail -20 configure.out >&2; exit 1; }
fi
make -j2 bipostal-postmapd bipostal-milter bipostal-dash bipostalctl \
    >make.out 2>&1 || { tail -30 make.out >&2; exit 1; }
