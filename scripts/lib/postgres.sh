# A throwaway PostgreSQL + PostGIS server for the test suite, on 127.0.0.1 only.
# shellcheck shell=bash

# The usual port, or a free one when another test run on this machine already holds it.
if [ -z "${PG_TEST_PORT:-}" ]; then
  PG_TEST_PORT="$(python3 -c 'import socket
s = socket.socket()
try:
    s.bind(("127.0.0.1", 54329))
except OSError:
    s.close(); s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')"
fi

pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$d" ] && echo "$d"
}

ensure_postgres_packages() {
  if [ -z "$(pg_bindir)" ]; then apt_install postgresql; fi
  local ver
  ver="$(basename "$(dirname "$(pg_bindir)")")"
  apt_install "postgresql-$ver-postgis-3"
}

start_test_postgres() {
  # Sets PG_TEST_DIR and exports TEST_DATABASE_URL; stop_test_postgres removes everything.
  local bin runas=()
  bin="$(pg_bindir)"
  PG_TEST_DIR="$(mktemp -d /tmp/ccr-pg.XXXXXX)"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$PG_TEST_DIR"
    runas=(runuser -u postgres --)
  fi
  "${runas[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres -A trust -E UTF8 --no-locale >"$PG_TEST_DIR/initdb.log" 2>&1 \
    || { cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
  local attempt
  for attempt in 1 2 3; do
    "${runas[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $PG_TEST_PORT -k $PG_TEST_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null && break
    # Another run on this machine took the port between our check and the server's start: take a free one.
    if [ "$attempt" -eq 3 ] || ! grep -q "Address already in use" "$PG_TEST_DIR/server.log"; then
      cat "$PG_TEST_DIR/server.log" >&2; return 1
    fi
    PG_TEST_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  done
  export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_TEST_PORT/postgres"
  log "PostgreSQL $(basename "$(dirname "$bin")") with PostGIS running on 127.0.0.1:$PG_TEST_PORT"
}

stop_test_postgres() {
  [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR" ] || return 0
  local runas=()
  [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
  "${runas[@]}" "$(pg_bindir)/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_TEST_DIR"
}
