#!/usr/bin/env bash
# Parapet posture benchmark, loopback only, one bounded run (a few minutes). See bench/README.md,
# section "Posture".
#
# Measures, in this order and on 127.0.0.1:
#   1. Scans. For each PARAPET_SCAN_PARALLEL of BENCH_SCAN_PARALLEL (default "8 32"): a fresh
#      server, a new tenant (POST /v1/signup) with an AWS account (POST /v1/accounts), the fake AWS
#      (build/tests/support/fake_aws) serving a generated account of BENCH_FUNCTIONS (2000)
#      functions that answers every call after BENCH_DELAY_MS (20) ms; POST .../connect queues the
#      first scan, polled with GET /v1/scans/{id} until it succeeds; then POST .../scans for a
#      second scan with nothing changed. For each scan: wall clock (connect or POST -> status
#      succeeded), the scan's own started_at -> finished_at and stats.duration_s, the AWS calls it
#      made (the fake's GET /_fake/counters) and the theoretical minimum they allow
#      (calls / parallelism x delay), the CPU time of the server, the fake and PostgreSQL, and
#      the server's peak RSS (VmHWM, reset after sign-up).
#   2. Findings list. The first tenant is topped up to BENCH_FINDINGS (20000) findings with SQL
#      (the scan's own findings as templates: their rules, severities, categories and evidence),
#      then GET /v1/findings?limit=50 with a viewer API key under wrk (2 threads, 64 connections,
#      2 s warm-up, 10 s measured), against the baseline: pgbench -M prepared -c 64 -j 2 -T 10
#      running the statement the server ran for that request (read from PostgreSQL's statement
#      log: $1 = 51, the other parameters NULL) inside a transaction that first runs
#      SELECT set_config('app.tenant_id', <tenant>, true), as the application role. pgbench runs
#      before and after wrk; the ratio is against their mean.
#
# It starts its own throwaway PostgreSQL (scripts/pg.sh, fsync off), servers and fakes, stops
# every process it started by PID and removes its temporary directories on exit.
# Results: a markdown block on stdout and in bench/results/posture-latest.md.
#
# Environment: BIN (default build/parapet), FAKE_AWS (default build/tests/support/fake_aws);
# private copies of both are run. BENCH_SCAN_PARALLEL, BENCH_FUNCTIONS, BENCH_DELAY_MS,
# BENCH_FINDINGS as above; BENCH_ADVISORY_DIR (default tests/data/advisories; "none" leaves
# PARAPET_ADVISORY_DIR unset, which skips the package downloads of the dependency scan).
# BENCH_PERF=1 adds, after everything measured, one unmeasured wrk run of the findings list under
# perf record, summarised in bench/results/perf-findings.txt (needs perf).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

CONNS=64
THREADS=2
WARMUP_S=2
DURATION_S=10
STARTUP_TIMEOUT_S=20
SCAN_TIMEOUT_S=600
PARALLELS=${BENCH_SCAN_PARALLEL:-8 32}
FUNCTIONS=${BENCH_FUNCTIONS:-2000}
DELAY_MS=${BENCH_DELAY_MS:-20}
FINDINGS=${BENCH_FINDINGS:-20000}
ADVISORY_DIR=${BENCH_ADVISORY_DIR:-tests/data/advisories}
AWS_ACCOUNT=444455556666 # the fake's generated account (tests/support/lib/aws_fake_world.c)
ROLE_ARN="arn:aws:iam::$AWS_ACCOUNT:role/ParapetSecurityReadOnly"
AWS_KEY=AKIAPARAPETBENCH0001
AWS_SECRET=parapetBenchSecret/0123456789abcdefghijk

BIN=${BIN:-build/parapet}
FAKE_AWS=${FAKE_AWS:-build/tests/support/fake_aws}
case "$BIN" in /*) ;; *) BIN="$top/$BIN" ;; esac
case "$FAKE_AWS" in /*) ;; *) FAKE_AWS="$top/$FAKE_AWS" ;; esac
case "$ADVISORY_DIR" in none | /*) ;; *) ADVISORY_DIR="$top/$ADVISORY_DIR" ;; esac

# shellcheck source=bench/lib.sh
. bench/lib.sh

[ -x "$BIN" ] || die "$BIN not found or not executable (run make first, or set BIN)"
[ -x "$FAKE_AWS" ] || die "$FAKE_AWS not found (make $FAKE_AWS, or set FAKE_AWS)"
[ "$ADVISORY_DIR" = none ] || [ -d "$ADVISORY_DIR" ] || die "no advisory directory $ADVISORY_DIR"
for p in $PARALLELS; do
    if ! [[ $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 64)); then die "BENCH_SCAN_PARALLEL: $p is not 1-64"; fi
done

# ---------------------------------------------------------------------------------------------
# Tools: wrk, curl, jq (installed with apt-get when missing), PostgreSQL with its pgbench.
pkgs=()
for t in wrk curl jq; do command -v "$t" >/dev/null 2>&1 || pkgs+=("$t"); done
install_missing "${pkgs[@]}"
# shellcheck disable=SC2012
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1) # the one scripts/pg.sh runs
PGBENCH="$pg_bin/pgbench"
[ -x "$PGBENCH" ] || die "$PGBENCH not found (Debian: postgresql-15)"

# ---------------------------------------------------------------------------------------------
# Clean-up: everything started here is stopped by its PID; temporary directories are removed.
pg_dir=""
work=""
srv_pid=""
fake_pid=""
srv_log=""
pg_port="" srv_port="" fake_port=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$srv_pid"
    srv_pid=""
    stop_pid "$fake_pid" 5
    fake_pid=""
    remove_dirs
    exit "$rc"
}
make_dirs

# Run private copies, so that a rebuild during the run cannot change what is measured.
bin_src=$BIN
fake_src=$FAKE_AWS
BIN="$work/parapet"
FAKE_AWS="$work/fake_aws"
cp "$bin_src" "$BIN"
cp "$fake_src" "$FAKE_AWS"

pg_setup "$BIN"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/jwt.pem" 2>/dev/null ||
    die "cannot generate the JWT signing key"
export PARAPET_JWT_KEY="$work/jwt.pem"
sql() { scripts/pg.sh psql "$pg_dir" -d parapet -At "$@"; } # as the superuser

# Starts `parapet serve` on a free port with the environment given as NAME=VALUE arguments (on
# top of DATABASE_URL, DATABASE_OWNER_URL and PARAPET_JWT_KEY), log in $1, and waits for /readyz.
start_server() { # LOG NAME=VALUE...
    local i
    srv_log=$1
    shift
    free_port srv_port
    env PARAPET_LISTEN="127.0.0.1:$srv_port" PARAPET_LOG_LEVEL=info "$@" "$BIN" serve \
        >"$srv_log" 2>&1 &
    srv_pid=$!
    for ((i = 0; i < STARTUP_TIMEOUT_S * 100; i++)); do
        http_200 "$srv_port" /readyz && return 0
        server_alive "start-up"
        nap 0.01
    done
    tail -n 20 "$srv_log" >&2
    die "parapet serve not ready after ${STARTUP_TIMEOUT_S}s"
}
stop_server() {
    stop_pid "$srv_pid" 30
    srv_pid=""
}

# Starts the fake AWS on $fake_port (the port the server was told) with config $1; it prints
# "port=N" once it accepts connections.
start_fake() { # CONFIG LOG
    local i
    "$FAKE_AWS" --port "$fake_port" --config "$1" >"$2.out" 2>"$2.err" &
    fake_pid=$!
    for ((i = 0; i < 3000; i++)); do # the generated world is built before it listens
        grep -q "^port=$fake_port\$" "$2.out" 2>/dev/null && return 0
        kill -0 "$fake_pid" 2>/dev/null || { cat "$2.err" >&2; die "fake_aws exited at start"; }
        nap 0.01
    done
    cat "$2.err" >&2
    die "fake_aws did not start within 30 s"
}
fake_calls() { # -> the fake's counters as JSON
    curl -fsS --max-time 30 "http://127.0.0.1:$fake_port/_fake/counters"
}

# Polls GET /v1/scans/$1 every 100 ms until it has ended; leaves it in $work/scan-$1.json and
# sets scan_wall_s (seconds since $2, a ${EPOCHREALTIME} value).
wait_scan() { # SCAN_ID T0 TOKEN
    local st limit t1
    limit=$((${EPOCHREALTIME/[.,]/} + SCAN_TIMEOUT_S * 1000000))
    for (( ; ; )); do
        expect "GET /v1/scans/$1" 200 "$(api GET "/v1/scans/$1" "" "$3")"
        st=$(jq -r .status "$work/api.json")
        case $st in succeeded | failed) break ;; esac
        ((${EPOCHREALTIME/[.,]/} < limit)) || die "scan $1 still $st after ${SCAN_TIMEOUT_S}s"
        nap 0.1
    done
    t1=${EPOCHREALTIME/[.,]/}
    cp "$work/api.json" "$work/scan-$1.json"
    scan_wall_s=$(awk -v d=$((t1 - ${2/[.,]/})) 'BEGIN { printf "%.2f", d / 1e6 }')
    [ "$st" = succeeded ] || {
        jq . "$work/api.json" >&2
        die "scan $1 failed"
    }
    jq -e '.complete == true' "$work/api.json" >/dev/null || die "scan $1 is not complete"
}

# Seconds between two of the scan's timestamps (ISO 8601).
ts_diff() { # FROM TO
    awk -v a="$(date -u -d "$1" +%s.%N)" -v b="$(date -u -d "$2" +%s.%N)" \
        'BEGIN { printf "%.2f", b - a }'
}

declare -A R S
calls_total() { jq '[.operations[].requests] | add // 0' "$1"; }

# One scan, measured: runs $1 (which queues it and prints the scan id), then waits for it.
# Results in S[KEY.*] (KEY: p<parallel>.<first|second>).
measure_scan() { # KEY PARALLEL TOKEN COMMAND...
    local key=$1 par=$2 token=$3 t0 id f0 f1 sql_s queued_s log_from
    shift 3
    curl -fsS -X POST --max-time 30 "http://127.0.0.1:$fake_port/_fake/reset" >/dev/null ||
        die "cannot reset the fake's counters"
    log_from=$(($(wc -l <"$pg_dir/server.log") + 1))
    t0=$EPOCHREALTIME
    cpu_begin "$srv_pid" "$(pg_pids)"
    f0=$(pids_ticks "$fake_pid")
    id=$("$@")
    wait_scan "$id" "$t0" "$token"
    cpu_end "$key" "$srv_pid" "$(pg_pids)"
    f1=$(pids_ticks "$fake_pid")
    server_alive "the scan $key"
    fake_calls >"$work/counters-$key.json"
    # Statements of the application role that took 250 ms or more (log_min_duration_statement),
    # summed by prepared statement name (parse, bind and execute together).
    S[$key.slow]=$(tail -n +"$log_from" "$pg_dir/server.log" | { grep ' parapet@parapet ' || true; } |
        sed -n -e 's/.* LOG:  duration: \([0-9.]*\) ms  \(execute\|bind\|parse\) \([a-z_]*\): .*/\1 \3/p' \
            -e 's/.* LOG:  duration: \([0-9.]*\) ms  statement: \([A-Za-z]*\).*/\1 \2/p' |
        awk '{ t[$2] += $1; n[$2]++ } END { for (k in t) printf "%.1f %s %d\n", t[k] / 1000, k, n[k] }' |
        sort -rn | awk '{ printf "%s%s %s s%s", (NR > 1 ? ", " : ""), $2, $1, ($3 > 1 ? " (" $3 "x)" : "") }')
    local js="$work/scan-$id.json"
    # The API gives whole seconds; the table has the microseconds.
    read -r sql_s queued_s < <(sql -F ' ' -c "SELECT round(extract(epoch FROM finished_at - started_at), 2),
        round(extract(epoch FROM started_at - created_at), 2) FROM scans WHERE scan_id = '$id'")
    [ "$(ts_diff "$(jq -r .started_at "$js")" "$(jq -r .finished_at "$js")" | cut -d. -f1)" -le \
        "$(awk -v s="$sql_s" 'BEGIN { printf "%d", s + 1 }')" ] || die "scan $id: the API and the table disagree"
    # The server logs scan.finished once the results are committed: storing took from finished_at
    # (the start of that transaction) to then.
    local done_ts
    done_ts=$(grep '"event":"scan.finished"' "$srv_log" | grep -F "\"scan_id\":\"$id\"" |
        jq -r .ts | tail -n 1)
    S[$key.store]=$(sql -c "SELECT round(extract(epoch FROM '$done_ts'::timestamptz - finished_at), 2)
        FROM scans WHERE scan_id = '$id'")
    S[$key.id]=$id
    S[$key.seen]=$scan_wall_s
    S[$key.wall]=$(awk -v a="${t0/,/.}" -v b="$(date -u -d "$done_ts" +%s.%N)" \
        'BEGIN { printf "%.2f", b - a }')
    S[$key.sql]=$sql_s
    S[$key.queued]=$queued_s
    S[$key.dur]=$(jq -r '.stats.duration_s // "n/a"' "$js")
    S[$key.functions]=$(jq -r '.stats.functions // 0' "$js")
    S[$key.unchanged]=$(jq -r '.stats.functions_unchanged // 0' "$js")
    S[$key.packages]=$(jq -r '.stats.packages_read // 0' "$js")
    S[$key.roles]=$(jq -r '.stats.roles // 0' "$js")
    S[$key.findings]=$(jq -r '.stats.findings // 0' "$js")
    S[$key.failed]=$(jq -r '.stats.calls_failed // 0' "$js")
    S[$key.calls]=$(calls_total "$work/counters-$key.json")
    S[$key.min]=$(awk -v c="${S[$key.calls]}" -v p="$par" -v d="$DELAY_MS" \
        'BEGIN { printf "%.2f", c / p * d / 1000 }')
    S[$key.cpu_srv_s]=$(awk -v t="${R[$key.ticks_srv]}" -v hz="$clk_tck" 'BEGIN { printf "%.2f", t / hz }')
    S[$key.cpu_db_s]=$(awk -v t="${R[$key.ticks_db]}" -v hz="$clk_tck" 'BEGIN { printf "%.2f", t / hz }')
    S[$key.cpu_fake_s]=$(awk -v t=$((f1 - f0)) -v hz="$clk_tck" 'BEGIN { printf "%.2f", t / hz }')
    S[$key.hwm_kb]=$(proc_kb "$srv_pid" VmHWM)
    S[$key.ops]=$(jq -r '.operations | to_entries | sort_by(-.value.requests)
        | map("\(.key) \(.value.requests)") | join(", ")' "$work/counters-$key.json")
    [ "${S[$key.functions]}" = "$FUNCTIONS" ] ||
        die "scan $key saw ${S[$key.functions]} functions, not $FUNCTIONS"
    say "  $key: wall ${S[$key.wall]} s (seen by the poller after ${S[$key.seen]} s), started->finished ${S[$key.sql]} s (duration_s" \
        "${S[$key.dur]}), storing ${S[$key.store]} s, ${S[$key.calls]} AWS calls (minimum ${S[$key.min]} s at $par), server" \
        "CPU ${S[$key.cpu_srv_s]} s, PostgreSQL ${S[$key.cpu_db_s]} s, fake ${S[$key.cpu_fake_s]} s," \
        "VmHWM $(mb "${S[$key.hwm_kb]}") MB; unchanged ${S[$key.unchanged]}, findings ${S[$key.findings]}"
}

connect_scan() { # ACCOUNT_ID TOKEN -> the first scan's id
    expect "POST /v1/accounts/$1/connect" 200 \
        "$(api POST "/v1/accounts/$1/connect" "{\"role_arn\":\"$ROLE_ARN\"}" "$2")"
    jq -er .scan_id "$work/api.json"
}
rescan() { # ACCOUNT_ID TOKEN -> the new scan's id
    expect "POST /v1/accounts/$1/scans" 202 "$(api POST "/v1/accounts/$1/scans" "" "$2")"
    jq -er .id "$work/api.json"
}

# ---------------------------------------------------------------------------------------------
# 1. Scans, once per parallelism. PostgreSQL logs the statements that take 250 ms or more.
sql -c "ALTER SYSTEM SET log_min_duration_statement = 250" -c "SELECT pg_reload_conf()" >/dev/null
first_tenant="" first_account="" api_key=""
for par in $PARALLELS; do
    say "scans with PARAPET_SCAN_PARALLEL=$par: $FUNCTIONS functions, every AWS call delayed ${DELAY_MS} ms"
    free_port fake_port
    env_aws=(AWS_ENDPOINT_URL="http://127.0.0.1:$fake_port" AWS_ACCESS_KEY_ID="$AWS_KEY"
        AWS_SECRET_ACCESS_KEY="$AWS_SECRET" PARAPET_AWS_ACCOUNT_ID=111122223333
        AWS_EC2_METADATA_DISABLED=true PARAPET_WORKERS=2 PARAPET_JOB_POLL_MS=50
        PARAPET_SCAN_PARALLEL="$par")
    [ "$ADVISORY_DIR" = none ] || env_aws+=(PARAPET_ADVISORY_DIR="$ADVISORY_DIR")
    start_server "$work/serve-p$par.log" "${env_aws[@]}"
    body="{\"organization\":\"Bench Posture $par\",\"email\":\"bench-p$par@example.com\",\"password\":\"bench correct horse battery\"}"
    expect "POST /v1/signup" 201 "$(api POST /v1/signup "$body")"
    token=$(json_str access_token)
    [ -n "$token" ] || die "no access_token in the sign-up response"
    expect "POST /v1/accounts" 201 "$(api POST /v1/accounts \
        "{\"provider\":\"aws\",\"aws_account_id\":\"$AWS_ACCOUNT\",\"name\":\"bench-p$par\",\"regions\":[\"us-east-1\"]}" \
        "$token")"
    account=$(jq -er .id "$work/api.json")
    external_id=$(jq -er .external_id "$work/api.json")
    if [ -z "$first_account" ]; then
        first_account=$account
        expect "POST /v1/api-keys" 201 \
            "$(api POST /v1/api-keys '{"name":"bench-findings","role":"viewer"}' "$token")"
        api_key=$(json_str key)
        [[ $api_key == prk_* ]] || die "no prk_ key in the API key response"
        first_tenant=$(sql -c "SELECT tenant_id FROM cloud_accounts WHERE account_id = '$account'")
    fi
    # The fake: the generated account, the role trusting Parapet's account on the external ID.
    cat >"$work/fake-p$par.conf" <<CONF
account 111122223333
credentials $AWS_KEY $AWS_SECRET
role $ROLE_ARN $external_id
synthetic $FUNCTIONS
delay_ms $DELAY_MS
CONF
    start_fake "$work/fake-p$par.conf" "$work/fake-p$par"
    # Peak RSS from here on: sign-up's argon2id hash (19 MiB) is not the scan's.
    echo 5 2>/dev/null >"/proc/$srv_pid/clear_refs" || say "note: cannot reset VmHWM"
    S[p$par.hwm_before_kb]=$(proc_kb "$srv_pid" VmHWM)
    measure_scan "p$par.first" "$par" "$token" connect_scan "$account" "$token"
    measure_scan "p$par.second" "$par" "$token" rescan "$account" "$token"
    S[p$par.rss_kb]=$(proc_kb "$srv_pid" VmRSS)
    S[p$par.threads]=$(proc_kb "$srv_pid" Threads)
    stop_server
    stop_pid "$fake_pid" 5
    fake_pid=""
done

sql -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null
# What the scans stored per tenant: the inventory the second scan reads back as "previous" and
# writes again, in characters of JSON text.
inventory=$(sql -F ' ' -c "SELECT count(*), round(sum(length(data::text)) / 1048576.0, 1),
    round(sum(length(coalesce(dependencies::text, '')) + length(coalesce(links::text, ''))) / 1048576.0, 1)
    FROM resources WHERE tenant_id = '$first_tenant'")
read -r inv_count inv_data_mb inv_other_mb <<<"$inventory"

# ---------------------------------------------------------------------------------------------
# 2. Findings: top the first tenant up to FINDINGS, with the scan's findings as templates (their
# rules, categories, severities, titles and evidence); 70 % open, 20 % resolved, 10 % suppressed.
have=$(sql -c "SELECT count(*) FROM findings WHERE tenant_id = '$first_tenant'")
need=$((FINDINGS - have))
((need >= 0)) || die "the tenant already has $have findings, more than $FINDINGS"
say "findings: the tenant has $have from its scans; adding $need"
sql -v t="$first_tenant" -v a="$first_account" -v n="$need" >/dev/null <<'SQL'
WITH tmpl AS (
    SELECT row_number() OVER (ORDER BY fingerprint) - 1 AS i, f.*
      FROM findings f WHERE tenant_id = :'t' AND account_id = :'a'
), cnt AS (SELECT count(*) AS c FROM tmpl)
INSERT INTO findings (tenant_id, finding_id, account_id, resource_id, resource_arn, rule_id,
                      subject, fingerprint, category, severity, title, status, evidence,
                      first_seen, last_seen, resolved_at, reopened, last_scan_id,
                      suppressed_reason, suppressed_by, suppressed_at, suppressed_until)
SELECT t.tenant_id, gen_random_uuid(), t.account_id, t.resource_id, t.resource_arn, t.rule_id,
       t.subject || '#bench-' || g, encode(sha256(convert_to(t.rule_id || '|' ||
           t.resource_arn || '|' || t.subject || '#bench-' || g, 'UTF8')), 'hex'),
       t.category, t.severity, t.title,
       CASE WHEN g % 10 < 7 THEN 'open' WHEN g % 10 < 9 THEN 'resolved' ELSE 'suppressed' END,
       t.evidence, now() - make_interval(days => g % 90), now() - make_interval(hours => g % 48),
       CASE WHEN g % 10 IN (7, 8) THEN now() - make_interval(hours => g % 24) END,
       (g % 13 = 0)::int, t.last_scan_id,
       CASE WHEN g % 10 = 9 THEN 'accepted risk: internal tooling, reviewed by security' END,
       CASE WHEN g % 10 = 9 THEN 'user:00000000-0000-4000-8000-000000000001' END,
       CASE WHEN g % 10 = 9 THEN now() - make_interval(days => g % 30) END,
       CASE WHEN g % 20 = 9 THEN now() + make_interval(days => 30) END
  FROM generate_series(1, :n) AS g
  JOIN cnt ON true
  JOIN tmpl t ON t.i = g % cnt.c;
VACUUM ANALYZE findings;
SQL
have=$(sql -c "SELECT count(*) FROM findings WHERE tenant_id = '$first_tenant'")
[ "$have" = "$FINDINGS" ] || die "the tenant has $have findings after the insert, not $FINDINGS"
mix=$(sql -F '|' -c "SELECT
    (SELECT string_agg(severity || ' ' || n, ', ' ORDER BY n DESC) FROM
        (SELECT severity, count(*) n FROM findings WHERE tenant_id = '$first_tenant' GROUP BY 1) s),
    (SELECT string_agg(status || ' ' || n, ', ' ORDER BY n DESC) FROM
        (SELECT status, count(*) n FROM findings WHERE tenant_id = '$first_tenant' GROUP BY 1) s),
    (SELECT round(avg(length(evidence::text))) || ' (max ' || max(length(evidence::text)) || ')'
       FROM findings WHERE tenant_id = '$first_tenant'),
    (SELECT count(*) FROM findings),
    (SELECT count(DISTINCT rule_id) FROM findings WHERE tenant_id = '$first_tenant')")
IFS='|' read -r mix_sev mix_status mix_evidence all_findings mix_rules <<<"$mix"

# The server for the API run: the defaults, no AWS.
start_server "$work/serve-api.log"
list_url="http://127.0.0.1:$srv_port/v1/findings?limit=50"
expect "GET /v1/findings?limit=50 with the API key" 200 "$(api GET "/v1/findings?limit=50" "" "$api_key")"
jq -e '(.items | length) == 50 and (.next_cursor | type) == "string"' "$work/api.json" >/dev/null ||
    die "GET /v1/findings?limit=50 did not answer 50 items and a next_cursor"
list_body_bytes=$(wc -c <"$work/api.json")

# The statement the server runs for that request, from PostgreSQL's statement log (one request
# with log_statement = all; the log line carries the prepared statement's text, DETAIL its
# parameters).
pg_log="$pg_dir/server.log"
log_from=$(($(wc -l <"$pg_log") + 1))
sql -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
expect "GET /v1/findings?limit=50 (logged)" 200 "$(api GET "/v1/findings?limit=50" "" "$api_key")"
sleep 0.5
sql -c "ALTER SYSTEM RESET log_statement" -c "SELECT pg_reload_conf()" >/dev/null
tail -n +"$log_from" "$pg_log" | grep ' parapet@parapet ' >"$work/request.log" || true
list_sql=$(sed -n 's/.* LOG:  execute finding_list: //p' "$work/request.log" | tail -n 1)
list_params=$(grep -A1 ' LOG:  execute finding_list: ' "$work/request.log" | tail -n 1 |
    sed -n 's/.* DETAIL:  parameters: //p')
[ -n "$list_sql" ] || { cat "$work/request.log" >&2; die "finding_list not found in the statement log"; }
want_params="\$1 = '51', \$2 = NULL, \$3 = NULL, \$4 = NULL, \$5 = NULL, \$6 = NULL, \$7 = NULL"
[ "$list_params" = "$want_params" ] || die "finding_list ran with: $list_params (expected $want_params)"
# Every statement of that request, in order: the lines of the backend that ran finding_list, from
# the BEGIN before it to the ROLLBACK or COMMIT after it (the round trips the baseline repeats).
list_backend=$(grep ' LOG:  execute finding_list: ' "$work/request.log" | tail -n 1 |
    sed -n 's/^[^[]*\[\([0-9]*\)\].*/\1/p')
request_stmts=$(grep " \[$list_backend\] " "$work/request.log" |
    sed -n 's/.* LOG:  \(statement\|execute [a-z_]*\): //p' | cut -c1-48 |
    awk '{ l[NR] = $0; if (index($0, "SELECT json_build_object(") == 1) f = NR }
         END { for (b = f; b > 1 && l[b] != "BEGIN"; b--) ;
               for (e = f; e < NR && l[e] != "ROLLBACK" && l[e] != "COMMIT"; e++) ;
               for (i = b; i <= e; i++) printf "%s`%s%s`", (i > b ? " → " : ""),
                   l[i], (length(l[i]) == 48 ? "…" : "") }')

# pgbench: the same statement with $1 as a pgbench variable (sent as a parameter under
# -M prepared) and the NULL parameters written as NULL, in the transaction the server opens.
# pgbench takes every ":name" for a variable, even inside a string literal, so the literals that
# hold a colon (to_char's 'YYYY-MM-DD"T"HH24:MI:SS"Z"') are written as E'...\x3A...': the same
# value, read by PostgreSQL's lexer.
# shellcheck disable=SC2016
bench_sql=$(printf '%s' "$list_sql" | sed -e 's/\$1\([^0-9]\|$\)/:lim\1/g' \
    -e 's/\$[2-7]\([^0-9]\|$\)/NULL\1/g' |
    perl -pe 's{\x27([^\x27]*)\x27}{my $v = $1; $v =~ /:/ ? ($v =~ s/:/\\x3A/gr) =~ s/^/E\x27/r . "\x27" : "\x27$v\x27"}ge')
[[ $bench_sql != *"\$"[0-9]* ]] || die "parameters left in the baseline statement: $bench_sql"
cat >"$work/findings.pgbench" <<EOF
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true);
$bench_sql;
ROLLBACK;
EOF
rows=$(PGPASSWORD=x psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U parapet -d parapet \
    -v ON_ERROR_STOP=1 <<EOF | tail -n 1
BEGIN;
SELECT set_config('app.tenant_id', '$first_tenant', true) \\g /dev/null
SELECT count(*) FROM ($(printf '%s' "$bench_sql" | sed 's/:lim/51/g')) q;
ROLLBACK;
EOF
)
[ "$rows" = 51 ] || die "the baseline statement returned $rows rows as parapet, not 51"

pgbench_run() { # NAME SECONDS [log]: pgbench with the script above; results in R[NAME.*]
    local name=$1 secs=$2 out="$work/pgbench-$1.txt"
    local -a lg=()
    [ -z "${3:-}" ] || { rm -f "$work/pgb-$name".*; lg=(-l --log-prefix="$work/pgb-$name"); }
    PGPASSWORD=x "$PGBENCH" -h 127.0.0.1 -p "$pg_port" -U parapet -n -M prepared -c "$CONNS" \
        -j "$THREADS" -T "$secs" -D tenant="$first_tenant" -D lim=51 -f "$work/findings.pgbench" \
        "${lg[@]}" parapet >"$out" 2>"$work/pgbench-$name.err" ||
        { cat "$work/pgbench-$name.err" "$out" >&2; die "pgbench failed"; }
}
pgbench_measured() { # NAME
    local name=$1
    say "pgbench $name: ${WARMUP_S}s warm-up, ${DURATION_S}s measured"
    pgbench_run "$name-warmup" "$WARMUP_S"
    cpu_begin "" "$(pg_pids)"
    pgbench_run "$name" "$DURATION_S" log
    cpu_end "$name" "" "$(pg_pids)"
    R[$name.rps]=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$work/pgbench-$name.txt")
    R[$name.total]=$(awk '/^number of transactions actually processed:/ { print $NF; exit }' \
        "$work/pgbench-$name.txt")
    R[$name.failed]=$(awk '/^number of failed transactions:/ { print $5; exit }' \
        "$work/pgbench-$name.txt")
    read -r "R[$name.p50]" "R[$name.p99]" < <(cat "$work/pgb-$name".* | awk '{ print $3 }' |
        sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a n/a"; exit }
            printf "%.3f %.3f\n", v[int(NR * 0.50 + 0.5)] / 1000, v[int(NR * 0.99 + 0.5)] / 1000 }')
    say "  ${R[$name.rps]} tps, p50 ${R[$name.p50]} ms, p99 ${R[$name.p99]} ms," \
        "${R[$name.total]} transactions (failed ${R[$name.failed]:-0}); CPU: PostgreSQL" \
        "${R[$name.cpu_db]}%, pgbench ${R[$name.cpu_wrk]}%, other ${R[$name.cpu_other]}%"
}
wrk_measured() { # NAME
    local name=$1 out="$work/wrk-$1.txt" k v
    say "wrk $name: $list_url (${WARMUP_S}s warm-up, ${DURATION_S}s measured)"
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP_S}s" -H "Authorization: Bearer $api_key" \
        "$list_url" >/dev/null || { server_alive "the wrk warm-up"; die "wrk failed"; }
    cpu_begin "$srv_pid" "$(pg_pids)"
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION_S}s" --latency -H "Authorization: Bearer $api_key" \
        "$list_url" >"$out" || { server_alive "the wrk run"; die "wrk failed"; }
    cpu_end "$name" "$srv_pid" "$(pg_pids)"
    while read -r k v; do
        R[$name.$k]=$v
    done < <(wrk_parse "$out")
    say "  ${R[$name.rps]} req/s, p50 ${R[$name.p50]} ms, p99 ${R[$name.p99]} ms," \
        "${R[$name.total]} requests, non-2xx ${R[$name.non2xx]}, socket errors ${R[$name.sockerr]};" \
        "CPU: server ${R[$name.cpu_srv]}%, PostgreSQL ${R[$name.cpu_db]}%, wrk ${R[$name.cpu_wrk]}%," \
        "other ${R[$name.cpu_other]}%"
}
us_per() { # TICKS COUNT -> CPU microseconds per item
    awk -v t="$1" -v n="$2" -v hz="$clk_tck" 'BEGIN { if (n <= 0) n = 1; printf "%.0f", t / hz * 1e6 / n }'
}

pgbench_measured pgbench1
wrk_measured wrk
server_alive "the findings load"
expect "GET /v1/findings after the run" 200 "$(api GET "/v1/findings?limit=50" "" "$api_key")"
pgbench_measured pgbench2
hwm_api_kb=$(proc_kb "$srv_pid" VmHWM)

# Optional: where the CPU time goes under the list load (not part of the measured numbers): one
# more wrk run under perf record of the server (DWARF call graphs: inclusive time per function)
# and of all CPUs (by process and library, PostgreSQL's backends included).
if [ "${BENCH_PERF:-0}" = 1 ]; then
    command -v perf >/dev/null 2>&1 || die "BENCH_PERF=1 needs perf (apt-get install linux-perf)"
    say "perf: GET /v1/findings, ${DURATION_S}s under perf record (not measured)"
    perf record -a -F 999 -o "$work/perf-all.data" -- sleep "$DURATION_S" >/dev/null \
        2>"$work/perf1.err" &
    rec1=$!
    perf record -F 199 --call-graph dwarf,16384 -p "$srv_pid" -o "$work/perf-srv.data" -- \
        sleep "$DURATION_S" >/dev/null 2>"$work/perf2.err" &
    rec2=$!
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION_S}s" -H "Authorization: Bearer $api_key" \
        "$list_url" >"$work/wrk-perf.txt" || { server_alive "the perf run"; die "wrk failed"; }
    wait "$rec1" || { cat "$work/perf1.err" >&2; die "perf record -a failed"; }
    wait "$rec2" || { cat "$work/perf2.err" >&2; die "perf record -p $srv_pid failed"; }
    mkdir -p bench/results
    {
        echo "# GET /v1/findings?limit=50 under load: where the CPU time went (not a measured run)"
        grep -E 'Requests/sec' "$work/wrk-perf.txt" | sed 's/^/# wrk during the profile: /' || true
        echo
        echo "## All CPUs by command and library (perf record -a -F 999; other engineers' processes included)"
        perf report -i "$work/perf-all.data" --stdio --no-children --sort comm,dso 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -n 30 || true
        echo
        echo "## postgres processes, top functions (self time, % of all samples)"
        perf report -i "$work/perf-all.data" --stdio --no-children --comm postgres --sort dso,sym \
            2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 30 || true
        echo
        echo "## The server (PID $srv_pid), top functions (self time)"
        perf report -i "$work/perf-srv.data" --stdio --no-children --sort dso,sym -g none \
            2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 30 || true
        echo
        echo "## The server, inclusive time per function ('Children', % of the server's samples)"
        perf report -i "$work/perf-srv.data" --stdio --children --sort sym -g none 2>/dev/null |
            grep -v '^#' | grep -v '^$' | grep -v ' 0x0000' | head -n 60 || true
    } >bench/results/perf-findings.txt
    say "  wrote bench/results/perf-findings.txt"
fi
stop_server

# ---------------------------------------------------------------------------------------------
# Results.
pg_mean=$(awk -v a="${R[pgbench1.rps]}" -v b="${R[pgbench2.rps]}" 'BEGIN { printf "%.0f", (a + b) / 2 }')
list_ratio=$(ratio "${R[wrk.rps]}" "$pg_mean")
list_check=$(check "$list_ratio" ">=" 0.7)
p99_check=$(check "${R[wrk.p99]}" "<" 50)
if [ "${R[wrk.non2xx]}" != 0 ] || [ "${R[wrk.sockerr]}" != 0 ]; then
    list_check="INVALID (non-2xx answers or socket errors)"
    p99_check=$list_check
fi
model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
wrk_version=$( (wrk -v 2>&1 || true) | head -n 1 | awk '{ print $1 " " $2 }')
pg_version=$(scripts/pg.sh psql "$pg_dir" -d postgres -Atc 'SHOW server_version' 2>/dev/null || echo "?")
srv_version=$("$BIN" version 2>/dev/null || echo "?")
adv_note=$([ "$ADVISORY_DIR" = none ] && echo "unset (no package downloads)" ||
    echo "\`${ADVISORY_DIR#"$top"/}\`")

scan_rows=""
scan_checks=""
notes=""
for par in $PARALLELS; do
    for which in first second; do
        k=p$par.$which
        scan_rows="$scan_rows
| $par | $which | ${S[$k.wall]} | ${S[$k.seen]} | ${S[$k.sql]} | ${S[$k.dur]} | ${S[$k.store]} | ${S[$k.queued]} | ${S[$k.calls]} | ${S[$k.min]} | $(ratio "${S[$k.min]}" "${S[$k.sql]}") | ${S[$k.unchanged]} / ${S[$k.packages]} | ${S[$k.findings]} | ${S[$k.cpu_srv_s]} / ${S[$k.cpu_db_s]} / ${S[$k.cpu_fake_s]} | ${R[$k.cpu_other]} | $(mb "${S[$k.hwm_kb]}") |"
        notes="$notes
- P=$par, $which scan, AWS calls: ${S[$k.ops]}. Statements of 250 ms or more: ${S[$k.slow]:-none}."
        ((${S[$k.failed]} == 0)) || notes="$notes **${S[$k.failed]} calls failed.**"
    done
    f=p$par.first s=p$par.second
    speedup=$(ratio "${S[$f.wall]}" "${S[$s.wall]}")
    hwm=$(mb "${S[$s.hwm_kb]}")
    scan_checks="$scan_checks
| P=$par: full scan of $FUNCTIONS functions, wall clock (started → finished: ${S[$f.sql]} s) | ${S[$f.wall]} s | < 30 s | $(check "${S[$f.wall]}" "<" 30) |
| P=$par: second scan, nothing changed: speed-up of the wall clock (started → finished: $(ratio "${S[$f.sql]}" "${S[$s.sql]}")x) | ${speedup}x (${S[$s.wall]} s) | ≥ 3x | $(check "$speedup" ">=" 3) |
| P=$par: peak RSS of the server over both scans (VmHWM) | $hwm MB | < 200 MB | $(check "$hwm" "<" 200) |"
done
for t in pgbench1 wrk pgbench2; do
    if [ "${R[$t.cpu_other]}" -ge 10 ]; then
        notes="$notes
- **$t was disturbed**: other processes used ${R[$t.cpu_other]}% of the CPUs during its run."
    fi
done

mkdir -p bench/results
{
    cat <<EOF
### Parapet posture benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPU ($model), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r); load average before the run's end: $(cut -d' ' -f1-3 /proc/loadavg).
$srv_version (\`${bin_src#"$top"/}\`, PARAPET_WORKERS=2, PARAPET_JOB_POLL_MS=50, PARAPET_ADVISORY_DIR $adv_note); fake AWS \`${fake_src#"$top"/}\` with \`synthetic $FUNCTIONS\` and \`delay_ms $DELAY_MS\`; $wrk_version; PostgreSQL $pg_version (fsync off), $(basename "$(dirname "$pg_bin")") pgbench. All on 127.0.0.1, sharing the same CPUs.

#### Scans ($FUNCTIONS generated functions, every AWS call answered after $DELAY_MS ms)

Wall: from the request that queues the scan (connect, or POST .../scans) until the server logs scan.finished, right after the transaction that stores the results and marks the scan succeeded has committed (the same clock). Seen by the poller: until GET /v1/scans/{id}, polled with curl about every 100 ms plus the time curl and jq take to start on this loaded machine, said succeeded. Started → finished: the scan's own timestamps (to the microsecond, from the table); finished_at is set with now() inside the transaction that stores the results, i.e. at its start, so it leaves out the storing. Inventory stored per tenant: $inv_count resources, $inv_data_mb MB of JSON in \`data\` (+ $inv_other_mb MB links and dependencies).

| PARAPET_SCAN_PARALLEL | scan | wall s (request → results committed) | seen by the poller s | started → finished s | stats.duration_s | storing s (finished_at → scan.finished logged) | queued s | AWS calls | minimum s (calls / P × $DELAY_MS ms) | minimum / actual | functions unchanged / packages read | findings | CPU s: server / PostgreSQL / fake | other processes CPU % | VmHWM MB after it |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|$scan_rows

#### GET /v1/findings?limit=50 on a tenant with $FINDINGS findings ($all_findings in the database)

Findings of the tenant: severities $mix_sev; statuses $mix_status; $mix_rules rules; evidence ${mix_evidence} characters of JSON on average. Response body $list_body_bytes bytes.
Per request the server ran: $request_stmts.
Baseline: \`pgbench -M prepared -c $CONNS -j $THREADS -T $DURATION_S\` as role parapet, after a ${WARMUP_S} s warm-up, script:
\`\`\`
$(sed 's/\(.\{160\}\).*/\1…/' "$work/findings.pgbench")
\`\`\`
wrk: $THREADS threads, $CONNS connections, ${WARMUP_S} s warm-up then ${DURATION_S} s with \`--latency\`, \`Authorization: Bearer <viewer API key>\`.

| target | per second | p50 ms | p99 ms | count | CPU %: server / PostgreSQL / client / other | CPU µs per request: server / PostgreSQL |
|---|---:|---:|---:|---:|---:|---:|
| pgbench, before (baseline) | ${R[pgbench1.rps]} | ${R[pgbench1.p50]} | ${R[pgbench1.p99]} | ${R[pgbench1.total]} | — / ${R[pgbench1.cpu_db]} / ${R[pgbench1.cpu_wrk]} / ${R[pgbench1.cpu_other]} | — / $(us_per "${R[pgbench1.ticks_db]}" "${R[pgbench1.total]}") |
| parapet GET /v1/findings?limit=50 | ${R[wrk.rps]} | ${R[wrk.p50]} | ${R[wrk.p99]} | ${R[wrk.total]} | ${R[wrk.cpu_srv]} / ${R[wrk.cpu_db]} / ${R[wrk.cpu_wrk]} / ${R[wrk.cpu_other]} | $(us_per "${R[wrk.ticks_srv]}" "${R[wrk.total]}") / $(us_per "${R[wrk.ticks_db]}" "${R[wrk.total]}") |
| pgbench, after (baseline) | ${R[pgbench2.rps]} | ${R[pgbench2.p50]} | ${R[pgbench2.p99]} | ${R[pgbench2.total]} | — / ${R[pgbench2.cpu_db]} / ${R[pgbench2.cpu_wrk]} / ${R[pgbench2.cpu_other]} | — / $(us_per "${R[pgbench2.ticks_db]}" "${R[pgbench2.total]}") |

#### Targets

| measure | value | target | |
|---|---:|---:|---|$scan_checks
| GET /v1/findings?limit=50 vs pgbench (mean of before and after: $pg_mean tps) | ${list_ratio}x | ≥ 0.7x | $list_check |
| GET /v1/findings?limit=50 p99 at $CONNS connections | ${R[wrk.p99]} ms | < 50 ms | $p99_check |

wrk: non-2xx ${R[wrk.non2xx]}, socket errors ${R[wrk.sockerr]}; pgbench failed transactions: ${R[pgbench1.failed]:-0} and ${R[pgbench2.failed]:-0}. Server VmHWM after the list runs: $(mb "$hwm_api_kb") MB. MB = 2^20 bytes.$notes
EOF
} >"$work/results.md"
cp "$work/results.md" bench/results/posture-latest.md
cat "$work/results.md"
say "written to bench/results/posture-latest.md"
