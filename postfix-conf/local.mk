# postfix-conf: main.cf and master.cf lines for ops, installed as examples
postfixconfdir = $(pkgdatadir)/postfix-conf
dist_postfixconf_DATA = postfix-conf/main.cf postfix-conf/master.cf
