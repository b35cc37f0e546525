#!/usr/bin/env bash
# Make sure a PostgreSQL server for the tests is running on 127.0.0.1 and has the role
# `whistle` (password `whistle`, CREATEDB) and the database `whistle_test`. Idempotent.
#
# Starting Debian's cluster and creating the role need root (or the postgres user); when
# they are already in place, any user can run this script and it only checks.
set -euo pipefail

PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
PG_ROLE="whistle"
PG_PASSWORD="whistle"
PG_DB="whistle_test"

say() { printf 'postgres-test: %s\n' "$*"; }
die() { printf 'postgres-test: %s\n' "$*" >&2; exit 1; }

command -v pg_isready >/dev/null 2>&1 \
    || die "PostgreSQL client tools are missing; run: scripts/setup.sh --test-deps"

# Run psql as the postgres superuser (peer authentication over the local socket).
as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        return 1
    fi
}

can_be_postgres() { [ "$(id -u)" -eq 0 ] || [ "$(id -un)" = postgres ]; }

# --- 1. the server is running -------------------------------------------------------------
if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    command -v pg_lsclusters >/dev/null 2>&1 \
        || die "no server on $PG_HOST:$PG_PORT and no Debian cluster tools (postgresql-common)"
    # The cluster listening on our port (pg_lsclusters -h: version name port status ...).
    read -r PG_VERSION PG_CLUSTER < <(pg_lsclusters -h | awk -v p="$PG_PORT" '$3 == p {print $1, $2; exit}') \
        || true
    [ -n "${PG_VERSION:-}" ] \
        || die "no PostgreSQL cluster on port $PG_PORT (pg_lsclusters shows none); create one with: pg_createcluster --start <version> main"
    if ! can_be_postgres; then
        die "PostgreSQL $PG_VERSION/$PG_CLUSTER is not running; start it with: sudo pg_ctlcluster $PG_VERSION $PG_CLUSTER start"
    fi
    say "starting PostgreSQL cluster $PG_VERSION/$PG_CLUSTER"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
    for _ in $(seq 1 30); do
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
        sleep 1
    done
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" \
        || die "PostgreSQL $PG_VERSION/$PG_CLUSTER did not become ready; see /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
fi

# --- 2. the role and the database exist -----------------------------------------------------
role_ok() {
    PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -t -A -h "$PG_HOST" -p "$PG_PORT" \
        -U "$PG_ROLE" -d "$PG_DB" -c "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user" \
        2>/dev/null | grep -qx t
}

if role_ok; then
    say "ready: postgresql+psycopg://$PG_ROLE:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DB"
    exit 0
fi

can_be_postgres \
    || die "role '$PG_ROLE' or database '$PG_DB' is missing; run this script as root (sudo bash scripts/postgres-test.sh)"

psql_su() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -p "$PG_PORT" "$@"; }

if [ "$(psql_su -t -A -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" = 1 ]; then
    say "updating role $PG_ROLE"
    psql_su -d postgres -c "ALTER ROLE $PG_ROLE WITH LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
else
    say "creating role $PG_ROLE"
    psql_su -d postgres -c "CREATE ROLE $PG_ROLE WITH LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
fi

if [ "$(psql_su -t -A -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
    say "creating database $PG_DB"
    psql_su -d postgres -c "CREATE DATABASE $PG_DB OWNER $PG_ROLE"
fi

role_ok || die "still cannot log in as $PG_ROLE to $PG_DB over TCP; check pg_hba.conf allows password logins from $PG_HOST"
say "ready: postgresql+psycopg://$PG_ROLE:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DB"
