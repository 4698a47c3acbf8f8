# libbipostal: configuration, logging, tokens, netstrings, passwords, signed
# bounce addresses and the store: one SQL layer (store_sql.c) over a
# SQLite and a MySQL/MariaDB driver, and Redis in front.
noinst_LIBRARIES += store/libbipostal.a
store_libbipostal_a_SOURCES = \
	store/store.h store/store_int.h store/store.c store/store_queue.c \
	store/store_sql.h store/store_sql.c \
	store/store_sql_user.c store/store_sql_queue.c store/sql_driver.h \
	store/store_apikey.c store/store_sql_apikey.c \
	store/store_contact.c store/store_sql_contact.c \
	store/sql_sqlite.c store/sql_mysql.c \
	store/redis.h store/redis.c \
	store/conf.h store/conf.c store/log.h store/log.c \
	store/util.h store/util.c store/token.h store/token.c \
	store/netstring.h store/netstring.c store/passwd.h store/passwd.c \
	store/bounce.h store/bounce.c store/sign.h store/sign.c \
	store/addr.h store/addr.c \
	store/route.h store/route.c store/uri.h store/uri.c \
	store/pool.h store/pool.c store/listen.h store/listen.c
store_libbipostal_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(MARIADB_CFLAGS) \
	$(HIREDIS_CFLAGS) $(ARGON2_CFLAGS) $(CRYPTO_CFLAGS)

# Every program links these after libbipostal.a
BIPOSTAL_LIBS = store/libbipostal.a $(SQLITE_LIBS) $(MARIADB_LIBS) \
	$(HIREDIS_LIBS) $(ARGON2_LIBS) $(CRYPTO_LIBS) -lpthread

dist_man_MANS += store/bipostal.conf.5
