# bipostalctl: the operator's command line (users, aliases, nodes,
# migrations, purge), in the manner of postconf and postmap.
sbin_PROGRAMS += bipostalctl
bipostalctl_SOURCES = ctl/bipostalctl.c
bipostalctl_LDADD = $(BIPOSTAL_LIBS)

dist_man_MANS += ctl/bipostalctl.8
EXTRA_DIST += ctl/bipostal-purge.service ctl/bipostal-purge.timer
