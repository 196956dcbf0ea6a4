#!/usr/bin/env bash
# Observe benchmarks, loopback only, one bounded run (about a minute). See bench/README.md.
#
#   1. ingest: wrk posts batches of 500 events (POST /v1/events, NDJSON, an ingest key; payload
#      detection on; every 202 means committed) for DURATION_S; events per second from the rows
#      that are in the table afterwards, and the CPU time the server and PostgreSQL spent per batch
#   2. the baseline in the same run: psql \copy of the same rows (the events just ingested, with
#      new ids) into the same table, as the superuser (COPY is refused under row-level security)
#   3. correlation: 1,000,000 signals of one tenant (60 campaigns from 2,000 addresses, unique
#      trace ids, 5% weak) folded by one obs.correlate job; from their commit to the job's
#      success, and the server's peak RSS (VmHWM) before and after
#
# Starts its own PostgreSQL (scripts/pg.sh, fsync off) and server; stops what it started by PID.
# Results: a markdown block on stdout and in bench/results/observe.md.
# Environment: BIN (default build/parapet), DURATION_S (default 10), SIGNALS (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
BIN=${BIN:-build/parapet}
case "$BIN" in /*) ;; *) BIN="$top/$BIN" ;; esac
DURATION_S=${DURATION_S:-10}
SIGNALS=${SIGNALS:-1000000}
say() { echo "bench: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}
[ -x "$BIN" ] || die "$BIN not found (run make first, or set BIN)"
command -v wrk >/dev/null 2>&1 || die "wrk is needed (apt-get install wrk)"

pg_dir="" work="" srv_pid=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$srv_pid" ]; then
        kill -TERM "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
    fi
    if [ -n "${BENCH_SLOW_MS:-}" ] && [ -n "$pg_dir" ]; then
        # Total time per prepared statement (or plain statement), then the slowest lines.
        grep -h 'duration:' "$pg_dir"/*.log "$pg_dir"/data/log/* 2>/dev/null |
            sed -n 's/.*duration: \([0-9.]*\) ms *\(execute \([a-z_0-9]*\)\|statement: \(.\{0,40\}\)\).*/\1\t\3\4/p' |
            awk -F'\t' '{ t[$2] += $1; n[$2]++ } END { for (k in t) printf "%10.0f ms %7d  %s\n", t[k], n[k], k }' |
            sort -rn | head -25 >&2 || true
        grep -h 'duration:' "$pg_dir"/*.log "$pg_dir"/data/log/* 2>/dev/null | sort -t: -k5 -rn |
            cut -c1-200 | head -5 >&2 || true
    fi
    if [ -n "$pg_dir" ]; then
        scripts/pg.sh stop "$pg_dir" >/dev/null 2>&1 || true
        rm -rf "$pg_dir"
    fi
    [ -n "$work" ] && rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
work=$(mktemp -d "${TMPDIR:-/tmp}/parapet-obench.XXXXXX")
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/parapet-obench-pg.XXXXXX")
cp "$BIN" "$work/parapet"
BIN="$work/parapet"

free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    die "no free port"
}
pg_port=$(free_port)
scripts/pg.sh init "$pg_dir" "$pg_port" trust fast >/dev/null
# The test clusters' 64 MB of shared buffers are far below a database server's (a quarter of
# RAM is the usual advice); BENCH_SHARED_BUFFERS (e.g. 1GB) sets them for this run.
if [ -n "${BENCH_SHARED_BUFFERS:-}" ]; then
    echo "shared_buffers = $BENCH_SHARED_BUFFERS" >>"$pg_dir/data/postgresql.conf"
fi
scripts/pg.sh start "$pg_dir" >/dev/null
scripts/pg.sh psql "$pg_dir" -d postgres -v owner_pw=x -v app_pw=x -v dbname=parapet \
    <scripts/db-init.sql >/dev/null
psql_su() { scripts/pg.sh psql "$pg_dir" -d parapet -qAtX "$@"; }
if [ -n "${BENCH_SLOW_MS:-}" ]; then # log statements slower than this (PostgreSQL's log)
    psql_su -c "ALTER SYSTEM SET log_min_duration_statement = ${BENCH_SLOW_MS}" >/dev/null
    psql_su -c "SELECT pg_reload_conf()" >/dev/null
fi
export DATABASE_URL="postgresql://parapet:x@127.0.0.1:$pg_port/parapet"
export DATABASE_OWNER_URL="postgresql://parapet_owner:x@127.0.0.1:$pg_port/parapet"
"$BIN" migrate >"$work/migrate.log" 2>&1 || die "migrate failed"
srv_port=$(free_port)
export PARAPET_LISTEN="127.0.0.1:$srv_port" PARAPET_LOG_LEVEL=warn PARAPET_JOB_POLL_MS=100
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/jwt.pem" 2>/dev/null
export PARAPET_JWT_KEY="$work/jwt.pem" PARAPET_AWS_ACCOUNT_ID=111122223333
"$BIN" serve >"$work/server.log" 2>&1 &
srv_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$srv_port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
base="http://127.0.0.1:$srv_port"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -fsS "$base/v1/signup" -H 'Content-Type: application/json' \
    -d '{"organization":"Bench Observe","email":"obs@example.com","password":"bench correct horse battery"}' |
    json "['access_token']")
curl -fsS "$base/v1/accounts" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"provider":"aws","aws_account_id":"123456789012","name":"bench","regions":["us-east-1"]}' >/dev/null
key=$(curl -fsS "$base/v1/api-keys" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name":"bench","kind":"ingest"}' | json "['key']")
tenant=$(curl -fsS "$base/v1/me" -H "Authorization: Bearer $token" | json "['tenant']['id']")

# ---- 1. ingest ------------------------------------------------------------------------------
python3 bench/observe_batch.py >"$work/batch.ndjson"
bytes=$(wc -c <"$work/batch.ndjson")
status=$(curl -s -o "$work/first.json" -w '%{http_code}' "$base/v1/events" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/x-ndjson' \
    --data-binary @"$work/batch.ndjson")
[ "$status" = 202 ] || die "a batch was not accepted: $status $(cat "$work/first.json")"
grep -q '"accepted":500' "$work/first.json" || die "batch: $(cat "$work/first.json")"
cat >"$work/post.lua" <<EOF
local f = io.open("$work/batch.ndjson", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/x-ndjson"
wrk.headers["Authorization"] = "Bearer $key"
non202 = 0
response = function(status, headers, body)
  if status ~= 202 then non202 = non202 + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("non202=%d\n", non202))
end
EOF
# CPU time (clock ticks) of a process and its children, reaped or alive: on shared cores, the
# work per batch is steadier than the wall time.
pg_pid=$(head -1 "$pg_dir/data/postmaster.pid")
tck=$(getconf CLK_TCK)
cpu_ticks() {
    local t c v
    t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat")
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        v=$(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null) || v=0
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
before=$(psql_su -c "SELECT count(*) FROM events")
srv_c0=$(cpu_ticks "$srv_pid")
pg_c0=$(cpu_ticks "$pg_pid")
t0=$(date +%s.%N)
wrk -t2 -c8 -d"${DURATION_S}s" --latency -s "$work/post.lua" "$base/v1/events" >"$work/wrk.txt" 2>&1
t1=$(date +%s.%N)
srv_c1=$(cpu_ticks "$srv_pid")
pg_c1=$(cpu_ticks "$pg_pid")
after=$(psql_su -c "SELECT count(*) FROM events")
ingested=$((after - before))
ingest_eps=$(awk -v n=$ingested -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
reqs=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
p50=$(awk '$1 == "50%" { print $2 }' "$work/wrk.txt")
p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk.txt")
non202=$(awk -F= '/non202=/ { print $2 }' "$work/wrk.txt")
signals=$(psql_su -c "SELECT count(*) FROM signals")
# ms of CPU per batch of 500 (the batches: rows / 500; the server's also includes correlating
# the batches' signals, as PostgreSQL's does)
srv_ms=$(awk -v c=$((srv_c1 - srv_c0)) -v t="$tck" -v n="$ingested" 'BEGIN { printf "%.1f", c * 1000 / t / (n / 500) }')
pg_ms=$(awk -v c=$((pg_c1 - pg_c0)) -v t="$tck" -v n="$ingested" 'BEGIN { printf "%.1f", c * 1000 / t / (n / 500) }')

# ---- 2. the same rows with psql \copy ----------------------------------------------------------
cols="tenant_id, time, event_id, type, account_id, region, function_arn, request_id, trace_id, source_ip, body, received_at"
psql_su -c "\\copy (SELECT tenant_id, time, gen_random_uuid(), type, account_id, region, function_arn, request_id, trace_id, source_ip, body, received_at FROM events) TO pstdout" >"$work/rows.copy"
rows=$(wc -l <"$work/rows.copy")
pg_c0=$(cpu_ticks "$pg_pid")
t0=$(date +%s.%N)
psql_su -c "\\copy events ($cols) FROM pstdin" <"$work/rows.copy"
t1=$(date +%s.%N)
pg_c1=$(cpu_ticks "$pg_pid")
copy_pg_ms=$(awk -v c=$((pg_c1 - pg_c0)) -v t="$tck" -v n="$rows" 'BEGIN { printf "%.1f", c * 1000 / t / (n / 500) }')
copy_eps=$(awk -v n="$rows" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
ratio=$(awk -v a="$ingest_eps" -v b="$copy_eps" 'BEGIN { printf "%.2f", a / b }')

# ---- 3. correlation of SIGNALS signals ----------------------------------------------------------
for _ in $(seq 100); do # let correlation of the ingested signals finish first
    [ "$(psql_su -c "SELECT count(*) FROM jobs WHERE kind = 'obs.correlate' AND status IN ('queued', 'running')")" = 0 ] && break
    sleep 0.2
done
hwm_before=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$srv_pid/status")
# The signals and the job in one transaction: no other job exists for them.
psql_su <<EOF >/dev/null
BEGIN;
INSERT INTO signals (tenant_id, time, event_id, source, rule_id, class, technique, confidence,
                     severity, weak, account_id, function_arn, route, source_ip, request_id,
                     trace_id, shape, location, evidence, records)
SELECT '$tenant', now() - interval '2 hours' + (g * interval '7 milliseconds'),
       gen_random_uuid(), 'payload', 'payload.sqli', 'sqli', 'union-select', 0.9, 'high',
       g % 20 = 0, '123456789012',
       'arn:aws:lambda:us-east-1:123456789012:function:fn' || (g % 60), 'GET /items',
       '198.51.' || (g % 2000 / 250) || '.' || (g % 250), 'req-' || g, 'Root=1-' || g,
       'shape' || (g % 60), 'queryStringParameters.q', 'UNION SELECT ...', 100
  FROM generate_series(1, $SIGNALS) g;
INSERT INTO jobs (kind, tenant_id, payload) VALUES ('obs.correlate', '$tenant', '{"bench":1}');
COMMIT;
EOF
t0=$(date +%s.%N)
for _ in $(seq 12000); do
    st=$(psql_su -c "SELECT status FROM jobs WHERE payload ? 'bench'")
    [ "$st" = succeeded ] || [ "$st" = failed ] && break
    sleep 0.05
done
t1=$(date +%s.%N)
[ "$st" = succeeded ] || die "the correlation job did not succeed ($st): $(tail -5 "$work/server.log")"
# From the commit of the signals to the job's success as seen by polling (50 ms), which
# includes the worker's poll interval (100 ms): jobs.finished_at is its transaction's start.
corr_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
hwm_after=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$srv_pid/status")
incidents=$(psql_su -c "SELECT count(*) FROM incidents WHERE tenant_id = '$tenant'")
folded=$(psql_su -c "SELECT coalesce(sum(cardinality(signal_ids)), 0) FROM incident_signal_chunks WHERE tenant_id = '$tenant'")

mkdir -p bench/results
{
    echo "### observe bench, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(git describe --always --dirty 2>/dev/null)"
    echo
    echo "| measure | result |"
    echo "|---|---|"
    echo "| ingest: wrk -t2 -c8 ${DURATION_S}s, batches of 500 NDJSON events ($bytes bytes), detection on | $ingest_eps events/s committed ($ingested rows, $reqs requests, non-202: ${non202:-0}; p50 $p50, p99 $p99; $signals signals) |"
    echo "| CPU per batch of 500 during ingest: server / PostgreSQL | $srv_ms ms / $pg_ms ms |"
    echo "| psql \\copy of the same $rows rows into events | $copy_eps rows/s (PostgreSQL CPU $copy_pg_ms ms per 500 rows) |"
    echo "| ingest / copy | $ratio |"
    echo "| correlation of $SIGNALS signals (one job) | $corr_s s; $incidents incidents, $folded signals folded |"
    echo "| server VmHWM before / after correlation | $((hwm_before / 1024)) MiB / $((hwm_after / 1024)) MiB |"
} | tee bench/results/observe.md
