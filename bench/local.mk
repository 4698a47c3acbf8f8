# bench: benchmarks, each printing ratios against a reference in the same run
# bipostal-postmapd: bench/postmapd-bench.sh (needs bench/socketmap_load)
noinst_PROGRAMS += bench/socketmap_load
bench_socketmap_load_SOURCES = bench/socketmap_load.c
dist_noinst_SCRIPTS += bench/postmapd-bench.sh
# bipostal-milter: bench/milter-bench.sh (needs bench/passthru_milter)
noinst_PROGRAMS += bench/passthru_milter
bench_passthru_milter_SOURCES = bench/passthru_milter.c
bench_passthru_milter_LDADD = $(MILTER_LIBS) -lpthread
dist_noinst_SCRIPTS += bench/milter-bench.sh
# bench/dash: wrk on bipostal-dash beside a private nginx (make bench-dash)
dist_noinst_SCRIPTS += bench/dash-bench.sh
dist_noinst_DATA += bench/dash-create.lua
bench-dash: bipostal-dash
	DASH=$(abs_top_builddir)/bipostal-dash $(SHELL) $(top_srcdir)/bench/dash-bench.sh
# One command each, or "make bench" for all three.  Build without
# --enable-sanitizers for figures that mean anything.
bench-postmapd: bipostal-postmapd bipostalctl bench/socketmap_load
	top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) \
	    $(SHELL) $(top_srcdir)/bench/postmapd-bench.sh
bench-milter: bipostal-milter bipostal-postmapd bipostalctl bench/passthru_milter
	top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) \
	    $(SHELL) $(top_srcdir)/bench/milter-bench.sh -R 100000
bench: bench-postmapd bench-milter bench-dash
.PHONY: bench bench-dash bench-postmapd bench-milter
