# Helpers shared by the benchmark scripts (bench/run.sh, bench/posture.sh); sourced, not run.
# The sourcing script defines cleanup() (see make_dirs), and sets srv_pid, srv_port and srv_log
# (its server) before it calls api, expect or server_alive.
# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # work, pg_dir, srv_*, R: the sourcing script's globals

say() { echo "bench: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# Installs the Debian packages given (apt-get, as root) and PostgreSQL (scripts/deps.sh) when
# missing; otherwise says what to install and stops.
install_missing() { # PACKAGE...
    if [ $# -gt 0 ]; then
        [ "$(id -u)" -eq 0 ] || die "missing packages: $* (install them as root: apt-get install $*)"
        say "installing $*"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # nginx-light's postinst starts the system nginx on port 80; that instance is not used here.
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    fi
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
        scripts/deps.sh
    fi
}

# The temporary directory (work) and the private cluster's (pg_dir); the script's cleanup runs on
# exit, Ctrl-C and SIGTERM, and calls remove_dirs last.
make_dirs() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    work=$(mktemp -d "${TMPDIR:-/tmp}/parapet-bench.XXXXXX")
    pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/parapet-bench-pg.XXXXXX")
}
remove_dirs() {
    if [ -n "$pg_dir" ]; then
        scripts/pg.sh stop "$pg_dir" >/dev/null 2>&1 || true
        rm -rf "$pg_dir"
    fi
    [ -n "$work" ] && rm -rf "$work"
}

# Dies with the server's exit status and its last log lines (kept in bench/results/) if it is gone:
# the server is srv_pid, its log srv_log.
server_alive() { # WHAT
    local st=0
    kill -0 "$srv_pid" 2>/dev/null && return 0
    wait "$srv_pid" 2>/dev/null || st=$?
    srv_pid=""
    tail -n 20 "$srv_log" >&2
    mkdir -p bench/results
    cp "$srv_log" bench/results/serve-failed.log
    say "server log: bench/results/serve-failed.log"
    ((st != 0)) || say "status 0: it shut down cleanly, i.e. something sent it SIGTERM or SIGINT"
    die "parapet exited during $1 (status $st$( ((st > 128)) && echo ", signal $((st - 128))"))"
}

stop_pid() { # PID [grace seconds]: TERM, wait up to the grace period, then KILL
    local pid=$1 grace=${2:-10} i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < grace * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Sets variable $1 to a port on 127.0.0.1 that nothing listens on (checked with a connect, not
# reserved), below the usual ephemeral range and not handed out before in this run.
used_ports=" "
free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12000))
        case "$used_ports" in *" $p "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            used_ports="$used_ports$p "
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    die "no free port found"
}

# A sleep of about 1 ms without forking: read with a timeout on a pipe that never has data.
exec {nap_fd}<> <(:)
nap() { read -r -t "${1:-0.001}" -u "$nap_fd" _ || true; }

# 0 when GET $2 on 127.0.0.1:$1 answers 200; no fork (bash /dev/tcp).
http_200() {
    local port=$1 path=$2 line="" fd
    { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
    { printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&"$fd"; } 2>/dev/null || true
    IFS= read -r -t 2 -u "$fd" line || true
    exec {fd}>&-
    [[ $line == "HTTP/1."?" 200"* ]]
}

proc_kb() { # PID FIELD -> kB value of FIELD in /proc/PID/status
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# A private PostgreSQL in $pg_dir on a free port (fsync off), the roles of scripts/db-init.sql
# (password x; trust on loopback anyway) and the migrations run by BIN. Sets pg_port and exports
# DATABASE_URL (role parapet) and DATABASE_OWNER_URL (role parapet_owner).
pg_setup() { # BIN
    free_port pg_port
    say "PostgreSQL: private cluster in $pg_dir on 127.0.0.1:$pg_port (fsync off)"
    scripts/pg.sh init "$pg_dir" "$pg_port" trust fast
    scripts/pg.sh start "$pg_dir"
    scripts/pg.sh psql "$pg_dir" -d postgres -v owner_pw=x -v app_pw=x -v dbname=parapet \
        <scripts/db-init.sql
    export DATABASE_URL="postgresql://parapet:x@127.0.0.1:$pg_port/parapet"
    export DATABASE_OWNER_URL="postgresql://parapet_owner:x@127.0.0.1:$pg_port/parapet"
    PARAPET_LOG_LEVEL=warn "$1" migrate >"$work/migrate.log" 2>&1 ||
        { cat "$work/migrate.log" >&2; die "parapet migrate failed"; }
}

# CPU accounting for each measured run, in clock ticks, to tell a clean run from a disturbed one
# (the client and the server share the CPUs): the machine's total (/proc/stat, all CPUs), the
# server's and PostgreSQL's (utime + stime of their processes), the client's (this shell's
# reaped-children time from `times`; the client is the only sizeable child reaped during a
# measured run), and every other process's (utime + stime + reaped children's time, so
# short-lived processes such as a compiler run are counted through their parent).
machine_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t; exit }' /proc/stat; }
others_ticks() { # EXCLUDED_PID... -> CPU ticks of all other processes, with their reaped children
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v ex=" $* " '
        { pid = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
          if (index(ex, " " pid " ") == 0) t += f[12] + f[13] + f[14] + f[15] }
        END { printf "%d\n", t }'
}
pids_ticks() { # PID... -> utime + stime of these processes
    local pid line rest sum=0
    for pid in "$@"; do
        IFS= read -r line 2>/dev/null <"/proc/$pid/stat" || continue
        rest=${line##*) }
        # shellcheck disable=SC2086
        set -- $rest
        sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}
reaped_ticks() { # PID -> cutime + cstime of the process: its children that have exited
    local line rest
    IFS= read -r line 2>/dev/null <"/proc/$1/stat" || { echo 0; return 0; }
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $((${14} + ${15}))
}
pg_pids() { # the private cluster's postmaster and its children
    local pm
    pm=$(head -n 1 "$pg_dir/data/postmaster.pid" 2>/dev/null) || return 0
    echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"
}
clk_tck=$(getconf CLK_TCK)
children_ticks() { # VAR: user + system time of this shell's reaped children, in ticks
    times >"$work/times" # in this shell: a $(...) subshell would count its own children
    printf -v "$1" '%s' "$(awk -v hz="$clk_tck" 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] }
        printf "%d\n", t * hz + 0.5 }' "$work/times")"
}

# cpu_begin SERVER_PIDS DB_PIDS, the measured run, then cpu_end NAME SERVER_PIDS DB_PIDS: puts
# into the global associative array R the run's CPU shares (percent of all CPUs) R[NAME.cpu_srv],
# cpu_db, cpu_wrk (the client: the child this shell reaped), cpu_other, and the server's and
# PostgreSQL's ticks R[NAME.ticks_srv], ticks_db. PID lists are space-separated; the first of
# DB_PIDS is the postmaster, whose exited children (backends of clients that disconnected during
# the run, such as pgbench's) count too.
cpu_begin() {
    local -a spids dpids
    read -r -a spids <<<"$1"
    read -r -a dpids <<<"$2"
    cpu_m0=$(machine_ticks) cpu_s0=$(pids_ticks "${spids[@]}")
    cpu_d0=$(($(pids_ticks "${dpids[@]}") + $(reaped_ticks "${dpids[0]:-0}")))
    cpu_o0=$(others_ticks $$ "${spids[@]}" "${dpids[@]}")
    children_ticks cpu_w0
}
cpu_end() {
    local name=$1 m1 s1 d1 w1 o1 k v
    local -a spids dpids
    read -r -a spids <<<"$2"
    read -r -a dpids <<<"$3"
    children_ticks w1 # first: the subshells below are reaped children too
    m1=$(machine_ticks) s1=$(pids_ticks "${spids[@]}")
    d1=$(($(pids_ticks "${dpids[@]}") + $(reaped_ticks "${dpids[0]:-0}")))
    o1=$(others_ticks $$ "${spids[@]}" "${dpids[@]}")
    while read -r k v; do
        R[$name.$k]=$v
    done < <(awk -v tot=$((m1 - cpu_m0)) -v s=$((s1 - cpu_s0)) -v d=$((d1 - cpu_d0)) \
        -v w=$((w1 - cpu_w0)) -v o=$((o1 - cpu_o0)) 'BEGIN { if (tot <= 0) tot = 1; if (o < 0) o = 0
            printf "cpu_srv %.0f\ncpu_db %.0f\ncpu_wrk %.0f\ncpu_other %.0f\nticks_srv %d\nticks_db %d\n",
                   100 * s / tot, 100 * d / tot, 100 * w / tot, 100 * o / tot, s, d }')
}

# wrk's --latency output in FILE -> "key value" lines: rps, p50, p99 (ms), total, non2xx, sockerr.
wrk_parse() { # FILE
    awk '
        function ms(s,   n, u) {
            n = s + 0; u = s; sub(/^[0-9.]+/, "", u)
            if (u == "us") return n / 1000
            if (u == "ms") return n
            if (u == "s") return n * 1000
            if (u == "m") return n * 60000
            return -1
        }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        / requests in / { total = $1 }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
        END { printf "rps %.0f\np50 %.3f\np99 %.3f\ntotal %d\nnon2xx %d\nsockerr %d\n",
                     rps, p50, p99, total, non2xx, err }' "$1"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
check() { # VALUE OP LIMIT -> met / MISSED
    awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
        ok = (op == "<") ? (v < l) : (v >= l); print ok ? "met" : "MISSED" }'
}

api() { # METHOD PATH [BODY [TOKEN]] -> HTTP status on stdout (000: no answer), body in api.json
    local -a args=(-sS -o "$work/api.json" -w '%{http_code}' --max-time 30 -X "$1")
    [ -z "${3:-}" ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
    [ -z "${4:-}" ] || args+=(-H "Authorization: Bearer $4")
    : >"$work/api.json"
    curl "${args[@]}" "http://127.0.0.1:$srv_port$2" || true
}
expect() { # WHAT WANTED_STATUS STATUS: dies loudly, with the response body, unless they match
    [ "$3" = "$2" ] && return 0
    say "$1: HTTP $3, expected $2. Response body:"
    head -c 2000 "$work/api.json" >&2
    echo >&2
    server_alive "$1"
    die "$1 answered HTTP $3, not $2"
}
json_str() { # FIELD -> the first string value of "FIELD" in api.json (tokens hold no quotes)
    grep -o "\"$1\" *: *\"[^\"]*\"" "$work/api.json" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/' || true
}
