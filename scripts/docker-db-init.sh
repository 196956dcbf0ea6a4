#!/bin/sh
# Run once by the postgres image's entrypoint, from /docker-entrypoint-initdb.d, when the data
# volume is first created (see docker-compose.yml): creates Parapet's roles (parapet_owner,
# parapet_app, parapet) and the database `parapet` with scripts/db-init.sql, which compose
# mounts at /parapet/db-init.sql (outside initdb.d, so that the entrypoint does not also run
# the .sql file on its own, without its variables).
#
# Passwords come from POSTGRES_PARAPET_OWNER_PW and POSTGRES_PARAPET_APP_PW. The entrypoint
# executes this file when it is executable and sources it otherwise; it works either way.
set -e
psql -X -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v owner_pw="${POSTGRES_PARAPET_OWNER_PW:?POSTGRES_PARAPET_OWNER_PW is required (password of parapet_owner)}" \
    -v app_pw="${POSTGRES_PARAPET_APP_PW:?POSTGRES_PARAPET_APP_PW is required (password of parapet)}" \
    -v dbname=parapet \
    -f "${PARAPET_DB_INIT_SQL:-/parapet/db-init.sql}"
