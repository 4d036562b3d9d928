#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 for the tests and export
# TAKEDOWN_TEST_POSTGRES_URL. Source it: `source scripts/pg-start.sh`.
# Safe to source repeatedly: reuses a running cluster.
PG_PORT="${PG_PORT:-54329}"
PG_DIR="${PG_DIR:-/tmp/takedown-pg}"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$PG_BIN" ]; then
  echo "pg-start: PostgreSQL is not installed (apt-get install postgresql)" >&2
  return 1 2>/dev/null || exit 1
fi
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
if as_pg "$PG_BIN/pg_isready -q -h 127.0.0.1 -p $PG_PORT" && [ ! -f "$PG_DIR/postmaster.pid" ]; then
  echo "pg-start: port $PG_PORT is served by another PostgreSQL (not $PG_DIR); set PG_PORT" >&2
  return 1 2>/dev/null || exit 1
fi
if ! as_pg "$PG_BIN/pg_isready -q -h 127.0.0.1 -p $PG_PORT"; then
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    mkdir -p "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
    as_pg "$PG_BIN/initdb -D $PG_DIR -U postgres --auth=trust" >/dev/null
  fi
  as_pg "$PG_BIN/pg_ctl -D $PG_DIR -l $PG_DIR/log -w -o '-k /tmp -p $PG_PORT -h 127.0.0.1 -c max_connections=200 -c fsync=on' start" >/dev/null
fi
as_pg "$PG_BIN/psql -q -h 127.0.0.1 -p $PG_PORT -U postgres -tc \"SELECT 1 FROM pg_roles WHERE rolname='takedown'\"" | grep -q 1 \
  || as_pg "$PG_BIN/psql -q -h 127.0.0.1 -p $PG_PORT -U postgres -c \"CREATE ROLE takedown LOGIN PASSWORD 'takedown' CREATEDB\""
as_pg "$PG_BIN/psql -q -h 127.0.0.1 -p $PG_PORT -U postgres -tc \"SELECT 1 FROM pg_database WHERE datname='takedown'\"" | grep -q 1 \
  || as_pg "$PG_BIN/psql -q -h 127.0.0.1 -p $PG_PORT -U postgres -c \"CREATE DATABASE takedown OWNER takedown\""
if ! as_pg "$PG_BIN/pg_isready -q -h 127.0.0.1 -p $PG_PORT"; then
  echo "pg-start: PostgreSQL did not start (see $PG_DIR/log)" >&2
  return 1 2>/dev/null || exit 1
fi
export TAKEDOWN_TEST_POSTGRES_URL="postgres://takedown:takedown@127.0.0.1:$PG_PORT/takedown"
echo "pg-start: PostgreSQL ready at 127.0.0.1:$PG_PORT"
