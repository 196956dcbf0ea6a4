#!/bin/sh
# A private PostgreSQL cluster in a directory: for `make run` (.data/pg) and for the tests (a
# throwaway directory). PostgreSQL refuses to run as root, so as root it runs as the `postgres`
# user that Debian's package creates; otherwise as the invoking user. It listens on 127.0.0.1 and
# on a Unix socket inside DIR/run only; the bootstrap superuser is `postgres`.
#
#   scripts/pg.sh init DIR PORT trust|scram [fast]   create the cluster (fast: fsync off, for tests)
#   scripts/pg.sh start DIR | stop DIR | status DIR
#   scripts/pg.sh psql DIR [psql args...]            psql as the superuser over the socket
set -eu

cmd=${1:?usage: pg.sh init|start|stop|status|psql DIR ...}
dir=${2:?missing DIR}
shift 2

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg.sh: PostgreSQL server binaries not found (run scripts/deps.sh)" >&2; exit 1; }

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
init)
    port=${1:?missing PORT}
    auth=${2:-trust}
    mode=${3:-}
    mkdir -p "$dir/run"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$dir"
    fi
    chmod 700 "$dir" "$dir/run"
    case "$auth" in
    trust) hostauth=trust ;;
    scram) hostauth=scram-sha-256 ;;
    *) echo "pg.sh: auth must be trust or scram" >&2; exit 2 ;;
    esac
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host="$hostauth" >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '$dir/run'"
        echo "max_connections = 300"
        echo "shared_buffers = 64MB"
        echo "log_min_messages = warning"
        echo "log_line_prefix = '%m [%p] %u@%d '"
        if [ "$mode" = fast ]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
    ;;
start)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
        { tail -n 20 "$dir/server.log" >&2; exit 1; }
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
status)
    as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null
    ;;
psql)
    port=$(sed -n "s/^port = //p" "$dir/data/postgresql.conf" | tail -n 1)
    as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$dir/run" -p "$port" -U postgres "$@"
    ;;
*)
    echo "pg.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
