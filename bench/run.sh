#!/usr/bin/env bash
# Parapet HTTP benchmark, loopback only, one bounded run (about 75 s). See bench/README.md.
#
# Measures, in this order and on 127.0.0.1:
#   1. start-up to ready: exec of `parapet serve` -> first 200 from GET /readyz, the database
#      already migrated; best (and median) of 5 runs, plus the server's own startup_ms log field
#   2. idle RSS of the server (VmRSS, 1 s after it is ready)
#   3. nginx serving a static file with the same body as GET /healthz (private instance)
#   4. parapet GET /healthz, then VmHWM (peak RSS) of the server
#   5. parapet GET /readyz (one database round trip per request), then VmHWM
#   6. sign-up with curl (a tenant and its owner: POST /v1/signup), a viewer API key
#      (POST /v1/api-keys), each credential checked with curl (GET /v1/me must answer 200)
#   7. parapet GET /v1/me with the owner's access token (ES256 JWT), then with the API key;
#      both credentials checked again with curl afterwards, then VmHWM
# Each HTTP target: wrk, 2 threads, 64 connections, 2 s warm-up (discarded), then 10 s --latency.
# Fixed on purpose so that runs compare; results are noisy on small shared machines (README).
#
# It starts its own throwaway PostgreSQL (scripts/pg.sh, fsync off) and its own nginx, stops
# every process it started by PID and removes its temporary directories on exit.
# Results: a markdown block on stdout and in bench/results/latest.md.
#
# Environment: BIN (default build/parapet; a copy of it is run). PARAPET_HTTP_THREADS, PARAPET_WORKERS,
# PARAPET_CONN_LIMIT, PARAPET_PER_IP_LIMIT pass through to the server if set. BENCH_PERF=1 adds,
# after everything measured, one unmeasured wrk run of /v1/me per credential under a system-wide
# `perf record`, and writes where the CPU time went to bench/results/perf-me_jwt.txt and
# perf-me_key.txt (needs perf; the measured numbers are unaffected).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

CONNS=64
THREADS=2
WARMUP_S=2
DURATION_S=10
STARTUP_RUNS=5
STARTUP_TIMEOUT_S=10

BIN=${BIN:-build/parapet}
case "$BIN" in /*) ;; *) BIN="$top/$BIN" ;; esac

# shellcheck source=bench/lib.sh
. bench/lib.sh

[ -x "$BIN" ] || die "$BIN not found or not executable (run make first, or set BIN)"

# ---------------------------------------------------------------------------------------------
# Tools: wrk, nginx (nginx-light), curl and PostgreSQL; installed with apt-get when missing.
pkgs=()
command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || pkgs+=(nginx-light)
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
install_missing "${pkgs[@]}"
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)

# ---------------------------------------------------------------------------------------------
# Clean-up: everything started here is stopped by its PID; temporary directories are removed.
pg_dir=""
work=""
srv_pid=""
nginx_pid=""
pg_port="" srv_port="" nginx_port=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$srv_pid"
    srv_pid=""
    if [ -n "$nginx_pid" ]; then
        kill -QUIT "$nginx_pid" 2>/dev/null || true # graceful shutdown of master and workers
        stop_pid "$nginx_pid" 5
        nginx_pid=""
    fi
    remove_dirs
    exit "$rc"
}
make_dirs
srv_log="$work/serve.log" # the server under test (start-up runs have their own logs)

# Run a private copy, so that a rebuild of $BIN during the run cannot change what is measured.
bin_src=$BIN
BIN="$work/parapet"
cp "$bin_src" "$BIN"

# ---------------------------------------------------------------------------------------------
# PostgreSQL, roles, migrations.
pg_setup "$BIN"

free_port srv_port
export PARAPET_LISTEN="127.0.0.1:$srv_port"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/jwt.pem" 2>/dev/null ||
    die "cannot generate the JWT signing key"
export PARAPET_JWT_KEY="$work/jwt.pem"

# Starts `parapet serve` in the background (PID in srv_pid, log in $1) and waits for the first
# 200 from /readyz, polling about every millisecond without forking (the poller shares the CPUs
# with the server). Sets ready_ms (exec -> ready).
start_server() {
    local log=$1 level=$2 t0 t1 limit
    t0=${EPOCHREALTIME/[.,]/}
    limit=$((t0 + STARTUP_TIMEOUT_S * 1000000))
    PARAPET_LOG_LEVEL=$level "$BIN" serve >"$log" 2>&1 &
    srv_pid=$!
    while ! http_200 "$srv_port" /readyz; do
        if ! kill -0 "$srv_pid" 2>/dev/null; then
            wait "$srv_pid" 2>/dev/null || true
            srv_pid=""
            tail -n 20 "$log" >&2
            die "parapet serve exited before it was ready"
        fi
        if ((${EPOCHREALTIME/[.,]/} > limit)); then
            tail -n 20 "$log" >&2
            die "parapet serve not ready after ${STARTUP_TIMEOUT_S}s"
        fi
        nap 0.001
    done
    t1=${EPOCHREALTIME/[.,]/}
    ready_ms=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
}

# ---------------------------------------------------------------------------------------------
# 1. Start-up to ready, database already migrated (info level, to get the server.started line).
say "start-up: $STARTUP_RUNS runs of exec -> first 200 from /readyz"
startup_list=""
logged_list=""
for ((run = 1; run <= STARTUP_RUNS; run++)); do
    start_server "$work/startup-$run.log" info
    stop_pid "$srv_pid"
    srv_pid=""
    logged=$(grep -o '"event":"server.started".*' "$work/startup-$run.log" |
        grep -o '"startup_ms":[0-9.eE+-]*' | head -n 1 | cut -d: -f2 || true)
    logged=$(awk -v v="${logged:-nan}" 'BEGIN { if (v == "nan") print "n/a"; else printf "%.1f", v }')
    startup_list="$startup_list $ready_ms"
    logged_list="$logged_list $logged"
    say "  run $run: ready after $ready_ms ms (server.started startup_ms=$logged)"
done
stats() { # best and median of a list of numbers
    echo "$1" | tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a n/a"; exit }
              m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.1f %.1f\n", v[1], m }'
}
read -r startup_best startup_median <<<"$(stats "$startup_list")"
read -r logged_best logged_median <<<"$(stats "$logged_list")"

# ---------------------------------------------------------------------------------------------
# 2. The server under test (warn level: no per-request log lines), idle RSS.
start_server "$work/serve.log" warn
[ "$(cat "/proc/$srv_pid/comm")" = "$(basename "$BIN" | cut -c1-15)" ] ||
    die "PID $srv_pid is not $BIN"
sleep 1
idle_rss_kb=$(proc_kb "$srv_pid" VmRSS)
srv_threads=$(proc_kb "$srv_pid" Threads)

# The static file's body is the server's own /healthz body, byte for byte.
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
curl -fsS -o "$work/nginx/www/healthz" "http://127.0.0.1:$srv_port/healthz"
body_bytes=$(wc -c <"$work/nginx/www/healthz")
[ "$(cat "$work/nginx/www/healthz")" = '{"status":"ok"}' ] ||
    say "note: /healthz body is now $(cat "$work/nginx/www/healthz")"

# ---------------------------------------------------------------------------------------------
# 3. nginx: a private instance with its own config, prefix and pid file. Tuned to be a strong
# baseline: the file's descriptor is cached (no open/fstat/close per request), the kernel spreads
# connections over the workers (reuseport), keep-alive connections are never closed by nginx, and
# sendfile stays off (nginx's built-in default; one writev is cheaper than writev + sendfile for a
# 15-byte body).
ncpu=$(nproc)
free_port nginx_port
chmod 755 "$work" "$work/nginx" "$work/nginx/www" # nginx workers run as nobody under root
chmod 644 "$work/nginx/www/healthz"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $ncpu;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    open_file_cache max=16 inactive=60s;
    open_file_cache_valid 60s;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port reuseport;
        root $work/nginx/www;
        location = /healthz { default_type application/json; }
    }
}
CONF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" \
    -g 'daemon off;' >"$work/nginx/stdout.log" 2>&1 &
nginx_pid=$!
for ((i = 0; i < 500; i++)); do
    http_200 "$nginx_port" /healthz && break
    kill -0 "$nginx_pid" 2>/dev/null || { cat "$work/nginx/"*.log >&2; die "nginx did not start"; }
    sleep 0.01
done
http_200 "$nginx_port" /healthz || { cat "$work/nginx/"*.log >&2; die "nginx not answering"; }
nginx_body=$(curl -fsS "http://127.0.0.1:$nginx_port/healthz")
[ "$nginx_body" = "$(cat "$work/nginx/www/healthz")" ] || die "nginx body differs from /healthz"
resp_bytes() { curl -fsS -D - -o /dev/null "$1" | wc -c | awk -v b="$body_bytes" '{ print $1 + b }'; }
nginx_resp_bytes=$(resp_bytes "http://127.0.0.1:$nginx_port/healthz")
healthz_resp_bytes=$(resp_bytes "http://127.0.0.1:$srv_port/healthz")
readyz_resp_bytes=$(curl -fsS -D - "http://127.0.0.1:$srv_port/readyz" | wc -c)

label() { # NAME -> what the target is called in messages
    case $1 in
    nginx) echo nginx ;;
    me_jwt) echo "/v1/me (JWT)" ;;
    me_key) echo "/v1/me (API key)" ;;
    *) echo "/$1" ;;
    esac
}

# Called when wrk fails: says whether the server under test is still there.
target_gone() { # NAME PHASE
    if [ "$1" != nginx ]; then
        server_alive "the $(label "$1") $2"
    fi
    die "wrk failed during the $(label "$1") $2"
}

# wrk: warm-up, then the measured run against URL; SERVER_PIDS and DB_PIDS are space-separated
# lists; HEADER (optional) is sent with every request (wrk -H). Results go into
# R[NAME.rps|p50|p99|total|non2xx|sockerr|cpu_srv|cpu_db|cpu_wrk|cpu_other] (CPU: percent of all
# CPUs during the measured run).
declare -A R
bench() { # NAME URL SERVER_PIDS [DB_PIDS [HEADER]]
    local name=$1 url=$2 out="$work/wrk-$1.txt" k v
    local -a hdr=()
    [ -z "${5:-}" ] || hdr=(-H "$5")
    say "wrk $name: $url (${WARMUP_S}s warm-up, ${DURATION_S}s measured)"
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP_S}s" "${hdr[@]}" "$url" >/dev/null ||
        target_gone "$name" warm-up
    cpu_begin "$3" "${4:-}"
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION_S}s" --latency "${hdr[@]}" "$url" >"$out" ||
        target_gone "$name" run
    cpu_end "$name" "$3" "${4:-}"
    while read -r k v; do
        R[$name.$k]=$v
    done < <(wrk_parse "$out")
    # CPU time per request (microseconds) of the server and of PostgreSQL during the measured run.
    read -r "R[$name.us_srv]" "R[$name.us_db]" < <(awk -v s="${R[$name.ticks_srv]}" \
        -v d="${R[$name.ticks_db]}" -v n="${R[$name.total]}" -v hz="$clk_tck" 'BEGIN {
            if (n <= 0) n = 1; printf "%.0f %.0f\n", s / hz * 1e6 / n, d / hz * 1e6 / n }')
    say "  ${R[$name.rps]} req/s, p50 ${R[$name.p50]} ms, p99 ${R[$name.p99]} ms," \
        "${R[$name.total]} requests, non-2xx ${R[$name.non2xx]}," \
        "socket errors ${R[$name.sockerr]}; CPU: server ${R[$name.cpu_srv]}%," \
        "PostgreSQL ${R[$name.cpu_db]}%, wrk ${R[$name.cpu_wrk]}%," \
        "other processes ${R[$name.cpu_other]}%; CPU per request: server ${R[$name.us_srv]} µs," \
        "PostgreSQL ${R[$name.us_db]} µs"
}

bench nginx "http://127.0.0.1:$nginx_port/healthz" "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"
kill -QUIT "$nginx_pid" 2>/dev/null || true
stop_pid "$nginx_pid" 5
nginx_pid=""
server_alive "the nginx run (idle)"

# ---------------------------------------------------------------------------------------------
# 4-5. parapet /healthz and /readyz, with the peak RSS after each.
bench healthz "http://127.0.0.1:$srv_port/healthz" "$srv_pid" "$(pg_pids)"
server_alive "the /healthz load"
hwm_healthz_kb=$(proc_kb "$srv_pid" VmHWM)
bench readyz "http://127.0.0.1:$srv_port/readyz" "$srv_pid" "$(pg_pids)"
server_alive "the /readyz load"
hwm_readyz_kb=$(proc_kb "$srv_pid" VmHWM)

# ---------------------------------------------------------------------------------------------
# 6. Credentials, made after the measures above because sign-up hashes the password with
# argon2id (19 MiB for the duration of the hash, which VmHWM would keep): a tenant and its owner,
# whose access token (a JWT) is used right away, and a viewer API key. Each must answer 200 on
# GET /v1/me before it is measured, and again after its run.
me_url="http://127.0.0.1:$srv_port/v1/me"
jwt_claim() { # TOKEN NAME -> the integer claim NAME of the JWT's payload
    local p=${1#*.}
    p=$(printf '%s' "${p%%.*}" | tr '_-' '/+')
    while ((${#p} % 4)); do p="$p="; done
    printf '%s' "$p" | base64 -d 2>/dev/null | grep -o "\"$2\" *: *[0-9]*" | grep -o '[0-9]*$' || true
}
check_me() { # WHAT TOKEN AUTH: GET /v1/me with TOKEN answers 200 and says it used AUTH
    expect "GET /v1/me with $1" 200 "$(api GET /v1/me "" "$2")"
    grep -q "\"auth\" *: *\"$3\"" "$work/api.json" ||
        die "GET /v1/me with $1 answered 200 without \"auth\": \"$3\": $(head -c 500 "$work/api.json")"
}
me_resp_bytes() { # TOKEN -> bytes of the whole response (headers + body)
    curl -fsS -i -H "Authorization: Bearer $1" "$me_url" | wc -c
}

say "sign-up: POST /v1/signup, POST /v1/api-keys (viewer), GET /v1/me with each credential"
signup_body='{"organization":"Bench Org","email":"bench@example.com","password":"bench correct horse battery"}'
expect "POST /v1/signup" 201 "$(api POST /v1/signup "$signup_body")"
access_token=$(json_str access_token)
[ -n "$access_token" ] || die "no access_token in the sign-up response: $(head -c 500 "$work/api.json")"
jwt_iat=$(jwt_claim "$access_token" iat)
jwt_exp=$(jwt_claim "$access_token" exp)
{ [ -n "$jwt_iat" ] && [ -n "$jwt_exp" ]; } || die "cannot read iat and exp from the access token"
jwt_lifetime=$((jwt_exp - jwt_iat))
expect "POST /v1/api-keys" 201 "$(api POST /v1/api-keys '{"name":"bench","role":"viewer"}' "$access_token")"
api_key=$(json_str key)
[[ $api_key == prk_* ]] || die "no prk_ key in the API key response: $(head -c 500 "$work/api.json")"
check_me "the access token (JWT)" "$access_token" jwt
check_me "the API key" "$api_key" api_key
me_jwt_resp_bytes=$(me_resp_bytes "$access_token")
me_key_resp_bytes=$(me_resp_bytes "$api_key")
hwm_signup_kb=$(proc_kb "$srv_pid" VmHWM)
# Reset the peak (Linux: 5 > clear_refs), so that the next VmHWM is the /v1/me load's own.
if echo 5 2>/dev/null >"/proc/$srv_pid/clear_refs"; then hwm_reset=1; else hwm_reset=0; fi

# ---------------------------------------------------------------------------------------------
# 7. GET /v1/me with the JWT, then with the API key. The access token must outlive its run with
# a margin: it was issued moments ago, but the clock is checked rather than assumed.
jwt_need_s=$((WARMUP_S + DURATION_S + 30))
jwt_left_s=$((jwt_exp - $(date +%s)))
((jwt_left_s >= jwt_need_s)) ||
    die "the access token expires in ${jwt_left_s}s; its run needs ${jwt_need_s}s"
say "access token: lifetime ${jwt_lifetime}s, ${jwt_left_s}s left before its run"
bench me_jwt "$me_url" "$srv_pid" "$(pg_pids)" "Authorization: Bearer $access_token"
server_alive "the /v1/me (JWT) load"
check_me "the access token (JWT), after its run" "$access_token" jwt
jwt_left_after_s=$((jwt_exp - $(date +%s)))
bench me_key "$me_url" "$srv_pid" "$(pg_pids)" "Authorization: Bearer $api_key"
server_alive "the /v1/me (API key) load"
check_me "the API key, after its run" "$api_key" api_key
hwm_me_kb=$(proc_kb "$srv_pid" VmHWM)

# Optional: where the CPU time goes during /v1/me load (not part of the measured numbers). Two
# recorders run during one wrk run: a flat, system-wide one (server, PostgreSQL, wrk and everything
# else, by thread, library and function), and one of the server alone with DWARF call graphs
# (Debian's libraries have no frame pointers), for inclusive time per function: how much of the
# server's CPU time is spent under jwt_verify, api_me, db_run and so on.
perf_profile() { # NAME HEADER
    local name=$1 flat="$work/perf-$1.data" calls="$work/perf-calls-$1.data"
    local txt="bench/results/perf-$1.txt" rec1 rec2 t ids
    say "perf: $(label "$name"), ${DURATION_S}s under perf record (not measured)"
    perf record -a -F 999 -o "$flat" -- sleep "$DURATION_S" >/dev/null 2>"$work/perf1.err" &
    rec1=$!
    perf record -F 199 --call-graph dwarf,16384 -p "$srv_pid" -o "$calls" -- sleep "$DURATION_S" \
        >/dev/null 2>"$work/perf2.err" &
    rec2=$!
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION_S}s" -H "$2" "$me_url" >"$work/wrk-perf-$name.txt" ||
        target_gone "$name" "perf run"
    wait "$rec1" || { cat "$work/perf1.err" >&2; die "perf record -a failed"; }
    wait "$rec2" || { cat "$work/perf2.err" >&2; die "perf record -p $srv_pid failed"; }
    # Thread ids: the server's threads, and PostgreSQL's processes (one thread each).
    ids=""
    for t in /proc/"$srv_pid"/task/*; do ids="$ids ${t##*/}"; done
    local pg_ids
    pg_ids=" $(pg_pids) "
    # perf report's --pid/--tid filters drop rows here (perf 6.1), so rows are sorted by thread
    # and summed with awk: KEYS is dso or dso,sym; prints % of all samples and % of the group's.
    group() { # KEYS LINES "TIDS"
        perf report -i "$flat" --stdio --no-children --sort "pid,$1" 2>/dev/null | awk -v ids=" $3 " '
            /^#/ || NF < 3 { next }
            { split($2, a, ":"); if (index(ids, " " a[1] " ") == 0) next
              pct = $1; sub(/%/, "", pct); key = $3
              for (i = 4; i <= NF; i++) key = key " " $i
              sum[key] += pct; tot += pct }
            END { for (k in sum) printf "%7.2f%%  %7.2f%%  %s\n", sum[k], (tot > 0 ? 100 * sum[k] / tot : 0), k
                  printf "%7.2f%%  %7.2f%%  (all of the group)\n", tot, 100 }' |
            sort -rn | head -n "$2" || true
    }
    mkdir -p bench/results
    {
        echo "# $(label "$name") under load: where the CPU time went (${DURATION_S} s, not a measured run)"
        echo "# wrk during the profile (slower than unprofiled):"
        grep -E 'Requests/sec|Non-2xx' "$work/wrk-perf-$name.txt" | sed 's/^/#   /' || true
        echo
        echo "## All processes by command (perf record -a -F 999; 100 % = both CPUs; other engineers' runs included)"
        perf report -i "$flat" --stdio --no-children --sort comm 2>/dev/null | grep -v '^#' |
            grep -v '^$' | head -n 12 || true
        echo
        echo "## The server under test (PID $srv_pid), by library: % of all samples, % of the server's"
        group dso 12 "$ids"
        echo
        echo "## The server under test, top functions (self time)"
        group dso,sym 30 "$ids"
        echo
        echo "## The server under test, inclusive time per function (perf record -p --call-graph dwarf)"
        echo "## 'Children' = time in the function and everything it called, % of the server's samples"
        perf report -i "$calls" --stdio --children --sort sym -g none 2>/dev/null | grep -v '^#' |
            grep -v '^$' | grep -v ' 0x0000' | head -n 60 || true
        echo
        echo "## The private PostgreSQL (postmaster and backends), by library"
        group dso 8 "$pg_ids"
        echo
        echo "## The private PostgreSQL, top functions (self time)"
        group dso,sym 20 "$pg_ids"
    } >"$txt"
    say "  wrote $txt"
}
if [ "${BENCH_PERF:-0}" = 1 ]; then
    command -v perf >/dev/null 2>&1 || die "BENCH_PERF=1 needs perf (apt-get install linux-perf)"
    perf_profile me_jwt "Authorization: Bearer $access_token"
    perf_profile me_key "Authorization: Bearer $api_key"
fi
stop_pid "$srv_pid"
srv_pid=""

# ---------------------------------------------------------------------------------------------
# Results.
check_run() { # NAME VALUE OP LIMIT -> as check, but INVALID when that run had non-2xx answers
    if [ "${R[$1.non2xx]}" != 0 ]; then echo "INVALID (non-2xx answers)"; else check "$2" "$3" "$4"; fi
}
healthz_ratio=$(ratio "${R[healthz.rps]}" "${R[nginx.rps]}")
readyz_ratio=$(ratio "${R[readyz.rps]}" "${R[nginx.rps]}")
me_jwt_ratio=$(ratio "${R[me_jwt.rps]}" "${R[nginx.rps]}")
me_key_ratio=$(ratio "${R[me_key.rps]}" "${R[nginx.rps]}")
readyz_vs_healthz=$(ratio "${R[readyz.rps]}" "${R[healthz.rps]}")
me_jwt_vs_healthz=$(ratio "${R[me_jwt.rps]}" "${R[healthz.rps]}")
me_key_vs_healthz=$(ratio "${R[me_key.rps]}" "${R[healthz.rps]}")
idle_mb=$(mb "$idle_rss_kb")
hwm_healthz_mb=$(mb "$hwm_healthz_kb")
hwm_readyz_mb=$(mb "$hwm_readyz_kb")
hwm_signup_mb=$(mb "$hwm_signup_kb")
hwm_me_mb=$(mb "$hwm_me_kb")
if ((hwm_reset)); then
    hwm_me_what="peak RSS under /v1/me load (VmHWM, reset after sign-up)"
else
    hwm_me_what="peak RSS after /v1/me load (VmHWM; could not be reset, includes sign-up)"
fi
model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
nginx_version=$("$NGINX" -v 2>&1 | sed 's/^nginx version: nginx\///')
wrk_version=$( (wrk -v 2>&1 || true) | head -n 1 | awk '{ print $1 " " $2 }')
pg_version=$(scripts/pg.sh psql "$pg_dir" -d postgres -Atc 'SHOW server_version' 2>/dev/null || echo "?")
srv_version=$("$BIN" version 2>/dev/null || echo "?")
http_threads=${PARAPET_HTTP_THREADS:-$((ncpu > 2 ? ncpu : 2))}
workers=${PARAPET_WORKERS:-2}
errors_note=""
for t in nginx healthz readyz me_jwt me_key; do
    n=${R[$t.non2xx]} s=${R[$t.sockerr]}
    if [ "$n" != 0 ] || [ "$s" != 0 ]; then
        errors_note="$errors_note
- **$(label "$t") had errors**: $n non-2xx responses, $s socket errors; its numbers do not measure successful requests."
    fi
    if [ "${R[$t.cpu_other]}" -ge 10 ]; then
        errors_note="$errors_note
- **$(label "$t") was disturbed**: other processes used ${R[$t.cpu_other]}% of the CPUs during its run; run again on a quiet machine."
    fi
done

row() { # LABEL NAME RATIO_TO_NGINX RATIO_TO_HEALTHZ
    local n=$2
    echo "| $1 | ${R[$n.rps]} | ${R[$n.p50]} | ${R[$n.p99]} | $3 | $4 | ${R[$n.total]} |" \
        "${R[$n.non2xx]} | ${R[$n.sockerr]} | ${R[$n.cpu_srv]} / ${R[$n.cpu_db]} / ${R[$n.cpu_wrk]} / ${R[$n.cpu_other]} |" \
        "${R[$n.us_srv]} / ${R[$n.us_db]} |"
}

mkdir -p bench/results
{
    cat <<EOF
### Parapet benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $ncpu CPU ($model), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r).
$srv_version (\`${bin_src#"$top"/}\`, $http_threads HTTP threads, $workers workers); nginx $nginx_version ($ncpu workers, access_log off, open_file_cache, reuseport, unlimited keep-alive requests); $wrk_version; PostgreSQL $pg_version (fsync off). All on 127.0.0.1, client and servers sharing the same CPUs.
wrk: $THREADS threads, $CONNS connections, ${WARMUP_S} s warm-up then ${DURATION_S} s with \`--latency\`. Body $body_bytes bytes for both /healthz targets; whole responses (headers + body): nginx $nginx_resp_bytes B, parapet /healthz $healthz_resp_bytes B, /readyz $readyz_resp_bytes B, /v1/me $me_jwt_resp_bytes B (JWT) and $me_key_resp_bytes B (API key).
/v1/me: one tenant signed up by the script, its owner's access token (ES256 JWT, ${#access_token} characters; lifetime ${jwt_lifetime} s, ${jwt_left_s} s left when its run began, ${jwt_left_after_s} s when it ended) and a viewer API key; each answered 200 to curl before and after its run.

| target | requests/s | p50 ms | p99 ms | vs nginx (req/s) | vs /healthz (req/s) | requests | non-2xx | socket errors | CPU %: server / PostgreSQL / wrk / other processes | CPU µs per request: server / PostgreSQL |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(row "nginx static file (baseline)" nginx 1.00 —)
$(row "parapet GET /healthz" healthz "$healthz_ratio" 1.00)
$(row "parapet GET /readyz (DB query)" readyz "$readyz_ratio" "$readyz_vs_healthz")
$(row "parapet GET /v1/me, JWT" me_jwt "$me_jwt_ratio" "$me_jwt_vs_healthz")
$(row "parapet GET /v1/me, API key" me_key "$me_key_ratio" "$me_key_vs_healthz")

| measure | value | target | |
|---|---:|---:|---|
| /healthz throughput vs nginx | ${healthz_ratio}x | ≥ 0.8x | $(check "$healthz_ratio" ">=" 0.8) |
| /healthz p99 at $CONNS connections | ${R[healthz.p99]} ms | < 5 ms | $(check "${R[healthz.p99]}" "<" 5) |
| idle RSS (VmRSS, 1 s after ready) | $idle_mb MB | < 20 MB | $(check "$idle_mb" "<" 20) |
| peak RSS under /healthz load (VmHWM) | $hwm_healthz_mb MB | < 64 MB | $(check "$hwm_healthz_mb" "<" 64) |
| peak RSS after /readyz load too (VmHWM) | $hwm_readyz_mb MB | < 64 MB | $(check "$hwm_readyz_mb" "<" 64) |
| /v1/me (JWT) throughput vs /healthz, same run | ${me_jwt_vs_healthz}x | ≥ 0.5x | $(check_run me_jwt "$me_jwt_vs_healthz" ">=" 0.5) |
| /v1/me (API key) throughput vs /healthz, same run | ${me_key_vs_healthz}x | ≥ 0.5x | $(check_run me_key "$me_key_vs_healthz" ">=" 0.5) |
| peak RSS after sign-up (VmHWM; one argon2id hash) | $hwm_signup_mb MB | < 64 MB | $(check "$hwm_signup_mb" "<" 64) |
| $hwm_me_what | $hwm_me_mb MB | < 64 MB | $(check "$hwm_me_mb" "<" 64) |
| start-up to ready, exec → first 200 /readyz (best of $STARTUP_RUNS; median $startup_median) | $startup_best ms | < 200 ms | $(check "$startup_best" "<" 200) |
| start-up as logged, server.started startup_ms (best of $STARTUP_RUNS; median $logged_median) | $logged_best ms | < 200 ms | $(check "$logged_best" "<" 200) |

Start-up runs (ms, exec → ready):$startup_list; logged startup_ms:$logged_list. Server threads at idle: $srv_threads. MB = 2^20 bytes.$errors_note
EOF
} >"$work/results.md"
cp "$work/results.md" bench/results/latest.md
cat "$work/results.md"
say "written to bench/results/latest.md"
