#!/usr/bin/env bash
# Notification delivery benchmark, loopback only (about 40 s). See bench/README.md, "Notifications".
#
# Measures, against the strict fake receiver (tests/support/fake_hooks) on 127.0.0.1:
#   1. baseline: the receiver's raw capacity, wrk POSTing the same PagerDuty Events v2 body to
#      /v2/enqueue with 16 connections (parapet's concurrency per destination) for 5 s;
#   2. parapet: N (default 10000) incident.opened events committed in one transaction, one
#      PagerDuty integration: time from the COMMIT to the last delivery recorded as delivered
#      (polled every 50 ms), i.e. dispatch + claim + send + record, end to end;
#   3. the same with a second integration whose destination hangs (a second fake that never
#      answers within the delivery timeout): time for the healthy one's N deliveries.
# Result: a markdown block on stdout. It starts its own throwaway PostgreSQL (fsync off), the
# fakes and the server, and stops each by PID on exit.
# Environment: BIN (default build/parapet), FAKE (default build/tests/support/fake_hooks), N.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
BIN=${BIN:-build/parapet}
FAKE=${FAKE:-build/tests/support/fake_hooks}
N=${N:-10000}
say() { echo "bench/notify: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}
[ -x "$BIN" ] || die "$BIN not found (run make first)"
[ -x "$FAKE" ] || make --no-print-directory "$FAKE" >/dev/null || die "cannot build $FAKE"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"

work=$(mktemp -d "${TMPDIR:-/tmp}/parapet-notify-bench.XXXXXX")
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/parapet-notify-bench-pg.XXXXXX")
pids=()
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    scripts/pg.sh stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$pg_dir" "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
now() { date +%s.%N; }

# PostgreSQL
pg_port=$(free_port)
scripts/pg.sh init "$pg_dir" "$pg_port" trust fast >/dev/null
scripts/pg.sh start "$pg_dir" >/dev/null
scripts/pg.sh psql "$pg_dir" -d postgres -v owner_pw=x -v app_pw=x -v dbname=parapet \
    <scripts/db-init.sql >/dev/null
psql_su() { scripts/pg.sh psql "$pg_dir" -d parapet -qAtX "$@"; }
export DATABASE_URL="postgresql://parapet:x@127.0.0.1:$pg_port/parapet"
export DATABASE_OWNER_URL="postgresql://parapet_owner:x@127.0.0.1:$pg_port/parapet"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/jwt.pem" 2>/dev/null
export PARAPET_JWT_KEY="$work/jwt.pem"
PARAPET_SECRET_KEY=$(openssl rand -base64 32)
export PARAPET_SECRET_KEY PARAPET_EGRESS_ALLOW=127.0.0.0/8 PARAPET_LOG_LEVEL=warn
"$BIN" migrate >/dev/null

# The fakes (started here, not in a subshell, so that their PIDs are kept); port from their
# first line.
for i in 0 1; do
    "$FAKE" --port 0 --pd-key e93facc04764012d7bfb002500d5d1a6 >"$work/fake.$i" 2>/dev/null &
    pids+=($!)
done
fake_port_of() {
    for _ in $(seq 1 100); do
        grep -q '^port=' "$work/fake.$1" 2>/dev/null && break
        sleep 0.05
    done
    sed -n 's/^port=//p' "$work/fake.$1"
}
fake_port=$(fake_port_of 0)
hang_port=$(fake_port_of 1)
# SECOND=ok makes the second destination healthy: the same fan-out (two deliveries per event)
# without the hang, to tell the cost of the hang from the cost of the second destination.
curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"target\":\"all\",\"mode\":\"${SECOND:-hang}\",\"hang_s\":600}" \
    "http://127.0.0.1:$hang_port/_control"

body='{"routing_key":"e93facc04764012d7bfb002500d5d1a6","event_action":"trigger","dedup_key":"0b1c","payload":{"summary":"[High] SQL injection against payments-webhook","source":"parapet","severity":"error"}}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
say "baseline: wrk against the fake receiver"
base_rps=$(wrk -t2 -c16 -d5s -s "$work/post.lua" "http://127.0.0.1:$fake_port/v2/enqueue" |
    sed -n 's/^Requests\/sec: *//p')

# The server.
srv_port=$(free_port)
PARAPET_LISTEN=127.0.0.1:$srv_port "$BIN" serve >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$srv_port/readyz" >/dev/null && break
    sleep 0.05
done
signup=$(curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$srv_port/v1/signup" \
    -d '{"organization":"Bench Notify","email":"bench@notify.example","password":"bench notify passphrase"}')
token=$(sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<<"$signup")
tenant=$(psql_su -c "SELECT tenant_id FROM tenants LIMIT 1")
integration() { # name port
    curl -sf -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$srv_port/v1/integrations" \
        -d "{\"kind\":\"pagerduty\",\"name\":\"$1\",\"min_severity\":\"info\",\"config\":{\"routing_key\":\"e93facc04764012d7bfb002500d5d1a6\",\"events_url\":\"http://127.0.0.1:$2/v2/enqueue\"}}" |
        sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p'
}
healthy=$(integration healthy "$fake_port")
[ -n "$healthy" ] || die "cannot create the integration (see $work/serve.log)"

# Commits n events in one transaction; prints the time of the commit.
emit() {
    psql_su -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO events_outbox (tenant_id, kind, subject_id, severity, payload)
SELECT '$tenant', 'incident.opened', gen_random_uuid(), 'high',
       '{"title":"SQL injection against payments-webhook","counts":{"attempts":12}}'
  FROM generate_series(1, $1);
SQL
    now
}
# Waits until integration $1 has $2 delivered deliveries; prints the time.
wait_delivered() {
    local n
    for _ in $(seq 1 6000); do
        n=$(psql_su -c "SELECT count(*) FROM deliveries WHERE integration_id = '$1' AND status = 'delivered'")
        [ "$n" -ge "$2" ] && break
        sleep 0.05
    done
    [ "$n" -ge "$2" ] || die "only $n of $2 delivered"
    now
}

say "parapet: $N notifications to one destination"
t0=$(emit "$N")
t1=$(wait_delivered "$healthy" "$N")
one_s=$(echo "$t1 - $t0" | bc -l)
one_rps=$(echo "$N / $one_s" | bc -l)

say "parapet: $N more with a second destination that hangs"
hanging=$(integration hanging "$hang_port")
t0=$(emit "$N")
t1=$(wait_delivered "$healthy" $((2 * N)))
hang_s=$(echo "$t1 - $t0" | bc -l)
hang_rps=$(echo "$N / $hang_s" | bc -l)
dead=$(psql_su -c "SELECT count(*) FROM deliveries WHERE integration_id = '$hanging' AND status = 'delivered'")
dups=$(psql_su -c "SELECT count(*) - count(DISTINCT event_id) FROM deliveries WHERE integration_id = '$healthy'")

printf '\n### Notifications, %s UTC (parapet %s, N = %s)\n\n' "$(date -u '+%Y-%m-%d %H:%M')" \
    "$(git describe --always --dirty 2>/dev/null || echo '?')" "$N"
printf '| run | notifications/s | seconds | vs receiver raw capacity |\n|---|---:|---:|---:|\n'
printf '| receiver raw capacity (wrk, 16 connections, same body) | %.0f | 5 | 1.00 |\n' "$base_rps"
printf '| parapet, one destination, commit to last delivery | %.0f | %.2f | %.2f |\n' \
    "$one_rps" "$one_s" "$(echo "$one_rps / $base_rps" | bc -l)"
printf '| parapet, same, while a second destination hangs | %.0f | %.2f | %.2f |\n' \
    "$hang_rps" "$hang_s" "$(echo "$hang_rps / $base_rps" | bc -l)"
printf '\nHanging destination: %s of %s delivered during the run (each waits for the timeout); ' \
    "$dead" "$N"
printf 'duplicate deliveries per event at the healthy one: %s.\n' "$dups"
