# tests/ctl: bipostalctl against SQLite and MariaDB
