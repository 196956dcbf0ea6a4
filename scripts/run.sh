#!/usr/bin/env bash
# `make run`: serves Parapet on PARAPET_LISTEN (default 127.0.0.1:8080). When DATABASE_URL is
# unset it starts a private PostgreSQL under .data/ (created on first use, loopback only, its own
# port) with an owner role and an application role, and stops it again on exit (Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
pg_dir=""

stop_pg() {
    if [ -n "$pg_dir" ]; then
        scripts/pg.sh stop "$pg_dir" || true
        echo "run: PostgreSQL stopped" >&2
    fi
}

mkdir -p .data
chmod 700 .data

if [ -z "${DATABASE_URL:-}" ]; then
    port=${PARAPET_DEV_PG_PORT:-54329}
    pg_dir="$top/.data/pg"
    if [ "$(id -u)" -eq 0 ] && [ ! -e "$pg_dir" ] && ! runuser -u postgres -- test -x "$top" 2>/dev/null; then
        # The postgres user cannot reach this checkout: keep the cluster where it can, linked here.
        alt="/var/lib/parapet-dev/$(echo "$top" | md5sum | cut -c1-12)"
        mkdir -p "$alt"
        ln -s "$alt" "$pg_dir"
    fi
    if [ "$(id -u)" -eq 0 ] && [ ! -L "$pg_dir" ]; then
        chmod 755 "$top/.data" # postgres must traverse .data to reach .data/pg (itself 0700)
    fi
    if [ ! -f "$pg_dir/data/PG_VERSION" ]; then
        echo "run: creating a private PostgreSQL cluster in .data/pg (port $port)" >&2
        scripts/pg.sh init "$pg_dir" "$port" scram
    fi
    if [ ! -f .data/db.env ]; then
        umask 077
        {
            echo "OWNER_PW=$(openssl rand -hex 24)"
            echo "APP_PW=$(openssl rand -hex 24)"
        } >.data/db.env
    fi
    # shellcheck disable=SC1091
    . .data/db.env
    if ! scripts/pg.sh status "$pg_dir" 2>/dev/null; then
        scripts/pg.sh start "$pg_dir"
    fi
    trap stop_pg EXIT
    scripts/pg.sh psql "$pg_dir" -d postgres -v owner_pw="$OWNER_PW" -v app_pw="$APP_PW" \
        -v dbname=parapet <scripts/db-init.sql
    export DATABASE_URL="postgresql://parapet:$APP_PW@127.0.0.1:$port/parapet"
    export DATABASE_OWNER_URL="postgresql://parapet_owner:$OWNER_PW@127.0.0.1:$port/parapet"
fi

if [ -z "${PARAPET_SECRET_KEY:-}" ]; then
    [ -f .data/secret.key ] || (umask 077 && openssl rand -base64 32 >.data/secret.key)
    PARAPET_SECRET_KEY=$(cat .data/secret.key)
    export PARAPET_SECRET_KEY
fi
if [ -z "${PARAPET_JWT_KEY:-}" ]; then
    if [ ! -f .data/jwt.pem ]; then
        (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -out .data/jwt.pem 2>/dev/null)
    fi
    export PARAPET_JWT_KEY="$top/.data/jwt.pem"
fi
export PARAPET_LISTEN=${PARAPET_LISTEN:-127.0.0.1:8080}

build/parapet migrate
cat >&2 <<MSG

  Parapet is starting on http://$PARAPET_LISTEN  (Ctrl-C stops it and its PostgreSQL)
  Try:  curl -s http://$PARAPET_LISTEN/readyz
        curl -s http://$PARAPET_LISTEN/v1/openapi.json | head -c 400

MSG
status=0
build/parapet serve || status=$?
exit "$status"
