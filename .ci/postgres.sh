#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the storage and cluster tests, installing
# the distribution's server packages if they are missing. Source it: it exports HOOKWATCH_TEST_PG
# and sets a trap that stops the cluster when the calling shell exits.
#   source .ci/postgres.sh && cargo test
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }

if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  apt-get update -qq
  # The package's own service may fail to start where there is no init system; only its binaries
  # are needed, so that failure is tolerated and the binaries are checked instead.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || true
fi
PG_BIN="$(pg_bin)"
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "PostgreSQL could not be installed (no initdb under /usr/lib/postgresql)" >&2
  exit 1
fi

# PostgreSQL refuses to run as root: run it as the packages' "postgres" user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

PG_DIR="$(mktemp -d /tmp/hookwatch-pg.XXXXXX)"
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust >/dev/null
# A port another program holds (even as a client's ephemeral port) makes the start fail: try a few.
started=
for PG_PORT in "${HOOKWATCH_PG_PORT:-55432}" 55433 55434 45432 45433; do
  if as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=300 -c fsync=on" start >/dev/null; then
    started=1
    break
  fi
done
[ -n "$started" ] || { echo "PostgreSQL would not start; its log:" >&2; cat "$PG_DIR/log" >&2; exit 1; }
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres hookwatch_test

stop_pg() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PG_DIR"; }
trap stop_pg EXIT
export HOOKWATCH_TEST_PG="postgres://postgres@127.0.0.1:$PG_PORT/hookwatch_test"
echo "PostgreSQL for tests: $HOOKWATCH_TEST_PG"
