# sql: schema and numbered migrations, one folder per backend.
#
# The .sql files are the source of truth.  They are installed to
# $(pkgdatadir)/sql/<backend> for operators to read, and compiled into
# libbipostal as C string tables (sql/<backend>_migrations.h) so that the
# store can create and upgrade its tables by itself.  List new migrations
# here in order: NNN_what.sql, NNN = the schema version it brings.
SQLITE_SQL = \
	sql/sqlite/001_init.sql \
	sql/sqlite/002_alias_list.sql \
	sql/sqlite/003_limits.sql \
	sql/sqlite/004_api_keys.sql \
	sql/sqlite/005_contacts.sql
MYSQL_SQL = \
	sql/mysql/001_init.sql \
	sql/mysql/002_alias_list.sql \
	sql/mysql/003_limits.sql \
	sql/mysql/004_api_keys.sql \
	sql/mysql/005_contacts.sql

sqlitesqldir = $(pkgdatadir)/sql/sqlite
dist_sqlitesql_DATA = $(SQLITE_SQL)
mysqlsqldir = $(pkgdatadir)/sql/mysql
dist_mysqlsql_DATA = $(MYSQL_SQL)

# Each file becomes one initializer { version, "name", "sql text" }, in
# the order listed, for an array of
#	struct { int version; const char *name; const char *sql; }
# in sql_sqlite.c and sql_mysql.c.
SQL_TO_C = for f in $$files; do \
	b=`basename $$f .sql`; \
	v=`echo $$b | sed -e 's/_.*//' -e 's/^0*//'`; \
	echo "	{ $$v, \"$$b\","; \
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/	  "/' -e 's/$$/\\n"/' \
	    $(srcdir)/$$f; \
	echo "	},"; \
	done

sql/sqlite_migrations.h: $(SQLITE_SQL) sql/local.mk
	$(AM_V_GEN)$(MKDIR_P) sql && files='$(SQLITE_SQL)' && \
	{ $(SQL_TO_C); } > $@-t && mv $@-t $@
sql/mysql_migrations.h: $(MYSQL_SQL) sql/local.mk
	$(AM_V_GEN)$(MKDIR_P) sql && files='$(MYSQL_SQL)' && \
	{ $(SQL_TO_C); } > $@-t && mv $@-t $@

CLEANFILES += sql/sqlite_migrations.h sql/mysql_migrations.h
store/libbipostal_a-sql_sqlite.$(OBJEXT): sql/sqlite_migrations.h
store/libbipostal_a-sql_mysql.$(OBJEXT): sql/mysql_migrations.h
