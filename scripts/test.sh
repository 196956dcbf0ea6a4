#!/usr/bin/env bash
# Runs every test suite built in BUILD (default build): unit tests first, then integration tests
# against a throwaway PostgreSQL cluster started here and removed on exit. Prints one summary line
# per suite and a closing "N passed, N failed" line; exits non-zero on any failure.
# ONLY=pattern (extended regex over suite names such as "integration/accounts_test") runs a subset.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build}
passed=0
failed=0
failed_suites=()

# Counts from cmocka's closing lines: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)".
run_suite() {
    local kind=$1 bin=$2 name out rc p f
    name=${bin#"$build"/tests/}
    if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then
        return
    fi
    out=$(mktemp)
    "$bin" >"$out" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or failed outside a test
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -eq 0 ]; then
        printf 'suite %-40s ok      %3d passed\n' "$name" "$p"
    else
        printf 'suite %-40s FAILED  %3d passed, %d failed\n' "$name" "$p" "$f"
        failed_suites+=("$name")
        sed 's/^/    | /' "$out" | tail -n 80
    fi
    rm -f "$out"
}

# No test may reach a real AWS endpoint or instance metadata service: only loopback fakes.
export AWS_EC2_METADATA_DISABLED=true
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CONTAINER_CREDENTIALS_FULL_URI \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS

shopt -s nullglob
for bin in "$build"/tests/unit/*/*_test; do
    run_suite unit "$bin"
done

integ=()
for bin in "$build"/tests/integration/*_test; do
    name=${bin#"$build"/tests/}
    if [ -z "${ONLY:-}" ] || [[ $name =~ $ONLY ]]; then
        integ+=("$bin")
    fi
done
if [ ${#integ[@]} -gt 0 ]; then
    pgdir=$(mktemp -d /tmp/parapet-pg.XXXXXX)
    cleanup() {
        scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true
        rm -rf "$pgdir" "${keydir:-}"
    }
    trap cleanup EXIT
    port=""
    for attempt in 1 2 3 4 5; do
        try=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$try") 2>/dev/null; then
            port=$try
            break
        fi
    done
    [ -n "$port" ] || { echo "test: no free port for PostgreSQL" >&2; exit 1; }
    scripts/pg.sh init "$pgdir" "$port" trust fast || exit 1
    scripts/pg.sh start "$pgdir" || exit 1
    scripts/pg.sh psql "$pgdir" -d postgres -v owner_pw=unused -v app_pw=unused \
        -v dbname=parapet <scripts/db-init.sql || exit 1
    keydir=$(mktemp -d /tmp/parapet-key.XXXXXX)
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$keydir/jwt.pem" 2>/dev/null
    export PARAPET_JWT_KEY="$keydir/jwt.pem"
    PARAPET_SECRET_KEY=$(openssl rand -base64 32)
    export PARAPET_SECRET_KEY
    export PARAPET_EGRESS_ALLOW=127.0.0.0/8 # the fakes of Slack, PagerDuty, JIRA and Splunk
    export PARAPET_BIN="$root/$build/parapet"
    export PARAPET_TEST_PG_PORT=$port
    export PARAPET_TEST_PG_DIR=$pgdir
    export PARAPET_TEST_ROOT=$root
    for bin in "${integ[@]}"; do
        run_suite integration "$bin"
    done
fi

echo
if [ ${#failed_suites[@]} -gt 0 ]; then
    echo "failed suites: ${failed_suites[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
