/* Posture end to end: an account connected through the fake AWS (tests/support/fake_aws with
 * the world in tests/data/aws/world-basic.json) is scanned by the server's workers: inventory,
 * findings with evidence (secrets masked), the lifecycle across scans (resolved, reopened,
 * suppressed), partial scans that must not resolve, throttling absorbed, expired credentials
 * renewed, one scan at a time per account, rules and the summary. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORLD_ACCOUNT "444455556666"
#define ROLE_ARN "arn:aws:iam::" WORLD_ACCOUNT ":role/ParapetSecurityReadOnly"

static const char parapet_key[] = "AKIAPARAPETTEST00001";
static const char parapet_secret[] = "parapetTestSecret/0123456789abcdefghijklm";

static struct h_server srv;
static struct h_fake_aws fake;
static bool fake_up, srv_up;
static char db[64];
static char token[1024];
static char account_id[40], external_id[80];
static char cfg_path[96], log_path[96], world_path[512];

static long call(const char *method, const char *path, const char *body, json_t **out)
{
    return h_api(srv.base, token, method, path, body, out);
}

/* The raw body of a GET, for searching it for secrets. */
static char *get_text(const char *path)
{
    char u[512], auth[1100];
    const char *hdrs[] = {auth, NULL};
    struct h_resp r;
    char *out;

    snprintf(u, sizeof u, "%s%s", srv.base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    assert_int_equal(h_http("GET", u, hdrs, NULL, 0, &r), 200);
    out = strdup(r.body ? r.body : "");
    h_resp_free(&r);
    return out;
}

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* (Re)starts the fake with world and extra config lines, and the server pointed at it. */
static void start(const char *world, const char *extra)
{
    char cfg[4096], endpoint[128], key_env[64], secret_env[96], adv_env[600];
    const char *env[10];
    FILE *f;

    if (srv_up)
        assert_int_equal(h_server_stop(&srv, 20000), 0);
    if (fake_up)
        h_fake_aws_stop(&fake, 5000);
    srv_up = fake_up = false;
    snprintf(cfg, sizeof cfg, "credentials %s %s\naccount 111122223333\nrole %s %s\nworld %s\n%s",
             parapet_key, parapet_secret, ROLE_ARN, external_id, world, extra ? extra : "");
    f = fopen(cfg_path, "w");
    assert_non_null(f);
    fputs(cfg, f);
    fclose(f);
    unlink(log_path);
    assert_int_equal(h_fake_aws_start(&fake, cfg_path, log_path), 0);
    fake_up = true;
    snprintf(endpoint, sizeof endpoint, "AWS_ENDPOINT_URL=%s", fake.base);
    snprintf(key_env, sizeof key_env, "AWS_ACCESS_KEY_ID=%s", parapet_key);
    snprintf(secret_env, sizeof secret_env, "AWS_SECRET_ACCESS_KEY=%s", parapet_secret);
    env[0] = endpoint;
    env[1] = key_env;
    env[2] = secret_env;
    env[3] = "PARAPET_AWS_ACCOUNT_ID=111122223333";
    env[4] = "PARAPET_WORKERS=2";
    env[5] = "PARAPET_JOB_POLL_MS=50";
    env[6] = "PARAPET_SCAN_SCHEDULE_S=1";
    snprintf(adv_env, sizeof adv_env, "PARAPET_ADVISORY_DIR=%s/tests/data/advisories",
             getenv("PARAPET_TEST_ROOT"));
    env[7] = adv_env;
    env[8] = NULL;
    assert_int_equal(h_server_start(&srv, db, NULL, env), 0);
    srv_up = true;
}

/* Waits for a scan to end; returns it. */
static json_t *wait_scan(const char *scan_id)
{
    char path[128];
    long long until = h_now_ms() + 60000;
    snprintf(path, sizeof path, "/v1/scans/%s", scan_id);
    for (;;) {
        json_t *s = NULL;
        assert_int_equal(call("GET", path, NULL, &s), 200);
        const char *st = str(s, "status");
        if (strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0)
            return s;
        json_decref(s);
        if (h_now_ms() > until)
            fail_msg("scan %s did not finish within 60 s", scan_id);
        h_sleep_ms(100);
    }
}

static json_t *scan_now(void)
{
    char path[128];
    json_t *r = NULL, *s;
    snprintf(path, sizeof path, "/v1/accounts/%s/scans", account_id);
    assert_int_equal(call("POST", path, NULL, &r), 202);
    assert_string_equal(str(r, "status"), "queued");
    s = wait_scan(str(r, "id"));
    json_decref(r);
    return s;
}

/* Every finding of the account with the given status (NULL: any), keyed "rule|arn|subject". */
static json_t *findings(const char *status)
{
    json_t *all = json_object();
    char path[256], cursor[64] = "";
    for (;;) {
        json_t *r = NULL, *it;
        size_t i;
        snprintf(path, sizeof path, "/v1/findings?limit=500&account_id=%s%s%s%s%s", account_id,
                 status ? "&status=" : "", status ? status : "", cursor[0] ? "&cursor=" : "",
                 cursor);
        assert_int_equal(call("GET", path, NULL, &r), 200);
        json_array_foreach(json_object_get(r, "items"), i, it) {
            char key[1024];
            snprintf(key, sizeof key, "%s|%s|%s", str(it, "rule_id"), str(it, "resource_arn"),
                     str(it, "subject"));
            json_object_set(all, key, it);
        }
        if (!json_is_string(json_object_get(r, "next_cursor"))) {
            json_decref(r);
            return all;
        }
        snprintf(cursor, sizeof cursor, "%s", str(r, "next_cursor"));
        json_decref(r);
    }
}

static bool has_category(json_t *fs, const char *category, const char *arn_part)
{
    const char *k;
    json_t *f;
    json_object_foreach(fs, k, f)
        if (strcmp(str(f, "category"), category) == 0 &&
            (arn_part == NULL || strstr(str(f, "resource_arn"), arn_part) != NULL))
            return true;
    return false;
}

static int setup(void **state)
{
    json_t *r = NULL;
    static const char *const env[] = {"PARAPET_AWS_ACCOUNT_ID=111122223333", "PARAPET_WORKERS=0",
                                      NULL};
    (void)state;
    h_db_new("posture", db);
    snprintf(cfg_path, sizeof cfg_path, "/tmp/parapet-posture-%d.conf", (int)getpid());
    snprintf(log_path, sizeof log_path, "/tmp/parapet-posture-%d.log", (int)getpid());
    snprintf(world_path, sizeof world_path, "%s/tests/data/aws/world-basic.json",
             getenv("PARAPET_TEST_ROOT"));
    if (h_server_start(&srv, db, NULL, env) != 0)
        return -1;
    srv_up = true;
    if (call("POST", "/v1/signup",
             "{\"organization\":\"Posture Co\",\"email\":\"p@posture.example\","
             "\"password\":\"posture test passphrase\"}",
             &r) != 201)
        return -1;
    snprintf(token, sizeof token, "%s", str(r, "access_token"));
    json_decref(r);
    if (call("POST", "/v1/accounts",
             "{\"provider\":\"aws\",\"aws_account_id\":\"" WORLD_ACCOUNT "\",\"name\":\"prod\","
             "\"regions\":[\"us-east-1\"]}",
             &r) != 201)
        return -1;
    snprintf(account_id, sizeof account_id, "%s", str(r, "id"));
    snprintf(external_id, sizeof external_id, "%s", str(r, "external_id"));
    json_decref(r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (fake_up)
        h_fake_aws_stop(&fake, 5000);
    unlink(cfg_path);
    unlink(log_path);
    return srv_up && h_server_stop(&srv, 20000) != 0 ? -1 : 0;
}

/* Connecting queues the first scan; it reads the whole world and finds its problems. */
static void test_connect_scans_the_account(void **state)
{
    char path[256], body[256];
    json_t *r = NULL, *scan, *fs, *res = NULL, *it;
    size_t i;
    (void)state;

    start(world_path, NULL);
    snprintf(path, sizeof path, "/v1/accounts/%s/connect", account_id);
    snprintf(body, sizeof body, "{\"role_arn\":\"%s\"}", ROLE_ARN);
    assert_int_equal(call("POST", path, body, &r), 200);
    assert_string_equal(str(r, "status"), "active");
    assert_true(strlen(str(r, "scan_id")) == 36);
    scan = wait_scan(str(r, "scan_id"));
    json_decref(r);
    assert_string_equal(str(scan, "status"), "succeeded");
    assert_true(json_is_true(json_object_get(scan, "complete")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(scan, "stats"),
                                                        "functions")),
                     12);
    json_t *prog = json_object_get(scan, "progress");
    assert_int_equal(json_integer_value(json_object_get(prog, "done")),
                     json_integer_value(json_object_get(prog, "total")));
    json_decref(scan);

    /* Inventory: every function and role, joined. */
    snprintf(path, sizeof path, "/v1/resources?type=aws.lambda.function&account_id=%s",
             account_id);
    assert_int_equal(call("GET", path, NULL, &res), 200);
    assert_int_equal(json_array_size(json_object_get(res, "items")), 12);
    /* Joined: a function behind an API knows its routes and its role. */
    bool routed = false;
    json_array_foreach(json_object_get(res, "items"), i, it) {
        json_t *links = json_object_get(it, "links");
        assert_true(strncmp(str(links, "role"), "arn:aws:iam::", 13) == 0);
        if (json_array_size(json_object_get(links, "routes")) > 0)
            routed = true;
    }
    assert_true(routed);
    json_decref(res);
    assert_int_equal(call("GET", "/v1/resources?type=aws.iam.role&limit=100", NULL, &res), 200);
    assert_int_equal(json_array_size(json_object_get(res, "items")), 10);
    json_decref(res);

    fs = findings("open");
    assert_true(json_object_size(fs) >= 10);
    assert_true(has_category(fs, "secrets-in-env", "payments-webhook"));
    assert_true(has_category(fs, "public-invoke", NULL));
    assert_true(has_category(fs, "runtime-deprecated", NULL));
    assert_true(has_category(fs, "iam-overprivileged", "admin"));
    /* Dependencies read from the packages, matched against the OSV sample. */
    assert_true(has_category(fs, "vulnerable-dependency", "function:legacy-npm"));
    assert_true(has_category(fs, "vulnerable-dependency", "function:report-gen"));
    /* The clean functions stay clean: no noise. */
    const char *k;
    json_object_foreach(fs, k, it) {
        assert_null(strstr(str(it, "resource_arn"), "function:clean-"));
        assert_true(json_is_object(json_object_get(it, "evidence")));
    }
    json_decref(fs);

    /* No environment value of the world comes back from any inventory or finding answer. */
    json_t *world = json_load_file(world_path, 0, NULL);
    assert_non_null(world);
    char *fl = get_text("/v1/findings?limit=500");
    assert_int_equal(call("GET", "/v1/resources?type=aws.lambda.function", NULL, &res), 200);
    json_array_foreach(json_object_get(res, "items"), i, it) {
        char p2[128];
        snprintf(p2, sizeof p2, "/v1/resources/%s", str(it, "id"));
        char *one = get_text(p2);
        json_t *fn;
        size_t j;
        json_array_foreach(json_object_get(world, "functions"), j, fn) {
            const char *name;
            json_t *v;
            json_object_foreach(json_object_get(json_object_get(fn, "Environment"), "Variables"),
                                name, v) {
                const char *val = json_string_value(v);
                if (val != NULL && strlen(val) >= 12) {
                    if (strstr(one, val) != NULL || strstr(fl, val) != NULL)
                        fail_msg("the value of %s came back from the API", name);
                }
            }
        }
        free(one);
    }
    json_decref(res);
    free(fl);
    json_decref(world);
}

/* A second scan finds the same things: no duplicates, last_seen moves; a suppressed finding
 * stays suppressed; a scan already queued is a 409. */
static void test_rescans_are_idempotent_and_suppression_survives(void **state)
{
    json_t *before, *after, *scan, *r = NULL, *it;
    const char *k, *victim = NULL;
    char path[128], victim_key[1024] = "";
    (void)state;

    before = findings(NULL);
    json_object_foreach(before, k, it)
        if (strcmp(str(it, "status"), "open") == 0) {
            victim = str(it, "id");
            snprintf(victim_key, sizeof victim_key, "%s", k);
            break;
        }
    assert_non_null(victim);
    snprintf(path, sizeof path, "/v1/findings/%s", victim);
    assert_int_equal(call("PATCH", path, "{\"status\":\"suppressed\"}", NULL), 400); /* reason */
    assert_int_equal(call("PATCH", path, "{\"status\":\"resolved\",\"reason\":\"x\"}", NULL),
                     400);
    assert_int_equal(call("PATCH", path,
                          "{\"status\":\"suppressed\",\"reason\":\"x\",\"until\":\"2001-01-01T00:00:00Z\"}",
                          NULL),
                     400);
    assert_int_equal(call("PATCH", path,
                          "{\"status\":\"suppressed\",\"reason\":\"accepted: internal tool\"}", &r),
                     200);
    assert_string_equal(str(r, "status"), "suppressed");
    assert_string_equal(str(json_object_get(r, "suppression"), "reason"),
                        "accepted: internal tool");
    json_decref(r);

    scan = scan_now();
    assert_string_equal(str(scan, "status"), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(scan, "stats"), "opened")),
                     0);
    /* Nothing changed: no function's details or package were read again. */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(scan, "stats"),
                                                        "functions_unchanged")),
                     12);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(scan, "stats"),
                                                        "packages_read")),
                     0);
    json_decref(scan);
    after = findings(NULL);
    assert_int_equal(json_object_size(after), json_object_size(before));
    assert_string_equal(str(json_object_get(after, victim_key), "status"), "suppressed");

    /* Reopen it by hand. */
    assert_int_equal(call("PATCH", path, "{\"status\":\"open\"}", &r), 200);
    assert_string_equal(str(r, "status"), "open");
    json_decref(r);
    json_decref(before);
    json_decref(after);

    /* One scan at a time per account. */
    snprintf(path, sizeof path, "/v1/accounts/%s/scans", account_id);
    assert_int_equal(call("POST", path, NULL, &r), 202);
    char id[40];
    snprintf(id, sizeof id, "%s", str(r, "id"));
    json_decref(r);
    long st = call("POST", path, NULL, NULL);
    json_decref(wait_scan(id));
    assert_true(st == 409 || st == 202); /* 202 only if the first had already finished */
}

/* A world where one problem is fixed: a complete scan resolves exactly that; putting it back
 * reopens it. */
static void test_fixed_problems_resolve_and_return(void **state)
{
    json_t *world = json_load_file(world_path, 0, NULL), *fn, *before, *after, *scan;
    char fixed_path[600];
    const char *k;
    json_t *it;
    size_t i;
    int resolved = 0;
    (void)state;

    assert_non_null(world);
    /* Fix payments-webhook's secrets: move them out of the environment. */
    json_array_foreach(json_object_get(world, "functions"), i, fn)
        if (strcmp(str(fn, "FunctionName"), "payments-webhook") == 0)
            json_object_set_new(json_object_get(fn, "Environment"), "Variables",
                                json_pack("{s:s}", "STAGE", "prod"));
    /* Beside the original: the world's CodeZip paths are relative to its file. */
    snprintf(fixed_path, sizeof fixed_path, "%s/tests/data/aws/.world-fixed-%d.json",
             getenv("PARAPET_TEST_ROOT"), (int)getpid());
    assert_int_equal(json_dump_file(world, fixed_path, 0), 0);
    json_decref(world);
    before = findings("open");
    start(fixed_path, NULL);
    scan = scan_now();
    assert_true(json_is_true(json_object_get(scan, "complete")));
    json_decref(scan);
    after = findings(NULL);
    json_object_foreach(before, k, it) {
        const char *now = str(json_object_get(after, k), "status");
        if (strcmp(str(it, "category"), "secrets-in-env") == 0 &&
            strstr(str(it, "resource_arn"), "payments-webhook") != NULL) {
            assert_string_equal(now, "resolved");
            resolved++;
        } else if (strstr(str(it, "resource_arn"), "payments-webhook") == NULL) {
            assert_string_equal(now, "open");
        }
    }
    assert_true(resolved >= 1);
    json_decref(after);

    /* The secret comes back: the same finding reopens (same id, reopened counter). */
    start(world_path, NULL);
    scan = scan_now();
    json_decref(scan);
    after = findings(NULL);
    json_object_foreach(before, k, it) {
        json_t *a = json_object_get(after, k);
        assert_string_equal(str(a, "id"), str(it, "id"));
        if (strcmp(str(it, "category"), "secrets-in-env") == 0 &&
            strstr(str(it, "resource_arn"), "payments-webhook") != NULL) {
            assert_string_equal(str(a, "status"), "open");
            assert_int_equal(json_integer_value(json_object_get(a, "reopened")), 1);
        }
    }
    json_decref(after);
    json_decref(before);
    unlink(fixed_path);
}

/* AccessDenied on some calls: the scan says what it could not read and resolves nothing;
 * throttling is absorbed; credentials that expire mid-scan are renewed. */
static void test_partial_scans_never_resolve_and_faults_are_absorbed(void **state)
{
    json_t *before, *after, *scan, *errs, *e;
    const char *k;
    json_t *it;
    size_t i;
    bool denied = false;
    (void)state;

    before = findings("open");
    /* Every GetPolicy is refused, and the empty world hides everything else: a partial scan. */
    start(world_path, "fail GetPolicy AccessDeniedException\nthrottle lambda 3\nexpire_s 2\n");
    scan = scan_now();
    assert_string_equal(str(scan, "status"), "succeeded");
    assert_false(json_is_true(json_object_get(scan, "complete")));
    errs = json_object_get(scan, "errors");
    json_array_foreach(errs, i, e)
        if (strcmp(str(e, "call"), "GetPolicy") == 0 &&
            strcmp(str(e, "code"), "AccessDeniedException") == 0)
            denied = true;
    assert_true(denied);
    json_decref(scan);
    after = findings(NULL);
    /* Findings that needed the resource policy are not resolved by a scan that could not read
     * it. */
    json_object_foreach(before, k, it)
        assert_string_not_equal(str(json_object_get(after, k), "status"), "resolved");
    json_decref(before);
    json_decref(after);
    start(world_path, NULL);
}

/* An account whose next scan is due is scanned by the scheduler, once. */
static void test_due_accounts_are_scanned_on_schedule(void **state)
{
    char admin[256], sql[256], path[160];
    long long until = h_now_ms() + 30000;
    int scheduled = 0;
    (void)state;

    h_db_admin_url(db, admin, sizeof admin);
    snprintf(sql, sizeof sql,
             "UPDATE cloud_accounts SET next_scan_at = now() - interval '1 minute'"
             " WHERE account_id = '%s'",
             account_id);
    assert_int_equal(h_sql_exec(admin, sql, false), 0);
    snprintf(path, sizeof path, "/v1/scans?limit=500&account_id=%s", account_id);
    while (scheduled == 0 && h_now_ms() < until) {
        json_t *r = NULL, *it;
        size_t i;
        h_sleep_ms(200);
        assert_int_equal(call("GET", path, NULL, &r), 200);
        json_array_foreach(json_object_get(r, "items"), i, it)
            if (strcmp(str(it, "trigger"), "schedule") == 0 &&
                strcmp(str(it, "status"), "succeeded") == 0)
                scheduled++;
        json_decref(r);
    }
    assert_int_equal(scheduled, 1);
    /* The next one is a whole interval away. */
    snprintf(sql, sizeof sql,
             "SELECT next_scan_at > now() + interval '5 hours' FROM cloud_accounts"
             " WHERE account_id = '%s'",
             account_id);
    char *v = h_sql(admin, sql);
    assert_string_equal(v, "t");
    free(v);
}

static void test_rules_and_summary(void **state)
{
    json_t *r = NULL, *it;
    size_t i;
    char path[128];
    (void)state;

    assert_int_equal(call("GET", "/v1/rules", NULL, &r), 200);
    assert_true(json_array_size(json_object_get(r, "items")) >= 35);
    json_array_foreach(json_object_get(r, "items"), i, it)
        assert_true(strlen(str(it, "remediation_short")) > 0);
    json_decref(r);
    assert_int_equal(call("GET", "/v1/posture/summary", NULL, &r), 200);
    json_int_t score = json_integer_value(json_object_get(r, "score"));
    assert_true(score >= 0 && score < 100); /* the world has real problems */
    assert_true(json_integer_value(json_object_get(r, "open_findings")) > 0);
    assert_true(json_array_size(json_object_get(r, "riskiest_functions")) > 0);
    assert_true(json_object_size(json_object_get(r, "by_severity")) > 0);
    json_decref(r);
    snprintf(path, sizeof path, "/v1/posture/summary?account_id=%s", account_id);
    assert_int_equal(call("GET", path, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "accounts")), 1);
    json_decref(r);
    /* Filters are checked. */
    assert_int_equal(call("GET", "/v1/findings?severity=urgent", NULL, NULL), 400);
    assert_int_equal(call("GET", "/v1/findings?rule_id=NOPE-1", NULL, NULL), 400);
    assert_int_equal(call("GET", "/v1/findings?account_id=1;DROP", NULL, NULL), 400);
    assert_int_equal(call("GET", "/v1/resources?type=aws.s3.bucket", NULL, NULL), 400);
    assert_int_equal(call("GET", "/v1/posture/summary?account_id=00000000-0000-4000-8000-000000000000",
                          NULL, NULL),
                     404);
}

/* Bad answers and bad packages: each is recorded on its resource and the scan carries on. */
static void test_bad_answers_and_packages_are_recorded_and_the_scan_carries_on(void **state)
{
    char edge[600];
    json_t *scan, *fs, *e;
    size_t i;
    int seen = 0;
    static const char *const expected[][2] = {
        {"function:corrupt-zip", "ReadPackage"}, {"function:zip-bomb", "ReadPackage"},
        {"function:encrypted-zip", "ReadPackage"}, {"function:bad-policy", "GetPolicy"},
        {"role/", "GetRole"},
    };
    (void)state;

    snprintf(edge, sizeof edge, "%s/tests/data/aws/world-edge.json", getenv("PARAPET_TEST_ROOT"));
    start(edge, "garbage lambda:GetFunctionUrlConfig 1\n");
    scan = scan_now();
    assert_string_equal(str(scan, "status"), "succeeded");
    assert_false(json_is_true(json_object_get(scan, "complete")));
    for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++) {
        bool found = false;
        json_array_foreach(json_object_get(scan, "errors"), i, e)
            if (strstr(str(e, "resource"), expected[k][0]) != NULL &&
                strcmp(str(e, "call"), expected[k][1]) == 0)
                found = true;
        if (!found)
            fail_msg("no %s error recorded for %s", expected[k][1], expected[k][0]);
        seen++;
    }
    assert_int_equal(seen, 5);
    json_decref(scan);
    /* What could be read was: old lock file formats still give their vulnerabilities. */
    fs = findings("open");
    assert_true(has_category(fs, "vulnerable-dependency", "function:old-lockfiles"));
    json_decref(fs);
    assert_int_equal(call("GET", "/readyz", NULL, NULL), 200);
    start(world_path, NULL);
}

/* Deleting the account takes its scans, resources and findings with it. */
static void test_delete_removes_posture_data(void **state)
{
    char path[128];
    json_t *r = NULL;
    (void)state;

    /* A scan queued just before the delete finds its account gone and does nothing. */
    snprintf(path, sizeof path, "/v1/accounts/%s/scans", account_id);
    assert_int_equal(call("POST", path, NULL, NULL), 202);
    snprintf(path, sizeof path, "/v1/accounts/%s", account_id);
    assert_int_equal(call("DELETE", path, NULL, NULL), 204);
    assert_int_equal(call("GET", path, NULL, NULL), 404);
    assert_int_equal(call("GET", "/v1/findings", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "items")), 0);
    json_decref(r);
    assert_int_equal(call("GET", "/v1/resources", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "items")), 0);
    json_decref(r);
    assert_int_equal(call("GET", "/v1/scans", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "items")), 0);
    json_decref(r);
    /* The scan job ran (or runs) to an end without error: nothing is left failing. */
    char admin[256];
    long long until = h_now_ms() + 10000;
    char *v = NULL;
    h_db_admin_url(db, admin, sizeof admin);
    for (;;) {
        free(v);
        v = h_sql(admin, "SELECT count(*) FROM jobs WHERE kind = 'scan'"
                         " AND status NOT IN ('succeeded')");
        if ((v != NULL && strcmp(v, "0") == 0) || h_now_ms() > until)
            break;
        h_sleep_ms(100);
    }
    assert_string_equal(v, "0");
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_scans_the_account),
        cmocka_unit_test(test_rescans_are_idempotent_and_suppression_survives),
        cmocka_unit_test(test_fixed_problems_resolve_and_return),
        cmocka_unit_test(test_partial_scans_never_resolve_and_faults_are_absorbed),
        cmocka_unit_test(test_due_accounts_are_scanned_on_schedule),
        cmocka_unit_test(test_rules_and_summary),
        cmocka_unit_test(test_bad_answers_and_packages_are_recorded_and_the_scan_carries_on),
        cmocka_unit_test(test_delete_removes_posture_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
