#!/bin/sh
# PostgreSQL 15 from Debian's packages for deploy/compose/replicas.yml (the iron/postgres image).
# On an empty PGDATA: initdb with the user POSTGRES_USER (iron) and the password from
# POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, password (scram) logins from the network, and the
# database POSTGRES_DB (iron). Then runs postgres in the foreground (SIGTERM = smart shutdown).
set -eu
bin=/usr/lib/postgresql/15/bin
PGDATA=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-iron}
db=${POSTGRES_DB:-iron}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  umask 077
  pw=$(mktemp)
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then cat "$POSTGRES_PASSWORD_FILE" >"$pw"
  elif [ -n "${POSTGRES_PASSWORD:-}" ]; then printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"
  else echo "set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE" >&2; exit 2; fi
  "$bin/initdb" -D "$PGDATA" -U "$user" --pwfile="$pw" -E UTF8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "initialised $PGDATA (user $user, database $db)"
fi
exec "$bin/postgres" -D "$PGDATA"
